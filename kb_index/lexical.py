"""A BM25 index with accent folding that can add and remove documents one at a time."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from kb_index.text import tokens


class BM25Index:
    """Okapi BM25 over chunk texts, keyed by chunk id."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)
        self._lengths: dict[int, int] = {}
        self._terms: dict[int, tuple[str, ...]] = {}
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, doc_id: int, text: str) -> None:
        """Index one document (replacing an earlier one with the same id)."""
        self.remove(doc_id)
        counts = Counter(tokens(text))
        for term, count in counts.items():
            self._postings[term][doc_id] = count
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
            del self._postings[term][doc_id]
            if not self._postings[term]:
                del self._postings[term]

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every document that shares a term with the query."""
        count = len(self._lengths)
        if not count:
            return {}
        average = self._total_length / count
        result: dict[int, float] = defaultdict(float)
        for term in set(tokens(query)):
            docs = self._postings.get(term)
            if not docs:
                continue
            idf = math.log(1 + (count - len(docs) + 0.5) / (len(docs) + 0.5))
            for doc_id, tf in docs.items():
                norm = self.k1 * (1 - self.b + self.b * self._lengths[doc_id] / average)
                result[doc_id] += idf * tf * (self.k1 + 1) / (tf + norm)
        return dict(result)
