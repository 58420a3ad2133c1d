import math
from pathlib import Path

import faiss
import numpy as np
import pytest

from kb_index.lexical import BM25Index, word_forms
from kb_index.text import fold, tokens
from kb_index.vectors import VectorIndex


def test_fold_and_tokens_ignore_accents_and_case() -> None:
    assert fold("Compensación ÑANDÚ") == "compensacion nandu"
    assert tokens("¿Mi vuelo BR1422 llegó?? #retraso") == [
        "mi",
        "vuelo",
        "br1422",
        "llego",
        "retraso",
    ]


def scored(index: BM25Index, query: str) -> dict[int, float]:
    ids, scores = index.scores(query)
    assert list(ids) == sorted(ids)
    return dict(zip(ids.tolist(), scores.tolist(), strict=True))


def test_bm25_matches_without_accents_and_ranks_rarer_terms_higher() -> None:
    index = BM25Index()
    index.add(1, "Compensación por retraso de vuelo")
    index.add(2, "Equipaje de mano y vuelo")
    index.add(3, "Wi-Fi Plus a bordo del vuelo")
    scores = scored(index, "compensacion vuelo")
    assert max(scores, key=scores.__getitem__) == 1
    assert set(scores) == {1, 2, 3}
    assert scored(index, "wifi") == {}
    wifi = scored(index, "wi fi plus")
    assert max(wifi, key=wifi.__getitem__) == 3


def test_bm25_scores_are_the_okapi_formula_summed_over_the_querys_terms() -> None:
    index = BM25Index(k1=1.2, b=0.75)
    texts = {7: "vuelo vuelo retraso", 3: "vuelo", 5: "maleta perdida"}
    for doc_id, text in texts.items():
        index.add(doc_id, text)

    def term(tf: int, length: int, df: int, count: int = 3, average: float = 6 / 3) -> float:
        idf = math.log(1 + (count - df + 0.5) / (df + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / average))

    scores = scored(index, "retraso del vuelo")
    assert set(scores) == {3, 7}
    assert scores[7] == pytest.approx(term(2, 3, 2) + term(1, 3, 1))
    assert scores[3] == pytest.approx(term(1, 1, 2))
    # A new document without the words still changes their weights: the average length moves.
    index.add(9, "equipaje de mano en cabina")
    scores = scored(index, "retraso del vuelo")
    assert scores[3] == pytest.approx(term(1, 1, 2, count=4, average=11 / 4))


def test_bm25_remove_and_replace() -> None:
    index = BM25Index()
    index.add(1, "booking code BX7K2Q")
    index.add(2, "refund status")
    assert 1 in scored(index, "bx7k2q")  # builds the term's arrays, which the removal must drop
    index.remove(1)
    assert scored(index, "bx7k2q") == {}
    assert len(index) == 1
    index.add(2, "seat selection")
    assert scored(index, "refund") == {} and 2 in scored(index, "seat")
    index.remove(99)  # unknown ids are ignored
    index.remove(2)
    assert scored(index, "seat") == {}


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_exact_index_add_remove_search_and_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors = _unit(rng, 50, 16)
    index = VectorIndex.exact(16)
    index.add(np.arange(100, 150), vectors)
    scores, ids = index.search(vectors[7:8], 3)
    assert ids[0][0] == 107 and abs(scores[0][0] - 1.0) < 1e-5
    assert index.remove([107, 108]) == 2
    assert 107 not in index.search(vectors[7:8], 5)[1][0]
    index.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss", "flat", nprobe=1)
    assert loaded.size == 48
    np.testing.assert_array_equal(loaded.search(vectors[:3], 4)[1], index.search(vectors[:3], 4)[1])


def test_ivf_index_finds_neighbours_and_supports_removal(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    centres = _unit(rng, 20, 32)
    vectors = centres[rng.integers(0, 20, 4000)] + 0.05 * rng.standard_normal((4000, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(4000, dtype=np.int64)
    index = VectorIndex.approximate(vectors, ids, nprobe=8)
    assert index.kind == "ivf" and index.size == 4000
    found = index.search(vectors[:100], 1)[1][:, 0]
    assert (found == ids[:100]).mean() >= 0.95
    index.remove([0, 1, 2])
    assert index.size == 3997
    assert 0 not in index.search(vectors[:1], 5)[1][0]
    index.save(tmp_path / "ivf.faiss")
    assert VectorIndex.load(tmp_path / "ivf.faiss", "ivf", nprobe=8).size == 3997


def test_stored_vectors_are_read_back_by_id_from_both_kinds(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    vectors = _unit(rng, 2000, 16)
    ids = np.arange(500, 2500, dtype=np.int64)
    exact = VectorIndex.exact(16)
    exact.add(ids, vectors)
    for index in (exact, VectorIndex.approximate(vectors, ids, nprobe=4)):
        np.testing.assert_allclose(index.vectors_of([2499, 500]), vectors[[1999, 0]], rtol=1e-6)
        index.remove([500])
        index.add(np.array([9000]), vectors[:1])
        np.testing.assert_allclose(index.vectors_of([9000]), vectors[:1], rtol=1e-6)
        index.save(tmp_path / f"{index.kind}.faiss")
        loaded = VectorIndex.load(tmp_path / f"{index.kind}.faiss", index.kind, nprobe=4)
        np.testing.assert_allclose(loaded.vectors_of([501]), vectors[1:2], rtol=1e-6)
        assert loaded.vectors_of([]).shape == (0, 16)


def test_an_ivf_index_written_without_an_id_map_is_readable_by_id(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    vectors = _unit(rng, 1000, 16)
    quantizer = faiss.IndexFlatIP(16)
    ivf = faiss.IndexIVFFlat(quantizer, 16, 8, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add_with_ids(vectors, np.arange(1000, 2000, dtype=np.int64))
    faiss.write_index(ivf, str(tmp_path / "old.faiss"))
    loaded = VectorIndex.load(tmp_path / "old.faiss", "ivf", nprobe=4)
    np.testing.assert_allclose(loaded.vectors_of([1007]), vectors[7:8], rtol=1e-6)


def test_scores_of_a_few_documents_are_bm25s_with_a_words_plural_or_singular() -> None:
    index = BM25Index()
    texts = {
        4: "Boarding gates close 20 minutes before departure",
        2: "Check-in counters close 45 minutes before departure",
        8: "Los mostradores abren 3 horas antes",
    }
    for doc_id, text in texts.items():
        index.add(doc_id, text)
    as_written = scored(index, "counters close before departure")
    assert index.scores_of("counters close before departure", [2, 4, 8]).tolist() == (
        pytest.approx([as_written[2], as_written[4], 0.0])
    )
    # "gate" finds "gates" and "mostrador" finds "mostradores"; `scores` takes words as written
    assert 4 not in scored(index, "gate") and index.scores_of("gate", [2, 4]).tolist() == (
        pytest.approx([0.0, scored(index, "gates")[4]])
    )
    assert index.scores_of("mostrador", [8])[0] == pytest.approx(scored(index, "mostradores")[8])
    assert index.scores_of("wifi", [2, 4]).tolist() == [0.0, 0.0]
    assert index.scores_of("gate", []).tolist() == []


def test_word_forms_are_the_plural_and_singular_made_with_s_and_es() -> None:
    assert word_forms("gate") == {"gate", "gates", "gatees"}
    assert word_forms("gates") >= {"gates", "gate"}
    assert word_forms("mostradores") >= {"mostradores", "mostrador"}
    assert word_forms("surfboard") >= {"surfboards"}
    assert word_forms("20") == {"20"} and word_forms("de") == {"de"}
