"""Which passage of an article to quote: after an example question matched, or a heading named.

An example question (front matter `questions:`) is searched, never quoted: the answer quotes a
passage of its article. The opening is the article's summary and answers most questions, but
not the precise ones the content team anticipated ("how many minutes before departure do the
boarding gates close?" is answered in a list further down). The passages are scored for the
customer's message as the ranking scores chunks, dense plus a share of lexical, with two
differences: the lexical scores are shares of the article's best (the example question, which
shares the customer's words, sets the corpus's best and flattens the passages' differences), and
a word matches its plural ("surfboard" and "surfboards"). Passages of one article score close
to each other, so the opening is kept unless another passage beats it by a margin.

A section whose heading names what the customer asks is quoted in place of the passage the
scores chose when it scores nearly as well (`passage_named_by_heading`): "am i owed
compensation and how much?" quoted the delays article's opening, not "How much compensation".
"""

from __future__ import annotations

from collections.abc import Sequence


def passage_to_quote(
    dense: Sequence[float], lexical: Sequence[float], *, lexical_weight: float, margin: float
) -> int:
    """The position of the passage to quote among an article's passages, the opening first.

    Args:
        dense: each passage's cosine with the customer's message (zeros without a dense model).
        lexical: each passage's lexical score for the message (any non-negative scale).
        lexical_weight: the share of the lexical score, a share of the article's best.
        margin: how much more than the opening another passage must score to be quoted.
    """
    scores = passage_scores(dense, lexical, lexical_weight=lexical_weight)
    best = max(range(len(scores)), key=scores.__getitem__)
    return best if scores[best] - scores[0] >= margin else 0


def passage_scores(
    dense: Sequence[float], lexical: Sequence[float], *, lexical_weight: float
) -> list[float]:
    """An article's passages scored for a message: dense plus a share of the article's best."""
    best_lexical = max(lexical, default=0.0)
    share = lexical_weight / best_lexical if best_lexical > 0 else 0.0
    return [d + share * w for d, w in zip(dense, lexical, strict=True)]


def passage_named_by_heading(
    scores: Sequence[float], named: Sequence[int], current: int, *, margin: float
) -> int:
    """The passage to quote in place of `current` when a heading names what is asked.

    The headings are the content team's names for an article's sections ("How much
    compensation", "Meals and hotel"): a passage under a heading that names more of the
    question's words than the current passage's heading is quoted instead, the best scoring of
    them, when it scores within `margin` of the current one.

    Args:
        scores: each passage's score for the message (`passage_scores`).
        named: how many of the question's words each passage's heading names.
        current: the position of the passage the ranking would quote.
        margin: how much lower than the current passage the named one may score.
    """
    most = max(named, default=0)
    if most <= named[current]:
        return current
    floor = scores[current] - margin
    fitting = [i for i, n in enumerate(named) if n == most and scores[i] >= floor]
    return max(fitting, key=scores.__getitem__) if fitting else current
