"""Build and sync: bring the published index in line with the article files.

Only new and changed articles are embedded; deleted ones are dropped. A different model or
dimension, or crossing the size at which the approximate index pays off, forces a full rebuild.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb_index.articles import LANGUAGES, Article, ArticleProblem, article_files, load_articles
from kb_index.chunking import Chunk, chunk_article
from kb_index.embeddings import Embedder
from kb_index.language import detect_language
from kb_index.retriever import Retriever
from kb_index.store import ArticleEntry, IndexStore, LoadedIndex, Manifest
from kb_index.text import fold
from kb_index.vectors import IndexKind, VectorIndex

Progress = Callable[[int, int], None]
"""Called with (chunks embedded so far, chunks to embed)."""

EMBED_BATCH = 64
MAX_ARTICLE_BYTES = 200_000
"""Above this, an article is indexed with a warning: one sync embeds it whole while edits wait."""


@dataclass(frozen=True)
class IndexOptions:
    """How articles are chunked and which index kind serves them."""

    chunk_words: int = 120
    chunk_overlap: int = 25
    approx_min_chunks: int = 20_000
    nprobe: int = 24


@dataclass
class SyncReport:
    """What a build or sync did."""

    version: int | None
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    rebuilt: bool = False
    problems: list[ArticleProblem] = field(default_factory=list)
    warnings: list[ArticleProblem] = field(default_factory=list)
    """Articles indexed all the same, with what to check (too long, a department unknown)."""
    seconds: float = 0.0
    index: LoadedIndex | None = field(default=None, repr=False, compare=False)
    """The version written, in memory (None when nothing changed), to search it at once."""

    @property
    def published(self) -> bool:
        """Whether a new version was written."""
        return bool(self.added or self.changed or self.removed or self.rebuilt)


def _entry(article: Article, chunk_ids: list[int]) -> ArticleEntry:
    return ArticleEntry(
        hash=article.content_hash,
        path=str(article.path),
        title=article.title,
        language=article.language,
        department=article.department,
        tags=list(article.tags),
        channels=list(article.channels),
        updated=article.updated.isoformat() if article.updated else None,
        chunk_ids=chunk_ids,
    )


def _embed(embedder: Embedder, chunks: list[Chunk], progress: Progress | None) -> np.ndarray:
    parts = []
    for start in range(0, len(chunks), EMBED_BATCH):
        batch = chunks[start : start + EMBED_BATCH]
        parts.append(embedder.encode([c.embedding_text for c in batch]))
        if progress:
            progress(min(start + EMBED_BATCH, len(chunks)), len(chunks))
    return np.vstack(parts) if parts else np.zeros((0, embedder.dimension), dtype=np.float32)


def article_warnings(
    articles: list[Article], departments: Collection[str] | None = None
) -> list[ArticleProblem]:
    """What to check in articles that are indexed anyway.

    Args:
        articles: The articles being indexed.
        departments: The department names the routing file matches (folded), or None not to
            check them; an article of another department never routes a handoff to its team.
    """
    warnings = []
    for article in articles:
        size = len(article.body.encode())
        if size > MAX_ARTICLE_BYTES:
            warnings.append(
                ArticleProblem(
                    article.path,
                    f"{size // 1000} KB, over {MAX_ARTICLE_BYTES // 1000} KB: split it into "
                    "articles of one topic each; a sync embeds it whole while other edits wait",
                )
            )
        if departments is not None and fold(article.department) not in departments:
            warnings.append(
                ArticleProblem(
                    article.path,
                    f"department {article.department!r} is not in the routing file "
                    f"(known: {', '.join(sorted(departments))}); fix it, or add it to a "
                    "department's match.departments",
                )
            )
        if (mismatch := _language_mismatch(article)) is not None:
            warnings.append(ArticleProblem(article.path, mismatch))
    return warnings


LANGUAGE_SAMPLE_CHARS = 600
"""How much of an article's text its language is read from (about 0.2 ms an article)."""
_LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def _language_mismatch(article: Article) -> str | None:
    """Why the article's `language` looks wrong: its folder or its text says otherwise.

    An English article saved as Spanish answers Spanish customers in English, and its
    translation link pairs the wrong articles.
    """
    folder = article.path.parent.name
    if folder in LANGUAGES and folder != article.language:
        return (
            f"in the {folder}/ folder but its front matter says language: {article.language}; "
            "move the file or fix that line"
        )
    read = detect_language(article.body[:LANGUAGE_SAMPLE_CHARS], default=article.language)
    if read.decided and read.code != article.language and read.confidence >= 0.9:
        return (
            f"its front matter says language: {article.language} but its text reads as "
            f"{_LANGUAGE_NAMES[read.code]}; translate it or fix that line"
        )
    return None


def _kind_for(count: int, options: IndexOptions) -> IndexKind:
    return "ivf" if count >= options.approx_min_chunks else "flat"


