"""The `relevo` command line: one entry point for every process and task."""

from __future__ import annotations

import typer

from bot.cli_announce import announce_app
from bot.cli_chat import chat
from bot.cli_eval import eval_app
from bot.cli_kb import kb_app
from bot.cli_privacy import forget
from bot.cli_rasa import actions, rasa_app, train_command
from bot.cli_report import report
from bot.cli_run import doctor, redis_app, serve, up
from relevo.errors import RelevoError

app = typer.Typer(
    help="Relevo: a customer-care assistant for social and messaging channels.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb_app, name="kb")
app.add_typer(redis_app, name="redis")
app.add_typer(rasa_app, name="rasa")
app.add_typer(eval_app, name="eval")
app.add_typer(announce_app, name="announce")
app.command(name="train")(train_command)
app.command()(actions)
app.command()(serve)
app.command()(up)
app.command()(doctor)
app.command()(chat)
app.command()(forget)
app.command()(report)


def main() -> None:
    """Run the CLI; errors of ours are printed as one clear line, without a traceback."""
    try:
        app()
    except RelevoError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(1) from exc
