"""`action_answer_from_kb`: answer from the knowledge base, or ask again, or hand over."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import conversation, follow_up, offers, runtime
from actions.compose import compose_answer
from actions.gate import Decision, Outcome, decide
from actions.incidents import tell_incident_notice
from actions.off_topic import example_gap
from actions.offers import PICK_INTENT, offerable
from actions.privacy import (
    is_personal_matter,
    only_a_reference,
    private_notice_text,
    shows_personal_data,
)
from actions.texts import text
from handoff.requests import Reason
from handoff.sentiment import shows_displeasure, sounds_angry
from kb_index.retriever import Hit
from kb_index.text import tokens
from relevo.messages import mention
from relevo.settings import get_settings

log = logging.getLogger(__name__)
MAX_WEAK_ANSWERS = 2
COMPLAINT_INTENT = "complaint"
HOURS_INTENT = "opening_hours"  # answered by the article settings.opening_hours_topic names
# Places and steps of the trip: "a qué hora tengo que estar en el aeropuerto?" reads as opening
# hours to Rasa, and was answered with the contact hours (QA s24 C3). The knowledge base answers.
_TRIP_WORDS_TEXT = """
    airport aeropuerto terminal flight flights vuelo vuelos gate gates embarque boarding counter
    counters mostrador mostradores facturar facturacion checkin check security seguridad departure
    salida takeoff despegue bag drop
