"""`relevo eval dialogue`: the assistant's answer-or-escalate decisions on the labelled queries."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.dialogue_eval import evaluate_dialogue
from bot.rasa_client import RasaClient
from kb_index.evaluation import load_queries
from relevo.errors import ConfigurationError
from relevo.settings import get_settings

eval_app = typer.Typer(help="Evaluate the assistant end to end.", no_args_is_help=True)


@eval_app.command()
def dialogue(
    queries: Annotated[Path | None, typer.Option(help="The labelled queries (YAML).")] = None,
    rasa_url: Annotated[str | None, typer.Option(help="Rasa server (default: settings).")] = None,
) -> None:
    """Send each labelled query to the running Rasa server and score its decisions."""
    settings = get_settings()
    labelled = load_queries(queries or settings.kb_eval_file)

    async def run() -> dict:
        rasa = RasaClient(url=rasa_url or settings.rasa_url, timeout=settings.rasa_timeout)
        try:
            if not await rasa.healthy():
                raise ConfigurationError(
                    f"Rasa is not answering at {rasa_url or settings.rasa_url}: start it with "
                    "`make run` (or `relevo rasa serve` and `relevo actions`)."
                )
            return await evaluate_dialogue(
                rasa, labelled, default_language=settings.default_language
            )
        finally:
            await rasa.close()

    results = asyncio.run(run())
    table = Table(
        "lang",
        "queries",
        "accuracy",
        "confident wrong",
        "deflection",
        "outcomes",
        title="Answer or escalate, end to end through Rasa and the action server",
    )
    for language, s in sorted(results.items()):
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(s.outcomes.items()))
        table.add_row(
            language,
            str(s.queries),
            f"{s.accuracy:.3f}",
            f"{s.confident_wrong_rate:.3f}",
            f"{s.deflection:.3f}",
            outcomes,
        )
    Console(width=160).print(table)
