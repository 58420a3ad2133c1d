"""A BM25 index with accent folding that can add and remove documents one at a time.

Scoring is vectorised: each term's postings and their BM25 weights are kept as numpy arrays
(built on first use after a change to the corpus), so a query costs a few array operations per
term instead of a Python step per matching document, which matters once common words match tens
of thousands of chunks.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from kb_index.text import tokens

_NO_IDS = np.empty(0, dtype=np.int64)
_NO_SCORES = np.empty(0, dtype=np.float64)


class BM25Index:
    """Okapi BM25 over chunk texts, keyed by chunk id."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)
        self._lengths: dict[int, int] = {}
        self._terms: dict[int, tuple[str, ...]] = {}
        self._total_length = 0
        # term -> (document ids, weights), built on first use for the corpus's average length.
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._weights_average = 0.0

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, doc_id: int, text: str) -> None:
        """Index one document (replacing an earlier one with the same id).

        Ids are small non-negative integers, as the knowledge base numbers its chunks: scoring
        sums into an array indexed by id.

        Raises:
            ValueError: If `doc_id` is negative.
        """
        if doc_id < 0:
            raise ValueError(f"document ids are non-negative integers, not {doc_id}")
        self.remove(doc_id)
        counts = Counter(tokens(text))
        for term, count in counts.items():
            self._postings[term][doc_id] = count
            self._arrays.pop(term, None)
        length = sum(counts.values())
        self._lengths[doc_id] = length
        self._terms[doc_id] = tuple(counts)
        self._total_length += length

    def remove(self, doc_id: int) -> None:
        """Forget one document; unknown ids are ignored."""
        length = self._lengths.pop(doc_id, None)
        if length is None:
            return
        self._total_length -= length
        for term in self._terms.pop(doc_id):
            self._arrays.pop(term, None)
            del self._postings[term][doc_id]
            if not self._postings[term]:
                del self._postings[term]

    def _term_weights(self, term: str, average: float) -> tuple[np.ndarray, np.ndarray] | None:
        """The ids of the documents with `term` and its BM25 weight in each (before the idf)."""
        if average != self._weights_average:  # any change of the corpus changes the average
            self._arrays.clear()
            self._weights_average = average
        arrays = self._arrays.get(term)
        if arrays is None:
            docs = self._postings.get(term)
            if not docs:
                return None
            ids = np.fromiter(docs.keys(), dtype=np.int64, count=len(docs))
            tf = np.fromiter(docs.values(), dtype=np.float64, count=len(docs))
            lengths = np.fromiter(
                (self._lengths[i] for i in docs), dtype=np.float64, count=len(docs)
            )
            norm = self.k1 * (1 - self.b + self.b * lengths / average)
            arrays = self._arrays[term] = (ids, tf * (self.k1 + 1) / (tf + norm))
        return arrays

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores of every document that shares a term with the query.

        Returns the documents' ids in ascending order and their scores, in two arrays.
        """
        count = len(self._lengths)
        if not count:
            return _NO_IDS, _NO_SCORES
        average = self._total_length / count
        found_ids: list[np.ndarray] = []
        found_scores: list[np.ndarray] = []
        for term in set(tokens(query)):
            arrays = self._term_weights(term, average)
            if arrays is None:
                continue
            ids, weights = arrays
            found_ids.append(ids)
            found_scores.append(math.log(1 + (count - len(ids) + 0.5) / (len(ids) + 0.5)) * weights)
        if not found_ids:
            return _NO_IDS, _NO_SCORES
        # Ids are positions (see `add`): summed per id, in the order of the query's terms.
        total = np.bincount(np.concatenate(found_ids), weights=np.concatenate(found_scores))
        documents = np.flatnonzero(total)
        return documents, total[documents]
