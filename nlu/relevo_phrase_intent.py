"""The intent of a short phrase by its wording, and a second opinion on two of DIET's guesses.

The phrases and the words are in nlu/relevo_phrases.py: a request for a person that names no
one, or an off-topic message about the customer's luggage, refund or booking, is a question.

Named in nlu/config.yml after the fallback classifier, so a phrase DIET doubted is recognised
too; runs in Rasa's environment (Python 3.10), on PYTHONPATH through `relevo rasa serve` and
`relevo train`.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from relevo_components import NothingToLearn
from relevo_phrases import (
    ASK_HUMAN,
    OUT_OF_SCOPE,
    QUESTION,
    names_a_care_subject,
    names_a_person,
    phrase_intent,
)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class PhraseIntent(NothingToLearn):
    """Sets the intent of the phrases relevo_phrases knows (module docstring)."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Override DIET's guess on each such phrase, and where the words contradict it."""
        for message in messages:
            text = message.get(TEXT) or ""
            name = phrase_intent(text) or _second_opinion(message.get(INTENT) or {}, text)
            if name is None:
                continue
            intent = {"name": name, "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages


def _second_opinion(guessed: dict[str, object], text: str) -> str | None:
    """`question` where the words contradict DIET's guess; None to let it stand.

    Its `ask_human` that names no one, its `out_of_scope` that names the customer's luggage,
    refund or booking.
    """
    if guessed.get("name") == ASK_HUMAN and not names_a_person(text):
        return QUESTION
    if guessed.get("name") == OUT_OF_SCOPE and names_a_care_subject(text):
        return QUESTION
    return None
