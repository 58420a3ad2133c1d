"""The answer-or-escalate gate: answer only when the evidence is strong. Pure and small.

One score separates answerable from unanswerable questions poorly, so the gate combines the
top hit's fused score, its lead over the runner-up, and whether the message is off-topic: Rasa's
intent, weighed against how much closer the message comes to an out-of-scope example than to
the knowledge base (`actions.off_topic`). Between a sure answer
and nothing, the gate can offer the customer the few plausible articles to choose from ("did
you mean...?"): the ranking often has the right article near the top without a clear lead. The
thresholds are settings, calibrated with `relevo eval gate` (see docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kb_index.retriever import Hit
from kb_index.text import content_stems

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
    min_margin: float = 0.25
    min_score_out_of_scope: float = 1.4
    min_score_suggest: float = 0.8
    suggest_within: float = 0.25
    max_suggestions: int = 3
    off_topic_gap: float = 0.05
    on_topic_gap: float = -0.1
    title_words: int = 2


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and why."""

    outcome: Outcome
    reason: str
    hit: Hit | None
    options: tuple[Hit, ...] = ()
    off_topic: bool = False


def is_off_topic(intent: str | None, example_gap: float | None, config: GateConfig) -> bool:
    """Off-topic by Rasa's intent, unless the examples' gap says otherwise.

    Nearer an out-of-scope example than the best passage by `off_topic_gap`: off-topic whatever
    Rasa says. The best passage nearer than any such example by more than `on_topic_gap`: on
    topic whatever Rasa says. Without examples (gap None), Rasa's intent alone.
    """
    said = intent == OUT_OF_SCOPE
    if example_gap is None:
        return said
    return example_gap > config.off_topic_gap or (said and example_gap > config.on_topic_gap)


def decide(
    hits: list[Hit],
    intent: str | None,
    config: GateConfig,
    example_gap: float | None = None,
    question: str = "",
) -> Decision:
    """Answer with the top hit when it is strong, ahead and on topic; else offer or decline.

    Ahead means a lead over the runner-up, or a `question` that names the top article's title
    as the others' do not (`names_the_title`). An off-topic message (`is_off_topic`) is
    answered only on a stricter score; below it, a hit that would have been answered for an
    on-topic message is offered (off-topic signals on a short message err too), and anything
    weaker gets no offer.
    """
    off_topic = is_off_topic(intent, example_gap, config)
    if not hits:
        return Decision(Outcome.WEAK, "no knowledge-base hit", None, off_topic=off_topic)
    top = hits[0]
    lead = top.score - (hits[1].score if len(hits) > 1 else 0.0)
    needed = config.min_score_out_of_scope if off_topic else config.min_score
    if top.score < needed:
        reason = f"top score {top.score:.2f} < {needed:.2f}"
    elif lead < config.min_margin and not off_topic and names_the_title(question, hits, config):
        reason = f"top score {top.score:.2f}, lead {lead:.2f}, the question names its title"
        return Decision(Outcome.ANSWER, reason, top)
    elif lead < config.min_margin:
        reason = f"lead {lead:.2f} over the runner-up < {config.min_margin}"
    else:
        reason = f"top score {top.score:.2f}, lead {lead:.2f}"
        return Decision(Outcome.ANSWER, reason, top, off_topic=off_topic)
    if off_topic:
        reason = f"off-topic, {reason}"
        if top.score < config.min_score or lead < config.min_margin:
            return Decision(Outcome.WEAK, reason, top, off_topic=True)
    return _offer(hits, config, reason, off_topic, question)


def names_the_title(question: str, hits: list[Hit], config: GateConfig) -> bool:
    """Whether the question names the top article's title, more than the next hits' titles.

    "¿Cuál es la franquicia de equipaje facturado?" against "Equipaje facturado: franquicia,
    maletas adicionales y sobrepeso", ahead of "Equipaje de mano: ...": the scores of articles
    on one subject (baggage, refunds) lie close, so the lead alone offered a choice for a
    question that says which article it wants. Words are compared by `content_stems`;
    `config.title_words` (0: off) named at least.
    """
    if config.title_words <= 0 or not question:
        return False
    asked = content_stems(question)
    named = [len(asked & content_stems(hit.title)) for hit in hits[: config.max_suggestions or 3]]
    return named[0] >= config.title_words and all(n < named[0] for n in named[1:])


def _offer(
    hits: list[Hit], config: GateConfig, reason: str, off_topic: bool, question: str = ""
) -> Decision:
    """No sure answer: the hits worth offering, or nothing when none is.

    Worth offering: a score of `min_score_suggest` at least, and within `suggest_within` of the
    top hit's. "can I travel with my dog?" offered travel documents 0.48 below the pets article;
    of the labelled questions whose article was offered below another, none lay more than 0.23
    below the first (docs/benchmarks.md). The worthy hit whose title holds most of the
    question's words, as no other's does, is offered first, from wherever it ranks
    (`_named_by_the_question`).
    """
    floor = max(config.min_score_suggest, hits[0].score - config.suggest_within)
    options = tuple(h for h in hits[: config.max_suggestions] if h.score >= floor)
    named = _named_by_the_question(question, hits, floor, config) if options else None
    if named is not None:
        options = (named, *(h for h in options if h is not named))[: config.max_suggestions]
    if not options:
        return Decision(Outcome.WEAK, reason, hits[0], off_topic=off_topic)
    reason = f"{reason}; {len(options)} offered"
    return Decision(Outcome.SUGGEST, reason, hits[0], options, off_topic)


def _named_by_the_question(
    question: str, hits: list[Hit], floor: float, config: GateConfig
) -> Hit | None:
    """The worthy hit whose title names most of the question, more than any other's title.

    "what's the checked baggage allowance" offered cabin baggage, delayed and damaged bags: the
    article titled "Checked baggage allowance, extra bags and overweight fees" came fourth, or
    third (QA s24 C4). The title must hold most of what the question says, not two words of a
    long message ("...called 6 times... at the airport"). Offered, never answered: a lower hit
    promoted to an answer by its title was wrong too often (docs/benchmarks.md, twenty-first
    session).
    """
    worthy = [h for h in hits if h.score >= floor]
    if config.title_words <= 0 or not question or not worthy:
        return None
    asked = content_stems(question)
    named = [len(asked & content_stems(hit.title)) for hit in worthy]
    most = max(named)
    if most < config.title_words or 2 * most <= len(asked) or named.count(most) > 1:
        return None
    return worthy[named.index(most)]
