"""The passage an article quotes: after an example question matched, or a heading named."""

import pytest

from kb_index.passages import passage_named_by_heading, passage_to_quote


@pytest.mark.parametrize(
    ("dense", "lexical", "quoted"),
    [
        ([0.60, 0.75, 0.50], [0.0, 0.0, 0.0], 1),  # clearly better than the opening
        ([0.60, 0.65, 0.50], [0.0, 0.0, 0.0], 0),  # better, within the margin: the opening
        ([0.60, 0.62, 0.50], [1.0, 9.0, 0.0], 1),  # the article's best words: + 0.2
        ([0.60, 0.62, 0.50], [9.0, 1.0, 0.0], 0),
        ([0.70, 0.62, 0.50], [0.0, 0.0, 0.0], 0),  # the opening scores best
        ([0.50], [3.0], 0),  # an article of one passage
    ],
)
def test_the_opening_is_quoted_unless_another_passage_is_clearly_better(
    dense: list[float], lexical: list[float], quoted: int
) -> None:
    assert passage_to_quote(dense, lexical, lexical_weight=0.2, margin=0.1) == quoted


def test_lexical_scores_count_as_shares_of_the_articles_best() -> None:
    """Any scale: the example question, not a passage, sets the corpus's best."""
    for scale in (0.01, 1.0, 30.0):
        lexical = [scale * 0.2, scale * 1.0]
        assert passage_to_quote([0.5, 0.5], lexical, lexical_weight=0.2, margin=0.1) == 1
        assert passage_to_quote([0.5, 0.5], lexical, lexical_weight=0.2, margin=0.2) == 0


@pytest.mark.parametrize(
    ("scores", "named", "quoted"),
    [
        ([0.70, 0.60, 0.65], [0, 0, 1], 2),  # named, within the margin
        ([0.70, 0.60, 0.50], [0, 0, 1], 0),  # named, but 0.2 below: the ranking's choice
        ([0.70, 0.60, 0.65], [0, 1, 1], 2),  # two named alike: the better scoring
        ([0.70, 0.60, 0.65], [0, 2, 1], 1),  # the one that names more
        ([0.70, 0.60, 0.65], [1, 0, 1], 0),  # the current one names as much
        ([0.70, 0.60, 0.65], [0, 0, 0], 0),  # no heading names anything
    ],
)
def test_a_passage_whose_heading_names_the_question_is_quoted_if_it_scores_close(
    scores: list[float], named: list[int], quoted: int
) -> None:
    assert passage_named_by_heading(scores, named, 0, margin=0.15) == quoted
