"""Scoring answer-or-escalate decisions, and the gate's offline sweep."""

from actions.decision_scores import QueryOutcome, best_point, scores_by_language, sweep_gate
from actions.gate import GateConfig
from kb_index.evaluation import LabelledQuery
from kb_index.retriever import Hit


def outcome(
    decision: str, article: str | None, expected: str | None, kind: str = "question"
) -> QueryOutcome:
    return QueryOutcome("text", "en", kind, expected, decision, article)


def test_right_and_confident_wrong_follow_the_flows() -> None:
    assert outcome("answer", "pets-en", "pets-en").right
    assert not outcome("answer", "wifi-onboard-en", "pets-en").right
    assert outcome("answer", "wifi-onboard-en", "pets-en").confident_wrong
    assert outcome("answer", "pets-en", None).confident_wrong
    assert not outcome("rephrase", None, "pets-en").right  # answerable, not answered
    assert outcome("rephrase", None, None).right and outcome("handoff", None, None).right
    # A complaint goes to a person; an answer, even the right article, is not the flow.
    assert outcome("handoff", None, "refunds-en", "complaint").right
    assert outcome("offline", None, "refunds-en", "complaint").right
    assert not outcome("answer", "refunds-en", "refunds-en", "complaint").right
    assert not outcome("rephrase", None, None, "complaint").right
    assert not outcome("answer", "refunds-en", "refunds-en", "complaint").confident_wrong


def test_an_offer_is_right_when_it_holds_the_labelled_article_and_never_confident_wrong() -> None:
    offered = QueryOutcome(
        "t", "en", "question", "pets-en", "suggest", None, ("wifi-onboard-en", "pets-en")
    )
    assert offered.right and offered.offered_right and not offered.confident_wrong
    missed = QueryOutcome("t", "en", "question", "pets-en", "suggest", None, ("wifi-onboard-en",))
    assert not missed.right and not missed.confident_wrong
    nothing_fits = QueryOutcome("t", "en", "question", None, "suggest", None, ("pets-en",))
    assert not nothing_fits.right and not nothing_fits.confident_wrong
    scores = scores_by_language(
        [offered, missed, nothing_fits, outcome("answer", "pets-en", "pets-en")]
    )
    en = scores["en"]
    assert (en.right, en.answered_right, en.offered_right, en.answerable) == (2, 1, 1, 3)
    assert abs(en.deflection - 1 / 3) < 1e-9 and abs(en.reach - 2 / 3) < 1e-9


def test_scores_per_language() -> None:
    outcomes = [
        outcome("answer", "pets-en", "pets-en"),
        outcome("answer", "wifi-onboard-en", "pets-en"),
        outcome("rephrase", None, None),
        outcome("rephrase", None, "pets-en"),
        QueryOutcome("texto", "es", "question", "pets-es", "answer", "pets-es"),
    ]
    scores = scores_by_language(outcomes)
    en = scores["en"]
    assert (en.queries, en.right, en.confident_wrong, en.answerable, en.answered_right) == (
        4,
        2,
        1,
        3,
        1,
    )
    assert en.accuracy == 0.5 and en.confident_wrong_rate == 0.25
    assert abs(en.deflection - 1 / 3) < 1e-9
    assert en.outcomes == {"answer": 2, "rephrase": 2}
    assert scores["es"].accuracy == 1.0


def hit(score: float, article: str) -> Hit:
    return Hit(score, article, "t", "text", "", "en", "en", False, 0.5, 0.5)


def test_the_sweep_decides_each_query_at_each_threshold_and_leaves_complaints_out() -> None:
    queries = [
        LabelledQuery("strong and right", "en", "pets-en"),
        LabelledQuery("close call, wrong", "en", "pets-en"),
        LabelledQuery("nothing fits", "en", None),
        LabelledQuery("angry", "en", "refunds-en", kind="complaint"),
    ]
    hits = {
        "strong and right": [hit(1.5, "pets-en"), hit(0.9, "wifi-onboard-en")],
        "close call, wrong": [hit(1.1, "wifi-onboard-en"), hit(1.0, "pets-en")],
        "nothing fits": [hit(0.7, "pets-en"), hit(0.6, "wifi-onboard-en")],
    }
    searched: list[str] = []

    def search(query: LabelledQuery) -> list[Hit]:
        searched.append(query.text)
        return hits[query.text]

    loose = GateConfig(min_score=0.5, min_margin=0.05, max_suggestions=0)
    strict = GateConfig(min_score=1.2, min_margin=0.2, max_suggestions=0)
    offering = GateConfig(min_score=1.2, min_margin=0.2, min_score_suggest=0.8)
    points = sweep_gate(queries, search, [loose, strict, offering])
    assert sorted(searched) == sorted(hits)  # each searched once; the complaint never
    loose_en, strict_en = points[0].by_language["en"], points[1].by_language["en"]
    assert loose_en.queries == 3 and loose_en.confident_wrong == 2 and loose_en.right == 1
    assert strict_en.confident_wrong == 0 and strict_en.right == 2
    offering_en = points[2].by_language["en"]  # the close call offers both, the right one too
    assert offering_en.outcomes == {"answer": 1, "suggest": 1, "rephrase": 1}
    assert offering_en.right == 3 and offering_en.offered_right == 1
    assert best_point(points, "en", 0.0) is points[2]
    assert best_point(points[:1], "en", 0.5) is None
    assert best_point(points, "es", 1.0) is None
