"""Scoring candidate passages into articles and topics, with numpy arrays.

The ranking rules (`Retriever.rank`): an article scores its best passage plus a share of its
second best; a topic scores its article in the customer's language plus a share of its best
translation's score. Done with one Python step per passage and per topic, a query whose common
words match tens of thousands of passages took over 100 ms; here it is a few array operations,
and Python objects are made only for the topics that make the top k.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kb_index.chunking import Chunk

NO_IDS = np.empty(0, dtype=np.int64)
NO_SCORES = np.empty(0, dtype=np.float64)


@dataclass(frozen=True, order=True)
class ArticleScore:
    """The evidence for one article: its score and its best chunk."""

    score: float
    chunk_id: int
    dense: float
    lexical: float


@dataclass(frozen=True)
class Candidates:
    """Candidate chunks of one query: ids in ascending order, dense and lexical scores."""

    ids: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray

    @classmethod
    def merge(
        cls, dense_ids: np.ndarray, dense: np.ndarray, lexical_ids: np.ndarray, lexical: np.ndarray
    ) -> Candidates:
        """The union of the dense and the lexical candidates; a missing score is zero.

        Chunk ids are positions (small non-negative integers), so the union is a mask.
        """
        size = max(int(dense_ids.max(initial=-1)), int(lexical_ids.max(initial=-1))) + 1
        dense_by_id = np.zeros(size, dtype=np.float64)
        dense_by_id[dense_ids] = dense
        lexical_by_id = np.zeros(size, dtype=np.float64)
        lexical_by_id[lexical_ids] = lexical
        found = np.zeros(size, dtype=bool)
        found[dense_ids] = True
        found[lexical_ids] = True
        ids = np.flatnonzero(found)
        return cls(ids, dense_by_id[ids], lexical_by_id[ids])

    def subset(self, chosen: np.ndarray) -> Candidates:
        """The candidates at the positions `chosen` (ascending)."""
        return Candidates(self.ids[chosen], self.dense[chosen], self.lexical[chosen])


@dataclass(frozen=True)
class _Articles:
    """Articles with candidates: their numbers in the table, scores and best chunks."""

    number: np.ndarray
    score: np.ndarray
    chunk_id: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray


@dataclass(frozen=True)
class ChunkTable:
    """The chunks' articles, the articles' topics and languages, as arrays; articles' passages."""

    article_of: np.ndarray  # per chunk id: its article's number, or -1 for no chunk
    articles: tuple[str, ...]
    topic_of: np.ndarray  # per article: its topic's number
    language_of: np.ndarray  # per article: its language's number
    languages: tuple[str, ...]
    in_language: np.ndarray  # [language, topic]: the topic's article with an opening, or -1
    opening_of: np.ndarray  # per article: its opening chunk's id, or -1
    passages: Mapping[str, tuple[int, ...]]  # per article id: its passages' ids, in order

    @classmethod
    def of(cls, chunks: dict[int, Chunk]) -> ChunkTable:
        """The table of a retriever's chunks (their ids are small non-negative integers)."""
        first = {chunk.article_id: chunk for chunk in chunks.values()}
        articles = tuple(sorted(first))
        topics = sorted({chunk.topic for chunk in first.values()})
        languages = tuple(sorted({chunk.language for chunk in first.values()}))
        number = {article_id: n for n, article_id in enumerate(articles)}
        topic_number = {topic: n for n, topic in enumerate(topics)}
        language_number = {language: n for n, language in enumerate(languages)}
        article_of = np.full(max(chunks, default=-1) + 1, -1, dtype=np.int64)
        for chunk_id, chunk in chunks.items():
            article_of[chunk_id] = number[chunk.article_id]
        topic_of = np.array([topic_number[first[a].topic] for a in articles], dtype=np.int64)
        language_of = np.array([language_number[first[a].language] for a in articles], dtype=int)
        in_language = np.full((len(languages), len(topics)), -1, dtype=np.int64)
        opening_of = np.full(len(articles), -1, dtype=np.int64)
        passages: dict[str, list[tuple[int, int]]] = {}
        for chunk_id, chunk in chunks.items():
            if chunk.position == 0:
                n = number[chunk.article_id]
                in_language[language_of[n], topic_of[n]] = n
                opening_of[n] = chunk_id
            if chunk.kind != "question":
                passages.setdefault(chunk.article_id, []).append((chunk.position, chunk_id))
        return cls(
            article_of,
            articles,
            topic_of,
            language_of,
            languages,
            in_language,
            opening_of,
            {article: tuple(i for _, i in sorted(found)) for article, found in passages.items()},
        )

    def top_topics(
        self,
        candidates: Candidates,
        scores: np.ndarray,
        language: str,
        k: int,
        *,
        second_chunk_weight: float,
        translation_weight: float,
        exclude: frozenset[str],
    ) -> list[tuple[float, list[ArticleScore]]]:
        """The k best topics, best first: each topic's score and its articles that were found.

        A topic found only in other languages whose article in `language` may stand in (it
        exists and is not excluded) also lists that article's opening, scored 0. Ties keep the
        order of the topics' names.
        """
        if not len(self.article_of):
            return []
        excluded = np.isin(self.articles, tuple(exclude)) if exclude else None
        article = self.article_of[candidates.ids.clip(max=len(self.article_of) - 1)]
        known = (candidates.ids < len(self.article_of)) & (article >= 0)
        if excluded is not None:
            known[known] = ~excluded[article[known]]
        chosen = np.flatnonzero(known)
        chosen = chosen[
            _within_reach(
                self.topic_of[article[chosen]],
                scores[chosen],
                k,
                _reach(second_chunk_weight, translation_weight),
            )
        ]
        found = _best_per_article(
            candidates.subset(chosen), article[chosen], scores[chosen], second_chunk_weight
        )
        if not len(found.number):
            return []
        topic = self.topic_of[found.number]
        language_number = self._language_number(language)
        own = self.language_of[found.number] == language_number
        translation_open = self._translation_open(language, excluded)
        score = _topic_scores(topic, found.score, own, translation_open, translation_weight)
        present = np.unique(topic)
        best = present[np.lexsort((present, -score[present]))][:k]
        topics = []
        for t in best:
            mine = topic == t
            articles = [
                ArticleScore(*values)
                for values in zip(
                    found.score[mine].tolist(),
                    found.chunk_id[mine].tolist(),
                    found.dense[mine].tolist(),
                    found.lexical[mine].tolist(),
                    strict=True,
                )
            ]
            if translation_open[t] and not own[mine].any():
                stand_in = self.in_language[language_number, t]
                articles.append(ArticleScore(0.0, int(self.opening_of[stand_in]), 0.0, 0.0))
            topics.append((float(score[t]), articles))
        return topics

    def _language_number(self, language: str) -> int:
        return self.languages.index(language) if language in self.languages else -1

    def _translation_open(self, language: str, excluded: np.ndarray | None) -> np.ndarray:
        """Per topic: whether it has an article in `language` that may stand in for a hit."""
        number = self._language_number(language)
        if number < 0:
            return np.zeros(self.in_language.shape[1], dtype=bool)
        article = self.in_language[number]
        usable = article >= 0
        if excluded is not None:
            usable[usable] = ~excluded[article[usable]]
        return usable


