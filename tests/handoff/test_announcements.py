"""Incident notices on a real Redis: publish, list, withdraw, expiry, matching and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis
from typer.testing import CliRunner

from bot.cli_announce import announce_app, parse_expires
from handoff.announcements import (
    ANNOUNCEMENTS,
    Announcement,
    Announcements,
    active_async,
    matches,
    related,
)
from relevo.settings import get_settings

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)

DELAY = {
    "es": "El vuelo BA123 Madrid–Londres sale con 3 h de retraso.",
    "en": "Flight BA123 Madrid–London is delayed 3 h.",
}


def notice(*keywords: str, created: dt.datetime = T0, **texts: str) -> Announcement:
    """A notice built by hand, for the pure matching functions."""
    return Announcement(
        id=f"n{len(keywords)}{created.minute}",
        texts=texts or {"en": "Notice."},
        keywords=keywords,
        created_at=created.isoformat(),
        expires_at=None,
        created_by="test",
    )


# --- the store -----------------------------------------------------------------------------


def test_the_action_servers_view_reads_redis_at_most_once_per_max_age(
    redis_client: redis.Redis,
) -> None:
    operator = Announcements(redis_client)
    cached = Announcements(redis_client, max_age=60)
    assert cached.match("is BA123 delayed?", "en", now=T0) is None  # read: nothing yet
    published = operator.publish(DELAY, ["BA123"], dt.timedelta(hours=1), "ops", now=T0)
    assert cached.match("is BA123 delayed?", "en", now=T0) is None  # within max_age: not read
    assert Announcements(redis_client).match("is BA123 delayed?", "en", now=T0) == published

    own = cached.publish({"en": "Our app is down."}, ["app"], None, "ops", now=T0)
    assert {a.id for a in cached.active(now=T0)} == {published.id, own.id}  # its own write: read
    later = T0 + dt.timedelta(hours=2)  # the delay notice expired meanwhile: not said from memory
    assert [a.id for a in cached.active(now=later)] == [own.id]
    assert cached.withdraw(own.id)
    assert cached.match("the app is down", "en", now=later) is None


def test_publish_list_and_withdraw(redis_client: redis.Redis) -> None:
    store = Announcements(redis_client)
    first = store.publish(
        DELAY, ["BA123", "retraso", "delay"], dt.timedelta(hours=6), "ops", now=T0
    )
    later = T0 + dt.timedelta(minutes=5)
    second = store.publish({"en": "Our app is down."}, ["app"], None, "ops", now=later)

    assert first.texts == DELAY and first.keywords == ("BA123", "retraso", "delay")
    assert first.created_at == "2025-03-01T09:00:00.000+00:00"
    assert first.expires_at == "2025-03-01T15:00:00.000+00:00"
    assert second.expires_at is None and second.created_by == "ops"
    stored = json.loads(redis_client.hget(ANNOUNCEMENTS, first.id) or "")
    assert stored["texts"]["es"] == DELAY["es"]  # readable JSON, accents kept
    assert Announcement.from_json(redis_client.hget(ANNOUNCEMENTS, first.id) or "") == first

    assert store.active(later) == [second, first]  # newest first
    assert store.withdraw(first.id) is True
    assert store.withdraw(first.id) is False
    assert store.withdraw("nope") is False
    assert store.active(later) == [second]


def test_expired_notices_are_skipped_and_removed(redis_client: redis.Redis) -> None:
    store = Announcements(redis_client)
    short = store.publish({"es": "Web caída."}, ["web"], dt.timedelta(minutes=30), "ops", now=T0)
    kept = store.publish({"es": "Huelga."}, ["huelga"], None, "ops", now=T0 + dt.timedelta(0, 1))

    assert store.active(T0 + dt.timedelta(minutes=29)) == [kept, short]
    assert redis_client.hlen(ANNOUNCEMENTS) == 2
    assert store.match("la web no va", "es", T0 + dt.timedelta(minutes=29)) == short

    at_expiry = T0 + dt.timedelta(minutes=30)
    assert store.match("la web no va", "es", at_expiry) is None
    assert store.active(at_expiry) == [kept]
    assert redis_client.hkeys(ANNOUNCEMENTS) == [kept.id]  # removed, not only skipped


async def test_active_async_for_the_desk(
    redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    store = Announcements(redis_client)
    old = store.publish({"en": "Old."}, ["old"], dt.timedelta(hours=1), "ops", now=T0)
    new = store.publish(DELAY, ["BA123"], None, "ops", now=T0 + dt.timedelta(minutes=1))

    assert await active_async(aclient, T0 + dt.timedelta(minutes=2)) == [new, old]
    assert await active_async(aclient, T0 + dt.timedelta(hours=2)) == [new]
    assert redis_client.hkeys(ANNOUNCEMENTS) == [new.id]


def test_an_unreadable_entry_does_not_break_the_others(redis_client: redis.Redis) -> None:
    store = Announcements(redis_client)
    good = store.publish({"en": "Strike."}, ["strike"], None, "ops", now=T0)
    redis_client.hset(ANNOUNCEMENTS, "broken", "{not json")
    redis_client.hset(ANNOUNCEMENTS, "partial", json.dumps({"id": "partial"}))
    naive = json.loads(good.to_json()) | {"id": "naive", "created_at": "2025-03-01T09:00:00"}
    redis_client.hset(ANNOUNCEMENTS, "naive", json.dumps(naive))
    redis_client.hset(ANNOUNCEMENTS, "list", "[1, 2]")
    assert store.active(T0) == [good]


@pytest.mark.parametrize(
    ("texts", "keywords", "expires_in", "message"),
    [
        ({"es": " ", "en": None}, ["x"], None, "at least one language"),
        ({"fr": "Bonjour"}, ["x"], None, "unknown language(s) fr"),
        ({"es": "Hola"}, [], None, "at least one keyword"),
        ({"es": "Hola"}, ["¡!"], None, "no letters or digits"),
        ({"es": "Hola"}, ["re*tr"], None, "only allowed at the end"),
        ({"es": "Hola"}, ["x"], dt.timedelta(0), "must be positive"),
    ],
)
def test_publish_refuses_what_could_never_be_said(
    redis_client: redis.Redis,
    texts: dict[str, str | None],
    keywords: list[str],
    expires_in: dt.timedelta | None,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Announcements(redis_client).publish(texts, keywords, expires_in, "ops", now=T0)
    assert redis_client.hlen(ANNOUNCEMENTS) == 0


def test_publish_keeps_one_of_each_keyword_and_needs_an_aware_now(
    redis_client: redis.Redis,
) -> None:
    store = Announcements(redis_client)
    made = store.publish(
        {"en": "x"}, ["BA123", "ba 123", " Retraso ", "retraso"], None, "o", now=T0
    )
    assert made.keywords == ("BA123", "Retraso")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.active(dt.datetime(2025, 3, 1, 9, 0))  # naive: refused


def test_text_for_falls_back_to_the_other_language() -> None:
    both = notice("x", **DELAY)
    assert both.text_for("es") == DELAY["es"] and both.text_for("en") == DELAY["en"]
    only_en = notice("x", en="App down.")
    assert only_en.text_for("es") == "App down." and only_en.languages == ("en",)
    assert notice("x", es="Caída.").text_for("en") == "Caída."


# --- matching --------------------------------------------------------------------------------


def test_a_spanish_question_matches_a_bilingual_notice() -> None:
    delay = notice("BA123", "retraso", "delay", **DELAY)
    assert matches(delay, "¿Mi vuelo BA123 sale con retraso?") == ["BA123", "retraso"]
    assert matches(delay, "mi vuelo BA123 delayed?") == ["BA123"]  # "delayed" is not "delay"
    assert matches(delay, "hay delay en mi vuelo?") == ["delay"]  # English word, Spanish text


def test_case_and_accents_are_folded_on_both_sides() -> None:
    assert matches(notice("cancelación"), "¿Hay CANCELACION de vuelos?") == ["cancelación"]
    assert matches(notice("cancelacion"), "cancelación de mi vuelo") == ["cancelacion"]
    assert matches(notice("Huelga de controladores"), "HUELGA  de   Controladores??") == [
        "Huelga de controladores"
    ]


@pytest.mark.parametrize(
    "text", ["BA123", "ba123", "BA 123", "ba-123", "Ba_123", "vuelo ba.123 hoy", "(BA123)?"]
)
def test_a_flight_number_matches_however_it_is_written(text: str) -> None:
    assert matches(notice("BA123"), text) == ["BA123"]
    assert matches(notice("ba 123"), text) == ["ba 123"]


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("app", "I bought an apple"),
        ("app", "whatsapp no funciona"),
        ("BA123", "BA1234 delayed"),
        ("BA123", "XBA123"),
        ("BA123", "BA123X"),
        ("BA123", "flight 123"),
        ("123", "BA123"),
        ("retraso", "retrasos"),
        ("huelga de controladores", "huelga de los controladores"),
    ],
)
def test_no_match_inside_other_words(keyword: str, text: str) -> None:
    assert matches(notice(keyword), text) == []


def test_a_star_matches_word_beginnings() -> None:
    delay = notice("retras*", "delay*")
    assert matches(delay, "¿Mi vuelo está retrasado?") == ["retras*"]
    assert matches(delay, "flights delayed again") == ["delay*"]
    assert matches(delay, "los retrasos y los delays") == ["retras*", "delay*"]
    assert matches(delay, "sin retr") == []


def test_the_notice_with_most_keywords_wins_then_the_newest() -> None:
    app = notice("app", "caída", created=T0 + dt.timedelta(minutes=9), en="App down.")
    delay = notice("BA123", "retraso", "vuelo", created=T0, **DELAY)
    newer_delay = notice("BA123", created=T0 + dt.timedelta(minutes=1), en="BA123 gate change.")

    assert related([app, delay, newer_delay], "retraso del vuelo BA123 y la app") == [
        delay,  # three keywords
        app,  # one, the newest of the rest
        newer_delay,
    ]
    assert related([delay, newer_delay], "BA123?") == [newer_delay, delay]
    assert related([app, delay], "hola") == []


def test_match_through_the_store_ignores_the_message_language(redis_client: redis.Redis) -> None:
    store = Announcements(redis_client)
    delay = store.publish(DELAY, ["BA123", "retraso", "delay"], None, "ops", now=T0)
    app = store.publish(
        {"en": "Our app is down."}, ["app"], None, "ops", now=T0 + dt.timedelta(minutes=1)
    )
    later = T0 + dt.timedelta(minutes=2)

    found = store.match("mi vuelo BA 123 delay?", "es", later)
    assert found == delay and found.text_for("es") == DELAY["es"]
    assert store.match("la app no abre", "es", later) == app
    assert store.match("app down, and my flight ba-123 has a delay", "en", later) == delay
    assert store.match("quiero elegir asiento", "es", later) is None


# --- the CLI ------------------------------------------------------------------------------


@pytest.fixture
def runner(
    redis_url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    """A CLI runner whose settings point at the test Redis."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_publish_list_withdraw(runner: CliRunner, redis_client: redis.Redis) -> None:
    published = runner.invoke(
        announce_app,
        [
            "publish",
            "--es",
            DELAY["es"],
            "--en",
            DELAY["en"],
            "--keyword",
            "BA123",
            "-k",
            "retraso",
            "--keyword",
            "delay",
            "--expires",
            "6h",
            "--by",
            "ana",
        ],
    )
    assert published.exit_code == 0, published.output
    announcement_id = published.stdout.strip()
    assert redis_client.hexists(ANNOUNCEMENTS, announcement_id)
    assert f"Published {announcement_id} in es, en for 6h" in published.stderr
    assert "keywords: BA123, retraso, delay" in published.stderr
    stored = Announcement.from_json(redis_client.hget(ANNOUNCEMENTS, announcement_id) or "")
    assert stored.created_by == "ana"
    assert stored.expires is not None
    assert stored.expires - stored.created == dt.timedelta(hours=6)

    listed = runner.invoke(announce_app, ["list"])
    assert listed.exit_code == 0, listed.output
    for expected in (announcement_id, "es, en", "BA123, retraso, delay", "UTC", "ana"):
        assert expected in listed.stdout

    withdrawn = runner.invoke(announce_app, ["withdraw", announcement_id])
    assert withdrawn.exit_code == 0, withdrawn.output
    assert f"Withdrew {announcement_id}" in withdrawn.stderr
    assert redis_client.hlen(ANNOUNCEMENTS) == 0
    empty = runner.invoke(announce_app, ["list"])
    assert empty.exit_code == 0 and "No active announcements" in empty.stderr


