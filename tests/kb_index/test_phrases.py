"""Reference phrases and the embedder's memory of recent queries, with the real USE model."""

import numpy as np
import pytest

from kb_index.embeddings import Embedder, RecentQueries
from kb_index.phrases import PhraseSet
from kb_index.query import clean_query


class CountingEmbedder:
    """A real embedder that counts the texts it was asked to encode."""

    def __init__(self, inner: Embedder) -> None:
        self.name = inner.name
        self.dimension = inner.dimension
        self.inner = inner
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += texts
        return self.inner.encode(texts)


def test_the_nearest_phrase_is_the_one_alike_in_either_language(use_embedder: Embedder) -> None:
    phrases = PhraseSet(
        use_embedder,
        ["whats the weather like in london tomorrow?", "quien gano el partido de anoche?"],
    )
    weather = phrases.nearest("va a llover mañana en Londres?")
    football = phrases.nearest("did u watch the match last night")
    assert weather is not None and football is not None
    assert weather.phrase.startswith("whats the weather")
    assert football.phrase.startswith("quien gano")
    assert 0.0 < weather.score <= 1.0
    # The score is the cosine the knowledge base's search would give the same pair.
    same = use_embedder.encode([clean_query("va a llover mañana en Londres?")])[0]
    other = use_embedder.encode([clean_query("whats the weather like in london tomorrow?")])[0]
    assert weather.score == pytest.approx(float(same @ other), abs=1e-5)


def test_an_empty_phrase_set_has_no_nearest(use_embedder: Embedder) -> None:
    assert PhraseSet(use_embedder, []).nearest("anything") is None


def test_recent_queries_are_encoded_once_and_shared_read_only(use_embedder: Embedder) -> None:
    counting = CountingEmbedder(use_embedder)
    memo = RecentQueries(counting, size=2)
    first = memo.encode(["where is my bag"])
    again = memo.encode(["where is my bag"])
    assert again is first and counting.encoded == ["where is my bag"]
    assert not first.flags.writeable
    memo.encode(["a"])
    memo.encode(["b"])  # the memory holds two: "where is my bag" is forgotten
    memo.encode(["where is my bag"])
    assert counting.encoded.count("where is my bag") == 2
    batch = memo.encode(["a", "b"])  # batches go straight to the model
    assert batch.shape == (2, use_embedder.dimension) and counting.encoded[-2:] == ["a", "b"]


def test_a_prepared_query_serves_its_turn_once_without_encoding_again(
    use_embedder: Embedder,
) -> None:
    counting = CountingEmbedder(use_embedder)
    memo = RecentQueries(counting, size=1, prepared_size=2)
    memo.prepare("can i bring my dog")
    memo.prepare("can i bring my dog")  # prepared twice (a resent message): encoded once
    assert counting.encoded == ["can i bring my dog"]
    vector = memo.encode(["can i bring my dog"])  # the turn: the prepared vector, no encoding
    assert counting.encoded == ["can i bring my dog"] and not vector.flags.writeable
    assert np.allclose(vector, use_embedder.encode(["can i bring my dog"]))
    memo.encode(["other"])  # the memory of one forgets the dog question...
    memo.encode(["can i bring my dog"])  # ...and the prepared one served its turn: encoded again
    assert counting.encoded.count("can i bring my dog") == 2


def test_the_prepared_set_keeps_the_latest_texts(use_embedder: Embedder) -> None:
    counting = CountingEmbedder(use_embedder)
    memo = RecentQueries(counting, prepared_size=2)
    for text in ("one", "two", "three"):  # "one" was never asked for: it leaves the set
        memo.prepare(text)
    memo.encode(["three"])
    memo.encode(["two"])
    memo.encode(["one"])
    assert counting.encoded == ["one", "two", "three", "one"]


def test_a_message_at_hand_is_not_encoded_again_to_prepare_it(use_embedder: Embedder) -> None:
    counting = CountingEmbedder(use_embedder)
    memo = RecentQueries(counting, size=2)
    memo.encode(["where is my bag"])
    memo.prepare("where is my bag")  # asked a moment ago: its vector is at hand
    assert counting.encoded == ["where is my bag"]
    memo.encode(["where is my bag"])
    assert counting.encoded == ["where is my bag"]
