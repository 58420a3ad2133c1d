"""Two gateways, two action servers and two Rasa servers on one Redis; one of each killed.

Web chat customers talk to both gateways and social authors post to both, while a gateway, an
action server and a Rasa server are killed with SIGKILL at different moments, each in the middle
of work. Customers of the dead gateway reconnect to the other one and resend what was not
acknowledged, as the page does. At the end every customer message has exactly one turn of the
assistant, no reply is delivered twice, and nothing is left pending in the consumer groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from bot.rasa_client import TRACKER_PREFIX
from relevo import keys
from tests.scale.balancer import Balancer
from tests.scale.cluster import Cluster, Replica, running_cluster
from tests.scale.customers import (
    Figures,
    SocialFailoverCustomer,
    Tripwire,
    WebchatFailoverCustomer,
    finished_in_silence,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

REDIS_DB = 5  # its own database: other tests use 0 to 3 and 7
WEB_CUSTOMERS = 20
SOCIAL_AUTHORS = 6
WEB_TURNS = {
    "en": [
        "is there wifi on board?",
        "can I bring my cat in the cabin?",
        "yes",
        "what is the hand luggage allowance?",
    ],
    "es": [
        "¿Puedo llevar a mi perro en cabina?",
        "¿cuánto cuesta una maleta facturada extra?",
        "sí, gracias",
        "¿hay wifi a bordo?",
    ],
}
SOCIAL_TURNS = [
    "@brisaair how much does an extra checked bag cost?",
    "@brisaair and is there wifi on board?",
]
TURN_TIMEOUT = 150.0  # a turn caught by a kill waits for a claim (30 s idle) or Rasa's lock (60 s)


@pytest.fixture
def cluster(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    redis.Redis.from_url(url).flushdb()
    with running_cluster(url, tmp_path_factory.mktemp("scale")) as cluster:
        yield cluster


@dataclass
class Chaos:
    """When each replica was killed, seconds after the customers started."""

    started: float = field(default_factory=time.monotonic)
    kills: list[tuple[str, float, str]] = field(default_factory=list)

    async def kill_on(self, tripwire: Tripwire, replica: Replica, why: str) -> None:
        """Kill `replica` when `tripwire` is set off."""
        tripwire.arm(replica.kill)
        await self._reaped(replica)
        self._record(replica, why)

    async def kill_mid_request(
        self,
        balancer: Balancer,
        replica: Replica,
        why: str,
        *,
        delay: float = 0.0,
        containing: bytes = b"",
    ) -> None:
        """Kill `replica` `delay` seconds after the next request (containing `containing`)
        reaches it; at once, before it is passed on, when `delay` is 0."""

        def hook() -> None:
            if delay:
                threading.Timer(delay, replica.kill).start()
            else:
                replica.kill()

        balancer.on_next_request(("127.0.0.1", replica.port), hook, containing)
        await self._reaped(replica)
        self._record(replica, why)

    @staticmethod
    async def _reaped(replica: Replica) -> None:
        # The trigger is the next customer message (or call) to reach the replica; customers held
        # by the killed Rasa's lock send nothing for up to a minute, so wait as long as a turn may.
        async with asyncio.timeout(TURN_TIMEOUT):
            while replica.process.poll() is None:
                await asyncio.sleep(0.01)

    def _record(self, replica: Replica, why: str) -> None:
        assert replica.killed_at is not None
        self.kills.append((replica.name, replica.killed_at - self.started, why))


async def chaos_monkey(cluster: Cluster, chaos: Chaos, gateway_a: Tripwire) -> None:
    """One replica of each kind killed, at different moments, each in the middle of work.

    Rasa first, while every customer's first turn is under way (a turn in flight holds the
    conversation's lock in Redis: the slowest recovery, so it goes first), then an action server,
    then a gateway.
    """
    await asyncio.sleep(4)
    await chaos.kill_mid_request(cluster.rasa_lb, cluster.rasa[0], "0.1 s into a turn", delay=0.1)
    await asyncio.sleep(2)
    await chaos.kill_mid_request(
        cluster.actions_lb,
        cluster.actions[0],
        "as a call of action_answer_from_kb reaches it",
        containing=b'"next_action":"action_answer_from_kb"',  # Rasa's request, ujson-encoded
    )
    await asyncio.sleep(2)  # armed while gateway a's customers still have turns to send
    await chaos.kill_on(gateway_a, cluster.gateways[0], "as a customer message reaches it")


async def web_conversation(
    customer: WebchatFailoverCustomer, turns: list[str], delay: float
) -> None:
    await asyncio.sleep(delay)
    await customer.connect()
    try:
        for text in turns:
            await customer.ask(text, TURN_TIMEOUT)
            await asyncio.sleep(random.uniform(3.0, 6.0))  # the customer reads and types
    finally:
        await customer.close()


async def social_conversation(customer: SocialFailoverCustomer, delay: float) -> None:
    await asyncio.sleep(delay)
    for text in SOCIAL_TURNS:
        await customer.ask(text, TURN_TIMEOUT)
        await asyncio.sleep(random.uniform(3.0, 6.0))


@dataclass
class Audit:
    """What Redis and the connector say happened, per customer message."""

    messages_in: int = 0
    logged_twice: int = 0
    answered_once: int = 0
    lost: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    answered_twice: list[str] = field(default_factory=list)
    replies_out: int = 0
    duplicate_out_ids: list[str] = field(default_factory=list)
    missing_done: list[str] = field(default_factory=list)
    rasa_answered_twice: list[str] = field(default_factory=list)
    rasa_asked_again: list[str] = field(default_factory=list)


def rasa_turns(events: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str]]:
    """Per message id, Rasa's turns on it, and those of them in which the bot said something."""
    asked: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    current = ""
    spoke = False
    for event in events:
        if event.get("event") == "user":
            current = str((event.get("metadata") or {}).get("message_id") or "")
            asked[current] += 1
            spoke = False
        elif event.get("event") == "bot" and current and not spoke:
            answered[current] += 1
            spoke = True
    return asked, answered


