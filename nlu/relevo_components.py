"""What Relevo's NLU components share: they learn nothing and store nothing.

Runs in Rasa's environment (Python 3.10), on PYTHONPATH through `relevo rasa serve` and
`relevo train`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData


class NothingToLearn(GraphComponent):
    """A component that only processes messages: no training, nothing in the model."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        """The component; it has nothing to learn or store."""
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn from the training data: it passes as it is."""
        return training_data
