"""A customer who writes while waiting for a person is acknowledged, on a real Redis."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from actions.texts import text as actions_text
from bot.channels.webchat import WebchatSender
from bot.conversations import Route, Waiting
from bot.delivery import DeliveryWorker, RetryPolicy
from bot.inbound import Channel, Customer, Inbound
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from bot.texts import text
from bot.waiting_notice import asks_if_anyone_is_there, waiting_notice
from handoff.console import ConsoleDesk
from handoff.ownership import Action
from handoff.requests import (
    HandoffRequest,
    Priority,
    Reason,
    TranscriptLine,
    request_handoff,
)
from handoff.routing import load_routing
from relevo import keys
from relevo.settings import Settings

ROUTING = """\
default_department: care
calendars:
  office:
    timezone: Europe/Madrid
    hours:
      mon-fri: "08:00-20:00"
      sat: "09:00-14:00"
  always:
    timezone: UTC
    hours: {daily: "00:00-24:00"}
departments:
  desk:
    name: Desk
    slack_channel: "#care-desk"
    calendar: office
  care:
    name: Customer care
    slack_channel: "#care"
    calendar: always
priority:
  influencer_followers: 10000
sla:
  first_response: {urgent: 15, high: 30, normal: 120, low: 480}
  resolution: {urgent: 240, high: 480, normal: 1440, low: 2880}
"""

FRIDAY_NIGHT = dt.datetime(2026, 11, 27, 19, 43, tzinfo=dt.UTC)  # 20:43 in Madrid: desk closed
SATURDAY_MORNING = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)  # 10:00 in Madrid: open
NOTICE = keys.conversation_waiting_notice("c1")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "routing.yml"
    path.write_text(ROUTING, encoding="utf-8")
    return Settings(routing_file=path, care_phone=None, care_form_url=None)


async def _handed_over(
    client: aioredis.Redis,
    *,
    owner: str = "queued",
    language: str = "en",
    department: str = "care",
    **handoff: str,
) -> None:
    """Conversation c1, handed over with handoff h1."""
    await client.set(keys.conversation_owner("c1"), owner)
    await client.set(keys.conversation_handoff("c1"), "h1")
    record = {"language": language, "department": department, "customer": {"id": "u1"}}
    await client.hset(
        keys.handoff("h1"),
        mapping={"state": owner, "conversation": "c1", "record": json.dumps(record), **handoff},
    )


def _message(
    said: str,
    message_id: str = "m1",
    *,
    at: dt.datetime = FRIDAY_NIGHT,
    language: str | None = None,
    timezone: str | None = None,
) -> Inbound:
    return Inbound(
        channel=Channel.WEBCHAT,
        conversation_id="c1",
        message_id=message_id,
        customer=Customer(id="u1", timezone=timezone),
        text=said,
        language=language,
        received_at=at,
    )


def _asked_for_person(at: str) -> HandoffRequest:
    """Conversation c1's request for a person, in Spanish, said at `at`."""
    return HandoffRequest(
        conversation_id="c1",
        channel="webchat",
        language="es",
        reason=Reason.ASKED_FOR_PERSON,
        priority=Priority.NORMAL,
        transcript=[TranscriptLine("customer", "quiero hablar con una persona", at)],
        hits=[],
        draft=None,
        customer={"id": "u1"},
    )


async def _notices(client: aioredis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in await client.xrange(keys.OUTBOX)]


async def _relayed(client: aioredis.Redis) -> list[str]:
    return [fields["text"] for _, fields in await client.xrange(keys.DESK_RELAY)]


async def _window_over(client: aioredis.Redis) -> None:
    """Let the notice's key expire, as it does `keys.WAITING_NOTICE_SECONDS` after it was set."""
    await client.pexpire(NOTICE, 1)
    await asyncio.sleep(0.01)


