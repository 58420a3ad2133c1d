"""Rendering `Kpis` for people (a terminal table, an HTML page) and for tools (CSV, JSON).

The table and the page share one layout (`_blocks`): sections with labelled figures, small
breakdown charts and term tables, so both say the same thing in the same order. CSV and JSON
carry the raw numbers (fractions, seconds) for spreadsheets and scripts; the table and the page
format them (percentages, `4m 05s`). Everything that came from events (channel, department,
hashtag names) is data, never markup: rich `Text` cells in the table, escaped in the page.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from bot.reports.kpis import Durations, Kpis, Term

Format = Literal["table", "csv", "json", "html"]
FORMATS: tuple[str, ...] = ("table", "csv", "json", "html")
TABLE_WIDTH = 100
NONE = "—"
"""What an empty ratio or a missing duration shows: no data is not 0."""
CSV_DIGITS = 4
"""Decimals of fractional figures in CSV: enough for seconds (ms) and cents, no float noise."""
REFERENCE = (
    "Reference: eBay reported about $12 per contact handled by a person against $0.25 for "
    "self-service, 48 times less."
)


def render(kpis: Kpis, fmt: str) -> str:
    """The report as text in one of `FORMATS`.

    Raises:
        ValueError: An unknown format.
    """
    renderers = {"table": _table, "csv": _csv, "json": _json, "html": _html}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return renderers[fmt](kpis)


# --- formatting ------------------------------------------------------------------------------


def _count(value: int) -> str:
    return f"{value:,}"


def _percent(value: float | None) -> str:
    return NONE if value is None else f"{value:.1%}"


def _number(value: float | None, digits: int = 1) -> str:
    return NONE if value is None else f"{value:,.{digits}f}"


def _money(value: float | None) -> str:
    """Two decimals, or up to four for fractions of a cent (a bot message costs 0.005)."""
    if value is None:
        return NONE
    if value == 0 or abs(value) >= 0.1:
        return f"{value:,.2f}"
    return f"{value:.4f}".rstrip("0")


def _growth(value: float | None) -> str:
    return "new" if value is None else f"{value:+.0%}"


def duration(seconds: float | None) -> str:
    """Seconds as people read them: 22ms, 4.2s, 3m 05s, 2h 10m, 1d 4h.

    The bot answers in milliseconds, which "0.0s" would hide.
    """
    if seconds is None:
        return NONE
    if round(seconds * 1000) < 1000:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


# --- the shared layout -----------------------------------------------------------------------


@dataclass
class _Grid:
    """A small table: a title, column headings and rows of formatted cells."""

    title: str
    headings: list[str]
    rows: list[list[str]]


@dataclass
class _Chart:
    """A breakdown: counts per label; `shares` when the labels split one whole."""

    title: str
    heading: str
    counts: dict[str, int]
    shares: bool = True


@dataclass
class _Block:
    """One section of the report."""

    title: str
    figures: list[tuple[str, str]]
    charts: list[_Chart] = field(default_factory=list)
    grids: list[_Grid] = field(default_factory=list)
    note: str = ""


def _durations_row(name: str, measured: Durations) -> list[str]:
    return [
        name,
        _count(measured.count),
        duration(measured.median_seconds),
        duration(measured.p90_seconds),
    ]


def _terms_grid(title: str, terms: list[Term]) -> _Grid:
    return _Grid(
        title,
        ["term", "count", "previous", "change", "growth"],
        [
            [t.term, _count(t.count), _count(t.previous), f"{t.change:+,}", _growth(t.growth)]
            for t in terms
        ],
    )


def _volume(k: Kpis) -> _Block:
    v = k.volume
    return _Block(
        "Volume",
        [
            ("Messages in", _count(v.messages_in)),
            ("Conversations", _count(v.conversations)),
            ("Customers", _count(v.customers)),
        ],
        charts=[
            _Chart("Messages by channel", "channel", v.by_channel),
            _Chart("Messages by language", "language", v.by_language),
            _Chart("Conversations by department", "department", v.by_department, shares=False),
        ],
    )


def _response_times(k: Kpis) -> _Block:
    r = k.response_times
    return _Block(
        "Response times",
        [],
        grids=[
            _Grid(
                "Durations",
                ["measure", "measured", "median", "p90"],
                [
                    _durations_row("Bot first response", r.bot_first_response),
                    _durations_row("Human first response", r.human_first_response),
                    _durations_row("Human resolution", r.human_resolution),
                ],
            )
        ],
    )


NOT_SETTLED = {
    "answered_then_no": "Answered, then said no",
    "link": "Pointed to an article in public (no pick possible)",
    "suggest": "Offered articles, none picked",
    "private": "Moved to a private channel",
    "notice": "Only an incident notice",
    "rephrase": "Asked to rephrase",
    "decline": "Declined (off-topic)",
    "other": "Other replies only",
}
"""What the bot last tried in a conversation it did not settle, as the report names it."""


def _deflection(k: Kpis) -> _Block:
    d = k.deflection
    return _Block(
        "Deflection",
        [
            ("Conversations", _count(d.conversations)),
            ("With the bot involved", _count(d.bot_conversations)),
            ("Handed off", _count(d.handed_off)),
            ("Settled by the bot (deflected)", _count(d.deflected)),
            ("Deflection rate", _percent(d.deflection_rate)),
            ("Not settled by the bot", _count(d.not_settled)),
            ("Answered by the bot", _count(d.bot_answered)),
            ("Answered and resolved", _count(d.bot_answered_resolved)),
            ("Resolution of bot answers", _percent(d.bot_answer_resolution_rate)),
            ("Bot involvement × resolution", _percent(d.bot_involvement_resolution)),
        ],
        charts=[
            _Chart(
                "Left without an answer, by the bot's best reply",
                "best reply",
                {NOT_SETTLED.get(key, key): n for key, n in d.not_settled_by_outcome.items()},
            )
        ],
    )


# The reasons as the console and the dashboard name them (CSV and JSON keep the codes).
REASON_WORDS = {
    "asked_for_person": "Asked for a person",
    "low_confidence": "Bot unsure",
    "negative_feedback": "Negative feedback",
    "complaint": "Complaint",
    "repeated_failure": "Two answers failed",
    "sensitive_topic": "Sensitive topic",
    "personal_case": "Own booking or payment",
}


def _escalations(k: Kpis) -> _Block:
    e = k.escalations
    reasons = {REASON_WORDS.get(code, code): n for code, n in e.by_reason.items()}
    return _Block(
        "Escalations",
        [("Handoffs", _count(e.handoffs))],
        charts=[
            _Chart("Handoffs by reason", "reason", reasons),
            _Chart("Handoffs by priority", "priority", e.by_priority),
            _Chart("Handoffs by department", "department", e.by_department),
        ],
    )


def _sla(k: Kpis) -> _Block:
    s = k.sla
    return _Block(
        "SLA",
        [
            ("Handoffs", _count(s.handoffs)),
            ("First response met", _count(s.first_response_met)),
            ("First response breaches", _count(s.first_response_breaches)),
            ("First response not yet due", _count(s.first_response_not_yet_due)),
            ("First response compliance", _percent(s.first_response_compliance)),
            ("Resolution met", _count(s.resolution_met)),
            ("Resolution breaches", _count(s.resolution_breaches)),
            ("Resolution not yet due", _count(s.resolution_not_yet_due)),
            ("Resolution compliance", _percent(s.resolution_compliance)),
            ("Closed into another handoff (not judged)", _count(s.merged)),
        ],
        charts=[_Chart("Handoffs warned, by target", "target", s.warnings, shares=False)],
    )


def _satisfaction(k: Kpis) -> _Block:
    s = k.satisfaction
    return _Block(
        "Satisfaction",
        [
            ("Ratings", _count(s.ratings)),
            ("Average rating", _number(s.average, 2)),
            ("CSAT (4 and 5)", _percent(s.csat)),
            ("Feedback answers", _count(s.feedback)),
            ("Found the answer helpful", _percent(s.helpful_share)),
        ],
        charts=[_Chart("Ratings", "stars", s.distribution)],
    )


def _cost(k: Kpis) -> _Block:
    c = k.cost
    return _Block(
        f"Cost ({c.currency})",
        [
            ("Agent minute", _money(c.agent_minute)),
            ("Bot message", _money(c.bot_message)),
            ("Bot replies (all)", _count(c.bot_replies)),
            ("Bot cost (all replies)", _money(c.bot_cost_total)),
            ("Conversations settled by the bot", _count(c.bot_conversations)),
            ("Per bot conversation", _money(c.bot_cost_per_conversation)),
            ("Conversations resolved by people", _count(c.human_conversations)),
            ("Handling minutes", _number(c.handling_minutes)),
            ("Cost of people", _money(c.human_cost_total)),
            ("Per human conversation", _money(c.human_cost_per_conversation)),
            (
                "Human ÷ bot",
                NONE if c.human_to_bot_ratio is None else f"{c.human_to_bot_ratio:,.1f}×",
            ),
            ("Estimated savings", _money(c.estimated_savings)),
        ],
        note=REFERENCE,
    )


def _reach(k: Kpis) -> _Block:
    r = k.reach
    return _Block(
        "Reach",
        [
            ("Customers served", _count(r.customers)),
            ("With a follower count", _count(r.customers_with_followers)),
            ("Total followers", _count(r.total_followers)),
            ("Median followers", _number(r.median_followers, 0)),
            (f"Influencers (≥ {r.influencer_threshold:,})", _count(r.influencers)),
            ("Public conversations", _count(r.public_conversations)),
            ("Public share", _percent(r.public_share)),
        ],
    )


def _trends(k: Kpis) -> _Block:
    t = k.trends
    return _Block(
        "Trends",
        [("Messages in the previous period", _count(t.previous_messages_in))],
        charts=[
            _Chart(
                "Top hashtags",
                "hashtag",
                {term.term: term.count for term in t.hashtags},
                shares=False,
            )
        ],
        grids=[
            _terms_grid("Hashtags", t.hashtags),
            _terms_grid("Keywords", t.keywords),
            _terms_grid("Departments", t.departments),
            _terms_grid("Articles", t.articles),
            _terms_grid("Trending hashtags", t.trending_hashtags),
            _terms_grid("Trending keywords", t.trending_keywords),
        ],
    )


def _delivery(k: Kpis) -> _Block:
    d = k.delivery
    return _Block(
        "Delivery",
        [
            ("Delivered", _count(d.delivered)),
            ("Failed", _count(d.failed)),
            ("Failure rate", _percent(d.failure_rate)),
        ],
        charts=[_Chart("Failures by channel", "channel", d.failed_by_channel)],
    )


def _blocks(kpis: Kpis) -> list[_Block]:
    sections = (
        _volume,
        _response_times,
        _deflection,
        _escalations,
        _sla,
        _satisfaction,
        _cost,
        _reach,
        _trends,
        _delivery,
    )
    return [section(kpis) for section in sections]


def _moment(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def _scope(kpis: Kpis) -> str:
    """The period and filters in one line."""
    p = kpis.period
    chosen = [f"{name} {value}" for name, value in p.filters.items() if value]
    period = f"{_moment(p.since)} → {_moment(p.until)}"
    return period + (f" · {', '.join(chosen)}" if chosen else "")


# --- table -----------------------------------------------------------------------------------


def _bar(count: int, largest: int, width: int = 30) -> str:
    return "█" * max(1, round(width * count / largest)) if count and largest else ""


def _rich_chart(chart: _Chart) -> Table:
    """Counts, and when the labels split one whole, each one's share with a bar."""
    table = Table(title=chart.title, title_justify="left")
    table.add_column(chart.heading)
    table.add_column("count", justify="right")
    if chart.shares:
        table.add_column("share")
    total, largest = sum(chart.counts.values()), max(chart.counts.values(), default=0)
    for label, count in chart.counts.items():
        share = f"{_percent(count / total if total else None):>6} {_bar(count, largest)}"
        table.add_row(Text(label), _count(count), *([share] if chart.shares else []))
    return table


