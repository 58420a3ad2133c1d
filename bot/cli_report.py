"""`relevo report`: the operations KPIs of a period, from the event stream.

It reads the period and the previous one of the same length (for trends) from `relevo:events`,
computes the figures with `bot.reports.kpis` and prints them as a table, CSV, JSON or a
standalone HTML page.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.reports.kpis import Costs, Filters, compute
from bot.reports.render import render
from bot.reports.scope import CHANNELS, UnknownFilter, check_filters, departments_in
from bot.reports.source import read_events
from handoff.routing import RoutingError, configured_routing
from relevo.redis_conn import connect
from relevo.settings import Settings, get_settings

console = Console(stderr=True, soft_wrap=True)

_AGO = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_FORMS = (
    "use a time ago such as 30m, 24h, 7d or 2w (or combined, 1d12h), 'now', or an ISO date or "
    "time such as 2025-03-01 or 2025-03-01T09:30 (UTC unless it gives an offset)"
)


class ReportFormat(StrEnum):
    """The output formats of `relevo report`."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


def _ago(text: str) -> dt.timedelta | None:
    """`30m`, `24h`, `7d`, `1d12h` as a duration; `None` when the text is not one."""
    if not text or _AGO.sub("", text):
        return None
    total = dt.timedelta()
    for amount, unit in _AGO.findall(text):
        total += dt.timedelta(**{_UNITS[unit]: int(amount)})
    return total


def parse_moment(value: str, now: dt.datetime, option: str) -> dt.datetime:
    """Read `--since`/`--until`: a time ago, `now`, or an ISO date or time (UTC by default).

    Raises:
        typer.BadParameter: The value is none of these; the message shows the accepted forms.
    """
    text = value.strip().lower().replace(" ", "")
    if text == "now":
        return now
    ago = _ago(text)
    if ago is not None:
        return now - ago
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a time: {_FORMS}.", param_hint=option) from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def routed_departments(settings: Settings) -> set[str]:
    """The departments of the routing file; none when it cannot be read (doctor says why)."""
    try:
        return set(configured_routing(settings.routing_file).departments)
    except (RoutingError, OSError):
        return set()


def _check(filters: Filters, known_departments: set[str]) -> None:
    """Refuse a filter that matches nothing, naming the option and the values that work."""
    try:
        check_filters(filters, known_departments)
    except UnknownFilter as exc:
        raise typer.BadParameter(f"{exc}.", param_hint=f"--{exc.name}") from None


def _write(text: str, output: Path | None, fmt: ReportFormat) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot write {output}: {exc.strerror or exc}.", param_hint="--output"
        ) from exc
    console.print(f"Wrote the {fmt.value} report to {output}.", markup=False, highlight=False)


def report(
    since: Annotated[
        str, typer.Option(help="Start: 30m, 24h, 7d (ago), or an ISO date/time (UTC).")
    ] = "7d",
    until: Annotated[str, typer.Option(help="End: 'now', a time ago, or an ISO date/time.")] = (
        "now"
    ),
    fmt: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            "-f",
            help="A terminal table, CSV or JSON for tools, or a standalone HTML page.",
        ),
    ] = ReportFormat.TABLE,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of the terminal."),
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help=f"Only this channel: {', '.join(CHANNELS)}.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Only this language (es, en).")] = None,
    department: Annotated[
        str | None, typer.Option(help="Only this department (a key of the routing file).")
    ] = None,
) -> None:
    """Operations KPIs of a period: volume, response times, deflection, SLA, CSAT, cost, trends.

    Example: relevo report --since 7d --format html --output week.html
    """
    now = dt.datetime.now(dt.UTC)
    start, end = parse_moment(since, now, "--since"), parse_moment(until, now, "--until")
    if end <= start:
        raise typer.BadParameter(
            f"the period is empty: --until ({end:%Y-%m-%d %H:%M} UTC) must come after "
            f"--since ({start:%Y-%m-%d %H:%M} UTC).",
            param_hint="--since/--until",
        )
    settings = get_settings()
    filters = Filters(channel=channel, language=language, department=department)
    previous = start - (end - start)  # the period before, for trends
    events = read_events(connect(settings), previous, end)
    _check(filters, routed_departments(settings) | departments_in(events))
    kpis = compute(events, start, end, filters, Costs.configured(settings))
    _write(render(kpis, fmt.value), output, fmt)
