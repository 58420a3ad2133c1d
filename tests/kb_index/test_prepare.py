"""A customer's message encoded ahead of its turn is searched without being encoded again."""

from __future__ import annotations

from pathlib import Path

import redis

from kb_index.embeddings import Embedder
from kb_index.service import publish_version
from kb_index.store import IndexStore
from kb_index.sync import IndexOptions, sync_directory
from tests.kb_index.test_phrases import CountingEmbedder
from tests.kb_index.test_reload import knowledge_base


def test_the_turn_searches_with_the_prepared_vector(
    tmp_path: Path, kb_copy: Path, use_embedder: Embedder, redis_client: redis.Redis
) -> None:
    store = IndexStore(tmp_path / "index")
    publish_version(redis_client, sync_directory(kb_copy, store, use_embedder, IndexOptions()))
    counting = CountingEmbedder(use_embedder)
    kb = knowledge_base(store, counting, redis_client)
    question = "Can I bring my DOG on the plane?? 🐶"
    kb.prepare(question)
    encoded = len(counting.encoded)
    assert encoded == 1 and counting.encoded[0] != question  # cleaned as the search cleans
    hits = kb.search(question, 3, "en")
    kb.query_vector(question)  # the off-topic check asks for the same vector
    assert len(counting.encoded) == encoded
    assert hits and hits[0].article_id.startswith("pets")