def _rich_grid(grid: _Grid) -> Table:
    table = Table(title=grid.title, title_justify="left")
    for position, heading in enumerate(grid.headings):
        table.add_column(heading, justify="left" if position == 0 else "right")
    for row in grid.rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _table(kpis: Kpis) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=TABLE_WIDTH, color_system=None, force_terminal=False)
    console.print(Text(f"Relevo report  {_scope(kpis)}"))
    for block in _blocks(kpis):
        console.print()
        console.rule(Text(block.title))
        if block.figures:
            figures = Table("metric", Column("value", justify="right"))
            for name, value in block.figures:
                figures.add_row(Text(name), Text(value))
            console.print(figures)
        for chart in block.charts:
            if chart.counts:
                console.print(_rich_chart(chart))
        for grid in block.grids:
            if grid.rows:
                console.print(_rich_grid(grid))
        if block.note:
            console.print(Text(block.note))
    return buffer.getvalue()


# --- csv and json ----------------------------------------------------------------------------


def _flatten(prefix: str, value: object) -> Iterator[tuple[str, object]]:
    """Dotted metric names for nested data; a list of terms is keyed by each term."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            key = item.get("term", position) if isinstance(item, Mapping) else position
            yield from _flatten(f"{prefix}.{key}", {k: v for k, v in item.items() if k != "term"})
    else:
        yield prefix, value


def rows(kpis: Kpis) -> list[tuple[str, str, object]]:
    """Every figure as (section, metric, value), in report order."""
    return [
        (section, metric, value)
        for section, data in asdict(kpis).items()
        for metric, value in _flatten("", data)
    ]


def _csv_value(value: object) -> object:
    """Empty for no data; floats rounded, so 42.894000000000005 reads 42.894."""
    if value is None:
        return ""
    return round(value, CSV_DIGITS) if isinstance(value, float) else value


def _csv(kpis: Kpis) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "metric", "value"])
    for section, metric, value in rows(kpis):
        writer.writerow([section, metric, _csv_value(value)])
    return buffer.getvalue()


def _json(kpis: Kpis) -> str:
    return json.dumps(asdict(kpis), indent=2, ensure_ascii=False) + "\n"


# --- html ------------------------------------------------------------------------------------

_STYLE = """
:root { --ink: #1d2733; --muted: #5b6b7c; --line: #dde3ea; --bar: #2f6fba; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--bg); }
header { padding: 24px 32px 12px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { margin: 0 0 4px; font-size: 22px; }
.scope { margin: 0; color: var(--muted); }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(420px, 100%), 1fr));
  gap: 20px; padding: 20px 32px 32px; }
