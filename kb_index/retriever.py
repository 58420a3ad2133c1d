"""Ranking: dense search, an optional lexical boost, one hit per article, language preference.

The query's vector is first adapted by what the articles' example questions teach
(`kb_index.adapter`). A hit quotes a passage, never an example question (`kb_index.passages`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from kb_index.adapter import AdapterExamples, QueryAdapter
from kb_index.chunking import Chunk
from kb_index.embeddings import Embedder
from kb_index.language import detect_language
from kb_index.lexical import BM25Index
from kb_index.passages import passage_named_by_heading, passage_scores, passage_to_quote
from kb_index.query import clean_query
from kb_index.scoring import NO_IDS, NO_SCORES, ArticleScore, Candidates, ChunkTable
from kb_index.text import content_stems
from kb_index.vectors import VectorIndex

_VECTOR_BATCH = 4096


@dataclass(frozen=True)
class RankingConfig:
    """How dense and lexical evidence are combined."""

    lexical_weight: float = 0.2
    dense: bool = True
    second_chunk_weight: float = 0.3
    translation_weight: float = 0.5
    default_language: str = "en"
    candidates: int = 60
    adapter_mix: float = 0.5
    adapter_ridge: float = 1.0
    passage_margin: float = 0.1  # a passage quoted instead of the opening: `kb_index.passages`
    heading_margin: float = 0.15  # a passage its heading names, quoted instead: the same

    @property
    def lexical_share(self) -> float:
        """The lexical score's weight beside the dense one (all of it without dense search)."""
        return self.lexical_weight if self.dense else 1.0


