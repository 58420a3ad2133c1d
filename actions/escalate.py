"""`action_escalate`: hand the conversation to a person with its whole context."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import conversation, runtime
from actions.privacy import is_personal_matter
from actions.texts import text
from handoff.requests import (
    HandoffRequest,
    KbHitSummary,
    Reason,
    priority_for,
    request_handoff,
    sla_due,
)
from relevo.settings import get_settings

log = logging.getLogger(__name__)

_REASON_BY_INTENT = {"ask_human": Reason.ASKED_FOR_PERSON, "complaint": Reason.COMPLAINT}


def escalation_reason(tracker: Tracker) -> Reason:
    """The reason an earlier action recorded, else what the customer's intent says."""
    recorded = tracker.get_slot("escalation_reason")
    if recorded:
        return Reason(recorded)
    intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
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
        customer = conversation.metadata(tracker).get("customer") or {}
        created_at = dt.datetime.now(dt.UTC).isoformat()
        request = HandoffRequest(
            conversation_id=tracker.sender_id,
            channel=conversation.channel(tracker),
            language=conversation.language(tracker),
            reason=reason,
            priority=priority_for(reason),
            transcript=conversation.transcript(tracker),
            hits=[KbHitSummary(**hit) for hit in tracker.get_slot("kb_hits") or []],
            draft=tracker.get_slot("draft_answer"),
            customer={str(k): str(v) for k, v in customer.items()},
            created_at=created_at,
            sla_due_at=sla_due(created_at, settings.handoff_sla_minutes),
        )
        queued = request_handoff(runtime.redis_client(), request)
        log.info(
            "handoff requested",
            extra={
                "conversation": tracker.sender_id,
                "reason": reason.value,
                "queued": queued,
                "handoff": request.id,
            },
        )
        dispatcher.utter_message(
            response="utter_handoff",
            json_message={
                "relevo": {"decision": "handoff", "reason": reason.value, "handoff_id": request.id}
            },
        )
        question = tracker.latest_message.get("text") or ""
        if conversation.is_public(tracker) and is_personal_matter(question):
            dispatcher.utter_message(
                text=text("go_private", request.language),
                json_message={"relevo": {"decision": "private"}},
            )
        return [
            SlotSet("handoff_requested", True),
            SlotSet("awaiting_feedback", False),
            SlotSet("failed_answers", 0.0),
            SlotSet("escalation_reason", None),
        ]
