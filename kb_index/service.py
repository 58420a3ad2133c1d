"""The knowledge base as running processes use it: search, and pick up new index versions.

`relevo kb build|sync|watch` publish a version number in Redis after each new index version;
every process that searches checks that number (at most once per `reload_interval`) and reloads
the index from disk, in the background, when it moved, so no process needs a restart.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import numpy as np
import redis

from kb_index.articles import ALL_CHANNELS
from kb_index.embeddings import Embedder, RecentQueries, load_embedder
from kb_index.query import clean_query
from kb_index.retriever import Hit, RankingConfig
from kb_index.store import IndexStore, LoadedIndex, Manifest
from kb_index.sync import IndexOptions, SyncReport
from kb_index.vectors import pin_threads_for_single_queries
from relevo import keys
from relevo.settings import Settings

log = logging.getLogger(__name__)

RETRY_SECONDS = 60.0  # a version that failed to load is tried again this long after


def ranking_config(settings: Settings) -> RankingConfig:
    """The ranking the settings ask for."""
    return RankingConfig(
        lexical_weight=settings.kb_lexical_weight,
        second_chunk_weight=settings.kb_second_chunk_weight,
        translation_weight=settings.kb_translation_weight,
        adapter_mix=settings.kb_adapter_mix,
        adapter_ridge=settings.kb_adapter_ridge,
        default_language=settings.default_language,
    )


def index_options(settings: Settings) -> IndexOptions:
    """The chunking and index options the settings ask for."""
    return IndexOptions(
        chunk_words=settings.kb_chunk_words,
        chunk_overlap=settings.kb_chunk_overlap,
        approx_min_chunks=settings.kb_approx_min_chunks,
        nprobe=settings.kb_ivf_nprobe,
    )


def publish_version(client: redis.Redis, report: SyncReport) -> None:
    """Tell running processes that a new index version is on disk."""
    if report.version is None:
        return
    summary = {"added": report.added, "changed": report.changed, "removed": report.removed}
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.KB_VERSION, report.version)
    pipe.xadd(
        keys.KB_EVENTS,
        {"version": report.version, "changes": json.dumps(summary)},
        maxlen=1000,
        approximate=True,
    )
    pipe.execute()


def closed_to(manifest: Manifest, channel: str) -> frozenset[str]:
    """The articles that may not be cited on `channel` (their `channels` leave it out)."""
    return frozenset(
        article_id
        for article_id, entry in manifest.articles.items()
        if ALL_CHANNELS not in entry.channels and channel not in entry.channels
    )


class KnowledgeBase:
    """Search over the published index, reloaded when Redis announces a new version."""

    def __init__(
        self,
        *,
        store: IndexStore,
        embedder: Embedder,
        client: redis.Redis,
        config: RankingConfig,
        nprobe: int,
        reload_interval: float = 1.0,
    ) -> None:
        self._store = store
        self._embedder = RecentQueries(embedder)
        self._client = client
        self._config = config
        self._nprobe = nprobe
        self._reload_interval = reload_interval
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._failed: tuple[int, float] | None = None  # a version that failed, and when
        self._checked_at = 0.0
        self._closed = threading.Event()
        self._index: LoadedIndex = store.load(self._embedder, nprobe=nprobe)

    @classmethod
    def from_settings(cls, settings: Settings, client: redis.Redis) -> KnowledgeBase:
        """Open the published index with the configured model."""
        pin_threads_for_single_queries()
        return cls(
            store=IndexStore(settings.index_dir),
            embedder=load_embedder(settings.embedding_model, threads=settings.embedding_threads),
            client=client,
            config=ranking_config(settings),
            nprobe=settings.kb_ivf_nprobe,
            reload_interval=settings.kb_reload_interval,
        )

    @property
    def embedder(self) -> Embedder:
        """The model that encodes queries (it remembers the latest ones)."""
        return self._embedder

    @property
    def version(self) -> int:
        """The index version being served."""
        return self._index.manifest.version

    @property
    def chunk_count(self) -> int:
        """How many chunks are being served."""
        return self._index.retriever.vectors.size

    def department_of(self, article_id: str) -> str:
        """The department an article belongs to (its front matter), "" when unknown."""
        entry = self._index.manifest.articles.get(article_id)
        return entry.department if entry else ""

    def refresh(self) -> bool:
        """Start loading a newly announced version, in the background; whether a load started.

        Searches go on with the loaded version meanwhile. The new one replaces it once it is
        loaded and prepared (its query adapter fitted, its arrays built), so no customer's
        search waits for a load, which takes seconds at a hundred thousand passages. A version
        that fails to load is logged, and tried again a minute later; the loaded one stays in
        use.
        """
        now = time.monotonic()
        if now - self._checked_at < self._reload_interval:
            return False
        self._checked_at = now
        try:
            announced = self._client.get(keys.KB_VERSION)
        except redis.RedisError as exc:
            log.warning("cannot check the index version; serving the loaded one: %s", exc)
            return False
        if announced is None or int(announced) == self.version:
            return False
        if self._failed is not None:
            failed_version, failed_at = self._failed
            if failed_version == int(announced) and now - failed_at < RETRY_SECONDS:
                return False
        with self._lock:
            if self._loading is not None and self._loading.is_alive():
                return False
            self._loading = threading.Thread(
                target=self._load, args=(int(announced),), name="kb-reload", daemon=True
            )
            self._loading.start()
        return True

    def follow(self) -> None:
        """Check for a new version in the background, every reload interval, until `close`.

        Without it a process notices a publication only at its next search, which is then
        answered from the old version: after each edit the first customer got the old text (a
        price already changed, an article already deleted). Following, the new version is
        loaded a moment after it is announced, before anyone asks. Long-running processes (the
        action server, the gateway) follow; one-off commands do not need to.
        """
        threading.Thread(target=self._follow, name="kb-follow", daemon=True).start()

    def close(self) -> None:
        """Stop following (see `follow`)."""
        self._closed.set()

    def _follow(self) -> None:
        interval = max(self._reload_interval, 0.05)
        while not self._closed.wait(interval):
            try:
                self.refresh()
            except Exception:  # in a thread of its own: logged here or nowhere
                log.exception("checking for a new knowledge-base version failed; trying again")

    def _load(self, announced: int) -> None:
        """Load and prepare the published version, then serve it."""
        try:
            loaded = self._store.load(self._embedder, nprobe=self._nprobe)
            loaded.retriever.prepare(self._config)
        except Exception:  # in a thread of its own: logged here or nowhere
            self._failed = (announced, time.monotonic())
            log.exception(
                "cannot load knowledge-base version %s; still serving version %s",
                announced,
                self.version,
            )
            return
        log.info(
            "knowledge base reloaded", extra={"from": self.version, "to": loaded.manifest.version}
        )
        self._index = loaded

    def search(
        self, query: str, k: int = 5, language: str | None = None, channel: str | None = None
    ) -> list[Hit]:
        """The best hits for a customer's question (see Retriever.rank).

        With a `channel`, only the articles whose front matter allows that channel.
        """
        self.refresh()
        index = self._index
        exclude = closed_to(index.manifest, channel) if channel else frozenset()
        return index.retriever.rank(query, k, language, self._config, exclude)

    def query_vector(self, query: str) -> np.ndarray:
        """The vector `search` looks for `query` with (see Retriever.query_vector)."""
        self.refresh()
        return self._index.retriever.query_vector(query, self._config)

    def prepare(self, query: str) -> None:
        """Encode a customer's message now, for the search of its turn (see RecentQueries)."""
        self._embedder.prepare(clean_query(query))

    def article(self, article_id: str, language: str) -> Hit | None:
        """One article's opening passage, for the customer's language (None when unknown)."""
        self.refresh()
        return self._index.retriever.article(article_id, language)

    def requote(self, hit: Hit, query: str) -> Hit:
        """The hit quoting its article's passage that best answers `query` alone."""
        self.refresh()
        return self._index.retriever.requote(hit, query, self._config)

    def topic_article(self, topic: str, language: str) -> Hit | None:
        """A topic's article in the customer's language or its translation (None: no such)."""
        self.refresh()
        return self._index.retriever.topic_article(topic, language)
