"""A query adapter learned from the articles' example questions (front matter `questions`).

The multilingual model places a customer's wording ("como elijo sitio en el avion?") further
from its article than the article's own words. The example questions the content team writes
say how customers ask: a ridge regression maps each example's vector to the centroid of its
article's passages, and a query's vector is moved part of the way (`mix`) along that map before
the search. The map is refitted whenever articles change; it is one 512 x 512 solve.
"""

from __future__ import annotations

import numpy as np

from kb_index.chunking import Chunk


class QueryAdapter:
    """Moves query vectors towards the passages that example questions like them lead to."""

    def __init__(self, matrix: np.ndarray | None, mix: float) -> None:
        self._matrix = matrix
        self._mix = mix

    @classmethod
    def fit(
        cls, questions: np.ndarray, targets: np.ndarray, *, ridge: float, mix: float
    ) -> QueryAdapter:
        """Learn the map from example questions to their articles' centroids (row by row).

        `ridge` pulls the map towards the identity: the larger, the less it moves a query.
        Without examples or with `mix` 0 the adapter leaves queries as they are.
        """
        if mix <= 0 or not len(questions):
            return cls(None, 0.0)
        x = questions.astype(np.float64)
        identity = np.eye(x.shape[1])
        matrix = np.linalg.solve(x.T @ x + ridge * identity, x.T @ targets + ridge * identity)
        return cls(matrix.astype(np.float32), mix)

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """The adapted, normalised query vectors (the same vectors without a map)."""
        if self._matrix is None:
            return vectors
        mapped = vectors @ self._matrix
        mapped /= np.linalg.norm(mapped, axis=1, keepdims=True) + 1e-12
        moved = (1 - self._mix) * vectors + self._mix * mapped
        moved /= np.linalg.norm(moved, axis=1, keepdims=True) + 1e-12
        return moved.astype(np.float32)


class AdapterExamples:
    """The example questions' vectors and their articles' passage centroids, kept current.

    Chunks come and go a whole article at a time (`kb_index.sync`): removing any passage of an
    article drops its centroid until the article's passages are added again.
    """

    def __init__(self) -> None:
        self._questions: dict[int, tuple[str, np.ndarray]] = {}
        self._passages: dict[str, tuple[np.ndarray, int]] = {}

    def add(self, ids: list[int], chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Take the question vectors and passage vectors of new chunks."""
        for chunk_id, chunk, vector in zip(ids, chunks, vectors, strict=True):
            if chunk.kind == "question":
                self._questions[chunk_id] = (chunk.article_id, np.array(vector, dtype=np.float32))
            else:
                total, count = self._passages.get(chunk.article_id, (0.0, 0))
                self._passages[chunk.article_id] = (total + vector, count + 1)

    def remove(self, chunk_id: int, chunk: Chunk) -> None:
        """Forget a removed chunk."""
        self._questions.pop(chunk_id, None)
        if chunk.kind != "question":
            self._passages.pop(chunk.article_id, None)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Example question vectors and their articles' normalised passage centroids."""
        rows = [(v, a) for a, v in self._questions.values() if a in self._passages]
        if not rows:
            return np.zeros((0, 0), dtype=np.float32), np.zeros((0, 0), dtype=np.float32)
        centroids = {}
        for article_id, (total, _count) in self._passages.items():
            centroids[article_id] = total / (np.linalg.norm(total) + 1e-12)
        questions = np.stack([v for v, _ in rows])
        targets = np.stack([centroids[a] for _, a in rows])
        return questions, targets