"""
_TRIP_WORDS = frozenset(_TRIP_WORDS_TEXT.split())
_KB_DECISIONS = frozenset({"answer", "suggest", "rephrase", "decline"})  # the KB's tries


class ActionAnswerFromKB(Action):
    """Answer on strong evidence, offer the plausible articles on fair evidence.

    Two weak results in a row go to a person.
    """

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_answer_from_kb"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Search, decide, answer or escalate."""
        return conversation.changes_only(tracker, self.respond(dispatcher, tracker))

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """The turn's messages (said through `dispatcher`) and events for the latest message."""
        settings = get_settings()
        language = conversation.language(tracker)
        question = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        public = conversation.is_public(tracker)
        if intent == PICK_INTENT:
            article_id = str(next(tracker.get_latest_entity_values("article"), None) or "")
            return answer_pick(dispatcher, tracker, article_id, language)
        typed = offers.typed_pick(tracker)  # "the first one" under the offer: its button's answer
        if typed is not None and typed.article_id is None:  # "5" under three: which one, again
            dispatcher.utter_message(text=text("suggest_which", language))
            return []
        if typed is not None and typed.article_id is not None:
            return answer_pick(dispatcher, tracker, typed.article_id, language)
        if intent == HOURS_INTENT and not _TRIP_WORDS.intersection(tokens(question)):
            hours = _hours_article(settings.opening_hours_topic, language, tracker.sender_id)
            if hours is not None:
                log.info(
                    "kb decision", extra={"conversation": tracker.sender_id, "outcome": "hours"}
                )
                quoted = _draft(hours, language, tracker, question)
                return _quoted(dispatcher, hours, quoted, public=public)
        tell_incident_notice(dispatcher, tracker, question, language)
        topic = runtime.routing().always_human(question)
        if topic is not None:
            log.info("human-only topic", extra={"conversation": tracker.sender_id, "topic": topic})
            return [
                SlotSet("escalation_reason", Reason.SENSITIVE_TOPIC.value),
                FollowupAction("action_escalate"),
            ]
        if is_complaint(question, intent):  # empathy and a person
            log.info("complaint", extra={"conversation": tracker.sender_id, "intent": intent})
            dispatcher.utter_message(response="utter_empathy")
            return [
                SlotSet("escalation_reason", Reason.COMPLAINT.value),
                FollowupAction("action_escalate"),
            ]
        if not has_words(question):
            return ask_for_words(dispatcher, tracker, language)
        if public and is_personal_matter(question):
            dispatcher.utter_message(
                text=private_notice_text(question, language, conversation.channel(tracker)),
                json_message={"relevo": {"decision": "private"}},
            )
            return [SlotSet("awaiting_feedback", False), SlotSet("offer_pending", False)]
        if only_a_reference(question):  # nothing asked yet: what about it?
            dispatcher.utter_message(
                text=text("reference_only", language),
                buttons=conversation.person_buttons(language),
                json_message={
                    "relevo": {
                        "decision": "rephrase",
                        "reason": "a reference alone",
                        **conversation.WANTS_WORDS,
                    }
                },
            )
            return [SlotSet("awaiting_feedback", False), SlotSet("offer_pending", False)]
        started = time.perf_counter()
        search = _Search(language, conversation.channel(tracker), intent)
        hits, gap, decision = search(question)
        followed = _follow_up(search, tracker, question, decision, hits)
        if followed is not None:
            hits, gap, decision = followed
        kb_ms = round((time.perf_counter() - started) * 1000, 2)
        summary = [_summary(h) for h in hits]
        log.info(
            "kb decision",
            extra={
                "conversation": tracker.sender_id,
                "outcome": decision.outcome.value,
                "reason": decision.reason,
                "example_gap": None if gap is None else round(gap, 3),
                **({"follow_up": True} if followed is not None else {}),
            },
        )
        draft = (
            _draft(decision.hit, language, tracker, question) if decision.hit is not None else None
        )
        common = [SlotSet("kb_hits", summary), SlotSet("draft_answer", draft)]
        if decision.outcome is Outcome.ANSWER and decision.hit is not None and draft is not None:
            return [*common, *_answer(dispatcher, decision.hit, draft, kb_ms, public=public)]
        if not public and needs_a_person(tracker, question):
            log.info("personal data: a person acts", extra={"conversation": tracker.sender_id})
            return [*common, *_hand_over(Reason.PERSONAL_CASE)]
        failed = _failed_before(tracker) + 1
        offered = offerable(decision.options)
        if offered and failed < _weak_answers_allowed(tracker):
            if public:  # no buttons on a public post: the likeliest article, as a link
                offers.point_to(dispatcher, offered[0], language, decision.reason, kb_ms)
            else:
                offers.offer(dispatcher, offered, language, decision.reason, kb_ms)
            return [
                *common,
                SlotSet("awaiting_feedback", False),
                SlotSet("failed_answers", failed),
                SlotSet("offer_pending", not public),
            ]
        if intent == "nlu_fallback" or failed >= MAX_WEAK_ANSWERS:
            reason = Reason.LOW_CONFIDENCE if failed < MAX_WEAK_ANSWERS else Reason.REPEATED_FAILURE
            return [*common, *_hand_over(reason)]
        declined = decision.off_topic  # asking to rephrase would not help
        dispatcher.utter_message(
            response="utter_not_covered" if declined else "utter_rephrase",
            json_message={
                "relevo": {
                    "decision": "decline" if declined else "rephrase",
                    "reason": decision.reason,
                    "kb_ms": kb_ms,
                }
            },
        )
        return [
            *common,
            SlotSet("awaiting_feedback", False),
            SlotSet("failed_answers", failed),
            SlotSet("offer_pending", False),
        ]


class _Search:
    """Searches the knowledge base for one turn's message and decides on the hits."""

    def __init__(self, language: str, channel: str, intent: str | None) -> None:
        self._language = language
        self._channel = channel
        self._intent = intent

    def __call__(self, query: str) -> tuple[list[Hit], float | None, Decision]:
        """The hits, the off-topic examples' gap, and the decision."""
        knowledge_base = runtime.knowledge_base()
        hits = knowledge_base.search(query, 5, self._language, self._channel)
        off_topic = runtime.off_topic_examples().current()
        gap = example_gap(off_topic, knowledge_base.query_vector(query), hits)
        return hits, gap, decide(hits, self._intent, runtime.gate_config(), gap, query)


