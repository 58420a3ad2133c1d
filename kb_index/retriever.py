"""Ranking: dense search, an optional lexical boost, one hit per article, language preference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb_index.chunking import Chunk
from kb_index.embeddings import Embedder
from kb_index.language import detect_language
from kb_index.lexical import BM25Index
from kb_index.query import clean_query
from kb_index.vectors import VectorIndex


@dataclass(frozen=True)
class RankingConfig:
    """How dense and lexical evidence are combined."""

    lexical_weight: float = 0.0
    dense: bool = True
    default_language: str = "en"
    candidates: int = 60


@dataclass(frozen=True)
class Hit:
    """One article found for a query, with its best passage."""

    score: float
    article_id: str
    title: str
    text: str
    anchor: str
    language: str
    query_language: str
    fallback: bool
    dense_score: float
    lexical_score: float


class Retriever:
    """Chunks, their vectors and a lexical index, searched together."""

    def __init__(self, embedder: Embedder, vectors: VectorIndex, chunks: dict[int, Chunk]) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.chunks = chunks
        self.lexical = BM25Index()
        self._intro: dict[str, int] = {}
        for chunk_id, chunk in chunks.items():
            self._index_chunk(chunk_id, chunk)

    def _index_chunk(self, chunk_id: int, chunk: Chunk) -> None:
        self.lexical.add(chunk_id, chunk.embedding_text)
        if chunk.position == 0:
            self._intro[chunk.article_id] = chunk_id

    def add(self, ids: list[int], chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add chunks with their vectors."""
        self.vectors.add(np.asarray(ids, dtype=np.int64), vectors)
        for chunk_id, chunk in zip(ids, chunks, strict=True):
            self.chunks[chunk_id] = chunk
            self._index_chunk(chunk_id, chunk)

    def remove(self, ids: list[int]) -> None:
        """Remove chunks by id."""
        self.vectors.remove(ids)
        for chunk_id in ids:
            chunk = self.chunks.pop(chunk_id, None)
            self.lexical.remove(chunk_id)
            if chunk is not None and self._intro.get(chunk.article_id) == chunk_id:
                del self._intro[chunk.article_id]

    def _chunk_scores(self, query: str, config: RankingConfig) -> dict[int, tuple[float, float]]:
        """(dense, normalised lexical) per candidate chunk."""
        dense: dict[int, float] = {}
        if config.dense and self.vectors.size:
            query_vector = self.embedder.encode([query])
            scores, ids = self.vectors.search(query_vector, config.candidates)
            dense = {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}
        lexical: dict[int, float] = {}
        if config.lexical_weight > 0 or not config.dense:
            raw = self.lexical.scores(query)
            top = max(raw.values(), default=0.0)
            lexical = {i: s / top for i, s in raw.items()} if top > 0 else {}
        return {i: (dense.get(i, 0.0), lexical.get(i, 0.0)) for i in dense.keys() | lexical.keys()}

    def search(self, query: str, k: int = 5, language: str | None = None) -> list[Hit]:
        """Hits for `query`, one per topic, in the customer's language where it exists."""
        return self.rank(query, k, language, RankingConfig())

    def rank(self, query: str, k: int, language: str | None, config: RankingConfig) -> list[Hit]:
        """Like `search`, with an explicit ranking configuration (for evaluation).

        Translations share a topic, so evidence from either language ranks the topic; the hit
        is the article in the customer's language, or the other one marked as a fallback.
        """
        query_language = language or detect_language(query, default=config.default_language).code
        text = clean_query(query)
        weight = config.lexical_weight if config.dense else 1.0
        best: dict[str, tuple[float, int, float, float]] = {}
        for chunk_id, (dense, lexical) in self._chunk_scores(text, config).items():
            chunk = self.chunks.get(chunk_id)
            if chunk is None:
                continue
            score = (dense if config.dense else 0.0) + weight * lexical
            if chunk.article_id not in best or score > best[chunk.article_id][0]:
                best[chunk.article_id] = (score, chunk_id, dense, lexical)
        topics: dict[str, dict[str, tuple[float, int, float, float]]] = {}
        for score_and_chunk in best.values():
            chunk = self.chunks[score_and_chunk[1]]
            topics.setdefault(chunk.topic, {})[chunk.language] = score_and_chunk
        hits = [self._topic_hit(found, query_language) for found in topics.values()]
        return sorted(hits, key=lambda h: h.score, reverse=True)[:k]

    def _topic_hit(
        self, by_language: dict[str, tuple[float, int, float, float]], language: str
    ) -> Hit:
        topic_score = max(found[0] for found in by_language.values())
        fallback = language not in by_language
        chosen = max(by_language.values()) if fallback else by_language[language]
        _, chunk_id, dense, lexical = chosen
        chunk = self.chunks[chunk_id]
        if chunk.kind == "question":  # quote the article, not the example question
            chunk = self.chunks[self._intro.get(chunk.article_id, chunk_id)]
        return Hit(
            score=topic_score,
            article_id=chunk.article_id,
            title=chunk.title,
            text=chunk.text,
            anchor=chunk.anchor,
            language=chunk.language,
            query_language=language,
            fallback=fallback,
            dense_score=dense,
            lexical_score=lexical,
        )
