"""Reference phrases embedded once, and how close a query comes to the nearest of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb_index.embeddings import Embedder
from kb_index.query import clean_query


@dataclass(frozen=True)
class Nearest:
    """The reference phrase most like a query, and the cosine between them."""

    score: float
    phrase: str


class PhraseSet:
    """Phrases (for example the messages a knowledge base does not answer) as vectors.

    Phrases go through the same query cleaner and model as the knowledge base's passages; with
    `nearest_to` and the vector the search used (`query_vector`), a question's cosines with the
    phrases compare with its dense scores.
    """

    def __init__(self, embedder: Embedder, phrases: list[str]) -> None:
        self._embedder = embedder
        self.phrases = list(phrases)
        self._vectors = embedder.encode([clean_query(p) for p in self.phrases])

    def nearest(self, query: str) -> Nearest | None:
        """The closest phrase to `query`, or None when the set is empty."""
        return self.nearest_to(self._embedder.encode([clean_query(query)])[0])

    def nearest_to(self, vector: np.ndarray) -> Nearest | None:
        """The closest phrase to a query's vector, or None when the set is empty."""
        if not self.phrases:
            return None
        scores = self._vectors @ vector
        best = int(np.argmax(scores))
        return Nearest(float(scores[best]), self.phrases[best])