def answer_pick(
    dispatcher: CollectingDispatcher, tracker: Tracker, article_id: str, language: str
) -> list[EventType]:
    """The offered article the customer picked (tapped, or typed "the first one")."""
    hit = runtime.knowledge_base().article(article_id, language) if article_id else None
    if hit is None:  # an old button whose article was removed since, or a forged payload
        log.warning(
            "picked article not found",
            extra={"conversation": tracker.sender_id, "article": article_id[:80]},
        )
        dispatcher.utter_message(
            response="utter_rephrase",
            json_message={"relevo": {"decision": "rephrase", "reason": "unknown article"}},
        )
        return [SlotSet("awaiting_feedback", False), SlotSet("offer_pending", False)]
    log.info("kb decision", extra={"conversation": tracker.sender_id, "outcome": "picked"})
    draft = _draft(hit, language, tracker, question="")
    return _quoted(dispatcher, hit, draft, public=conversation.is_public(tracker))


def has_words(message: str) -> bool:
    """Whether a message has a letter or a digit (not only emoji or punctuation)."""
    return any(ch.isalnum() for ch in message)


def ask_for_words(
    dispatcher: CollectingDispatcher, tracker: Tracker, language: str
) -> list[EventType]:
    """Only emoji or signs ("🐶✈️", "???"): asked to say it in words, a weak result.

    Nothing in the knowledge base answers a message without words, and a person handed "🐶✈️"
    knows no more than the bot: the customer gets one chance to put it in words; the second weak
    result in a row hands over, as any.
    """
    failed = _failed_before(tracker) + 1
    if failed >= MAX_WEAK_ANSWERS:
        return _hand_over(Reason.REPEATED_FAILURE)
    dispatcher.utter_message(
        text=text("in_words", language),
        buttons=conversation.person_buttons(language),
        json_message={
            "relevo": {"decision": "rephrase", "reason": "no words", **conversation.WANTS_WORDS}
        },
    )
    return [
        SlotSet("awaiting_feedback", False),
        SlotSet("failed_answers", failed),
        SlotSet("offer_pending", False),
    ]


def _failed_before(tracker: Tracker) -> float:
    """The weak results in a row before this message, in this session."""
    return float(conversation.this_session(tracker, "failed_answers") or 0.0)


def _hand_over(reason: Reason) -> list[EventType]:
    """Hand the conversation to a person for `reason`; the count of weak results starts again."""
    return [
        SlotSet("escalation_reason", reason.value),
        SlotSet("failed_answers", 0.0),
        FollowupAction("action_escalate"),
    ]


def needs_a_person(tracker: Tracker, question: str) -> bool:
    """Whether a message the knowledge base does not answer needs a person, not articles.

    Personal data about the customer's own booking or payment (a booking code, a refund
    reference, a card...) once the knowledge base had its try in this session: "es la reserva
    BX7K2P, quiero pasarla al día 15" after the answer on changing a date asks for something
    done, which a person can do and the bot cannot. A first message with a booking code still
    gets its offer: "need to add my wife's passport details to BX7K2Q" is offered Manage
    booking, and the menu keeps its "None: talk to a person" button.
    """
    tried = set(conversation.session_decisions(tracker)) & _KB_DECISIONS
    return bool(tried) and shows_personal_data(question)


def _follow_up(
    search: _Search, tracker: Tracker, question: str, alone: Decision, alone_hits: list[Hit]
) -> tuple[list[Hit], float | None, Decision] | None:
    """The search of a short message after what it follows, when that search answers.

    What it follows: the question the bot last answered, or, without one, the brand's post the
    message replies to in public (`conversation.brand_post`). The answer's article must be one
    the message alone found plausible (worth offering), unless the message only asks something
    of it ("¿y cuánto cuesta?": `follow_up.asks_about_it`), and its passage new: the answer the
    customer just read is not said again, unless the message only asks something of it. "¿y
    cuánto cuesta?" after the pets' opening, which holds the price, was offered seats and sports
    equipment (QA s24 C5): the passage with the price is the answer.
    """
    if alone.outcome is Outcome.ANSWER or not follow_up.is_follow_up(question):
        return None
    before = follow_up.answered_question(tracker) or conversation.brand_post(tracker)
    if before is None:
        return None
    hits, gap, decision = search(f"{before} {question}")
    if decision.outcome is not Outcome.ANSWER or decision.hit is None:
        return None
    hit = runtime.knowledge_base().requote(decision.hit, question)  # the passage it asks for
    decision = replace(decision, hit=hit)
    floor = runtime.gate_config().min_score_suggest
    plausible = {h.article_id for h in alone_hits if h.score >= floor}
    about_it = follow_up.asks_about_it(question)
    if hit.article_id not in plausible and not about_it:
        return None
    said = conversation.this_session(tracker, "draft_answer")
    if not about_it and said == _draft(hit, conversation.language(tracker), tracker, before):
        return None
    return hits, gap, decision