@dataclass(frozen=True)
class Hit:
    """One article found for a query, with the passage to quote.

    `dense_score` and `lexical_score` are those of the chunk that matched, a passage or one of
    the article's example questions: `dense_score` is its cosine with the question's vector as
    the search uses it (`query_vector`, after the query adapter). When an example question
    matched, `text` and `anchor` are those of the passage chosen to answer (`kb_index.passages`).
    """

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
        self._translations: dict[str, dict[str, str]] = {}
        self._examples = AdapterExamples()
        self._adapters: dict[tuple[float, float], QueryAdapter] = {}
        self._chunk_table: ChunkTable | None = None
        for chunk_id, chunk in chunks.items():
            self._index_chunk(chunk_id, chunk)
        ids = list(chunks)
        for start in range(0, len(ids), _VECTOR_BATCH):
            batch = ids[start : start + _VECTOR_BATCH]
            self._examples.add(batch, [chunks[i] for i in batch], vectors.vectors_of(batch))

    def _index_chunk(self, chunk_id: int, chunk: Chunk) -> None:
        self.lexical.add(chunk_id, chunk.embedding_text)
        if chunk.position == 0:
            self._intro[chunk.article_id] = chunk_id
            self._translations.setdefault(chunk.topic, {})[chunk.language] = chunk.article_id

    def add(self, ids: list[int], chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add chunks with their vectors."""
        self.vectors.add(np.asarray(ids, dtype=np.int64), vectors)
        for chunk_id, chunk in zip(ids, chunks, strict=True):
            self.chunks[chunk_id] = chunk
            self._index_chunk(chunk_id, chunk)
        self._examples.add(ids, chunks, vectors)
        self._adapters.clear()
        self._chunk_table = None

    def remove(self, ids: list[int]) -> None:
        """Remove chunks by id."""
        self.vectors.remove(ids)
        for chunk_id in ids:
            chunk = self.chunks.pop(chunk_id, None)
            self.lexical.remove(chunk_id)
            if chunk is None:
                continue
            self._examples.remove(chunk_id, chunk)
            if self._intro.get(chunk.article_id) == chunk_id:
                del self._intro[chunk.article_id]
                self._translations[chunk.topic].pop(chunk.language, None)
        self._adapters.clear()
        self._chunk_table = None

    def _adapter(self, config: RankingConfig) -> QueryAdapter:
        """The query adapter for the configuration, fitted on first use after a change."""
        key = (config.adapter_mix, config.adapter_ridge)
        adapter = self._adapters.get(key)
        if adapter is None:
            questions, targets = self._examples.pairs()
            adapter = QueryAdapter.fit(
                questions, targets, ridge=config.adapter_ridge, mix=config.adapter_mix
            )
            self._adapters[key] = adapter
        return adapter

    def prepare(self, config: RankingConfig) -> None:
        """Fit the query adapter and build the ranking's arrays now, not on the first search."""
        self._adapter(config)
        self._table()
        self.lexical.build()

    def query_vector(self, query: str, config: RankingConfig) -> np.ndarray:
        """The vector a customer's message is searched with: cleaned, embedded, adapted."""
        return self._vector(clean_query(query), config)

    def _search_vector(self, text: str, config: RankingConfig) -> np.ndarray | None:
        """A cleaned query's vector, or None when the search is lexical only or nothing is in."""
        return self._vector(text, config) if config.dense and self.vectors.size else None

    def _vector(self, text: str, config: RankingConfig) -> np.ndarray:
        return self._adapter(config).apply(self.embedder.encode([text]))[0]

    def _chunk_scores(
        self, text: str, vector: np.ndarray | None, config: RankingConfig
    ) -> Candidates:
        """A cleaned query's candidate chunks, with dense and normalised lexical scores."""
        dense_ids, dense = NO_IDS, NO_SCORES
        if vector is not None:
            scores, ids = self.vectors.search(vector[None], config.candidates)
            found = ids[0] >= 0
            dense_ids, dense = ids[0][found].astype(np.int64), scores[0][found].astype(np.float64)
        lexical_ids, lexical = NO_IDS, NO_SCORES
        if config.lexical_weight > 0 or not config.dense:
            lexical_ids, raw = self.lexical.scores(text)
            top = float(raw.max()) if raw.size else 0.0
            lexical_ids, lexical = (lexical_ids, raw / top) if top > 0 else (NO_IDS, NO_SCORES)
        return Candidates.merge(dense_ids, dense, lexical_ids, lexical)

    def search(self, query: str, k: int = 5, language: str | None = None) -> list[Hit]:
        """Hits for `query`, one per topic, in the customer's language where it exists."""
        return self.rank(query, k, language, RankingConfig())

    def rank(
        self,
        query: str,
        k: int,
        language: str | None,
        config: RankingConfig,
        exclude: frozenset[str] = frozenset(),
    ) -> list[Hit]:
        """Like `search`, with an explicit ranking configuration (for evaluation).

        An article scores its best passage plus a share of its second best. Translations share
        a topic, and a topic scores its article in the customer's language plus a share of its
        translation's score; the hit is the article in the customer's language, or the other
        one marked as a fallback when no translation exists. Articles in `exclude` (not for the
        customer's channel) are neither found nor stand in for a translation.
        """
        query_language = language or detect_language(query, default=config.default_language).code
        text = clean_query(query)
        vector = self._search_vector(text, config)
        candidates = self._chunk_scores(text, vector, config)
        dense = candidates.dense if config.dense else 0.0
        scores = dense + config.lexical_share * candidates.lexical
        topics = self._table().top_topics(
            candidates,
            scores,
            query_language,
            k,
            second_chunk_weight=config.second_chunk_weight,
            translation_weight=config.translation_weight,
            exclude=exclude,
        )
        chosen = [_chosen(found, query_language, self.chunks) for _, found in topics]
        questions = [a.chunk_id for a, _ in chosen if self.chunks[a.chunk_id].kind == "question"]
        quoted = self._passages_to_quote(questions, text, vector, config)
        if chosen:  # the top hit's passage is the one an answer quotes
            won = chosen[0][0].chunk_id
            quoted[won] = self._passage_a_heading_names(quoted.get(won, won), text, vector, config)
        return [
            _hit(
                self.chunks[quoted.get(article.chunk_id, article.chunk_id)],
                score,
                query_language,
                fallback,
                article.dense,
                article.lexical,
            )
            for (score, _), (article, fallback) in zip(topics, chosen, strict=True)
        ]

    def _table(self) -> ChunkTable:
        """Chunks, articles, topics and languages as arrays (rebuilt after a change)."""
        if self._chunk_table is None:
            self._chunk_table = ChunkTable.of(self.chunks)
        return self._chunk_table

    def _passages_to_quote(
        self,
        question_ids: list[int],
        text: str,
        vector: np.ndarray | None,
        config: RankingConfig,
    ) -> dict[int, int]:
        """The passage to quote in place of each example question that matched a query.

        `text` is the cleaned query and `vector` its vector (None without dense search). An
        article's opening, unless another of its passages answers the query clearly better
        (`kb_index.passages`). The passages of all the articles are scored at once.
        """
        table = self._table()
        groups = {q: table.passages.get(self.chunks[q].article_id, ()) for q in question_ids}
        groups = {q: ids for q, ids in groups.items() if ids}  # none indexed: quote nothing else
        ids = [i for group in groups.values() for i in group]
        if not ids:
            return {}
        dense, lexical = self._passage_evidence(ids, text, vector, config)
        weight = config.lexical_share
        quoted, start = {}, 0
        for question_id, group in groups.items():
            end = start + len(group)
            best = passage_to_quote(
                dense[start:end],
                lexical[start:end],
                lexical_weight=weight,
                margin=config.passage_margin,
            )
            quoted[question_id], start = group[best], end
        return quoted

    def _passage_a_heading_names(
        self, current: int, text: str, vector: np.ndarray | None, config: RankingConfig
    ) -> int:
        """The passage of `current`'s article to quote, once its headings are read for `text`.

        Only the question's words that the title does not hold count: every section shares
        the title. Passages are scored only when a heading names one of them.
        """
        chunk = self.chunks[current]
        asked = content_stems(text) - content_stems(chunk.title)
        ids = self._table().passages.get(chunk.article_id, ())
        named = [len(asked & content_stems(self.chunks[i].heading)) for i in ids]
        if current not in ids or max(named, default=0) <= named[ids.index(current)]:
            return current
        dense, lexical = self._passage_evidence(ids, text, vector, config)
        scores = passage_scores(dense, lexical, lexical_weight=config.lexical_share)
        best = passage_named_by_heading(
            scores, named, ids.index(current), margin=config.heading_margin
        )
        return ids[best]

    def _passage_evidence(
        self, ids: Sequence[int], text: str, vector: np.ndarray | None, config: RankingConfig
    ) -> tuple[list[float], list[float]]:
        """The passages' dense and raw lexical scores for a cleaned query (zeros when unused)."""
        dense = (
            [0.0] * len(ids)
            if vector is None
            else (self.vectors.vectors_of(list(ids)) @ vector).tolist()
        )
        use_lexical = config.lexical_share > 0
        lexical = self.lexical.scores_of(text, ids).tolist() if use_lexical else [0.0] * len(ids)
        return dense, lexical

    def article(self, article_id: str, language: str) -> Hit | None:
        """The opening passage of one article as a hit (the customer chose it), or None."""
        chunk_id = self._intro.get(article_id)
        if chunk_id is None:
            return None
        chunk = self.chunks[chunk_id]
        return _hit(chunk, 0.0, language, chunk.language != language, 0.0, 0.0)

    def requote(self, hit: Hit, query: str, config: RankingConfig) -> Hit:
        """The hit quoting the passage of its article that scores best for `query` alone.

        A follow-up found its article with the question before it ("is there wifi on the
        plane? and how much is it?"), whose words pick the passage that question was answered
        with; "and how much is it?" alone picks "Plans and prices".
        """
        ids = self._table().passages.get(hit.article_id, ())
        if not ids:
            return hit
        text = clean_query(query)
        dense, lexical = self._passage_evidence(
            ids, text, self._search_vector(text, config), config
        )
        best = passage_to_quote(dense, lexical, lexical_weight=config.lexical_share, margin=0.0)
        chunk = self.chunks[ids[best]]
        return replace(hit, text=chunk.text, anchor=chunk.anchor)

    def topic_article(self, topic: str, language: str) -> Hit | None:
        """The opening passage of a topic's article in `language`, else of its translation."""
        by_language = self._translations.get(topic, {})
        article_id = by_language.get(language) or next(iter(sorted(by_language.values())), None)
        return self.article(article_id, language) if article_id else None


def _chosen(
    found: list[ArticleScore], language: str, chunks: dict[int, Chunk]
) -> tuple[ArticleScore, bool]:
    """A found topic's article to cite, and whether it is a fallback.

    Its article in the customer's language, else the best other one, marked as a fallback.
    """
    by_language = {chunks[a.chunk_id].language: a for a in found}
    own = by_language.get(language)
    return (own, False) if own is not None else (max(by_language.values()), True)


def _hit(
    chunk: Chunk, score: float, language: str, fallback: bool, dense: float, lexical: float
) -> Hit:
    return Hit(
        score=score,
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
