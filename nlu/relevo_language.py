"""The customer's language as an entity, from the metadata the gateway sends with a message.

The gateway detects the language of every message (Spanish or English) and sends it in the
message's metadata when the text shows it; a short "ok" or an emoji sends none, so the
conversation keeps the language it had. This component turns that metadata into a `language`
entity, and the domain's `from_entity` mapping fills the `language` slot that chooses each
response's variation. It replaces a custom action that Rasa called on every turn to fill the
slot (a second HTTP round trip to the action server with the whole tracker, 8% of Rasa's CPU
per turn).

Named in nlu/config.yml; runs in Rasa's environment (Python 3.10), on PYTHONPATH through
`relevo rasa serve` and `relevo train`.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message
from relevo_components import NothingToLearn

LANGUAGES = ("es", "en")
ENTITY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageFromMetadata(NothingToLearn, EntityExtractorMixin):
    """Adds the `language` entity when the message's metadata names es or en."""

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the entity to each message whose metadata names its language."""
        for message in messages:
            language = (message.get("metadata") or {}).get(ENTITY)
            if language not in LANGUAGES:
                continue
            entity = {"entity": ENTITY, "value": language, "start": 0, "end": 0}
            found = [*message.get(ENTITIES, []), *self.add_extractor_name([entity])]
            message.set(ENTITIES, found, add_to_output=True)
        return messages