async def test_a_queued_customer_is_told_once_per_silent_stretch_in_the_conversations_language(
    aclient: aioredis.Redis, settings: Settings
) -> None:
    """The browser and the handoff say English; the conversation has been held in Spanish."""
    pipeline = InboundPipeline(aclient, settings)
    await _handed_over(aclient, language="en")
    await aclient.hset(keys.conversation("c1"), "language", "es")

    first = await pipeline.accept(_message("??", "m1", language="en"))
    assert first.route is Route.RELAY
    [notice] = await _notices(aclient)
    assert notice["text"] == text("waiting_for_person", "es")
    assert notice["out_id"] == "m1:waiting" and notice["author"] == "bot"
    assert notice["ends_turn"] == "1"
    assert 0 < await aclient.ttl(NOTICE) <= keys.WAITING_NOTICE_SECONDS

    assert (await pipeline.accept(_message("¿hay alguien?", "m2"))).route is Route.RELAY
    assert len(await _notices(aclient)) == 1  # within the window: silence

    await _window_over(aclient)
    await pipeline.accept(_message("¿hola?", "m3"))
    assert [n["out_id"] for n in await _notices(aclient)] == ["m1:waiting", "m3:waiting"]
    assert await _relayed(aclient) == ["??", "¿hay alguien?", "¿hola?"]  # only the customer's


async def test_the_handoffs_own_notice_starts_the_stretch(
    aclient: aioredis.Redis, redis_client: redis.Redis, settings: Settings
) -> None:
    """A "thanks" right after "a person will take over" is not told the same again."""
    request = _asked_for_person("2026-11-27")
    assert request_handoff(redis_client, request)
    pipeline = InboundPipeline(aclient, settings)
    assert (await pipeline.accept(_message("gracias", "m1"))).route is Route.RELAY
    assert await _notices(aclient) == []
    await _window_over(aclient)
    await pipeline.accept(_message("¿hay alguien?", "m2"))
    assert [n["out_id"] for n in await _notices(aclient)] == ["m2:waiting"]


async def test_asking_if_anyone_is_there_is_answered_once_the_last_notice_is_20_s_old(
    aclient: aioredis.Redis, settings: Settings
) -> None:
    """QA s20 D4d: "¿estás ahí?" two minutes after "a person will take over" got silence."""
    pipeline = InboundPipeline(aclient, settings)
    await _handed_over(aclient, language="es")
    await aclient.set(NOTICE, "1", ex=keys.WAITING_NOTICE_SECONDS)  # the handoff's own notice
    await pipeline.accept(_message("¿estás ahí?", "m1"))
    assert await _notices(aclient) == []  # said a moment ago
    age = keys.PRESENCE_NOTICE_SECONDS + 1
    await aclient.expire(NOTICE, keys.WAITING_NOTICE_SECONDS - age)  # 20 s later
    await pipeline.accept(_message("ok", "m2"))
    assert await _notices(aclient) == []  # other words wait out the whole stretch
    await pipeline.accept(_message("¿hay alguien?", "m3"))
    assert [n["out_id"] for n in await _notices(aclient)] == ["m3:waiting"]
    assert await aclient.ttl(NOTICE) > keys.WAITING_NOTICE_SECONDS - age  # a new stretch
    await pipeline.accept(_message("¿hola? ¿hay alguien?", "m4"))
    assert len(await _notices(aclient)) == 1


@pytest.mark.parametrize(
    ("said", "asks"),
    [
        ("¿hay alguien?", True),
        ("are you there??", True),
        ("¿Estás ahí?", True),
        ("hola???", True),
        ("anyone here?", True),
        ("quiero hablar con una persona", True),  # the person they wait for (QA s22 W3)
        ("I want to talk to a human", True),
        ("is the lounge there?", False),
        ("my bag is still there", False),
        ("gracias", False),
    ],
)
def test_what_asks_if_anyone_is_there(said: str, asks: bool) -> None:
    assert asks_if_anyone_is_there(said) is asks


async def test_a_conversation_a_person_has_claimed_gets_no_acknowledgement(
    aclient: aioredis.Redis, settings: Settings
) -> None:
    pipeline = InboundPipeline(aclient, settings)
    await _handed_over(aclient, owner="agent:U1")
    assert (await pipeline.accept(_message("hello? is anyone there?"))).route is Route.RELAY
    assert await _notices(aclient) == []
    assert await aclient.exists(NOTICE) == 0
    assert await _relayed(aclient) == ["hello? is anyone there?"]