def build_index(
    articles: list[Article],
    embedder: Embedder,
    options: IndexOptions,
    *,
    version: int,
    progress: Progress | None = None,
) -> LoadedIndex:
    """A whole new index in memory from articles."""
    per_article = {
        a.id: chunk_article(a, max_words=options.chunk_words, overlap=options.chunk_overlap)
        for a in articles
    }
    chunks = [c for a in articles for c in per_article[a.id]]
    vectors = _embed(embedder, chunks, progress)
    ids = np.arange(len(chunks), dtype=np.int64)
    kind = _kind_for(len(chunks), options)
    if kind == "ivf":
        index = VectorIndex.approximate(vectors, ids, nprobe=options.nprobe)
    else:
        index = VectorIndex.exact(embedder.dimension)
        index.add(ids, vectors)
    manifest = Manifest(
        version=version, model=embedder.name, dimension=embedder.dimension, kind=kind
    )
    next_id = 0
    for article in articles:
        count = len(per_article[article.id])
        manifest.articles[article.id] = _entry(article, list(range(next_id, next_id + count)))
        next_id += count
    manifest.next_id = next_id
    retriever = Retriever(embedder, index, dict(zip(ids.tolist(), chunks, strict=True)))
    return LoadedIndex(manifest, retriever)


def apply_changes(
    index: LoadedIndex,
    changed: list[Article],
    removed: list[str],
    options: IndexOptions,
    *,
    progress: Progress | None = None,
) -> int:
    """Upsert `changed` and drop `removed` articles in place; returns chunks embedded."""
    manifest, retriever = index.manifest, index.retriever
    touched = [a.id for a in changed] + removed
    stale = [i for a in touched if a in manifest.articles for i in manifest.articles[a].chunk_ids]
    retriever.remove(stale)
    for article_id in removed:
        manifest.articles.pop(article_id, None)
    new_chunks: list[Chunk] = []
    for article in changed:
        chunks = chunk_article(
            article, max_words=options.chunk_words, overlap=options.chunk_overlap
        )
        ids = list(range(manifest.next_id, manifest.next_id + len(chunks)))
        manifest.next_id += len(chunks)
        manifest.articles[article.id] = _entry(article, ids)
        new_chunks.extend(chunks)
    vectors = _embed(retriever.embedder, new_chunks, progress)
    new_ids = [i for a in changed for i in manifest.articles[a.id].chunk_ids]
    retriever.add(new_ids, new_chunks, vectors)
    return len(new_chunks)


def sync_directory(
    articles_dir: Path,
    store: IndexStore,
    embedder: Embedder,
    options: IndexOptions,
    *,
    full: bool = False,
    progress: Progress | None = None,
    departments: Collection[str] | None = None,
) -> SyncReport:
    """Make the published index match the files in `articles_dir`; publish when it changed.

    `departments` are the (folded) department names the routing file knows; an article of
    another one is indexed with a warning (None: not checked).
    """
    with store.writer_lock():
        return _sync_locked(
            articles_dir,
            store,
            embedder,
            options,
            full=full,
            progress=progress,
            departments=departments,
        )


def read_articles(
    articles_dir: Path, published: Manifest | None
) -> tuple[list[Article], list[ArticleProblem]]:
    """The articles in `articles_dir` as a sync reads them, and the files it would skip.

    The files the `published` index was built from are read first, so a copy of an article,
    saved before its id is changed, never takes the id from the original.
    """
    served = published.article_paths() if published else []
    return load_articles(article_files(articles_dir), served=served)


def _sync_locked(
    articles_dir: Path,
    store: IndexStore,
    embedder: Embedder,
    options: IndexOptions,
    *,
    full: bool,
    progress: Progress | None,
    departments: Collection[str] | None,
) -> SyncReport:
    started = time.perf_counter()
    published = store.read_manifest()
    articles, problems = read_articles(articles_dir, published)
    manifest = None if full else published
    total_chunks = sum(
        len(chunk_article(a, max_words=options.chunk_words, overlap=options.chunk_overlap))
        for a in articles
    )
    compatible = (
        manifest is not None
        and manifest.model == embedder.name
        and manifest.dimension == embedder.dimension
        and manifest.kind == _kind_for(total_chunks, options)
    )
    version = (published.version if published else 0) + 1
    report = SyncReport(
        version=None, problems=problems, warnings=article_warnings(articles, departments)
    )
    if manifest is None or not compatible:
        index = build_index(articles, embedder, options, version=version, progress=progress)
        report.added = [a.id for a in articles]
        report.rebuilt = True
        report.embedded_chunks = index.retriever.vectors.size
    else:
        current = {a.id: a for a in articles}
        report.added = [i for i in current if i not in manifest.articles]
        report.changed = [
            i
            for i, article in current.items()
            if i in manifest.articles and manifest.articles[i].hash != article.content_hash
        ]
        report.removed = [i for i in manifest.articles if i not in current]
        report.unchanged = len(current) - len(report.added) - len(report.changed)
        if not report.published:
            report.version = manifest.version
            report.chunks = sum(len(e.chunk_ids) for e in manifest.articles.values())
            report.seconds = time.perf_counter() - started
            return report
        index = store.load(embedder, nprobe=options.nprobe)
        index.manifest.version = version
        upserts = [current[i] for i in report.added + report.changed]
        report.embedded_chunks = apply_changes(
            index, upserts, report.removed, options, progress=progress
        )
    store.publish(index)
    report.index = index
    report.version = version
    report.chunks = index.retriever.vectors.size
    report.seconds = time.perf_counter() - started
    return report
