"""`action_escalate`: hand the conversation to a person with its whole context."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import conversation, runtime
from actions.incidents import tell_incident_notice
from actions.privacy import is_personal_matter, private_notice_text
from actions.texts import off_shift_words, text, wait_words, when
from handoff.requests import (
    HandoffRequest,
    KbHitSummary,
    Reason,
    customer_said,
    request_handoff,
)
from handoff.sentiment import mourns, sounds_angry
from handoff.triage import Escalation, Triage, triage
from relevo import events
from relevo.messages import BACK_TO_BOT
from relevo.settings import get_settings

log = logging.getLogger(__name__)

MAX_TOLD_WAIT_MINUTES = 24 * 60
_REASON_BY_INTENT = {"ask_human": Reason.ASKED_FOR_PERSON, "complaint": Reason.COMPLAINT}


def escalation_reason(tracker: Tracker) -> Reason:
    """Why the conversation is handed over.

    The reason an earlier action recorded; else a human-only topic of the routing file in the
    message, whatever Rasa took it for ("my father passed away..." may read as a complaint),
    unless the customer asked for a person; a person asked for right after the knowledge base
    found no answer is `low_confidence` (`conversation.after_no_answer`); else what the intent
    says.
    """
    recorded = conversation.this_session(tracker, "escalation_reason")
    if recorded:
        return Reason(recorded)
    intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
    said = tracker.latest_message.get("text") or ""
    if intent != "ask_human" and runtime.routing().always_human(said) is not None:
        return Reason.SENSITIVE_TOPIC
    if intent == "ask_human" and conversation.after_no_answer(tracker):
        return Reason.LOW_CONFIDENCE  # the button under "I can't answer that here"
    return _REASON_BY_INTENT.get(intent, Reason.LOW_CONFIDENCE)


class ActionEscalate(Action):
    """Queue a handoff request in Redis and tell the customer that a person will take over."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Record everything the agent needs, then hand over."""
        settings = get_settings()
        reason = escalation_reason(tracker)
        metadata = conversation.metadata(tracker)
        customer = {str(k): str(v) for k, v in (metadata.get("customer") or {}).items()}
        now = dt.datetime.now(dt.UTC)
        transcript = conversation.transcript(tracker)
        hits = [KbHitSummary(**h) for h in conversation.this_session(tracker, "kb_hits") or []]
        language = conversation.language(tracker)
        triaged = triage(
            runtime.routing(),
            Escalation(
                reason=reason,
                channel=conversation.channel(tracker),
                public=conversation.is_public(tracker),
                language=language,
                customer_texts=customer_said(transcript),
                customer=customer,
                intent=(tracker.latest_message.get("intent") or {}).get("name"),
                kb_departments=[hit.department for hit in hits if hit.department],
                metrics=metadata.get("metrics"),
            ),
            now,
        )
        request = HandoffRequest(
            conversation_id=tracker.sender_id,
            channel=conversation.channel(tracker),
            language=language,
            reason=reason,
            priority=triaged.score.priority,
            transcript=transcript,
            hits=hits,
            draft=conversation.this_session(tracker, "draft_answer"),
            customer=customer,
            created_at=now.isoformat(),
            sla_due_at=triaged.first_response_due.astimezone(dt.UTC).isoformat(),
            resolution_due_at=triaged.resolution_due.astimezone(dt.UTC).isoformat(),
            score=triaged.score.points,
            priority_reasons=list(triaged.score.reasons),
            department=triaged.department.key,
            routing_reasons=list(triaged.routing_reasons),
            opens_at=triaged.opens_at.astimezone(dt.UTC).isoformat() if triaged.opens_at else "",
            overheard=str(metadata.get("overheard") or ""),
            brand_post=conversation.brand_post(tracker) or "",
        )
        evaluation = conversation.is_evaluation(tracker)
        queued = not evaluation and request_handoff(
            runtime.redis_client(), request, settings.retention_days * 24 * 3600
        )
        if queued:
            events.emit_sync(
                runtime.redis_client(),
                events.EventType.HANDOFF,
                at=now,
                conversation=request.conversation_id,
                handoff=request.id,
                channel=request.channel,
                language=request.language,
                reason=reason.value,
                priority=request.priority.value,
                score=request.score,
                department=request.department,
                followers=customer.get("followers"),
                # The SLA's due times, so a report judges a target the monitor missed.
                first_response_due=request.sla_due_at,
                resolution_due=request.resolution_due_at,
            )
        log.info(
            "handoff requested",
            extra={
                "conversation": tracker.sender_id,
                "reason": reason.value,
                "queued": queued,
                "evaluation": evaluation,
                "handoff": request.id,
                "priority": request.priority.value,
                "score": request.score,
                "department": request.department,
            },
        )
        said = {"relevo": {"decision": "handoff", "reason": reason.value, "handoff_id": request.id}}
        later = (
            when(triaged.opens_at, language, customer_zone(triaged, customer), now)
            if queued and triaged.opens_at is not None
            else None
        )
        question = tracker.latest_message.get("text") or ""
        tell_incident_notice(dispatcher, tracker, question, language)
        care = caring_words(reason, question, language)
        if conversation.is_public(tracker):
            tell_in_public(
                dispatcher,
                question,
                language,
                said,
                later,
                care=care,
                channel=conversation.channel(tracker),
            )
            return _handed_over()
        told: list[dict[str, Any]] = []
        if care is not None:  # a death, an illness, a lawyer: care, no emoji
            personally = text("handoff_personally", language)
            told.append({"text": f"{care} {personally}", "json_message": said})
        else:
            told.append({"response": "utter_handoff", "json_message": said})
        if later is not None:
            told.append(
                {
                    "text": off_shift_words(later, language, settings, said=_bot_said(tracker)),
                    "json_message": {"relevo": {"decision": "offline"}},
                }
            )
        elif queued and (wait := expected_wait(triaged, now, language)):
            told.append({"text": text("handoff_wait", language, wait=wait)})
        if queued:  # the way back, under the last message
            told[-1]["buttons"] = [{"title": text("back_to_bot", language), "payload": BACK_TO_BOT}]
        for message in told:
            dispatcher.utter_message(**message)
        return _handed_over()