async def audit(client: aioredis.Redis, conversations: dict[str, list[str]]) -> Audit:
    """Count, from the conversation logs, the assistant's turns after each customer message."""
    result = Audit()
    for conversation, message_ids in conversations.items():
        entries = await client.xrange(keys.conversation_log(conversation))
        said = Counter(f["message_id"] for _, f in entries if f.get("author") == "customer")
        out_ids = Counter(f["out_id"] for _, f in entries if f.get("out_id"))
        result.duplicate_out_ids += [o for o, n in out_ids.items() if n > 1]
        result.replies_out += sum(1 for _, f in entries if f.get("author") == "bot")
        turns = Counter(
            f["out_id"].rsplit(":", 1)[0]
            for _, f in entries
            if f.get("ends_turn") and "out_id" in f
        )
        raw = await client.get(f"{TRACKER_PREFIX}:tracker:{conversation}")
        asked, answered = rasa_turns(json.loads(raw)["events"] if raw else [])
        for message_id in message_ids:
            result.messages_in += 1
            result.logged_twice += said[message_id] > 1
            if turns[message_id] == 1:
                result.answered_once += 1
            elif await finished_in_silence(client, message_id):
                result.silent.append(message_id)
            elif turns[message_id] == 0:
                result.lost.append(message_id)
            else:
                result.answered_twice.append(message_id)
            if not await client.exists(keys.inbound_done(message_id)):
                result.missing_done.append(message_id)
            if answered[message_id] > 1:
                result.rasa_answered_twice.append(message_id)
            if asked[message_id] > 1:
                result.rasa_asked_again.append(message_id)
    return result


