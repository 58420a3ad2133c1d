"""The intent of a short conversational phrase, by its whole wording (nlu/relevo_phrases.py).

Named in nlu/config.yml after the fallback classifier, so a phrase DIET doubted is recognised
too; runs in Rasa's environment (Python 3.10), on PYTHONPATH through `relevo rasa serve` and
`relevo train`.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from relevo_components import NothingToLearn
from relevo_phrases import ASK_HUMAN, QUESTION, names_a_person, phrase_intent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class PhraseIntent(NothingToLearn):
    """Sets the intent of the phrases relevo_phrases knows (module docstring)."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Override DIET's guess on each such phrase, and its `ask_human` that names no one."""
        for message in messages:
            text = message.get(TEXT) or ""
            name = phrase_intent(text)
            guessed = message.get(INTENT) or {}
            if name is None and guessed.get("name") == ASK_HUMAN and not names_a_person(text):
                name = QUESTION
            if name is None:
                continue
            intent = {"name": name, "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
