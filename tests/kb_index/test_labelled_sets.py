"""The labelled query sets: every label names a real article, and the held-out set is apart."""

import pytest

from kb_index.articles import article_files, load_articles
from kb_index.evaluation import load_queries
from tests.conftest import DEMO_KB, ROOT

EVAL = ROOT / "kb" / "eval"


@pytest.mark.parametrize("name", ["queries.yaml", "heldout.yaml"])
def test_every_label_is_an_article_of_the_demo_knowledge_base(name: str) -> None:
    articles, problems = load_articles(article_files(DEMO_KB))
    assert problems == []
    ids = {a.id for a in articles}
    queries = load_queries(EVAL / name)
    assert {q.language for q in queries} == {"es", "en"}
    unknown = {q.expected for q in queries if q.expected is not None} - ids
    assert unknown == set()
    assert any(q.expected is None for q in queries)  # both sets hold unanswerable questions


def test_the_held_out_set_shares_no_query_with_the_development_set() -> None:
    development = {q.text.casefold() for q in load_queries(EVAL / "queries.yaml")}
    held_out = [q.text.casefold() for q in load_queries(EVAL / "heldout.yaml")]
    assert len(held_out) == len(set(held_out)) == 150
    assert development.isdisjoint(held_out)