async def test_a_redelivered_or_concurrent_message_never_earns_a_second_acknowledgement(
    aclient: aioredis.Redis, settings: Settings
) -> None:
    pipeline = InboundPipeline(aclient, settings)
    await _handed_over(aclient)
    await pipeline.accept(_message("hello? is anyone there?", "m1"))
    await _window_over(aclient)  # even past the window, a repeat is only a repeat
    again = await pipeline.accept(_message("hello? is anyone there?", "m1"))
    assert again.route is Route.DUPLICATE
    assert len(await _notices(aclient)) == 1

    burst = [_message(f"hello {n}?", f"b{n}") for n in range(5)]
    await asyncio.gather(*(pipeline.accept(m) for m in burst + burst))
    assert len(await _notices(aclient)) == 2  # one for the whole burst and its redeliveries


async def test_a_conversation_reopened_after_its_resolution_is_told_when_a_person_will_answer(
    aclient: aioredis.Redis, settings: Settings
) -> None:
    """QA C38: a new question soon after the resolution, at night, got no text at all."""
    pipeline = InboundPipeline(aclient, settings)
    resolved = FRIDAY_NIGHT - dt.timedelta(minutes=10)
    await _handed_over(
        aclient,
        owner="closed",
        language="es",
        department="desk",
        resolved_epoch=str(resolved.timestamp()),
        rating_asked="1",
        rating="5",
    )
    await aclient.set(
        NOTICE, "1", ex=keys.WAITING_NOTICE_SECONDS
    )  # acknowledged while it waited before

    asked = _message("una pregunta más: ¿puedo llevar un power bank?")
    assert (await pipeline.accept(asked)).route is Route.RELAY
    assert await aclient.get(keys.conversation_owner("c1")) == "queued"
    [notice] = await _notices(aclient)
    assert notice["text"] == (
        "Ahora mismo nuestro equipo está fuera de turno: una persona te responderá mañana a las "
        "09:00 (hora de Madrid). Tu mensaje ya está en la cola y no hace falta que hagas nada más."
    )


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (
            FRIDAY_NIGHT,
            "Our team is off shift right now: a person will answer you tomorrow at 03:00 "
            "(New York time). Your message is in the queue and nothing more is needed from you. "
            "If it can't wait, call us on +34 900 100 200.",
        ),
        (SATURDAY_MORNING, text("waiting_for_person", "en")),
    ],
)
async def test_off_shift_the_acknowledgement_says_when_the_desk_opens_in_the_customers_time(
    aclient: aioredis.Redis, settings: Settings, at: dt.datetime, expected: str
) -> None:
    """The department's calendar at the time of the message, as the handoff's notice says it."""
    pipeline = InboundPipeline(
        aclient, settings.model_copy(update={"care_phone": "+34 900 100 200"})
    )
    await _handed_over(aclient, department="desk")
    await pipeline.accept(_message("hello? is anyone there?", at=at, timezone="America/New_York"))
    [notice] = await _notices(aclient)
    assert notice["text"] == expected


async def test_a_customer_who_read_the_whole_off_shift_notice_is_told_in_one_line(
    aclient: aioredis.Redis, settings: Settings
) -> None:
    """QA s19 M2: the 60-word notice, phone included, came again at every turn of the queue."""
    pipeline = InboundPipeline(aclient, settings)
    await _handed_over(aclient, department="desk")
    await pipeline.accept(_message("hello? is anyone there?"))
    [first] = await _notices(aclient)
    await aclient.xadd(keys.conversation_log("c1"), {"author": "bot", "text": first["text"]})
    await _window_over(aclient)
    later = FRIDAY_NIGHT + dt.timedelta(minutes=15)
    await pipeline.accept(_message("still nobody?", "m2", at=later))
    [_, second] = await _notices(aclient)
    assert first["text"].startswith("Our team is off shift right now")
    assert second["text"] == actions_text(
        "offline_again", "en", when="tomorrow at 09:00 (Madrid time)"
    )


