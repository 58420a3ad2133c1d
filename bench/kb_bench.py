"""Knowledge-base benchmark: search latency, approximate recall, build and upsert speed, memory.

Run: `make bench` or `.venv/bin/python bench/kb_bench.py [--chunks 100000]`.
One query at a time on 2 cores: faiss and BLAS use one thread each, OpenMP threads wait passively.
Every latency includes the query embedding, as a customer's question needs it.

The large index is synthetic: vectors mixed from the demo's, and passages made of a demo
passage's words shuffled, 12 to an article, so that the full ranking (the IVF index, BM25 over
every passage, articles and topics) runs at that size beside the vector search alone.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import p50_p95, rss_mb, table, timed_ms
from kb_index.articles import article_files, load_articles
from kb_index.chunking import Chunk
from kb_index.embeddings import load_embedder
from kb_index.evaluation import load_queries
from kb_index.retriever import RankingConfig, Retriever
from kb_index.store import IndexStore
from kb_index.sync import IndexOptions, apply_changes, build_index
from kb_index.vectors import VectorIndex, pin_threads_for_single_queries

ROOT = Path(__file__).resolve().parent.parent
K = 10


def synthetic_vectors(base: np.ndarray, count: int, seed: int = 7) -> np.ndarray:
    """Vectors shaped like real chunks: mixes of two real chunk vectors plus noise, normalised."""
    rng = np.random.default_rng(seed)
    first = base[rng.integers(0, len(base), count)]
    second = base[rng.integers(0, len(base), count)]
    mix = rng.uniform(0.2, 0.5, (count, 1)).astype(np.float32)
    noise = rng.standard_normal(first.shape).astype(np.float32) * 0.03
    vectors = (1 - mix) * first + mix * second + noise
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def synthetic_chunks(real: list[Chunk], count: int, seed: int = 7) -> dict[int, Chunk]:
    """Passages with a real passage's words in a shuffled order, 12 to an article."""
    rng = random.Random(seed)
    chunks = {}
    for i in range(count):
        model = real[i % len(real)]
        words = model.text.split()
        rng.shuffle(words)
        topic = f"synthetic-{i // 12}"
        chunks[i] = Chunk(
            f"{topic}-{model.language}",
            topic,
            i % 12,
            model.title,
            model.heading,
            "",
            model.language,
            " ".join(words),
            model.kind,
        )
    return chunks


