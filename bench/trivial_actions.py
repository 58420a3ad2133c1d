"""A trivial `action_answer_from_kb`, for the dialogue benchmark's same-question baseline.

`bench/dialogue_bench.py` serves this module with Relevo's action server
(`python -m actions.server --actions bench.trivial_actions`) behind a second Rasa server on the
same model: the customer's question goes through the same NLU and rules as a knowledge-base
turn, and the custom action it reaches answers a fixed text without touching the knowledge base.
The difference between the two turns is then what the knowledge-base action itself costs.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.texts import text

FIXED_TEXT_KEY = "what_else"
"""The text key the trivial action answers with, in the message's language."""


class TrivialAnswer(Action):
    """Answers "what can I help you with?" in the message's language; no search, no events."""

    def name(self) -> str:
        """The knowledge-base action's name, so that Rasa's rules reach this action."""
        return "action_answer_from_kb"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Utter the fixed text."""
        metadata = tracker.latest_message.get("metadata") or {}
        dispatcher.utter_message(text=text(FIXED_TEXT_KEY, metadata.get("language", "en")))
        return []
