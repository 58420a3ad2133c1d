"""The intent of a message without words: an emoji that says it, else Rasa's fallback.

The tokenizer keeps no emoji and no punctuation, so DIET gets no features from "👎", "😡" or
"???" and answers with its prior for an empty message: `affirm` at 0.92 (measured). A thumbs
down to "did this help?" was taken for a yes ("Great, glad it helped!"). Here a message with no
letter or digit takes the intent of its emoji when they all say the same thing, and
`nlu_fallback` otherwise (the knowledge base is tried, then a person), as low confidence would.

Named in nlu/config.yml; runs in Rasa's environment (Python 3.10), on PYTHONPATH through
`relevo rasa serve` and `relevo train`.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from relevo_components import NothingToLearn

FALLBACK = "nlu_fallback"
EMOJI_INTENTS = {
    **dict.fromkeys("👍👌✅", "affirm"),
    **dict.fromkeys("👎❌", "deny"),
    **dict.fromkeys("👋", "greet"),
    **dict.fromkeys("🙏❤💙😊🙂🥰😍", "thanks"),
    **dict.fromkeys("😡🤬😠😤", "complaint"),
}
# Skin tones, the emoji presentation selector and the joiner change no emoji's meaning.
_MODIFIERS = {chr(c) for c in range(0x1F3FB, 0x1F400)} | {"\ufe0f", "\u200d"}


def wordless_intent(text: str) -> str | None:
    """The intent of a message with no letter or digit; None when it has words."""
    if any(ch.isalnum() for ch in text):
        return None
    signs = {ch for ch in text if not ch.isspace() and ch not in _MODIFIERS}
    intents = {EMOJI_INTENTS.get(sign) for sign in signs}
    return intents.pop() if len(intents) == 1 and None not in intents else FALLBACK


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class WordlessIntent(NothingToLearn):
    """Sets the intent of messages without words (module docstring)."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Override DIET's guess on each message without words."""
        for message in messages:
            intent = wordless_intent(message.get(TEXT) or "")
            if intent is None:
                continue
            message.set(INTENT, {"name": intent, "confidence": 1.0}, add_to_output=True)
            ranking = [{"name": intent, "confidence": 1.0}]
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