def _reach(second_chunk_weight: float, translation_weight: float) -> float:
    """How low a topic's best passage may score, as a share of the k-th topic's best.

    Below it the topic has no chance of the top k; 0 when the weights allow no bound. With
    non-negative scores, a topic whose best passage scores m scores at least min(1, t) * m
    (t: translation weight) and at most (1 + t) * (1 + s) * m (s: second-chunk weight).
    """
    if second_chunk_weight < 0 or translation_weight < 0:
        return 0.0
    return min(1.0, translation_weight) / ((1 + translation_weight) * (1 + second_chunk_weight))


def _within_reach(topic: np.ndarray, scores: np.ndarray, k: int, reach: float) -> np.ndarray:
    """Which passages belong to a topic that may still make the top k (exact, never a guess).

    The k-th distinct topic among the best passages bounds the k-th topic's score from below;
    a topic whose best passage scores under `reach` times that cannot come up to it.
    """
    keep_all = np.ones(len(scores), dtype=bool)
    if reach <= 0 or k <= 0 or not len(scores) or scores.min() < 0:
        return keep_all
    head = min(len(scores), 64 * k)
    best = np.argpartition(-scores, head - 1)[:head]
    best = best[np.argsort(-scores[best], kind="stable")]
    _, first = np.unique(topic[best], return_index=True)
    if len(first) < k:
        return keep_all
    kth = scores[best[np.sort(first)[k - 1]]]
    reachable = np.zeros(int(topic.max()) + 1, dtype=bool)
    reachable[topic[scores >= reach * kth]] = True
    return reachable[topic]


def _best_per_article(
    candidates: Candidates, article: np.ndarray, scores: np.ndarray, second_chunk_weight: float
) -> _Articles:
    """Each article's best candidate chunk, scored with a share of its second best."""
    # By article, then the best score first (ties: the higher chunk id).
    order = np.lexsort((-candidates.ids, -scores, article))
    grouped = article[order]
    first = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if len(order) else order
    after = first + 1
    has_second = np.zeros(len(first), dtype=bool)
    inside = after < len(order)
    has_second[inside] = grouped[after[inside]] == grouped[first[inside]]
    second = np.zeros(len(first), dtype=np.float64)
    second[has_second] = scores[order[after[has_second]]]
    best = order[first]
    return _Articles(
        grouped[first],
        scores[best] + second_chunk_weight * second,
        candidates.ids[best],
        candidates.dense[best],
        candidates.lexical[best],
    )


def _topic_scores(
    topic: np.ndarray,
    score: np.ndarray,
    own: np.ndarray,
    translation_open: np.ndarray,
    translation_weight: float,
) -> np.ndarray:
    """Per topic number: the topic's score from its articles' scores, as `Retriever._topic_hit`.

    `own` marks the articles in the customer's language.
    """
    count = len(translation_open)
    own_score = np.full(count, np.nan)
    own_score[topic[own]] = score[own]
    other = np.full(count, -np.inf)
    np.maximum.at(other, topic[~own], score[~own])
    has_own, has_other = ~np.isnan(own_score), other > -np.inf
    with np.errstate(invalid="ignore"):
        with_own = own_score + translation_weight * np.where(has_other, other, own_score)
        stand_in = 0.0 + translation_weight * other
        alone = other * (1 + translation_weight)
    return np.where(has_own, with_own, np.where(translation_open, stand_in, alone))