def numpy_scan(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The naive baseline: a full matrix-vector product and a partial sort."""
    scores = matrix @ query[0]
    top = np.argpartition(-scores, K)[:K]
    return top[np.argsort(-scores[top])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=100_000, help="Size of the synthetic index.")
    parser.add_argument("--nprobe", type=int, default=24, help="IVF lists visited per query.")
    args = parser.parse_args()
    pin_threads_for_single_queries()

    started = time.perf_counter()
    embedder = load_embedder("use-multilingual")
    embedder.encode(["the model loads its weights on first use"])
    load_seconds = time.perf_counter() - started
    articles, _ = load_articles(article_files(ROOT / "kb" / "articles"))
    queries = [q.text for q in load_queries(ROOT / "kb" / "eval" / "queries.yaml")]

    started = time.perf_counter()
    demo = build_index(articles, embedder, IndexOptions(), version=1)
    build_seconds = time.perf_counter() - started
    demo_chunks = demo.retriever.vectors.size
    serving_rss = rss_mb()

    config = RankingConfig()
    embed_ms = timed_ms(lambda q: embedder.encode([q]), queries)
    demo_ms = timed_ms(lambda q: demo.retriever.rank(q, 5, None, config), queries)
    plain = replace(config, adapter_mix=0.0)
    plain_ms = timed_ms(lambda q: demo.retriever.rank(q, 5, None, plain), queries)

    # Upsert one article into the built demo index, then publish the new version to disk.
    changed = replace(articles[0], body=articles[0].body + "\n\nOne more paragraph.")
    started = time.perf_counter()
    apply_changes(demo, [changed], [], IndexOptions())
    upsert_seconds = time.perf_counter() - started
    started = time.perf_counter()
    demo.retriever.rank(queries[0], 5, None, config)  # refits the query adapter first
    refit_search_ms = (time.perf_counter() - started) * 1000
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        IndexStore(Path(folder)).publish(demo)
        publish_seconds = time.perf_counter() - started

    # 100,000 synthetic chunks: numpy scan, exact faiss, IVF faiss.
    base = demo.retriever.embedder.encode(
        [c.embedding_text for c in demo.retriever.chunks.values()]
    )
    matrix = synthetic_vectors(base, args.chunks)
    ids = np.arange(args.chunks, dtype=np.int64)
    exact = VectorIndex.exact(matrix.shape[1])
    exact.add(ids, matrix)
    started = time.perf_counter()
    approx = VectorIndex.approximate(matrix, ids, nprobe=args.nprobe)
    ivf_build_seconds = time.perf_counter() - started
    large_rss = rss_mb()
    query_vectors = embedder.encode(queries)

    def scan(q: str) -> object:
        return numpy_scan(matrix, embedder.encode([q]))

    def flat(q: str) -> object:
        return exact.search(embedder.encode([q]), K)

    def ivf(q: str) -> object:
        return approx.search(embedder.encode([q]), K)

    methods = [("numpy scan (baseline)", scan), ("faiss flat (exact)", flat), ("faiss IVF", ivf)]
    runs = {name: timed_ms(fn, queries) for name, fn in methods}
    large = Retriever(
        embedder, approx, synthetic_chunks(list(demo.retriever.chunks.values()), args.chunks)
    )
    retriever_rss = rss_mb()
    dense_only = replace(config, lexical_weight=0.0)
    large.prepare(config)  # fits the query adapter, builds the arrays, as a serving load does
    large_ranking = {
        "full ranking, IVF (default)": timed_ms(lambda q: large.rank(q, 5, None, config), queries),
        "full ranking, IVF, dense only": timed_ms(
            lambda q: large.rank(q, 5, None, dense_only), queries
        ),
    }
    # One article of the large retriever replaced (ids 12-23; the IVF upsert below uses 0-11).
    edited = [large.chunks[i] for i in range(12, 24)]
    large.remove(list(range(12, 24)))
    large.add(list(range(args.chunks + 12, args.chunks + 24)), edited, matrix[12:24])
    started = time.perf_counter()
    large.rank(queries[1], 5, None, config)
    large_refit_ms = (time.perf_counter() - started) * 1000
    search_only = {
        "numpy scan (baseline)": timed_ms(lambda v: numpy_scan(matrix, v[None, :]), query_vectors),
        "faiss flat (exact)": timed_ms(lambda v: exact.search(v[None, :], K), query_vectors),
        "faiss IVF": timed_ms(lambda v: approx.search(v[None, :], K), query_vectors),
    }

    truth = exact.search(query_vectors, K)[1]
    recall_rows = []
    for nprobe in (4, 8, 16, 24, 32, 64):
        approx.set_nprobe(nprobe)
        found = approx.search(query_vectors, K)[1]
        recall = np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)])
        ms = timed_ms(lambda v: approx.search(v[None, :], K), query_vectors)
        recall_rows.append([nprobe, float(recall), *p50_p95(ms)])
    approx.set_nprobe(args.nprobe)

    started = time.perf_counter()
    new_vectors = embedder.encode([c.embedding_text for c in demo.retriever.chunks.values()][:12])
    approx.remove(list(range(12)))
    approx.add(np.arange(args.chunks, args.chunks + 12), new_vectors)
    large_upsert_seconds = time.perf_counter() - started

    n = len(queries)
    table(
        f"Search latency, one query at a time, {n} real queries (ms, query embedding included)",
        ["index", "chunks", "p50", "p95", "search only p50", "search only p95"],
        [
            ["demo KB, full ranking (default)", demo_chunks, *p50_p95(demo_ms), "-", "-"],
            ["demo KB, without the query adapter", demo_chunks, *p50_p95(plain_ms), "-", "-"],
            ["query embedding alone (USE)", "-", *p50_p95(embed_ms), "-", "-"],
            *[
                [name, args.chunks, *p50_p95(ms), *p50_p95(search_only[name])]
                for name, ms in runs.items()
            ],
            *[[name, args.chunks, *p50_p95(ms), "-", "-"] for name, ms in large_ranking.items()],
        ],
    )
    scan_p50 = p50_p95(search_only["numpy scan (baseline)"])[0]
    ivf_p50 = p50_p95(search_only["faiss IVF"])[0]
    table(
        f"IVF recall@{K} against exact search, {args.chunks} chunks",
        ["nprobe", "recall", "search p50 ms", "search p95 ms"],
        recall_rows,
    )
    table(
        "Build, upsert, memory",
        ["measure", "value"],
        [
            ["model load (s)", load_seconds],
            ["demo build: chunks", demo_chunks],
            ["demo build: chunks/s (embedding included)", demo_chunks / build_seconds],
            ["upsert one article, in memory (s)", upsert_seconds],
            ["first search after it, refitting the query adapter (ms)", refit_search_ms],
            [f"the same, {args.chunks}-passage retriever edited in place (ms)", large_refit_ms],
            ["publish the new version to disk (s)", publish_seconds],
            [f"IVF train + fill, {args.chunks} chunks (s)", ivf_build_seconds],
            [
                f"upsert one article (12 chunks) into the {args.chunks} IVF (s)",
                large_upsert_seconds,
            ],
            ["RSS serving the demo KB (MB)", serving_rss],
            [f"RSS with {args.chunks} chunks in numpy, flat and IVF (MB)", large_rss],
            [f"RSS with the {args.chunks}-chunk retriever too (MB)", retriever_rss],
            ["IVF speed-up over the numpy scan (search p50)", scan_p50 / ivf_p50],
        ],
    )


if __name__ == "__main__":
    main()
