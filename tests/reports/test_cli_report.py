"""`relevo report` end to end: events in the real test Redis, the command through Typer."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import typer
from typer.testing import CliRunner

from bot.cli_report import parse_moment, report
from bot.reports.source import read_events
from relevo import keys
from relevo.events import EventType, emit_sync
from relevo.settings import get_settings
from tests.reports.test_kpis import scenario

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
BASE = NOW - dt.timedelta(hours=6)  # the scenario's "10:00": its last event is at 14:05


def _app() -> typer.Typer:
    """The command registered as bot/cli.py does, under a group so it is called by name."""
    app = typer.Typer()
    app.command()(report)
    app.callback()(lambda: None)
    return app


def store(client: redis.Redis, events: list[dict[str, str]]) -> None:
    """XADD each event with the stream id of its own time, as if recorded as it happened."""
    last = (0, -1)
    for event in sorted(events, key=lambda e: e["at"]):
        millis = int(dt.datetime.fromisoformat(event["at"]).timestamp() * 1000)
        sequence = last[1] + 1 if millis == last[0] else 0
        client.xadd(keys.EVENTS, event, id=f"{millis}-{sequence}")
        last = (millis, sequence)


@pytest.fixture
def runner(
    redis_url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    """A runner whose settings point at the test Redis, with the scenario's events stored."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    store(redis_client, scenario(BASE))
    yield CliRunner()
    get_settings.cache_clear()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(_app(), ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_over_the_last_day(runner: CliRunner) -> None:
    code, out, err = invoke(runner, "--since", "1d", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["volume"]["messages_in"] == 3
    assert data["satisfaction"]["csat"] == 0.5
    assert data["sla"]["first_response_compliance"] == 0.5
    assert data["trends"]["previous_messages_in"] == 2  # the day before was read too
    assert data["cost"]["agent_minute"] == 0.80


def test_table(runner: CliRunner) -> None:
    code, out, err = invoke(runner, "--since", "24h")
    assert code == 0, err
    for heading in ("Relevo report", "Volume", "Deflection", "SLA", "Satisfaction", "Cost"):
        assert heading in out
    assert "33.3%" in out


def test_csv_with_a_filter(runner: CliRunner) -> None:
    code, out, err = invoke(runner, "--since", "1d", "-f", "csv", "--channel", "social")
    assert code == 0, err
    table = {(s, m): v for s, m, v in list(csv.reader(io.StringIO(out)))[1:]}
    assert table[("volume", "messages_in")] == "1"
    assert table[("period", "filters.channel")] == "social"
    assert float(table[("satisfaction", "csat")]) == 1.0


def test_html_to_a_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "week.html"
    code, out, err = invoke(runner, "--since", "7d", "--format", "html", "--output", str(target))
    assert code == 0, err
    assert out == ""
    assert f"Wrote the html report to {target}" in err
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Satisfaction" in page


def test_iso_dates_and_department(runner: CliRunner) -> None:
    since = BASE + dt.timedelta(hours=1)  # B's first message; C's comes at the until
    code, out, err = invoke(
        runner,
        "--since",
        since.strftime("%Y-%m-%dT%H:%M:%S"),  # naive: UTC
        "--until",
        (since + dt.timedelta(hours=1)).isoformat(),
        "--format",
        "json",
        "--department",
        "refunds",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["period"]["since"] == since.isoformat()
    assert data["volume"]["messages_in"] == 1  # B only
    assert data["escalations"]["handoffs"] == 1


def test_an_invalid_since_is_explained(runner: CliRunner) -> None:
    code, out, err = invoke(runner, "--since", "last tuesday")
    assert code == 2 and out == ""
    assert "--since" in err and "is not a time" in " ".join(err.split())


def test_an_empty_period_is_explained(runner: CliRunner) -> None:
    code, _, err = invoke(runner, "--since", "1d", "--until", "2d")
    assert code == 2
    assert "must come after" in " ".join(err.split())


@pytest.mark.parametrize(
    ("option", "value", "listed"),
    [
        ("--channel", "web", "social, telegram, webchat"),
        ("--language", "fr", "en, es"),
        # the routing file's departments, and those the events name (the scenario's flights)
        ("--department", "nope", "baggage, complaints, customer-care, flights, loyalty,"),
    ],
)
def test_an_unknown_filter_is_refused_with_the_valid_values(
    runner: CliRunner, option: str, value: str, listed: str
) -> None:
    """A typo must not read as a period without traffic."""
    code, out, err = invoke(runner, "--since", "1d", option, value)
    said = " ".join(err.replace("│", " ").split())  # rich's error box wraps the message
    assert code == 2 and out == ""
    assert option in said and f"unknown {option[2:]} '{value}': use one of {listed}" in said


def test_filters_are_compared_case_insensitively(runner: CliRunner) -> None:
    code, _, err = invoke(runner, "--since", "1d", "--channel", "Social", "--department", "REFUNDS")
    assert code == 0, err


def test_an_unknown_format_is_refused(runner: CliRunner) -> None:
    code, _, err = invoke(runner, "--format", "pdf")
    assert code == 2 and "pdf" in err


def test_read_events_follows_stream_ids(redis_client: redis.Redis) -> None:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for minute in range(5):
        moment = start + dt.timedelta(minutes=minute)
        redis_client.xadd(
            keys.EVENTS,
            {"type": "message_in", "at": moment.isoformat(), "n": str(minute)},
            id=f"{int(moment.timestamp() * 1000)}-0",
        )
    events = read_events(
        redis_client, start + dt.timedelta(minutes=1), start + dt.timedelta(minutes=4), batch=2
    )
    assert [e["n"] for e in events] == ["1", "2", "3"]  # the end is excluded, paged by 2
    assert read_events(redis_client, start, start) == []


def test_read_events_sees_emitted_events(redis_client: redis.Redis) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    emit_sync(redis_client, EventType.FEEDBACK, conversation="c1", helpful="1")
    events = read_events(
        redis.Redis(connection_pool=redis_client.connection_pool),
        before,
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1),
    )
    assert [(e["type"], e["helpful"]) for e in events] == [("feedback", "1")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("30m", NOW - dt.timedelta(minutes=30)),
        ("24h", NOW - dt.timedelta(hours=24)),
        ("7d", NOW - dt.timedelta(days=7)),
        ("1d12h", NOW - dt.timedelta(hours=36)),
        ("2025-03-01", dt.datetime(2025, 3, 1, tzinfo=dt.UTC)),
        ("2025-03-01T09:30", dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)),
        ("2025-03-01T09:30:00+01:00", dt.datetime(2025, 3, 1, 8, 30, tzinfo=dt.UTC)),
        ("2025-03-01T09:30:00Z", dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)),
    ],
)
def test_parse_moment(text: str, expected: dt.datetime) -> None:
    assert parse_moment(text, NOW, "--since") == expected


@pytest.mark.parametrize("text", ["", "7", "7x", "-3d", "soon"])
def test_parse_moment_rejects(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="30m, 24h, 7d"):
        parse_moment(text, NOW, "--since")
