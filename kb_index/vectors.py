"""The faiss vector index: inner product on normalised vectors, addressed by chunk id.

Small collections use an exact flat index; large ones an IVF index (approximate, still able to
add and remove ids without a rebuild). Both sit behind the same few methods.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

IndexKind = Literal["flat", "ivf"]


_DIRECT_MAP = faiss.DirectMap  # type: ignore[attr-defined]  # missing from faiss's stubs


def _map_ids(ivf: faiss.IndexIVF) -> None:
    """Let an IVF index read its vectors back by id (`vectors_of`), if it cannot yet."""
    if ivf.direct_map.type == _DIRECT_MAP.NoMap:
        ivf.set_direct_map_type(_DIRECT_MAP.Hashtable)


def pin_threads_for_single_queries() -> None:
    """One OpenMP thread: for one query at a time, faiss threads only fight the encoder."""
    faiss.omp_set_num_threads(1)


class VectorIndex:
    """Chunk vectors under int64 ids."""

    def __init__(self, index: faiss.Index, kind: IndexKind) -> None:
        self._index = index
        self.kind: IndexKind = kind

    @classmethod
    def exact(cls, dimension: int) -> VectorIndex:
        """An exact index (brute force inner product)."""
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), "flat")

    @classmethod
    def approximate(
        cls, vectors: np.ndarray, ids: np.ndarray, *, nprobe: int, nlist: int | None = None
    ) -> VectorIndex:
        """An IVF index trained on `vectors` and filled with them."""
        count, dimension = vectors.shape
        nlist = nlist or max(1, min(4 * int(math.sqrt(count)), count // 39))
        quantizer = faiss.IndexFlatIP(dimension)
        ivf = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.train(np.ascontiguousarray(vectors, dtype=np.float32))
        ivf.nprobe = nprobe
        _map_ids(ivf)
        index = cls(ivf, "ivf")
        index.add(ids, vectors)
        return index

    @property
    def size(self) -> int:
        """How many vectors it holds."""
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        """The vectors' dimension."""
        return int(self._index.d)

    def set_nprobe(self, nprobe: int) -> None:
        """How many IVF lists a query visits (no effect on an exact index)."""
        if self.kind == "ivf":
            faiss.extract_index_ivf(self._index).nprobe = nprobe

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under their ids."""
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: list[int]) -> int:
        """Remove ids; returns how many were removed."""
        if not ids:
            return 0
        selection = np.asarray(ids, dtype=np.int64)
        return int(self._index.remove_ids(selection))  # type: ignore[arg-type]  # faiss accepts ids

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of `ids` (all present), one row each."""
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the k nearest per query row; missing places have id -1."""
        k = max(1, min(k, self.size)) if self.size else 1
        scores, ids = self._index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        return scores, ids

    def save(self, path: Path) -> None:
        """Write the index to a file."""
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, kind: IndexKind, *, nprobe: int) -> VectorIndex:
        """Read an index written by `save`."""
        index = cls(faiss.read_index(str(path)), kind)
        if kind == "ivf":
            _map_ids(faiss.extract_index_ivf(index._index))  # maybe written without the map
        index.set_nprobe(nprobe)
        return index
