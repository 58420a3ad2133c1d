"""`action_session_start`: a conversation coming back after an hour starts a fresh session.

Rasa's own session start carries every slot into the new session (`carry_over_slots_to_new_session`
carries all or none). A weak answer yesterday would then count towards "two failed answers in a
row" today, and yesterday's hits and draft would reach today's handoff card. Only the language
the customer writes in is carried over.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

CARRIED_SLOTS = ("language",)


class ActionSessionStart(Action):
    """Starts a session with the customer's language and nothing else of the last one."""

    def name(self) -> str:
        """The action's name in the domain (it replaces Rasa's default)."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """SessionStarted, the carried slots, then listen (what Rasa's default returns)."""
        carried = [
            SlotSet(slot, tracker.get_slot(slot))
            for slot in CARRIED_SLOTS
            if tracker.get_slot(slot) is not None
        ]
        return [SessionStarted(), *carried, ActionExecuted("action_listen")]
