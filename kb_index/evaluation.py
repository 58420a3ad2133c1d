"""Retrieval evaluation on the labelled queries: recall, MRR, language share, score spread."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from kb_index.language import detect_language
from kb_index.retriever import RankingConfig, Retriever

NONE = "none"


@dataclass(frozen=True)
class LabelledQuery:
    """A customer message and the article that answers it (None: the KB has no answer)."""

    text: str
    language: str
    expected: str | None
    kind: str = "question"


def load_queries(path: Path) -> list[LabelledQuery]:
    """Read the labelled set (YAML: queries: [{q, lang, expected, kind}])."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        LabelledQuery(
            text=str(item["q"]),
            language=str(item["lang"]),
            expected=None if item["expected"] == NONE else str(item["expected"]),
            kind=str(item.get("kind") or "question"),
        )
        for item in data["queries"]
    ]


@dataclass
class LanguageScores:
    """The figures of one method for one language."""

    answerable: int = 0
    top1: int = 0
    top3: int = 0
    reciprocal_ranks: list[float] = field(default_factory=list)
    same_language_top: int = 0
    same_language_total: int = 0
    detected_right: int = 0
    queries: int = 0
    answerable_top_scores: list[float] = field(default_factory=list)
    none_top_scores: list[float] = field(default_factory=list)

    @property
    def top1_recall(self) -> float:
        """Share of answerable queries whose first hit is the labelled article."""
        return self.top1 / self.answerable if self.answerable else 0.0

    @property
    def top3_recall(self) -> float:
        """Share of answerable queries with the labelled article in the first three."""
        return self.top3 / self.answerable if self.answerable else 0.0

    @property
    def mrr(self) -> float:
        """Mean reciprocal rank of the labelled article (0 when not in the first ten)."""
        return float(np.mean(self.reciprocal_ranks)) if self.reciprocal_ranks else 0.0

    @property
    def language_share(self) -> float:
        """Share of top hits in the query's language (queries whose answer exists in it)."""
        return (
            self.same_language_top / self.same_language_total if self.same_language_total else 0.0
        )

    @property
    def detection_accuracy(self) -> float:
        """Share of queries whose language was detected right."""
        return self.detected_right / self.queries if self.queries else 0.0


def spread(values: list[float]) -> str:
    """Min / median / p90 / max of scores, for the table."""
    if not values:
        return "-"
    p = np.percentile(values, [0, 50, 90, 100])
    return " / ".join(f"{v:.2f}" for v in p)


def evaluate(
    retriever: Retriever, queries: list[LabelledQuery], config: RankingConfig
) -> dict[str, LanguageScores]:
    """Run every query through `retriever` with `config`; figures per language."""
    languages = {a.language for a in retriever.chunks.values()}
    results: dict[str, LanguageScores] = {}
    for query in queries:
        scores = results.setdefault(query.language, LanguageScores())
        detected = detect_language(query.text, default=config.default_language).code
        scores.queries += 1
        scores.detected_right += detected == query.language
        hits = retriever.rank(query.text, 10, detected, config)
        ids = [h.article_id for h in hits]
        top_score = hits[0].score if hits else 0.0
        answer_in_own_language = query.expected is None or query.expected.endswith(
            f"-{query.language}"
        )
        if hits and answer_in_own_language and query.language in languages:
            scores.same_language_total += 1
            scores.same_language_top += hits[0].language == query.language
        if query.expected is None:
            scores.none_top_scores.append(top_score)
            continue
        scores.answerable += 1
        scores.answerable_top_scores.append(top_score)
        rank = ids.index(query.expected) + 1 if query.expected in ids else 0
        scores.top1 += rank == 1
        scores.top3 += 1 <= rank <= 3
        scores.reciprocal_ranks.append(1 / rank if rank else 0.0)
    return results