@media (max-width: 480px) {
  body { font-size: 14px; }
  header, main, footer { padding-left: 12px; padding-right: 12px; }
  section { padding: 12px; }
  th, td { padding: 4px 3px; }
}
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 16px 20px; }
h2 { margin: 0 0 12px; font-size: 17px; }
h3 { margin: 14px 0 6px; font-size: 14px; color: var(--muted); font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 6px; border-bottom: 1px solid var(--line); text-align: left; }
td.num, th.num { text-align: right; }
tbody th { font-weight: 400; color: var(--muted); }
figure { margin: 12px 0 0; }
figcaption { font-size: 13px; color: var(--muted); margin-bottom: 4px; }
svg { max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
svg rect { fill: var(--bar); }
.note, .empty { color: var(--muted); font-size: 13px; }
footer { padding: 0 32px 24px; color: var(--muted); font-size: 12px; }
"""

_CHART_WIDTH = 380
_LABEL_WIDTH = 170
_BAR_SPACE = 150
_ROW = 22


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _short(label: str, limit: int = 25) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _svg_chart(title: str, counts: Mapping[str, int]) -> str:
    """A horizontal bar chart as inline SVG (no script, no external assets)."""
    if not counts:
        return f'<figure><figcaption>{_e(title)}</figcaption><p class="empty">No data.</p></figure>'
    largest = max(counts.values()) or 1
    height = _ROW * len(counts) + 4
    bars = []
    for row, (label, count) in enumerate(counts.items()):
        y = row * _ROW + 2
        width = max(1, round(_BAR_SPACE * count / largest)) if count else 0
        bars.append(
            f"<g><title>{_e(label)}: {_e(count)}</title>"
            f'<text x="0" y="{y + 14}">{_e(_short(label))}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y + 2}" width="{width}" height="16" rx="3"/>'
            f'<text x="{_LABEL_WIDTH + width + 6}" y="{y + 14}">{_e(f"{count:,}")}</text></g>'
        )
    return (
        f"<figure><figcaption>{_e(title)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_e(title)}" '
        f'width="{_CHART_WIDTH}" height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}">'
        f"{''.join(bars)}</svg></figure>"
    )


def _html_figures(figures: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<tr><th scope="row">{_e(name)}</th><td class="num">{_e(value)}</td></tr>'
        for name, value in figures
    )
    return f"<table><tbody>{body}</tbody></table>"


def _cell(tag: str, value: str, position: int, extra: str = "") -> str:
    """A table cell; every column after the first holds numbers, aligned right."""
    css = "" if position == 0 else ' class="num"'
    return f"<{tag}{extra}{css}>{_e(value)}</{tag}>"


def _html_grid(grid: _Grid) -> str:
    title = f"<h3>{_e(grid.title)}</h3>"
    if not grid.rows:
        return f'{title}<p class="empty">No data.</p>'
    head = "".join(_cell("th", h, i, ' scope="col"') for i, h in enumerate(grid.headings))
    body = "".join(
        "<tr>" + "".join(_cell("td", cell, i) for i, cell in enumerate(row)) + "</tr>"
        for row in grid.rows
    )
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_block(block: _Block) -> str:
    parts = [f"<section><h2>{_e(block.title)}</h2>"]
    if block.figures:
        parts.append(_html_figures(block.figures))
    parts.extend(_svg_chart(chart.title, chart.counts) for chart in block.charts)
    parts.extend(_html_grid(grid) for grid in block.grids)
    if block.note:
        parts.append(f'<p class="note">{_e(block.note)}</p>')
    parts.append("</section>")
    return "".join(parts)


def _html(kpis: Kpis) -> str:
    scope = _scope(kpis)
    sections = "\n".join(_html_block(block) for block in _blocks(kpis))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Relevo report · {_e(scope)}</title><style>{_STYLE}</style></head>\n"
        f'<body><header><h1>Relevo report</h1><p class="scope">{_e(scope)}</p></header>\n'
        f"<main>\n{sections}\n</main>\n"
        "<footer>Computed by <code>relevo report</code> from the operations event stream, "
        "which holds no customer words.</footer></body></html>\n"
    )