async def test_a_message_over_the_customers_rate_is_relayed_without_an_acknowledgement(
    aclient: aioredis.Redis, settings: Settings
) -> None:
    pipeline = InboundPipeline(
        aclient, settings.model_copy(update={"customer_messages_per_minute": 2})
    )
    await _handed_over(aclient)
    for n in range(2):
        await pipeline.accept(_message(f"hello {n}", f"m{n}"))
    await _window_over(aclient)
    flooded = await pipeline.accept(_message("hello 2", "m2"))  # the third in the minute
    assert flooded.route is Route.RELAY
    assert [n["out_id"] for n in await _notices(aclient)] == ["m0:waiting"]
    assert await aclient.exists(NOTICE) == 0  # the next message in time is still told
    assert await _relayed(aclient) == ["hello 0", "hello 1", "hello 2"]


async def test_the_acknowledgement_is_delivered_and_logged_as_the_bots(
    aclient: aioredis.Redis, settings: Settings
) -> None:
    pipeline = InboundPipeline(aclient, settings)
    await _handed_over(aclient)
    await pipeline.accept(_message("hello? is anyone there?"))
    worker = DeliveryWorker(
        client=aclient,
        senders={"webchat": WebchatSender()},
        invites=Invitations(aclient, settings),
        policy=RetryPolicy(3, 0.05, 1.0),
        consumer="test",
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(10):
            while len(log := await aclient.xrange(keys.conversation_log("c1"))) < 2:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    said = [(fields["author"], fields["text"]) for _, fields in log]
    assert said == [
        ("customer", "hello? is anyone there?"),
        ("bot", text("waiting_for_person", "en")),
    ]
    assert await _relayed(aclient) == ["hello? is anyone there?"]


@pytest.mark.parametrize(
    ("waiting", "language"),
    [
        (Waiting(language="es", handoff_record=json.dumps({"language": "en"})), "es"),
        (Waiting(language="", handoff_record=json.dumps({"language": "es"})), "es"),
        (Waiting(language="", handoff_record=""), "en"),  # the default
    ],
)
def test_the_language_is_the_conversations_else_the_handoffs_else_the_default(
    settings: Settings, waiting: Waiting, language: str
) -> None:
    assert settings.routing_file is not None
    routing = load_routing(settings.routing_file)
    notice = waiting_notice(_message("??", at=SATURDAY_MORNING), waiting, routing, settings)
    assert notice.text == text("waiting_for_person", language)


@pytest.mark.parametrize(("minutes_later", "off_shift"), [(1, False), (180, True)])
async def test_no_off_shift_notice_right_after_an_agent_answered(
    aclient: aioredis.Redis,
    redis_client: redis.Redis,
    tmp_path: Path,
    minutes_later: int,
    off_shift: bool,
) -> None:
    """QA D4b: "our team is still off shift" a minute after Laura answered out of hours.

    Laura answers and resolves; the customer writes again (a reopening): while she is around
    (she answered within the half hour) the customer is told the team has the message; hours
    later, when the team opens.
    """
    now = dt.datetime.now(dt.UTC)
    other_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(now.weekday() + 3) % 7]
    closed_now = ROUTING.replace('daily: "00:00-24:00"', f'{other_day}: "08:00-09:00"')
    path = tmp_path / "routing.yml"
    path.write_text(closed_now, encoding="utf-8")
    settings = Settings(
        routing_file=path, care_phone=None, care_form_url=None, handoff_reopen_minutes=600
    )
    request = replace(_asked_for_person(now.isoformat()), department="care")
    assert request_handoff(redis_client, request)
    desk = ConsoleDesk(aclient).desk
    await desk.act(request.id, Action.CLAIM, user="web:laura", name="Laura")
    await desk.reply(request.id, user="web:laura", name="Laura", body="Hola", message_ref="r1")
    await desk.act(request.id, Action.RESOLVE, user="web:laura", name="Laura")

    asked = _message(
        "una pregunta más: ¿puedo llevar un power bank?",
        at=now + dt.timedelta(minutes=minutes_later),
    )
    accepted = await InboundPipeline(aclient, settings).accept(asked)
    assert accepted.route is Route.RELAY and accepted.waiting is not None
    [notice] = [n for n in await _notices(aclient) if n["out_id"] == "m1:waiting"]
    assert notice["text"].startswith("Ahora mismo nuestro equipo está fuera de turno") is off_shift
    if not off_shift:
        assert notice["text"] == text("waiting_for_person", "es")