def test_cli_publish_without_expiry(runner: CliRunner, redis_client: redis.Redis) -> None:
    result = runner.invoke(
        announce_app, ["publish", "--en", "Our app is down.", "-k", "app", "--expires", "none"]
    )
    assert result.exit_code == 0, result.output
    assert "until withdrawn (expires never)" in result.stderr
    stored = Announcement.from_json(redis_client.hget(ANNOUNCEMENTS, result.stdout.strip()) or "")
    assert stored.expires_at is None and stored.texts == {"en": "Our app is down."}


def test_cli_withdraw_of_an_unknown_id_fails_clearly(runner: CliRunner) -> None:
    result = runner.invoke(announce_app, ["withdraw", "deadbeef"])
    assert result.exit_code == 1
    assert "no active announcement with id 'deadbeef'" in result.stderr
    assert "relevo announce list" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--es", "Hola", "-k", "x", "--expires", "6 hours"], "is not a duration"),
        (["--es", "Hola", "-k", "x", "--expires", "soon"], "30m, 6h, 2d"),
        (["--es", "Hola", "-k", "x", "--expires", "0h"], "longer than zero"),
        (["-k", "x"], "--es, --en or both"),
        (["--en", "Hi"], "at least one keyword"),
        (["--en", "Hi", "-k", "!!"], "no letters or digits"),
    ],
)
def test_cli_publish_errors_say_what_to_do(
    runner: CliRunner, redis_client: redis.Redis, args: list[str], message: str
) -> None:
    result = runner.invoke(announce_app, ["publish", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())  # rich wraps the usage box
    assert redis_client.hlen(ANNOUNCEMENTS) == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30m", dt.timedelta(minutes=30)),
        ("6h", dt.timedelta(hours=6)),
        ("2d", dt.timedelta(days=2)),
        ("1h30m", dt.timedelta(hours=1, minutes=30)),
        (" 6H ", dt.timedelta(hours=6)),
        ("none", None),
        ("never", None),
    ],
)
def test_parse_expires(value: str, expected: dt.timedelta | None) -> None:
    assert parse_expires(value) == expected
