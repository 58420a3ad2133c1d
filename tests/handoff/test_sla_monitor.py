"""The SLA monitor with a controllable clock, on a real Redis, with the console and Slack desks.

A handoff escalated on Monday at 10:00 (Madrid) with a normal priority is due at 12:00 (120
business minutes); the warning comes when 20% of that is left (11:36). The clock is moved by
hand, the monitor ticks, and the desk shows what happened.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
import redis
import redis.asyncio as aioredis
from pydantic import SecretStr

from handoff.console import ConsoleDesk
from handoff.desk import load
from handoff.ownership import Action
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from handoff.routing import default_routing_path, load_routing
from handoff.sla import Fired, SlaMonitor
from handoff.slack import SlackDesk
from handoff.timers import Timer, Timers
from handoff.triage import Escalation, triage
from relevo import keys
from relevo.messages import Outgoing
from relevo.settings import Settings
from tests.emulators.slack_emulator import SlackEmulator

MADRID = ZoneInfo("Europe/Madrid")
ROUTING = load_routing(default_routing_path())
MONDAY_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=MADRID)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def escalate(
    redis_client: redis.Redis,
    at: dt.datetime,
    *,
    text: str = "se ha roto mi maleta",
    conversation: str = "wc-sla-1",
    channel: str = "webchat",
    reason: Reason = Reason.ASKED_FOR_PERSON,
) -> HandoffRequest:
    """What the action server does: triage, then queue."""
    customer = {"id": conversation}
    result = triage(
        ROUTING, Escalation(reason, channel, channel == "social", "es", [text], customer), at
    )
    request = HandoffRequest(
        conversation_id=conversation,
        channel=channel,
        language="es",
        reason=reason,
        priority=result.score.priority,
        transcript=[TranscriptLine("customer", text, at.isoformat())],
        hits=[],
        draft=None,
        customer=customer,
        created_at=at.astimezone(dt.UTC).isoformat(),
        sla_due_at=result.first_response_due.astimezone(dt.UTC).isoformat(),
        resolution_due_at=result.resolution_due.astimezone(dt.UTC).isoformat(),
        score=result.score.points,
        department=result.department.key,
        opens_at=result.opens_at.astimezone(dt.UTC).isoformat() if result.opens_at else "",
    )
    assert request_handoff(redis_client, request)
    return request


@pytest.fixture
async def console(aclient: aioredis.Redis) -> AsyncIterator[ConsoleDesk]:
    desk = ConsoleDesk(aclient, ROUTING)
    stop = asyncio.Event()
    task = asyncio.create_task(desk.desk.run(stop))
    yield desk
    stop.set()
    await task


async def scheduled(client: aioredis.Redis, handoff_id: str, timer: Timer) -> dt.datetime:
    """Wait until the desk has posted the card and set the handoff's timers."""
    for _ in range(200):
        due = await Timers(client).due_at(handoff_id, timer)
        if due is not None:
            return due
        await asyncio.sleep(0.02)
    raise AssertionError(f"{timer} never scheduled")


async def alerts(client: aioredis.Redis, handoff_id: str) -> list[str]:
    entries = await client.xrange(keys.console_thread(handoff_id))
    return [fields["text"] for _, fields in entries if fields["agent_id"] == "relevo"]


async def test_a_warning_then_a_breach_that_raises_the_priority(
    redis_client: redis.Redis, aclient: aioredis.Redis, console: ConsoleDesk
) -> None:
    request = escalate(redis_client, MONDAY_10)
    assert request.priority is Priority.NORMAL
    warn = await scheduled(aclient, request.id, Timer.FIRST_WARN)
    assert warn == dt.datetime(2026, 11, 30, 11, 36, tzinfo=MADRID)
    clock = Clock(dt.datetime(2026, 11, 30, 11, 30, tzinfo=MADRID))
    monitor = SlaMonitor(aclient, console, ROUTING, clock)
    assert await monitor.tick() == []
    clock.now = dt.datetime(2026, 11, 30, 11, 40, tzinfo=MADRID)
    assert await monitor.tick() == [(request.id, Timer.FIRST_WARN, Fired.WARNED)]
    view = await load(aclient, request.id)
    assert view is not None and view.sla_state == "warning"
    assert view.priority is Priority.NORMAL
    clock.now = dt.datetime(2026, 11, 30, 12, 1, tzinfo=MADRID)
    assert await monitor.tick() == [(request.id, Timer.FIRST_BREACH, Fired.BREACHED)]
    view = await load(aclient, request.id)
    assert view is not None and view.sla_state == "breached"
    assert view.priority is Priority.HIGH  # raised one level
    said = await alerts(aclient, request.id)
    assert said == [  # the due time on the department's clock, named (not UTC)
        "The first response is due soon (2026-11-30 12:00 Europe/Madrid).",
        "SLA breached: the first response is overdue. Priority raised to high.",
    ]
    levels = [f["level"] for _, f in await aclient.xrange(keys.console_thread(request.id))]
    assert levels == ["warning", "breach"]
    assert await monitor.tick() == []  # each timer fires once


