"""The answer-or-escalate gate: answer only when the evidence is strong. Pure and small.

One score separates answerable from unanswerable questions poorly, so the gate combines the
top hit's fused score, its lead over the runner-up and Rasa's intent. The thresholds are
settings, calibrated with `relevo eval gate` (see docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kb_index.retriever import Hit


class Outcome(StrEnum):
    """What the assistant does with a question."""

    ANSWER = "answer"
    WEAK = "weak"


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the gate."""

    min_score: float = 1.0
    min_margin: float = 0.2
    min_score_out_of_scope: float = 1.4


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and why."""

    outcome: Outcome
    reason: str
    hit: Hit | None


def decide(hits: list[Hit], intent: str | None, config: GateConfig) -> Decision:
    """Answer with the top hit only when it is strong, ahead, and the message is on topic."""
    if not hits:
        return Decision(Outcome.WEAK, "no knowledge-base hit", None)
    top = hits[0]
    runner_up = hits[1].score if len(hits) > 1 else 0.0
    needed = config.min_score_out_of_scope if intent == "out_of_scope" else config.min_score
    if top.score < needed:
        return Decision(Outcome.WEAK, f"top score {top.score:.2f} < {needed:.2f}", top)
    if top.score - runner_up < config.min_margin:
        lead = top.score - runner_up
        return Decision(
            Outcome.WEAK, f"lead {lead:.2f} over the runner-up < {config.min_margin}", top
        )
    return Decision(
        Outcome.ANSWER, f"top score {top.score:.2f}, lead {top.score - runner_up:.2f}", top
    )
