"""`relevo forget`: the customer's right to erasure, from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from slack_sdk.web.async_client import AsyncWebClient

from bot.forget import Erased, Forgetter
from kb_index.gaps import default_drafts_dir
from relevo.redis_conn import connect, connect_async
from relevo.settings import Settings, get_settings

console = Console(emoji=False)  # a profile such as social:x:987 is not the emoji :x:
ERASED_CARD = "🗑 This handoff was erased at the customer's request."


def _card_eraser(settings: Settings) -> AsyncWebClient | None:
    if not settings.slack_enabled or settings.slack_bot_token is None:
        return None
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )


async def _forget(settings: Settings, who: str) -> Erased:
    client = connect_async(settings)
    slack = _card_eraser(settings)

    async def erase_card(channel: str, ts: str) -> None:
        assert slack is not None
        await slack.chat_update(channel=channel, ts=ts, text=ERASED_CARD, blocks=[])

    try:
        return await Forgetter(client, erase_card if slack else None).forget(who)
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # types-redis lags redis 5+


def forget(
    customer: str = typer.Argument(
        ...,
        # The empty [i][/i] keeps Rich's help from drawing ":x:" as an emoji.
        help="A profile (telegram:12345, social:x[i][/i]:987, webchat:<conversation id>) or a "
        "public handle (@laura_travels). Profiles linked to the same person are erased too.",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Erase a customer's data everywhere: conversations, handoffs, profiles, Rasa's trackers."""
    settings = get_settings()
    connect(settings)  # starts the embedded Redis when needed, and says what to do if it fails
    if not yes:
        typer.confirm(f"Erase every record of {customer}? This cannot be undone", abort=True)
    erased = asyncio.run(_forget(settings, customer))
    if not erased.profiles:
        console.print(f"[yellow]No customer {customer!r}[/]: nothing erased.")
        raise typer.Exit(1)
    console.print(
        f"[green]Erased[/] {len(erased.profiles)} profile(s), "
        f"{len(erased.conversations)} conversation(s), {len(erased.handoffs)} handoff(s): "
        f"{erased.keys_deleted} keys, {erased.stream_entries} queued entries, "
        f"{erased.cards} Slack card(s) rewritten."
    )
    _warn_of_drafts(default_drafts_dir(settings.kb_dir))


def _warn_of_drafts(drafts: Path) -> None:
    """Drafts are files an editor may have started on: erasure does not rewrite them."""
    if drafts.is_dir() and any(drafts.glob("*.md")):
        console.print(
            f"[yellow]Not rewritten[/]: the article drafts already written by `relevo kb gaps "
            f"--write` in {drafts} (and any --drafts-dir used). They may quote this customer's "
            "questions and the agents' replies to them: check them by hand."
        )
