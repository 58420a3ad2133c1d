"""`ask_for_help` for a message that only announces a question (nlu/relevo_openers.py).

Named in nlu/config.yml after the fallback classifier, so an opener DIET doubted is one too;
runs in Rasa's environment (Python 3.10), on PYTHONPATH through `relevo rasa serve` and
`relevo train`.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from relevo_components import NothingToLearn
from relevo_openers import is_opener

ASK_FOR_HELP = "ask_for_help"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OpenerIntent(NothingToLearn):
    """Sets `ask_for_help` on openers (module docstring)."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Override DIET's guess on each opener."""
        for message in messages:
            if not is_opener(message.get(TEXT) or ""):
                continue
            intent = {"name": ASK_FOR_HELP, "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