def expected_wait(triaged: Triage, now: dt.datetime, language: str) -> str | None:
    """The first-response target from now, in words; None past a day (the calendar's pauses).

    It is the target the desk is held to (`handoff.sla`), said as an aim, never a promise.
    """
    minutes = (triaged.first_response_due - now).total_seconds() / 60
    return wait_words(minutes, language) if 0 < minutes <= MAX_TOLD_WAIT_MINUTES else None


def _bot_said(tracker: Tracker) -> list[str]:
    """Everything the bot said in the conversation."""
    return [e["text"] for e in tracker.events if e.get("event") == "bot" and e.get("text")]


def _handed_over() -> list[EventType]:
    """The slots a handoff resets.

    The person has the evidence now, and a later handoff must not show it as its own.
    """
    return [
        SlotSet("awaiting_feedback", False),
        SlotSet("offer_pending", False),
        SlotSet("failed_answers", 0.0),
        SlotSet("escalation_reason", None),
        SlotSet("kb_hits", None),
        SlotSet("draft_answer", None),
    ]


def caring_words(reason: Reason, said: str, language: str) -> str | None:
    """The caring line a sensitive topic's handoff opens with, public or private; else None.

    Condolences for a death, an apology for anger ("es una vergüenza!!! os voy a denunciar"),
    sympathy for the rest (an illness, a calm legal matter). A human-only topic skips the
    complaint's empathy line (`action_answer_from_kb`), so this is the customer's only one.
    """
    if reason is not Reason.SENSITIVE_TOPIC:
        return None
    if mourns(said):
        return text("care_loss", language)
    return text("care_anger" if sounds_angry(said) else "care_sensitive", language)


def customer_zone(triaged: Triage, customer: dict[str, str]) -> str:
    """The customer's time zone when known, else the department's."""
    return customer.get("timezone") or triaged.department.calendar.timezone


def tell_in_public(
    dispatcher: CollectingDispatcher,
    question: str,
    language: str,
    said: dict[str, Any],
    later: str | None,
    *,
    care: str | None,
    channel: str,
) -> None:
    """One short public reply that everyone may read, with no details of the queue.

    A post about the customer's own booking or payment gets the invitation to continue in
    private (the gateway adds its link), and no promise of a public answer. Otherwise: a person
    will reply here, and when (`later`) if the team is off shift; with an emoji, unless the
    topic calls for `care` (`caring_words`), which comes first instead.
    """
    if is_personal_matter(question):
        if care is not None:  # its own post: the invitation is a post's length already
            dispatcher.utter_message(text=care)
        dispatcher.utter_message(text=private_notice_text(question, language, channel))
        dispatcher.utter_message(json_message={"relevo": {"decision": "private"}})
        dispatcher.utter_message(json_message=said)
        return
    if later is None:
        words = text("handoff_public", language)
    else:
        words = text("handoff_public_later", language, when=later)
    said_in_public = f"{words} 🙋" if care is None else f"{care} {words}"
    dispatcher.utter_message(text=said_in_public, json_message=said)
