"""The answer-or-escalate gate: answer only when the evidence is strong. Pure and small.

One score separates answerable from unanswerable questions poorly, so the gate combines the
top hit's fused score, its lead over the runner-up and Rasa's intent. Between a sure answer
and nothing, the gate can offer the customer the few plausible articles to choose from ("did
you mean...?"): the ranking often has the right article near the top without a clear lead. The
thresholds are settings, calibrated with `relevo eval gate` (see docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kb_index.retriever import Hit

OUT_OF_SCOPE = "out_of_scope"  # Rasa's intent for off-topic messages


class Outcome(StrEnum):
    """What the assistant does with a question."""

    ANSWER = "answer"
    SUGGEST = "suggest"
    WEAK = "weak"


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the gate."""

    min_score: float = 1.0
    min_margin: float = 0.3
    min_score_out_of_scope: float = 1.4
    min_score_suggest: float = 0.8
    max_suggestions: int = 3


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and why."""

    outcome: Outcome
    reason: str
    hit: Hit | None
    options: tuple[Hit, ...] = ()


def decide(hits: list[Hit], intent: str | None, config: GateConfig) -> Decision:
    """Answer with the top hit when it is strong, ahead and on topic; else offer or decline.

    A message Rasa finds off-topic is answered only on a stricter score; below it, a hit that
    would have been answered for an on-topic message is offered (Rasa's intent on a short
    message errs too), and anything weaker gets no offer.
    """
    if not hits:
        return Decision(Outcome.WEAK, "no knowledge-base hit", None)
    top = hits[0]
    lead = top.score - (hits[1].score if len(hits) > 1 else 0.0)
    off_topic = intent == OUT_OF_SCOPE
    needed = config.min_score_out_of_scope if off_topic else config.min_score
    if top.score < needed:
        reason = f"top score {top.score:.2f} < {needed:.2f}"
    elif lead < config.min_margin:
        reason = f"lead {lead:.2f} over the runner-up < {config.min_margin}"
    else:
        return Decision(Outcome.ANSWER, f"top score {top.score:.2f}, lead {lead:.2f}", top)
    on_topic_answer = top.score >= config.min_score and lead >= config.min_margin
    if off_topic and not on_topic_answer:
        return Decision(Outcome.WEAK, reason, top)
    return _offer(hits, config, reason)


def _offer(hits: list[Hit], config: GateConfig, reason: str) -> Decision:
    """No sure answer: the hits worth offering, or nothing when none is."""
    options = tuple(
        h for h in hits[: config.max_suggestions] if h.score >= config.min_score_suggest
    )
    if not options:
        return Decision(Outcome.WEAK, reason, hits[0])
    return Decision(Outcome.SUGGEST, f"{reason}; {len(options)} offered", hits[0], options)
