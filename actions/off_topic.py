"""Off-topic evidence beside Rasa's intent: the NLU's out-of-scope examples, as vectors.

Rasa's classifier learns each language's out-of-scope examples on their own and is sure of
itself on messages it has never seen. The multilingual embedding compares a question with all
of them at once: a question that comes closer to one of them than to any passage of the
knowledge base is off-topic in any language. The gate weighs that gap (`actions.gate`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import yaml

from kb_index.phrases import PhraseSet
from kb_index.retriever import Hit

log = logging.getLogger(__name__)


def intent_examples(data_dir: Path, intent: str) -> list[str]:
    """The training examples of one intent in a Rasa project's NLU files (YAML)."""
    examples: list[str] = []
    for path in sorted(data_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            if isinstance(item, dict) and item.get("intent") == intent:
                lines = str(item.get("examples") or "").splitlines()
                examples += [line.strip()[2:].strip() for line in lines if line.strip()[:2] == "- "]
    if not examples:
        log.warning(
            "no %s examples under %s: off-topic messages are told by Rasa's intent alone",
            intent,
            data_dir,
        )
    return examples


def example_gap(examples: PhraseSet, question: np.ndarray, hits: list[Hit]) -> float | None:
    """How much closer a question comes to an off-topic example than to the best passage.

    `question` is its vector as the knowledge base searched with it (`query_vector`), so both
    cosines measure the same vector. Positive: nearer an example the knowledge base does not
    answer. None without examples.
    """
    nearest = examples.nearest_to(question)
    if nearest is None:
        return None
    return nearest.score - (hits[0].dense_score if hits else 0.0)
