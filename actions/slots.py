"""`action_validate_slot_mappings`: fill the language slot from the message, every turn."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from actions import conversation


class ValidateSlotMappings(ValidationAction):
    """Rasa calls this after each customer message; responses are chosen by `language`."""

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """The customer's language of this message."""
        return {"language": conversation.language(tracker)}

    async def validate_language(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Only the two languages the assistant speaks."""
        return {"language": value if value in ("es", "en") else None}
