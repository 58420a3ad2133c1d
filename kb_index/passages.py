"""Which passage of an article to quote when one of its example questions matched best.

An example question (front matter `questions:`) is searched, never quoted: the answer quotes a
passage of its article. The opening is the article's summary and answers most questions, but
not the precise ones the content team anticipated ("how many minutes before departure do the
boarding gates close?" is answered in a list further down). The passages are scored for the
customer's message as the ranking scores chunks, dense plus a share of lexical, with two
differences: the lexical scores are shares of the article's best (the example question, which
shares the customer's words, sets the corpus's best and flattens the passages' differences), and
a word matches its plural ("surfboard" and "surfboards"). Passages of one article score close
to each other, so the opening is kept unless another passage beats it by a margin.
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
    best_lexical = max(lexical, default=0.0)
    share = lexical_weight / best_lexical if best_lexical > 0 else 0.0
    scores = [d + share * w for d, w in zip(dense, lexical, strict=True)]
    best = max(range(len(scores)), key=scores.__getitem__)
    return best if scores[best] - scores[0] >= margin else 0
