"""`action_feedback`: the customer's yes or no to "did this help?"."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import conversation, offers, runtime
from actions.answer import ActionAnswerFromKB, answer_pick
from actions.follow_up import asks_something_else
from actions.texts import text
from handoff.requests import Reason
from relevo import events

ASKERS = frozenset({"action_answer_from_kb", "action_feedback"})
"""The actions that ask "did this help?" or "is it one of these?" (or which one)."""
NOT_UNDERSTOOD = "not_understood"  # "no entiendo": a no to a question pending, else asked again


class ActionFeedback(Action):
    """A yes closes the loop; a no hands over; without a question just asked, a polite answer.

    A yes to the offer of a person ("Talk to a person", or its words on a public post) hands
    over, as the button would.

    After an offer of articles ("Is it one of these?"), a typed no hands over and a yes asks
    which one. "I don't understand" is a no to a pending question; without one, the customer is
    asked to say what they need in other words, with a button for a person. A short follow-up
    that Rasa read as a yes or a no ("¿y para los niños?") is answered as the question it is.
    """

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Act on the feedback."""
        return conversation.changes_only(tracker, self._respond(dispatcher, tracker))

    def _respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """The answer to the feedback (said through `dispatcher`) and its events."""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in ("affirm", "deny") and asks_something_else(
            tracker.latest_message.get("text") or ""
        ):
            # A follow-up Rasa read as a yes or no: answered as the question it is.
            return ActionAnswerFromKB().respond(dispatcher, tracker)
        if conversation.last_bot_action(tracker) not in ASKERS:
            return self._nothing_pending(dispatcher, tracker, intent)
        if not tracker.get_slot("awaiting_feedback"):
            if tracker.get_slot("offer_pending"):
                return self._on_offer(dispatcher, tracker, intent)
            if intent == "affirm" and conversation.offered_a_person(tracker):
                # "Yes please" to "a person from our team can look into it": typed, as on a
                # public post, which shows no button to tap.
                failed = conversation.after_no_answer(tracker)
                reason = Reason.LOW_CONFIDENCE if failed else Reason.ASKED_FOR_PERSON
                return [
                    SlotSet("escalation_reason", reason.value),
                    FollowupAction("action_escalate"),
                ]
            return self._nothing_pending(dispatcher, tracker, intent)
        events.emit_sync(
            runtime.redis_client(),
            events.EventType.FEEDBACK,
            conversation=tracker.sender_id,
            channel=conversation.channel(tracker),
            helpful="1" if intent == "affirm" else "",
        )
        if intent == "affirm":
            dispatcher.utter_message(response="utter_glad_helped")
            return [
                SlotSet("awaiting_feedback", False),
                SlotSet("failed_answers", 0.0),
                # Answered: a later request for a person is not about this question.
                SlotSet("kb_hits", None),
                SlotSet("draft_answer", None),
            ]
        return [
            SlotSet("awaiting_feedback", False),
            SlotSet("escalation_reason", Reason.NEGATIVE_FEEDBACK.value),
            FollowupAction("action_escalate"),
        ]

    @staticmethod
    def _nothing_pending(
        dispatcher: CollectingDispatcher, tracker: Tracker, intent: str | None
    ) -> list[EventType]:
        """A yes or no to something else ("Anything else?" after a thanks): not feedback.

        A question asked turns ago is no longer pending: "thanks" -> "Anything else?" -> "no"
        must not hand the customer over as unhappy with the answer.
        """
        language = conversation.language(tracker)
        if intent == "affirm":
            dispatcher.utter_message(text=text("what_else", language))
        elif intent == NOT_UNDERSTOOD:
            dispatcher.utter_message(
                text=text("not_understood", language),
                buttons=conversation.person_buttons(language),
            )
        else:
            dispatcher.utter_message(response="utter_goodbye")
        pending = ("awaiting_feedback", "offer_pending")
        return [SlotSet(slot, False) for slot in pending if tracker.get_slot(slot)]

    def _on_offer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str | None
    ) -> list[EventType]:
        """A typed yes or no to "Is it one of these?": which one, or a person.

        A typed pick Rasa read as a yes or no ("first", "2nd", "no, the second one") is answered
        like a tap on its button.
        """
        typed = offers.typed_pick(tracker)
        if typed is not None and typed.article_id is not None:
            return answer_pick(
                dispatcher, tracker, typed.article_id, conversation.language(tracker)
            )
        if intent == "affirm":
            dispatcher.utter_message(text=text("suggest_which", conversation.language(tracker)))
            return []
        return [
            SlotSet("offer_pending", False),
            SlotSet("escalation_reason", Reason.LOW_CONFIDENCE.value),
            FollowupAction("action_escalate"),
        ]