async def test_a_breach_of_an_urgent_handoff_does_not_claim_to_raise_its_priority(
    redis_client: redis.Redis, aclient: aioredis.Redis, console: ConsoleDesk
) -> None:
    said = "mi abogado os denunciará, es una vergüenza!!!"
    request = escalate(redis_client, MONDAY_10, text=said, reason=Reason.SENSITIVE_TOPIC)
    assert request.priority is Priority.URGENT
    breach = await scheduled(aclient, request.id, Timer.FIRST_BREACH)
    monitor = SlaMonitor(aclient, console, ROUTING, Clock(breach + dt.timedelta(seconds=1)))
    fired = await monitor.tick()
    assert (request.id, Timer.FIRST_BREACH, Fired.BREACHED) in fired
    breached = [said for said in await alerts(aclient, request.id) if "breached" in said]
    assert breached == ["SLA breached: the first response is overdue."]


async def test_an_answered_handoff_is_not_warned_and_a_returned_one_has_no_timers(
    redis_client: redis.Redis, aclient: aioredis.Redis, console: ConsoleDesk
) -> None:
    answered = escalate(redis_client, MONDAY_10, conversation="wc-sla-answered")
    returned = escalate(redis_client, MONDAY_10, conversation="wc-sla-returned")
    await scheduled(aclient, answered.id, Timer.FIRST_WARN)
    await scheduled(aclient, returned.id, Timer.FIRST_WARN)
    await console.desk.act(answered.id, Action.CLAIM, user="U1", name="Laura")
    await console.desk.reply(answered.id, user="U1", name="Laura", body="¡Hola!", message_ref="r1")
    await console.desk.act(returned.id, Action.RETURN, user="U1", name="Laura")
    monitor = SlaMonitor(aclient, console, ROUTING, Clock(MONDAY_10 + dt.timedelta(hours=3)))
    fired = await monitor.tick()
    assert {(h, t) for h, t, f in fired if f is not Fired.SKIPPED} == set()
    assert {h for h, _, _ in fired} == {answered.id}  # the returned one had its timers dropped
    assert await alerts(aclient, answered.id) == []


async def test_a_night_handoff_is_announced_when_the_shift_opens(
    redis_client: redis.Redis, aclient: aioredis.Redis, console: ConsoleDesk
) -> None:
    saturday_night = dt.datetime(2026, 11, 28, 23, 0, tzinfo=MADRID)
    request = escalate(redis_client, saturday_night, conversation="wc-sla-night")
    opens = await scheduled(aclient, request.id, Timer.SHIFT_OPEN)
    assert opens == dt.datetime(2026, 11, 30, 8, 0, tzinfo=MADRID)  # Sunday is closed
    monitor = SlaMonitor(aclient, console, ROUTING, Clock(opens + dt.timedelta(seconds=1)))
    assert await monitor.tick() == [(request.id, Timer.SHIFT_OPEN, Fired.ANNOUNCED)]
    assert "shift has started" in (await alerts(aclient, request.id))[0]


async def test_a_resolved_handoff_gets_one_follow_up_after_24_business_hours(
    redis_client: redis.Redis, aclient: aioredis.Redis, console: ConsoleDesk
) -> None:
    request = escalate(redis_client, MONDAY_10, conversation="wc-sla-follow")
    await scheduled(aclient, request.id, Timer.FIRST_WARN)
    await console.desk.act(request.id, Action.CLAIM, user="U1", name="Laura")
    await console.desk.act(request.id, Action.RESOLVE, user="U1", name="Laura")
    due = await scheduled(aclient, request.id, Timer.FOLLOW_UP)
    assert await Timers(aclient).due_at(request.id, Timer.FIRST_BREACH) is None
    # Resolved on Monday (about now, in real time): 24 business hours of a 12-hour day later.
    resolved = dt.datetime.now(dt.UTC)
    assert due - resolved > dt.timedelta(hours=24)
    monitors = [
        SlaMonitor(aclient, console, ROUTING, Clock(due + dt.timedelta(seconds=1)))
        for _ in range(2)
    ]
    fired = await asyncio.gather(*(m.tick() for m in monitors))
    assert sorted(len(f) for f in fired) == [0, 1]  # two replicas, one follow-up
    entries = await aclient.xrange(keys.OUTBOX)
    follow_ups = [
        Outgoing.from_fields(fields)
        for _, fields in entries
        if fields.get("out_id") == f"desk:{request.id}:follow_up"
    ]
    assert len(follow_ups) == 1 and "resuelto" in follow_ups[0].text


