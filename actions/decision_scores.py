"""Scoring answer-or-escalate decisions on the labelled queries, and the gate's offline sweep.

A decision is right when the assistant answers with the labelled article, offers a choice of
articles that includes it (the customer reaches it with one tap, nothing wrong was said), does
not answer (asks to rephrase, hands over) a question the knowledge base cannot answer, or hands
a complaint to a person (the complaint flow: empathy, then a high-priority handoff). An offer
on a question the knowledge base cannot answer is not right: it costs the customer a tap before
"none of these" hands over. A confident wrong answer cites another article, or answers an
unanswerable question; an offer is never one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from actions.gate import GateConfig, Outcome, decide
from kb_index.evaluation import LabelledQuery
from kb_index.retriever import Hit

ANSWER = "answer"
SUGGEST = "suggest"
HANDED_OVER = frozenset({"handoff", "offline"})
COMPLAINT = "complaint"


@dataclass(frozen=True)
class QueryOutcome:
    """What the assistant did with one labelled query."""

    text: str
    language: str
    kind: str
    expected: str | None
    decision: str
    article: str | None
    options: tuple[str, ...] = ()

    @property
    def answered(self) -> bool:
        """Whether the assistant answered from the knowledge base."""
        return self.decision == ANSWER

    @property
    def offered_right(self) -> bool:
        """Whether the assistant offered a choice of articles that holds the labelled one."""
        return self.decision == SUGGEST and self.expected in self.options

    @property
    def right(self) -> bool:
        """The labelled article, answered or offered; none when none fits; a person for anger."""
        if self.kind == COMPLAINT:
            return self.decision in HANDED_OVER
        if self.answered:
            return self.article == self.expected
        if self.decision == SUGGEST:
            return self.offered_right
        return self.expected is None

    @property
    def confident_wrong(self) -> bool:
        """Answered with another article, or answered when no article fits."""
        return self.answered and self.article != self.expected


@dataclass
class DecisionScores:
    """The figures of one language."""

    queries: int = 0
    right: int = 0
    confident_wrong: int = 0
    answerable: int = 0
    answered_right: int = 0
    offered_right: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: QueryOutcome) -> None:
        """Count one query's outcome."""
        self.queries += 1
        self.outcomes[outcome.decision] += 1
        self.right += outcome.right
        self.confident_wrong += outcome.confident_wrong
        if outcome.expected is not None:
            self.answerable += 1
            self.answered_right += outcome.answered and outcome.article == outcome.expected
            self.offered_right += outcome.offered_right

    @property
    def accuracy(self) -> float:
        """Share of queries with the right outcome."""
        return self.right / self.queries if self.queries else 0.0

    @property
    def confident_wrong_rate(self) -> float:
        """Share of queries answered with the wrong article (or answered at all when none fits)."""
        return self.confident_wrong / self.queries if self.queries else 0.0

    @property
    def deflection(self) -> float:
        """Share of answerable queries answered with the right article."""
        return self.answered_right / self.answerable if self.answerable else 0.0

    @property
    def reach(self) -> float:
        """Share of answerable queries answered with, or offered, the right article."""
        found = self.answered_right + self.offered_right
        return found / self.answerable if self.answerable else 0.0


def scores_by_language(outcomes: Iterable[QueryOutcome]) -> dict[str, DecisionScores]:
    """The figures per language of the queries' outcomes."""
    results: dict[str, DecisionScores] = {}
    for outcome in outcomes:
        results.setdefault(outcome.language, DecisionScores()).add(outcome)
    return results


_OUTCOMES = {Outcome.ANSWER: ANSWER, Outcome.SUGGEST: SUGGEST, Outcome.WEAK: "rephrase"}


@dataclass(frozen=True)
class GatePoint:
    """The gate's figures at one pair of thresholds."""

    config: GateConfig
    by_language: dict[str, DecisionScores]


def sweep_gate(
    queries: list[LabelledQuery],
    search: Callable[[LabelledQuery], list[Hit]],
    configs: Iterable[GateConfig],
) -> list[GatePoint]:
    """The gate alone, offline: each query's hits searched once, decided at every config.

    Complaints are left out: the complaint flow hands them over before the gate is asked.
    """
    searched = [(q, search(q)) for q in queries if q.kind != COMPLAINT]
    points = []
    for config in configs:
        outcomes = []
        for query, hits in searched:
            decision = decide(hits, "question", config, question=query.text)
            answer = decision.hit if decision.outcome is Outcome.ANSWER else None
            outcomes.append(
                QueryOutcome(
                    query.text,
                    query.language,
                    query.kind,
                    query.expected,
                    _OUTCOMES[decision.outcome],
                    answer.article_id if answer else None,
                    tuple(h.article_id for h in decision.options),
                )
            )
        points.append(GatePoint(config, scores_by_language(outcomes)))
    return points


def best_point(
    points: list[GatePoint], language: str, max_confident_wrong: float
) -> GatePoint | None:
    """The most accurate point in `language` within the confident-wrong limit.

    Among equally accurate ones, the one that answers most (fewer offers, fewer taps).
    """
    allowed = [
        p
        for p in points
        if language in p.by_language
        and p.by_language[language].confident_wrong_rate <= max_confident_wrong
    ]
    return max(
        allowed,
        key=lambda p: (p.by_language[language].accuracy, p.by_language[language].deflection),
        default=None,
    )
