"""`relevo announce ...`: publish, list and withdraw incident notices.

A notice is said by the assistant before its answer to any message that contains one of its
keywords, and shown on the desk's cards, until it expires or is withdrawn.
"""

from __future__ import annotations

import datetime as dt
import getpass
import re
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from handoff.announcements import Announcement, Announcements
from relevo.redis_conn import connect
from relevo.settings import get_settings

announce_app = typer.Typer(
    help="Incident notices the assistant gives first to customers who ask about them "
    "(a delayed flight, an app outage), also shown on the desk's cards.",
    no_args_is_help=True,
)
console = Console(stderr=True, soft_wrap=True)
out = Console(width=None if sys.stdout.isatty() else 180)

_DURATION = re.compile(r"(\d+)\s*([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
NEVER = ("none", "never")


def parse_expires(value: str) -> dt.timedelta | None:
    """Read `--expires`: 30m, 6h, 2d (or combined, 1h30m), or none to keep it until withdrawn.

    Raises:
        typer.BadParameter: The value is none of these; the message shows the accepted forms.
    """
    text = value.strip().lower().replace(" ", "")
    if text in NEVER:
        return None
    if not text or _DURATION.sub("", text):
        raise typer.BadParameter(
            f"{value!r} is not a duration: use minutes, hours or days such as 30m, 6h, 2d or "
            "1h30m, or 'none' to keep the notice until `relevo announce withdraw`.",
            param_hint="--expires",
        )
    total = dt.timedelta()
    for amount, unit in _DURATION.findall(text):
        total += dt.timedelta(**{_UNITS[unit]: int(amount)})
    if total <= dt.timedelta(0):
        raise typer.BadParameter(
            "the duration must be longer than zero (or 'none').", param_hint="--expires"
        )
    return total


def _human(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or "0m"


def _when(iso: str | None) -> str:
    if iso is None:
        return "never"
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _store() -> Announcements:
    return Announcements(connect(get_settings()))


def _default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


@announce_app.command()
def publish(
    es: Annotated[
        str | None, typer.Option("--es", help="The notice in Spanish, as customers will read it.")
    ] = None,
    en: Annotated[
        str | None, typer.Option("--en", help="The notice in English, as customers will read it.")
    ] = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option(
            "--keyword",
            "-k",
            help="A word or phrase that shows a customer asks about it; repeat for more. "
            "Case and accents are ignored and both languages are tried; BA123 also matches "
            "'BA 123' and 'ba-123'; end with * for word beginnings (retras* = retraso, "
            "retrasado).",
        ),
    ] = None,
    expires: Annotated[
        str,
        typer.Option(
            help="How long it is said: 30m, 6h, 2d, 1h30m, or none to keep it until withdrawn."
        ),
    ] = "24h",
    by: Annotated[
        str | None, typer.Option(help="Who publishes it (default: your user name).")
    ] = None,
) -> None:
    """Publish a notice; prints its id (on stdout, for scripts) and a summary.

    Example: relevo announce publish --en "Flight BA123 is delayed 3 h." -k BA123 --expires 6h
    """
    if not (es and es.strip()) and not (en and en.strip()):
        raise typer.BadParameter(
            "give the notice's text with --es, --en or both.", param_hint="--es/--en"
        )
    if not keyword:
        raise typer.BadParameter(
            "give at least one keyword (repeat --keyword for more), or no customer would see it.",
            param_hint="--keyword",
        )
    expires_in = parse_expires(expires)
    try:
        announcement = _store().publish(
            {"es": es, "en": en}, keyword, expires_in, by or _default_author()
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--keyword") from exc
    typer.echo(announcement.id)
    lasting = "until withdrawn" if expires_in is None else f"for {_human(expires_in)}"
    console.print(
        f"[green]Published[/] {announcement.id} in {', '.join(announcement.languages)} "
        f"{lasting} (expires {_when(announcement.expires_at)}), "
        f"keywords: {escape(', '.join(announcement.keywords))}.",
        highlight=False,
    )
    console.print(f"Withdraw it with `relevo announce withdraw {announcement.id}`.", markup=False)


def _table(announcements: list[Announcement]) -> Table:
    table = Table("id", "languages", "keywords", "created", "expires", "by", "text")
    for a in announcements:
        text = a.text_for(a.languages[0]) if a.languages else ""
        cells = (
            a.id,
            ", ".join(a.languages),
            ", ".join(a.keywords),
            _when(a.created_at),
            _when(a.expires_at),
            a.created_by,
            text if len(text) <= 60 else text[:57] + "...",
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: no markup in what people typed
    return table


@announce_app.command(name="list")
def list_command() -> None:
    """The notices in force, newest first (expired ones are removed)."""
    announcements = _store().active()
    if not announcements:
        console.print("No active announcements. Publish one with `relevo announce publish`.")
        return
    out.print(_table(announcements))


@announce_app.command()
def withdraw(
    announcement_id: Annotated[
        str, typer.Argument(metavar="ID", help="The id `relevo announce list` shows.")
    ],
) -> None:
    """Stop saying a notice at once."""
    if not _store().withdraw(announcement_id.strip()):
        console.print(
            f"error: no active announcement with id {announcement_id!r} (it may have expired); "
            "`relevo announce list` shows the active ones.",
            style="red",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)
    console.print(f"Withdrew {announcement_id.strip()}.", markup=False, highlight=False)
