"""Off-topic evidence beside Rasa's intent: messages the knowledge base does not answer.

Two sources: the NLU's out-of-scope examples, and the content team's list of questions no
article answers (`kb/not-covered.yml`), kept out of Rasa's training data, where the same
questions made its classifier decline answerable ones (docs/benchmarks.md). Rasa learns each
language's examples on their own and is sure of itself on messages it has never seen. The
multilingual embedding compares a question with all of them at once: a question that comes
closer to one of them than to any passage of the knowledge base is off-topic in any language.
The gate weighs that gap (`actions.gate`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import yaml

from actions.gate import OUT_OF_SCOPE
from kb_index.embeddings import Embedder
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


def read_listed_questions(path: Path) -> dict[str, list[str]]:
    """The questions of a not-covered list per language (a YAML mapping of language to them).

    Empty items (a bare `-`) are skipped.

    Raises:
        OSError: If the file cannot be read.
        ValueError: If it is not such a mapping, or an item is not a line of text, with the
            reason.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError(f"{path}: expected a mapping of language to a list of questions")
    by_language: dict[str, list[str]] = {}
    for language, items in data.items():
        nested = [item for item in items if isinstance(item, dict | list)]
        if nested:
            raise ValueError(f"{path}: under {language!r}, {nested[0]!r} is not a line of text")
        by_language[str(language)] = [str(q).strip() for q in items if str(q or "").strip()]
    return by_language


def listed_questions(path: Path) -> list[str]:
    """The list's questions; a missing or broken list is logged and left out.

    The assistant then goes on with Rasa's examples alone.
    """
    if not path.is_file():
        log.warning("no list of questions the knowledge base does not answer at %s", path)
        return []
    try:
        by_language = read_listed_questions(path)
    except (OSError, ValueError) as exc:
        log.error("the not-covered list is left out: %s", exc)
        return []
    return [question for questions in by_language.values() for question in questions]


class OffTopicExamples:
    """Rasa's out-of-scope examples and a not-covered list, embedded again when the list changes.

    The content team edits the list while the assistant runs. Rasa's examples are read with it:
    after retraining, restart the action server.
    """

    def __init__(self, embedder: Embedder, nlu_data: Path, listed: Path) -> None:
        self._embedder = embedder
        self._nlu_data = nlu_data
        self._listed = listed
        self._loaded: tuple[float | None, PhraseSet] | None = None

    def current(self) -> PhraseSet:
        """The phrases as the list stands now (one `stat` per call)."""
        try:
            mtime: float | None = self._listed.stat().st_mtime
        except OSError:
            mtime = None
        if self._loaded is None or self._loaded[0] != mtime:
            examples = intent_examples(self._nlu_data, OUT_OF_SCOPE)
            phrases = PhraseSet(self._embedder, examples + listed_questions(self._listed))
            self._loaded = (mtime, phrases)
        return self._loaded[1]


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
