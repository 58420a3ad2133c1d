"""The query adapter learned from the articles' example questions."""

from dataclasses import replace

import numpy as np
import pytest

from kb_index.adapter import AdapterExamples, QueryAdapter
from kb_index.articles import Article, article_files, load_articles
from kb_index.chunking import Chunk
from kb_index.embeddings import Embedder
from kb_index.retriever import RankingConfig, Retriever
from kb_index.sync import IndexOptions, build_index
from tests.conftest import DEMO_KB


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _chunk(article_id: str, kind: str) -> Chunk:
    return Chunk(
        article_id=article_id,
        topic=article_id,
        position=0 if kind == "passage" else 5,
        title=article_id,
        heading="",
        anchor="",
        language="en",
        text="text",
        kind=kind,
    )


def test_without_examples_or_mix_the_adapter_leaves_queries_alone() -> None:
    query = _unit(np.random.default_rng(0).standard_normal((1, 8)))
    examples = _unit(np.random.default_rng(1).standard_normal((5, 8)))
    empty = np.zeros((0, 8), dtype=np.float32)
    for adapter in (
        QueryAdapter.fit(empty, empty, ridge=1.0, mix=0.5),
        QueryAdapter.fit(examples, examples, ridge=1.0, mix=0.0),
    ):
        np.testing.assert_array_equal(adapter.apply(query), query)


def test_a_query_moves_towards_the_article_its_wording_leads_to() -> None:
    rng = np.random.default_rng(3)
    articles = _unit(rng.standard_normal((6, 32)))
    # customers ask in a wording of their own: a fixed distortion of the article's direction
    distortion = np.eye(32) + 0.8 * rng.standard_normal((32, 32)) / np.sqrt(32)
    labels = rng.integers(0, 6, 200)
    asked = _unit(articles[labels] @ distortion + 0.1 * rng.standard_normal((200, 32)))
    adapter = QueryAdapter.fit(asked[:150], articles[labels[:150]], ridge=1.0, mix=0.5)
    moved = adapter.apply(asked[150:])
    np.testing.assert_allclose(np.linalg.norm(moved, axis=1), 1.0, rtol=1e-5)
    before = np.einsum("ij,ij->i", asked[150:], articles[labels[150:]])
    after = np.einsum("ij,ij->i", moved, articles[labels[150:]])
    assert after.mean() > before.mean() + 0.05
    assert (np.argmax(moved @ articles.T, axis=1) == labels[150:]).mean() >= (
        np.argmax(asked[150:] @ articles.T, axis=1) == labels[150:]
    ).mean()


def test_examples_pair_questions_with_their_articles_passage_centroid() -> None:
    examples = AdapterExamples()
    vectors = np.eye(4, dtype=np.float32)
    chunks = [_chunk("a", "passage"), _chunk("a", "passage"), _chunk("a", "question")]
    examples.add([1, 2, 3], chunks, vectors[:3])
    examples.add([4], [_chunk("b", "question")], vectors[3:])  # b has no passages yet
    questions, targets = examples.pairs()
    np.testing.assert_array_equal(questions, vectors[2:3])
    np.testing.assert_allclose(targets, [[2**-0.5, 2**-0.5, 0, 0]], rtol=1e-6)
    examples.remove(1, chunks[0])  # a passage goes: the article goes with it
    assert examples.pairs()[0].shape[0] == 0


@pytest.fixture(scope="module")
def demo_articles() -> list[Article]:
    return load_articles(article_files(DEMO_KB))[0]


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("cuanto tarda en volver el dinero a la cuenta?", "refunds-es"),
        ("viajo a londres en marzo, con el DNI alcanza?", "travel-documents-es"),
    ],
)
def test_the_adapter_finds_what_the_plain_model_misses(
    demo_articles: list[Article], use_embedder: Embedder, question: str, article: str
) -> None:
    retriever = build_index(demo_articles, use_embedder, IndexOptions(), version=1).retriever
    adapted = RankingConfig()
    assert adapted.adapter_mix > 0
    assert retriever.rank(question, 1, "es", adapted)[0].article_id == article
    plain = replace(adapted, adapter_mix=0.0)
    assert retriever.rank(question, 1, "es", plain)[0].article_id != article


def test_the_adapter_follows_articles_added_and_removed(
    demo_articles: list[Article], use_embedder: Embedder
) -> None:
    question = "cuanto tarda en volver el dinero a la cuenta?"
    config = RankingConfig()
    full = build_index(demo_articles, use_embedder, IndexOptions(), version=1)
    without = [a for a in demo_articles if a.id != "refunds-es"]
    fresh = build_index(without, use_embedder, IndexOptions(), version=1).retriever

    def scores(retriever: Retriever) -> list[tuple[str, float]]:
        hits = retriever.rank(question, 5, "es", config)
        return [(h.article_id, round(h.score, 4)) for h in hits]

    before = scores(full.retriever)
    removed = full.manifest.articles["refunds-es"].chunk_ids
    chunks = [full.retriever.chunks[i] for i in removed]
    vectors = full.retriever.vectors.vectors_of(removed)
    full.retriever.search(question, 1, "es")  # the adapter is fitted now
    full.retriever.remove(removed)
    assert scores(full.retriever) == scores(fresh)
    new_ids = [10_000 + i for i in range(len(removed))]
    full.retriever.add(new_ids, chunks, vectors)
    assert scores(full.retriever) == before
