"""A new index version loads in the background: searches never wait for it."""

import logging
import threading
import time
from pathlib import Path

import pytest
import redis

from kb_index.embeddings import Embedder
from kb_index.retriever import RankingConfig
from kb_index.service import KnowledgeBase, publish_version
from kb_index.store import IndexStore, LoadedIndex
from kb_index.sync import IndexOptions, sync_directory
from relevo import keys
from tests.conftest import write_article

DRONES = (
    "id: drones-en\ntitle: Flying with a drone\nlanguage: en\ntags: [drone]",
    "Drones travel in checked baggage with their LiPo batteries removed and carried "
    "in the cabin, each battery under 100 Wh.",
)
QUESTION = "can I bring my drone and its lipo batteries"


class GatedStore(IndexStore):
    """The real store, whose loads wait until the gate opens (to hold a load in progress)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()
        self.gate.set()
        self.loads = 0

    def load(self, embedder: Embedder, *, nprobe: int) -> LoadedIndex:
        self.loads += 1
        assert self.gate.wait(30)
        return super().load(embedder, nprobe=nprobe)


def knowledge_base(store: IndexStore, embedder: Embedder, client: redis.Redis) -> KnowledgeBase:
    return KnowledgeBase(
        store=store,
        embedder=embedder,
        client=client,
        config=RankingConfig(),
        nprobe=8,
        reload_interval=0.0,
    )


def test_searches_go_on_with_the_loaded_version_while_the_new_one_loads(
    tmp_path: Path, kb_copy: Path, use_embedder: Embedder, redis_client: redis.Redis
) -> None:
    store = GatedStore(tmp_path / "index")
    publish_version(redis_client, sync_directory(kb_copy, store, use_embedder, IndexOptions()))
    kb = knowledge_base(store, use_embedder, redis_client)
    assert kb.search(QUESTION, 1, "en")[0].article_id != "drones-en"

    write_article(kb_copy / "en", "drones.md", *DRONES)
    report = sync_directory(kb_copy, store, use_embedder, IndexOptions())
    store.gate.clear()
    publish_version(redis_client, report)
    loads = store.loads
    for _ in range(3):  # the first search starts the load; none of them waits for it
        assert kb.search(QUESTION, 1, "en")[0].article_id != "drones-en"
    assert kb.version == 1 and store.loads == loads + 1  # one load, held at the gate

    store.gate.set()
    deadline = time.monotonic() + 30
    while kb.version != report.version and time.monotonic() < deadline:
        kb.search(QUESTION, 1, "en")
        time.sleep(0.05)
    assert kb.version == report.version
    assert kb.search(QUESTION, 1, "en")[0].article_id == "drones-en"
    assert store.loads == loads + 1


def test_a_version_that_cannot_load_is_logged_and_the_loaded_one_stays(
    tmp_path: Path,
    kb_copy: Path,
    use_embedder: Embedder,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = GatedStore(tmp_path / "index")
    publish_version(redis_client, sync_directory(kb_copy, store, use_embedder, IndexOptions()))
    kb = knowledge_base(store, use_embedder, redis_client)
    current = store.current_dir()
    assert current is not None
    (current / "chunks.jsonl").write_text("{not json\n", encoding="utf-8")
    redis_client.set(keys.KB_VERSION, 7)
    loads = store.loads

    with caplog.at_level(logging.ERROR, logger="kb_index.service"):
        kb.search(QUESTION, 1, "en")
        deadline = time.monotonic() + 30
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(5):
            assert kb.search("my suitcase never arrived", 1, "en")[0].article_id == (
                "baggage-delayed-en"
            )
    errors = [r.getMessage() for r in caplog.records]
    assert errors == ["cannot load knowledge-base version 7; still serving version 1"]
    assert kb.version == 1 and store.loads == loads + 1


def test_a_following_process_loads_a_new_version_before_anyone_searches(
    tmp_path: Path, kb_copy: Path, use_embedder: Embedder, redis_client: redis.Redis
) -> None:
    """After an edit the first customer was answered from the old version (QA s20)."""
    store = GatedStore(tmp_path / "index")
    publish_version(redis_client, sync_directory(kb_copy, store, use_embedder, IndexOptions()))
    kb = KnowledgeBase(
        store=store,
        embedder=use_embedder,
        client=redis_client,
        config=RankingConfig(),
        nprobe=8,
        reload_interval=0.1,
    )
    kb.follow()
    try:
        write_article(kb_copy / "en", "drones.md", *DRONES)
        report = sync_directory(kb_copy, store, use_embedder, IndexOptions())
        publish_version(redis_client, report)
        deadline = time.monotonic() + 30
        while kb.version != report.version and time.monotonic() < deadline:
            time.sleep(0.05)  # no search meanwhile
        assert kb.version == report.version
        assert kb.search(QUESTION, 1, "en")[0].article_id == "drones-en"  # the very first one
    finally:
        kb.close()
    loads = store.loads
    redis_client.set(keys.KB_VERSION, report.version + 1)
    time.sleep(0.5)
    assert store.loads == loads  # closed: no longer following
