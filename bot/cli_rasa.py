"""`relevo train | rasa serve | actions`: the conversation engine's processes."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

from bot.rasa_process import action_server_command, rasa_env, serve_command, train
from handoff.routing import configured_routing
from kb_index.store import IndexStore
from relevo.settings import get_settings

console = Console(stderr=True, soft_wrap=True)
rasa_app = typer.Typer(help="The Rasa server (dialogue and NLU).", no_args_is_help=True)


def train_command(
    force: Annotated[bool, typer.Option(help="Train even if the data did not change.")] = False,
) -> None:
    """Train the Rasa model when nlu/ changed (the model is cached by a hash of nlu/)."""
    settings = get_settings()
    model, trained = train(settings, force=force)
    if trained:
        console.print(f"[green]Trained[/] {model}")
    else:
        console.print(f"[green]Up to date[/]: {model} matches nlu/ (use --force to retrain).")


@rasa_app.command("serve")
def rasa_serve(
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """Run the Rasa server on the trained model, with Redis tracker and lock stores."""
    settings = get_settings()
    model, _ = train(settings)
    command = serve_command(settings, model, port or settings.rasa_port)
    os.execve(command[0], command, rasa_env(settings))


def actions(
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """Run the action server (knowledge-base answers, escalation, feedback)."""
    settings = get_settings()
    IndexStore(settings.index_dir).require_built()
    configured_routing(settings.routing_file)  # a broken routing file stops here, naming its line
    command = action_server_command(settings, port or settings.action_port)
    os.execv(command[0], command)
