"""`relevo eval dialogue | gate`: answer-or-escalate decisions on the labelled queries.

`dialogue` runs them end to end through Rasa; `gate` runs the gate alone over a range of
thresholds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from actions.decision_scores import (
    DecisionScores,
    QueryOutcome,
    best_point,
    scores_by_language,
    sweep_gate,
)
from actions.runtime import gate_config
from bot.dialogue_eval import dialogue_outcomes
from bot.kb_eval_report import in_memory_retriever, readable_articles
from bot.rasa_client import RasaClient
from kb_index.evaluation import LabelledQuery, load_queries
from kb_index.retriever import Hit
from kb_index.service import ranking_config
from relevo.errors import ConfigurationError
from relevo.settings import get_settings

eval_app = typer.Typer(help="Evaluate the assistant's decisions.", no_args_is_help=True)
QueriesOption = Annotated[Path | None, typer.Option(help="The labelled queries (YAML).")]
GATE_SCORES = (0.9, 1.0, 1.1, 1.2, 1.3, 1.4)
GATE_MARGINS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def _cells(scores: DecisionScores | None) -> list[str]:
    if scores is None:
        return ["-", "-", "-", "-"]
    return [
        f"{scores.accuracy:.3f}",
        f"{scores.confident_wrong_rate:.3f}",
        f"{scores.deflection:.3f}",
        f"{scores.reach:.3f}",
    ]


@eval_app.command()
def dialogue(
    queries: QueriesOption = None,
    rasa_url: Annotated[str | None, typer.Option(help="Rasa server (default: settings).")] = None,
    details: Annotated[
        Path | None,
        typer.Option(help="Write each query's outcome here (JSON lines), to read the misses."),
    ] = None,
) -> None:
    """Send each labelled query to the running Rasa server and score its decisions."""
    settings = get_settings()
    labelled = load_queries(queries or settings.kb_eval_file)
    url = rasa_url or settings.rasa_url

    async def run() -> list[QueryOutcome]:
        rasa = RasaClient(url=url, timeout=settings.rasa_timeout)
        try:
            if not await rasa.healthy():
                raise ConfigurationError(
                    f"Rasa is not answering at {url}: start it with "
                    "`make run` (or `relevo rasa serve` and `relevo actions`)."
                )
            return await dialogue_outcomes(
                rasa, labelled, default_language=settings.default_language
            )
        finally:
            await rasa.close()

    outcomes = asyncio.run(run())
    table = Table(
        "lang",
        "queries",
        "accuracy",
        "confident wrong",
        "deflection",
        "reach",
        "outcomes",
        title="Answer or escalate, end to end through Rasa and the action server",
    )
    for language, s in sorted(scores_by_language(outcomes).items()):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(s.outcomes.items()))
        table.add_row(language, str(s.queries), *_cells(s), counts)
    Console(width=160).print(table)
    if details is not None:
        lines = (json.dumps({**asdict(o), "right": o.right}, ensure_ascii=False) for o in outcomes)
        details.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        print(f"{len(outcomes)} outcomes written to {details}")


@eval_app.command()
def gate(
    queries: QueriesOption = None,
    max_confident_wrong: Annotated[
        float, typer.Option(help="The confident-wrong rate a setting may not exceed.")
    ] = 0.02,
) -> None:
    """The answer gate alone, offline, over a range of thresholds (no Rasa needed).

    Builds the demo index in memory, searches each labelled question once (complaints are left
    out: they go to a person before the gate is asked) and scores the gate's decisions at every
    pair of RELEVO_ANSWER_MIN_SCORE and RELEVO_ANSWER_MIN_MARGIN.
    """
    settings = get_settings()
    labelled = load_queries(queries or settings.kb_eval_file)
    console = Console(width=160)
    articles = readable_articles(settings, console)
    retriever = in_memory_retriever(settings, articles, settings.embedding_model)
    config = ranking_config(settings)

    def search(query: LabelledQuery) -> list[Hit]:
        return retriever.rank(query.text, 5, None, config)

    current = gate_config(settings)
    grid = [
        replace(current, min_score=s, min_margin=m)
        for s, m in itertools.product(GATE_SCORES, GATE_MARGINS)
    ]
    points = sweep_gate(labelled, search, [current, *grid])
    languages = sorted({q.language for q in labelled})
    table = Table(
        "min score",
        "min margin",
        *(
            f"{lang} {m}"
            for lang in languages
            for m in ("accuracy", "conf. wrong", "deflection", "reach")
        ),
        title=f"The gate alone on {len(labelled)} labelled queries (complaints left out)",
    )
    for number, point in enumerate(points):
        cells = [c for lang in languages for c in _cells(point.by_language.get(lang))]
        mark = " (current)" if number == 0 else ""
        table.add_row(
            f"{point.config.min_score:.2f}{mark}", f"{point.config.min_margin:.2f}", *cells
        )
        if number == 0:
            table.add_section()
    console.print(table)
    for lang in languages:
        found = best_point(points[1:], lang, max_confident_wrong)
        summary = (
            f"{found.by_language[lang].accuracy:.3f} at min score {found.config.min_score:.2f}, "
            f"min margin {found.config.min_margin:.2f}"
            if found
            else "no setting in the grid"
        )
        print(f"{lang}: best accuracy with confident wrong <= {max_confident_wrong:.0%}: {summary}")