async def test_slack_cards_go_to_the_department_channel_and_breaches_are_broadcast(
    redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    channels = {"C1": "relevo-desk", "CBAG": "care-baggage"}
    with SlackEmulator(channels=channels) as slack:
        settings = Settings(
            slack_bot_token=SecretStr(slack.bot_token),
            slack_signing_secret=SecretStr("secret"),
            slack_channel="C1",
            slack_api_url=slack.api_url,
        )
        desk = SlackDesk(settings, aclient, ROUTING)
        stop = asyncio.Event()
        task = asyncio.create_task(desk.desk.run(stop))
        try:
            bags = escalate(redis_client, MONDAY_10, conversation="wc-slack-bags")
            seats = escalate(
                redis_client, MONDAY_10, conversation="wc-slack-seats", text="quiero un asiento"
            )
            await scheduled(aclient, bags.id, Timer.FIRST_BREACH)
            await scheduled(aclient, seats.id, Timer.FIRST_BREACH)
            cards = [
                c for c in slack.calls("chat.postMessage") if c.ok and not c.params.get("thread_ts")
            ]
            assert {c.response["channel"] for c in cards} == {"CBAG", "C1"}  # C1: no channel
            monitor = SlaMonitor(aclient, desk, ROUTING, Clock(MONDAY_10 + dt.timedelta(hours=3)))
            await monitor.tick()
            broadcast = [
                m for m in slack.messages("CBAG") if m.get("subtype") == "thread_broadcast"
            ]
            assert len(broadcast) == 1 and "<!subteam^S0BAGGAGE>" in broadcast[0]["text"]
        finally:
            stop.set()
            await task


async def test_no_follow_up_for_a_customer_who_wrote_again(
    redis_client: redis.Redis, aclient: aioredis.Redis, console: ConsoleDesk
) -> None:
    request = escalate(redis_client, MONDAY_10, conversation="wc-sla-back")
    await scheduled(aclient, request.id, Timer.FIRST_WARN)
    await console.desk.act(request.id, Action.CLAIM, user="U1", name="Laura")
    await console.desk.act(request.id, Action.RESOLVE, user="U1", name="Laura")
    due = await scheduled(aclient, request.id, Timer.FOLLOW_UP)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=30)  # after the reopen window
    await aclient.hset(keys.conversation("wc-sla-back"), "last_message_at", later.isoformat())
    monitor = SlaMonitor(aclient, console, ROUTING, Clock(due + dt.timedelta(seconds=1)))
    assert await monitor.tick() == [(request.id, Timer.FOLLOW_UP, Fired.SKIPPED)]


async def test_a_slack_outage_longer_than_its_retries_delays_the_card_but_never_loses_it(
    redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    with SlackEmulator(channels={"C1": "relevo-desk"}) as slack:
        settings = Settings(
            slack_bot_token=SecretStr(slack.bot_token),
            slack_signing_secret=SecretStr("secret"),
            slack_channel="C1",
            slack_api_url=slack.api_url,
        )
        slack.fail_next("chat.postMessage", error="internal_error", status=500, times=8)
        desk = SlackDesk(settings, aclient, ROUTING)
        stop = asyncio.Event()
        task = asyncio.create_task(desk.desk.run(stop))
        try:
            request = escalate(redis_client, MONDAY_10, conversation="wc-slack-down")
            await slack.wait_for_async(
                lambda c: c.method == "chat.postMessage" and c.ok, timeout=60
            )
            failed = [c for c in slack.calls("chat.postMessage") if c.status == 500]
            assert len(failed) == 8  # the client's own retries ran out; the desk kept it
            assert await scheduled(aclient, request.id, Timer.FIRST_WARN)
        finally:
            stop.set()
            await task
