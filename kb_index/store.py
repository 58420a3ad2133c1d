"""Index versions on disk: written aside, then published by an atomic rename.

Layout under the index directory::

    CURRENT            name of the published version directory (replaced atomically)
    v000007/           one published version
        manifest.json  model, dimension, index kind, next chunk id, one entry per article
        chunks.jsonl   chunk metadata and text, one JSON object per line, by chunk id
        vectors.faiss  the faiss index
    .tmp-v000008-123/  a version being written; left behind only by a killed build

A build killed half way never touches CURRENT, so the previous version stays usable.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb_index.chunking import Chunk
from kb_index.embeddings import Embedder
from kb_index.retriever import Retriever
from kb_index.vectors import IndexKind, VectorIndex
from relevo.errors import IndexNotBuiltError, KnowledgeBaseError

FORMAT = 1
KEEP_VERSIONS = 3


@dataclass
class ArticleEntry:
    """What the index knows of one article."""

    hash: str
    path: str
    title: str
    language: str
    department: str
    tags: list[str]
    channels: list[str]
    updated: str | None
    chunk_ids: list[int]


@dataclass
class Manifest:
    """The description of one index version."""

    version: int
    model: str
    dimension: int
    kind: IndexKind
    next_id: int = 0
    articles: dict[str, ArticleEntry] = field(default_factory=dict)
    format: int = FORMAT

    def article_paths(self) -> list[Path]:
        """The files this version was built from: they keep their ids against later copies."""
        return [Path(entry.path) for entry in self.articles.values()]

    def to_json(self) -> str:
        """Serialise with a format number, so a future reader can tell versions apart."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse what `to_json` wrote."""
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise KnowledgeBaseError(
                f"Index format {data.get('format')} is not {FORMAT}: run `relevo kb build`."
            )
        data["articles"] = {k: ArticleEntry(**v) for k, v in data["articles"].items()}
        return cls(**data)


@dataclass
class LoadedIndex:
    """A published version in memory."""

    manifest: Manifest
    retriever: Retriever


class IndexStore:
    """Reads and publishes index versions in one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def _current_file(self) -> Path:
        return self.root / "CURRENT"

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One writer at a time (a sync from the CLI and one from `kb watch` may overlap)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def current_dir(self) -> Path | None:
        """The directory of the published version, if any."""
        try:
            name = self._current_file.read_text().strip()
        except FileNotFoundError:
            return None
        path = self.root / name
        return path if (path / "manifest.json").exists() else None

    def read_manifest(self) -> Manifest | None:
        """The published manifest, if any."""
        current = self.current_dir()
        return None if current is None else _manifest_in(current)

    def published_manifest(self) -> Manifest:
        """The published manifest; before the first build, an error saying what to run."""
        return _manifest_in(self.require_built())

    def require_built(self) -> Path:
        """The published version's folder; before the first build, an error saying what to run."""
        current = self.current_dir()
        if current is None:
            raise IndexNotBuiltError(
                f"No knowledge-base index in {self.root}: run `relevo kb build` first."
            )
        return current

    def load(self, embedder: Embedder, *, nprobe: int) -> LoadedIndex:
        """Load the published version for searching with `embedder`."""
        current = self.require_built()
        manifest = _manifest_in(current)
        if manifest.model != embedder.name:
            raise KnowledgeBaseError(
                f"The index was built with {manifest.model!r}, not {embedder.name!r}: "
                "run `relevo kb build` to rebuild it."
            )
        chunks: dict[int, Chunk] = {}
        with (current / "chunks.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                chunk_id = record.pop("id")
                chunks[chunk_id] = Chunk(**record)
        vectors = VectorIndex.load(current / "vectors.faiss", manifest.kind, nprobe=nprobe)
        return LoadedIndex(manifest, Retriever(embedder, vectors, chunks))

    def publish(self, index: LoadedIndex) -> Path:
        """Write a new version aside, rename it into place, then point CURRENT at it."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"v{index.manifest.version:06d}"
        staging = self.root / f".tmp-{name}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        index.retriever.vectors.save(staging / "vectors.faiss")
        with (staging / "chunks.jsonl").open("w", encoding="utf-8") as out:
            for chunk_id, chunk in sorted(index.retriever.chunks.items()):
                out.write(json.dumps({"id": chunk_id, **asdict(chunk)}, ensure_ascii=False))
                out.write("\n")
        (staging / "manifest.json").write_text(index.manifest.to_json(), encoding="utf-8")
        _fsync_dir(staging)
        final = self.root / name
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        pointer = self.root / f".CURRENT.{os.getpid()}"
        pointer.write_text(name)
        os.replace(pointer, self._current_file)
        _fsync_dir(self.root)
        self._prune(keep=name)
        return final

    def _prune(self, *, keep: str) -> None:
        """Drop old versions and staging directories left by killed builds."""
        versions = sorted(p for p in self.root.glob("v[0-9]*") if p.is_dir())
        for old in versions[:-KEEP_VERSIONS]:
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)
        for staging in self.root.glob(".tmp-*"):
            if not _owned_by_live_process(staging):
                shutil.rmtree(staging, ignore_errors=True)


def _owned_by_live_process(staging: Path) -> bool:
    try:
        pid = int(staging.name.rsplit("-", 1)[1])
        if pid == os.getpid():
            return False
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    for file in [*path.iterdir(), path]:
        if file.is_dir() and file != path:
            continue
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _manifest_in(version_dir: Path) -> Manifest:
    """The manifest of one published version's folder."""
    return Manifest.from_json((version_dir / "manifest.json").read_text(encoding="utf-8"))