def _weak_answers_allowed(tracker: Tracker) -> int:
    """How many weak results in a row may end with an offer of articles.

    Two, as for any weak result; three when the last turn was an offer: a customer who types a
    sharper question under the offered articles instead of tapping one is shown what that
    question finds, rather than handed to a person (off shift, that is a wait of hours). Three
    too after the decline of an off-topic message: "what about baggage?" after "what is the
    meaning of life" was handed to a person instead of offered its articles (QA s22 W2).
    """
    offered_before = bool(conversation.this_session(tracker, "offer_pending"))
    decisions = conversation.session_decisions(tracker)
    declined_before = bool(decisions) and decisions[-1] == "decline"
    return MAX_WEAK_ANSWERS + 1 if offered_before or declined_before else MAX_WEAK_ANSWERS


def _hours_article(topic: str | None, language: str, conversation_id: str) -> Hit | None:
    """The article on opening hours, None when unset or missing (then the KB is searched)."""
    if not topic:
        return None
    hit = runtime.knowledge_base().topic_article(topic, language)
    if hit is None:
        log.warning(
            "the opening-hours article is not in the knowledge base; searching instead",
            extra={"conversation": conversation_id, "topic": topic},
        )
    return hit


def _summary(hit: Hit) -> dict[str, Any]:
    """A hit as the handoff card lists it."""
    return {
        "article_id": hit.article_id,
        "title": hit.title,
        "score": round(hit.score, 4),
        "language": hit.language,
        "department": runtime.knowledge_base().department_of(hit.article_id),
    }


def is_complaint(text: str, intent: str | None) -> bool:
    """Whether a message is a complaint: empathy, then a person, first in line.

    Angry words are one, whatever Rasa read. Rasa's complaint intent is one when the words show
    some displeasure too: Rasa reads calm questions about a mishap as complaints ("la maleta
    salió empapada, ¿me compensáis?", "and for kids?"), and those are answered as the questions
    they are (docs/conversation.md).
    """
    return sounds_angry(text) or (intent == COMPLAINT_INTENT and shows_displeasure(text))


def _quoted(
    dispatcher: CollectingDispatcher, hit: Hit, draft: str, *, public: bool
) -> list[EventType]:
    """An article answered without a search (picked, or the opening hours), as the evidence.

    A "no" that follows hands over with this article, not the hits of an earlier question.
    """
    evidence = [SlotSet("kb_hits", [_summary(hit)]), SlotSet("draft_answer", draft)]
    return [*evidence, *_answer(dispatcher, hit, draft, None, public=public)]


def _draft(hit: Hit, language: str, tracker: Tracker, question: str) -> str:
    """The answer that quotes `hit` where it answers `question`, fitted to the channel.

    A public reply opens with the customer's @handle.
    """
    settings = get_settings()
    return compose_answer(
        hit,
        language,
        question=question,
        public=conversation.is_public(tracker),
        limit=settings.public_reply_chars - len(mention(conversation.handle(tracker))),
        base_url=settings.kb_public_url,
    )


def _answer(
    dispatcher: CollectingDispatcher, hit: Hit, draft: str, kb_ms: float | None, *, public: bool
) -> list[EventType]:
    """Say the answer with its article, then ask whether it helped (in private)."""
    dispatcher.utter_message(
        text=draft,
        json_message={
            "relevo": {
                "decision": "answer",
                "article_id": hit.article_id,
                "department": runtime.knowledge_base().department_of(hit.article_id),
                "kb_ms": kb_ms,
            }
        },
    )
    if not public:  # a public post has no buttons; a reply to it is read as feedback anyway
        dispatcher.utter_message(response="utter_ask_helpful")
    return [
        SlotSet("awaiting_feedback", True),
        SlotSet("failed_answers", 0.0),
        SlotSet("offer_pending", False),
    ]