async def pending(client: aioredis.Redis) -> tuple[int, int]:
    inbound = await client.xpending(keys.INBOUND, keys.INBOUND_GROUP)
    outbox = await client.xpending(keys.OUTBOX, keys.OUTBOX_GROUP)
    return int(inbound["pending"]), int(outbox["pending"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def report(
    web: Audit,
    social: Audit,
    deliveries: Counter[str],
    figures: list[Figures],
    chaos: Chaos,
    cluster: Cluster,
    seconds: float,
) -> str:
    """The figures, as a table for the test output (and docs/reliability.md)."""
    turns = [t for f in figures for t in f.turn_seconds]
    rows = [
        ("customer messages in (web chat / social)", f"{web.messages_in} / {social.messages_in}"),
        ("answered exactly once", f"{web.answered_once} / {social.answered_once}"),
        ("replies out (bot messages logged)", f"{web.replies_out} / {social.replies_out}"),
        ("social parts delivered to the connector", str(sum(deliveries.values()))),
        ("lost: no turn of the assistant", f"{len(web.lost)} / {len(social.lost)}"),
        ("lost: a turn without a word", f"{len(web.silent)} / {len(social.silent)}"),
        ("answered twice", f"{len(web.answered_twice)} / {len(social.answered_twice)}"),
        (
            "duplicate out ids in logs / delivery ids",
            f"{len(web.duplicate_out_ids) + len(social.duplicate_out_ids)}"
            f" / {sum(1 for n in deliveries.values() if n > 1)}",
        ),
        ("customer messages logged twice", str(web.logged_twice + social.logged_twice)),
        (
            "messages Rasa answered twice",
            str(len(web.rasa_answered_twice) + len(social.rasa_answered_twice)),
        ),
        (
            "messages asked of Rasa again (a turn without a word)",
            str(len(web.rasa_asked_again) + len(social.rasa_asked_again)),
        ),
        (
            "web chat reconnections / resends",
            f"{sum(f.reconnects for f in figures)} / {sum(f.resent for f in figures)}",
        ),
        ("resends dropped as duplicates", str(sum(f.duplicate_acks for f in figures))),
        ("social posts failed over", str(sum(f.failovers for f in figures))),
        (
            "turn seconds p50 / p95 / max",
            f"{statistics.median(turns):.2f} / {percentile(turns, 0.95):.2f} / {max(turns):.2f}",
        ),
        ("conversation phase, seconds", f"{seconds:.0f}"),
    ]
    for name, at, why in chaos.kills:
        rows.append((f"kill -9 {name}", f"at {at:.1f} s ({why})"))
    for label, balancer, replicas in (
        ("Rasa", cluster.rasa_lb, cluster.rasa),
        ("action server", cluster.actions_lb, cluster.actions),
    ):
        counts = " / ".join(
            str(balancer.stats.connections[("127.0.0.1", r.port)]) for r in replicas
        )
        failed = sum(balancer.stats.failed_connects.values())
        rows.append((f"{label} connections a / b (refused)", f"{counts} ({failed})"))
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'figure'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
    return "\n".join(lines)


async def test_a_replica_of_each_process_dies_and_nothing_is_lost_or_answered_twice(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    client = aioredis.Redis.from_url(cluster.redis_url, decode_responses=True)
    ws_urls = [cluster.ws_url(g) for g in cluster.gateways]
    tripwires = [Tripwire(), Tripwire()]  # one per gateway: its customers set it off
    web = [
        WebchatFailoverCustomer(ws_urls, i % 2, client, tripwires[i % 2])
        for i in range(WEB_CUSTOMERS)
    ]
    social = [
        SocialFailoverCustomer(
            [g.base_url for g in cluster.gateways], i % 2, cluster.social_secret, client
        )
        for i in range(SOCIAL_AUTHORS)
    ]
    chaos = Chaos()
    try:
        failures = await asyncio.gather(
            chaos_monkey(cluster, chaos, tripwires[0]),
            *(
                web_conversation(c, WEB_TURNS["en" if i % 4 < 2 else "es"], i * 0.25)
                for i, c in enumerate(web)
            ),
            *(social_conversation(c, 0.5 + i * 0.7) for i, c in enumerate(social)),
            return_exceptions=True,
        )
        seconds = time.monotonic() - chaos.started
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                while await pending(client) != (0, 0):
                    await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # anything late (a claimed entry handled again) shows up now
        web_audit = await audit(client, {c.conversation: c.message_ids for c in web})
        social_audit = await audit(client, {c.conversation: c.message_ids for c in social})
        deliveries = Counter(str(r["delivery_id"]) for r in cluster.connector.replies)
        table = report(
            web_audit,
            social_audit,
            deliveries,
            [c.figures for c in web] + [c.figures for c in social],
            chaos,
            cluster,
            seconds,
        )
        with capsys.disabled():
            print(f"\n{table}\nprocess logs: {cluster.data / 'logs'}")
        assert [repr(f) for f in failures if f is not None] == []
        assert [name for name, _, _ in chaos.kills] == ["rasa-a", "actions-a", "gateway-a"]
        for found in (web_audit, social_audit):
            assert found.lost == [], f"no turn of the assistant after {found.lost}"
            assert found.silent == [], f"turns that ended without a word: {found.silent}"
            assert found.answered_twice == [] and found.duplicate_out_ids == []
            assert found.logged_twice == 0 and found.missing_done == []
            assert found.rasa_answered_twice == []
            assert found.answered_once == found.messages_in
        assert web_audit.messages_in == WEB_CUSTOMERS * len(WEB_TURNS["en"])
        assert social_audit.messages_in == SOCIAL_AUTHORS * len(SOCIAL_TURNS)
        assert [d for d, n in deliveries.items() if n > 1] == []
        assert await pending(client) == (0, 0)
    finally:
        await client.aclose()
