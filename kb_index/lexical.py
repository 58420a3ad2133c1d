"""A BM25 index with accent folding that can add and remove documents one at a time.

Each document is kept as two small arrays (its terms' numbers and their counts), and the
postings of every term as one sorted array of (term, document) pairs with their BM25 weights,
rebuilt in a few array operations on the first search after a change. A query costs a few array
operations per term instead of a Python step per matching document, which matters once common
words match tens of thousands of chunks; and no Python object is kept per posting (120 MB at
100,000 chunks, against 270 MB for dictionaries of postings beside the arrays).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb_index.scoring import NO_IDS, NO_SCORES
from kb_index.text import tokens


@dataclass(frozen=True)
class _Postings:
    """Every term's postings, grouped by term: `ids[starts[t]:starts[t + 1]]` hold term t."""

    starts: np.ndarray
    ids: np.ndarray
    weights: np.ndarray  # the BM25 weight of the term in the document, before the idf

    def of(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """The documents with term number `term`, and its weight in each."""
        start, end = self.starts[term], self.starts[term + 1]
        return self.ids[start:end], self.weights[start:end]


class BM25Index:
    """Okapi BM25 over chunk texts, keyed by chunk id."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._vocabulary: dict[str, int] = {}
        self._documents: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # term numbers, counts
        self._lengths: dict[int, int] = {}
        self._total_length = 0
        self._postings: _Postings | None = None  # None after a change: rebuilt on first use

    def __len__(self) -> int:
        return len(self._documents)

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
        terms = np.fromiter(
            (self._vocabulary.setdefault(term, len(self._vocabulary)) for term in counts),
            dtype=np.int32,
            count=len(counts),
        )
        self._documents[doc_id] = (terms, np.fromiter(counts.values(), np.int32, len(counts)))
        self._lengths[doc_id] = sum(counts.values())
        self._total_length += self._lengths[doc_id]
        self._postings = None

    def remove(self, doc_id: int) -> None:
        """Forget one document; unknown ids are ignored."""
        if self._documents.pop(doc_id, None) is not None:
            self._total_length -= self._lengths.pop(doc_id)
            self._postings = None

    def build(self) -> None:
        """Build the postings now (a search does it on first use after a change)."""
        self._built()

    def _built(self) -> _Postings:
        """The postings of the current documents, weighted for their average length."""
        if self._postings is None:
            self._postings = self._build()
        return self._postings

    def _build(self) -> _Postings:
        documents = self._documents
        terms = [t for t, _ in documents.values()]
        if not terms:
            return _Postings(np.zeros(1, dtype=np.int64), NO_IDS, NO_SCORES)
        sizes = np.fromiter((len(t) for t in terms), dtype=np.int64, count=len(terms))
        term = np.concatenate(terms)
        tf = np.concatenate([c for _, c in documents.values()]).astype(np.float64)
        ids = np.repeat(np.fromiter(documents, dtype=np.int64, count=len(documents)), sizes)
        lengths = np.repeat(
            np.fromiter((self._lengths[d] for d in documents), np.float64, len(documents)), sizes
        )
        weights = self._weights(tf, lengths)
        order = np.lexsort((ids, term))
        starts = np.searchsorted(term[order], np.arange(len(self._vocabulary) + 1))
        return _Postings(starts, ids[order], weights[order])

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores of every document that shares a term with the query.

        Returns the documents' ids in ascending order and their scores, in two arrays.
        """
        count = len(self._documents)
        if not count:
            return NO_IDS, NO_SCORES
        postings = self._built()
        found_ids: list[np.ndarray] = []
        found_scores: list[np.ndarray] = []
        for word in set(tokens(query)):
            term = self._vocabulary.get(word)
            ids, weights = postings.of(term) if term is not None else (NO_IDS, NO_SCORES)
            if not len(ids):
                continue
            found_ids.append(ids)
            found_scores.append(_idf(len(ids), count) * weights)
        if not found_ids:
            return NO_IDS, NO_SCORES
        # Ids are positions (see `add`): summed per id, in the order of the query's terms.
        total = np.bincount(np.concatenate(found_ids), weights=np.concatenate(found_scores))
        documents = np.flatnonzero(total)
        return documents, total[documents]

    def scores_of(self, query: str, ids: Sequence[int]) -> np.ndarray:
        """BM25 scores of the documents `ids` (indexed ones) for `query`, one per id.

        A word also matches its plural or singular ("gate" and "gates", "mostrador" and
        "mostradores"): customers write one, articles the other. For a few documents, such as
        an article's passages; `scores` searches them all, with the words as written.
        """
        vocabulary = self._vocabulary
        words = {form for word in set(tokens(query)) for form in word_forms(word)}
        terms = np.array(sorted(vocabulary[w] for w in words if w in vocabulary), dtype=np.int64)
        if not len(terms) or not len(ids):
            return np.zeros(len(ids), dtype=np.float64)
        starts, count = self._built().starts, len(self._documents)
        frequencies = (starts[terms + 1] - starts[terms]).tolist()
        idf = np.array([_idf(frequency, count) for frequency in frequencies])
        documents = [self._documents[doc_id] for doc_id in ids]
        doc_terms = np.concatenate([numbers for numbers, _ in documents])
        owner = np.repeat(np.arange(len(ids)), [len(numbers) for numbers, _ in documents])
        place = np.searchsorted(terms, doc_terms).clip(max=len(terms) - 1)
        found = np.flatnonzero(terms[place] == doc_terms)
        tf = np.concatenate([counts for _, counts in documents])[found].astype(np.float64)
        lengths = np.array([self._lengths[doc_id] for doc_id in ids], dtype=np.float64)
        weights = idf[place[found]] * self._weights(tf, lengths[owner[found]])
        return np.bincount(owner[found], weights=weights, minlength=len(ids))

    def _weights(self, tf: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """BM25's weight of terms with counts `tf` in documents of `lengths`, before the idf."""
        average = self._total_length / len(self._documents)
        return tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * lengths / average))


def _idf(document_frequency: int, count: int) -> float:
    """BM25's idf of a term found in `document_frequency` of `count` documents."""
    return math.log(1 + (count - document_frequency + 0.5) / (document_frequency + 0.5))


def word_forms(word: str) -> set[str]:
    """A folded word with the plural and singular forms Spanish and English make with -s, -es.

    Forms that are no word are harmless: they match nothing.
    """
    forms = {word}
    if len(word) < 3 or word.isdigit():
        return forms
    forms |= {word + "s", word + "es"}
    if word.endswith("s"):
        forms.add(word[:-1])
    if word.endswith("es"):
        forms.add(word[:-2])
    return forms
