"""The table that `relevo kb eval` prints: every ranking method side by side, per language."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kb_index.articles import Article, article_files, load_articles
from kb_index.embeddings import load_embedder
from kb_index.evaluation import LabelledQuery, LanguageScores, evaluate, load_queries, spread
from kb_index.retriever import RankingConfig, Retriever
from kb_index.service import index_options, ranking_config
from kb_index.sync import build_index
from relevo.settings import Settings


def _methods(settings: Settings, models: list[str]) -> list[tuple[str, str, RankingConfig]]:
    """(label, model, config) of every method compared.

    BM25 alone, then each dense model alone, fused with BM25, and fused with its queries adapted
    by the example questions (when the settings adapt them).
    """
    default = ranking_config(settings)
    plain = replace(default, adapter_mix=0.0)
    methods = [("BM25 only", models[0], replace(plain, dense=False, lexical_weight=1.0))]
    for model in models:
        mark = " (default)" if model == settings.embedding_model else ""
        fused = f"{model} + BM25 x{default.lexical_weight}"
        methods.append((f"{model} only", model, replace(plain, lexical_weight=0.0)))
        if default.adapter_mix > 0:
            methods.append((fused, model, plain))
            fused += f" + adapter x{default.adapter_mix}"
        methods.append((f"{fused}{mark}", model, default))
    return methods


def readable_articles(settings: Settings, out: Console) -> list[Article]:
    """The knowledge base's articles; the files that cannot be read are reported and skipped."""
    articles, problems = load_articles(article_files(settings.kb_dir))
    for problem in problems:
        out.print(f"[yellow]skipped[/] {problem}")
    return articles


def in_memory_retriever(settings: Settings, articles: list[Article], model: str) -> Retriever:
    """A throw-away index of `articles` embedded with `model`, chunked as the settings say."""
    return build_index(articles, load_embedder(model), index_options(settings), version=0).retriever


def run_evaluation(settings: Settings, queries_file: Path, models: list[str], out: Console) -> None:
    """Build an in-memory index per model and print the comparison table."""
    queries: list[LabelledQuery] = load_queries(queries_file)
    articles = readable_articles(settings, out)
    retrievers: dict[str, Retriever] = {}
    models = list(dict.fromkeys([settings.embedding_model, *models]))
    for model in models:
        started = time.perf_counter()
        retrievers[model] = in_memory_retriever(settings, articles, model)
        out.print(
            f"indexed {retrievers[model].vectors.size} chunks with {model} "
            f"in {time.perf_counter() - started:.1f} s"
        )
    table = Table(
        "method",
        "lang",
        "top-1",
        "top-3",
        "MRR",
        "in-lang top",
        "top score: answerable",
        "top score: none",
        title=f"{len(queries)} labelled queries, {len(articles)} articles",
    )
    detection: dict[str, LanguageScores] = {}
    for label, model, config in _methods(settings, models):
        results = evaluate(retrievers[model], queries, config)
        detection = results
        for language, s in sorted(results.items()):
            table.add_row(
                label,
                language,
                f"{s.top1_recall:.3f}",
                f"{s.top3_recall:.3f}",
                f"{s.mrr:.3f}",
                f"{s.language_share:.3f}",
                spread(s.answerable_top_scores),
                spread(s.none_top_scores),
            )
        table.add_section()
    out.print(table)
    out.print("scores: min / median / p90 / max of the first hit's score")
    for language, s in sorted(detection.items()):
        out.print(
            f"language detection, {language}: {s.detection_accuracy:.3f} of {s.queries} queries"
        )
