"""Array scoring of passages into articles and topics, against the rules worked out one by one."""

import numpy as np
import pytest

from kb_index.chunking import Chunk
from kb_index.scoring import ArticleScore, Candidates, ChunkTable

SECOND, TRANSLATION = 0.3, 0.5


def random_chunks(rng: np.random.Generator, topics: int) -> dict[int, Chunk]:
    """Articles of 1-6 passages in en and es; some topics in one language, some with no opening."""
    chunks: dict[int, Chunk] = {}
    next_id = int(rng.integers(0, 5))
    for t in range(topics):
        languages = ["en", "es"] if rng.random() < 0.6 else [str(rng.choice(["en", "es"]))]
        for language in languages:
            start = 0 if rng.random() < 0.9 else 1  # sometimes the opening is not indexed
            for position in range(start, start + int(rng.integers(1, 7))):
                chunks[next_id] = Chunk(
                    f"t{t}-{language}", f"t{t}", position, "T", "", "", language, "text"
                )
                next_id += int(rng.integers(1, 3))  # ids with holes, as after edits
    return chunks


def reference(
    chunks: dict[int, Chunk],
    candidates: Candidates,
    scores: np.ndarray,
    language: str,
    exclude: frozenset[str],
) -> dict[str, tuple[float, int | None]]:
    """Every topic's score, passage by passage, as the ranking rules say, and its stand-in.

    The stand-in: the opening chunk of the topic's article in `language` when none of its
    passages was found but the article may stand in for a translation's.
    """
    per_article: dict[str, list[tuple[float, int, float, float]]] = {}
    for i, chunk_id in enumerate(candidates.ids.tolist()):
        chunk = chunks.get(chunk_id)
        if chunk is not None and chunk.article_id not in exclude:
            per_article.setdefault(chunk.article_id, []).append(
                (float(scores[i]), chunk_id, float(candidates.dense[i]), 0.0)
            )
    topics: dict[str, dict[str, ArticleScore]] = {}
    for found in per_article.values():
        found.sort(reverse=True)
        second = found[1][0] if len(found) > 1 else 0.0
        best = ArticleScore(found[0][0] + SECOND * second, *found[0][1:])
        chunk = chunks[best.chunk_id]
        topics.setdefault(chunk.topic, {})[chunk.language] = best
    openings = {
        (c.topic, c.language): (i, c.article_id) for i, c in chunks.items() if c.position == 0
    }
    result: dict[str, tuple[float, int | None]] = {}
    for topic, by_language in topics.items():
        own = by_language.get(language)
        others = sorted((a for lang, a in by_language.items() if lang != language), reverse=True)
        opening, stand_in = openings.get((topic, language), (None, None))
        if own is None and stand_in is not None and stand_in not in exclude:
            own = ArticleScore(0.0, -1, 0.0, 0.0)
        else:
            opening = None
        if own is not None:
            score = own.score + TRANSLATION * (others[0].score if others else own.score)
        else:
            score = others[0].score * (1 + TRANSLATION)
        result[topic] = (score, opening)
    return result


@pytest.mark.parametrize("seed", range(40))
def test_top_topics_are_those_the_rules_give_passage_by_passage(seed: int) -> None:
    rng = np.random.default_rng(seed)
    chunks = random_chunks(rng, topics=int(rng.integers(1, 120)))
    table = ChunkTable.of(chunks)
    ids = np.array(sorted(chunks), dtype=np.int64)
    picked = np.sort(rng.choice(ids, size=int(rng.integers(1, len(ids) + 1)), replace=False))
    picked = np.union1d(picked, [ids.max() + 3])  # an id the table does not know
    dense = np.where(rng.random(len(picked)) < 0.3, rng.random(len(picked)), 0.0)
    lexical = np.where(rng.random(len(picked)) < 0.8, rng.random(len(picked)), 0.0)
    if seed % 5 == 0:
        dense[0] = -0.2  # a negative score: no bound may be used
    if seed % 7 == 0:
        lexical[: len(lexical) // 2] = 0.25  # many equal scores
    candidates = Candidates(picked, dense, lexical)
    scores = dense + 0.2 * lexical
    articles = sorted({c.article_id for c in chunks.values()})
    exclude = frozenset(rng.choice(articles, size=min(3, len(articles)), replace=False).tolist())
    exclude = exclude if seed % 2 else frozenset()
    language = "es" if seed % 3 else "en"
    k = int(rng.integers(1, 12))

    found = table.top_topics(
        candidates,
        scores,
        language,
        k,
        second_chunk_weight=SECOND,
        translation_weight=TRANSLATION,
        exclude=exclude,
    )

    expected = reference(chunks, candidates, scores, language, exclude)
    best = sorted((score for score, _ in expected.values()), reverse=True)[:k]
    got = []
    for score, topic_scores in found:
        assert all(chunks[a.chunk_id].article_id not in exclude for a in topic_scores)
        topic = {chunks[a.chunk_id].topic for a in topic_scores}
        assert len(topic) == 1
        expected_score, opening = expected[topic.pop()]
        got.append(expected_score)
        assert score == pytest.approx(expected_score)
        stand_ins = [a for a in topic_scores if chunks[a.chunk_id].language == language]
        if opening is not None:
            assert stand_ins == [ArticleScore(0.0, opening, 0.0, 0.0)]
        else:  # the article in the customer's language was found itself
            assert all(a.chunk_id in candidates.ids for a in stand_ins)
    assert got == pytest.approx(best)


def test_candidates_merge_the_dense_and_the_lexical_ones() -> None:
    merged = Candidates.merge(
        np.array([9, 2], dtype=np.int64),
        np.array([0.8, 0.5]),
        np.array([2, 4], dtype=np.int64),
        np.array([1.0, 0.3]),
    )
    assert merged.ids.tolist() == [2, 4, 9]
    assert merged.dense.tolist() == [0.5, 0.0, 0.8]
    assert merged.lexical.tolist() == [1.0, 0.3, 0.0]


def test_no_candidates_and_an_empty_table_give_no_topics() -> None:
    empty = Candidates.merge(*(np.empty(0, dtype=np.int64), np.empty(0)) * 2)
    assert empty.ids.size == 0
    options = {"second_chunk_weight": SECOND, "translation_weight": TRANSLATION}
    assert (
        ChunkTable.of({}).top_topics(empty, empty.dense, "en", 5, exclude=frozenset(), **options)
        == []
    )
    one = Candidates(np.array([0]), np.array([0.5]), np.array([0.0]))
    assert (
        ChunkTable.of({}).top_topics(one, one.dense, "en", 5, exclude=frozenset(), **options) == []
    )


def test_an_articles_passages_are_listed_in_order_without_its_example_questions() -> None:
    def chunk(article: str, position: int, kind: str = "passage") -> Chunk:
        return Chunk(article, article, position, "T", "", "", "en", "text", kind)

    chunks = {
        7: chunk("a", 1),
        3: chunk("a", 0),
        4: chunk("a", 2, "question"),
        9: chunk("b", 0, "question"),
        5: chunk("c", 3),
    }
    assert ChunkTable.of(chunks).passages == {"a": (3, 7), "c": (5,)}
