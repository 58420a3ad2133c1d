"""Desk benchmark: how fast a handoff reaches Slack, and an agent's reply reaches the customer.

Run: `.venv/bin/python bench/desk_bench.py [--handoffs 200] [--concurrency 10]`.
Everything runs on localhost and is started here (see bench/stack.py): Redis, the demo index,
the action server and Rasa, a gateway (`relevo serve`) whose desk talks to the Slack Web API
emulator of the tests (tests/emulators/slack_emulator.py), in this process.

For each handoff, on a web-chat conversation:
- escalation -> card: from queueing the handoff request exactly as `action_escalate` does
  (`handoff.requests.request_handoff`) to the emulator receiving the card's chat.postMessage;
- agent reply -> customer: from posting the agent's signed thread reply to the gateway's
  /slack/events (Bolt verifies, acks, the desk queues it in the outbox, the delivery worker
  delivers it) to the reply's entry in the conversation's log, which is what the customer's web
  chat socket streams (read with XREAD BLOCK, so no polling delay).
Baselines measured in the same run: one raw Redis round trip (PING), and one stream hop (XADD
on one connection, seen by XREAD BLOCK on another).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import redis
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import p50_p95, table
from bench.stack import BIN, free_port, run_main, start_engine, step, temporary_services, wait_http
from bot.conversations import ConversationStore
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from relevo import keys
from tests.emulators.slack_emulator import SlackEmulator
from tests.emulators.slack_requests import (
    block_action,
    event_request,
    interaction_request,
    new_ts,
)

SECRET = "bench-signing-secret"
GOAL_P95_MS = 300.0


async def one_handoff(
    index: int,
    base: str,
    slack: SlackEmulator,
    store: redis.Redis,
    client: aioredis.Redis,
    http: httpx.AsyncClient,
) -> tuple[float, float]:
    """Escalate one conversation, claim it, reply; the two latencies in ms."""
    conversation = f"wc-bench-{index}-{uuid.uuid4().hex[:8]}"
    await ConversationStore(client).start(
        conversation,
        channel="webchat",
        route={},
        customer=f"relevo:customer:webchat:{conversation}",
    )
    request = HandoffRequest(
        conversation_id=conversation,
        channel="webchat",
        language="es",
        reason=Reason.ASKED_FOR_PERSON,
        priority=Priority.NORMAL,
        transcript=[TranscriptLine("customer", "quiero hablar con una persona", "")],
        hits=[],
        draft=None,
        customer={"id": conversation},
    )
    started = time.time()
    await asyncio.to_thread(request_handoff, store, request)
    card = await _card(slack, request.id)
    card_ms = (card.time - started) * 1000
    card_ts = str(card.response["ts"])
    payload = block_action(
        "claim",
        request.id,
        user="U1",
        channel="C1",
        message_ts=card_ts,
        block_id=f"handoff:{request.id}",
    )
    body, headers = interaction_request(SECRET, payload)
    await http.post(f"{base}/slack/interactions", content=body, headers=headers)
    while await client.hget(keys.handoff(request.id), "state") != "agent":
        await asyncio.sleep(0.005)
    event = slack.add_message("C1", "Hola, soy Laura.", user="U1", ts=new_ts(), thread_ts=card_ts)
    body, headers = event_request(SECRET, event)
    log = keys.conversation_log(conversation)
    last = (await client.xrevrange(log, count=1) or [("0-0", {})])[0][0]
    sent = time.time()
    await http.post(f"{base}/slack/events", content=body, headers=headers)
    while True:
        found = await client.xread({log: last}, block=4000, count=10)
        for _, entries in found:
            for entry_id, fields in entries:
                last = entry_id
                if fields.get("author") == "agent":
                    return card_ms, (time.time() - sent) * 1000


async def _card(slack: SlackEmulator, handoff_id: str):  # type: ignore[no-untyped-def]
    while True:
        for call in slack.calls("chat.postMessage"):
            if call.ok and f"handoff:{handoff_id}" in str(call.params.get("blocks")):
                return call
        await asyncio.sleep(0.002)


async def baselines(url: str, samples: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Raw PING round trips and one stream hop between two connections (ms)."""
    ping_client = aioredis.Redis.from_url(url, decode_responses=True)
    reader = aioredis.Redis.from_url(url, decode_responses=True)
    pings, hops = [], []
    for _ in range(samples):
        started = time.perf_counter()
        await ping_client.ping()
        pings.append((time.perf_counter() - started) * 1000)
    stream = f"bench:hop:{uuid.uuid4().hex}"
    for _ in range(samples // 4):
        last = (await reader.xrevrange(stream, count=1) or [("0-0", {})])[0][0]
        waiting = asyncio.create_task(reader.xread({stream: last}, block=2000))
        await asyncio.sleep(0)
        started = time.perf_counter()
        await ping_client.xadd(stream, {"x": "1"})
        await waiting
        hops.append((time.perf_counter() - started) * 1000)
    await ping_client.delete(stream)
    await ping_client.aclose()
    await reader.aclose()
    return np.array(pings), np.array(hops)


async def run_load(
    handoffs: int, concurrency: int, base: str, slack: SlackEmulator, store: redis.Redis, url: str
) -> tuple[np.ndarray, np.ndarray]:
    """All handoffs, `concurrency` at a time."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    gate = asyncio.Semaphore(concurrency)

    async def limited(index: int, http: httpx.AsyncClient) -> tuple[float, float]:
        async with gate:
            return await one_handoff(index, base, slack, store, client, http)

    async with httpx.AsyncClient(timeout=30) as http:
        results = await asyncio.gather(*(limited(i, http) for i in range(handoffs)))
    await client.aclose()
    cards, replies = zip(*results, strict=True)
    return np.array(cards), np.array(replies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=200, help="handoffs to run (200)")
    parser.add_argument("--concurrency", type=int, default=10, help="at the same time (10)")
    args = parser.parse_args()
    with temporary_services("relevo-desk-bench-") as (services, data), SlackEmulator() as slack:
        engine = start_engine(services, data)
        port = free_port()
        env = {
            **engine.env,
            "RELEVO_PORT": str(port),
            "RELEVO_RASA_URL": engine.rasa_url,
            "RELEVO_SLACK_BOT_TOKEN": slack.bot_token,
            "RELEVO_SLACK_SIGNING_SECRET": SECRET,
            "RELEVO_SLACK_CHANNEL": "C1",
            "RELEVO_SLACK_API_URL": slack.api_url,
            "RELEVO_LOG_LEVEL": "WARNING",
        }
        with step("Gateway with the Slack desk"):
            gateway = services.start("gateway", [str(BIN / "relevo"), "serve"], env)
            wait_http(f"http://127.0.0.1:{port}/healthz", gateway, 120)
        with step(f"{args.handoffs} handoffs, {args.concurrency} at a time"):
            cards, replies = asyncio.run(
                run_load(
                    args.handoffs,
                    args.concurrency,
                    f"http://127.0.0.1:{port}",
                    slack,
                    engine.store,
                    engine.redis_url,
                )
            )
        with step("Baselines"):
            pings, hops = asyncio.run(baselines(engine.redis_url))
    rows = []
    for name, samples, goal in (
        ("escalation -> card posted", cards, True),
        ("agent reply -> customer delivered", replies, True),
        ("baseline: Redis PING round trip", pings, False),
        ("baseline: one stream hop (XADD -> XREAD)", hops, False),
    ):
        p50, p95 = p50_p95(samples)
        verdict = ("met" if p95 <= GOAL_P95_MS else "NOT met") if goal else ""
        rows.append([name, len(samples), p50, p95, verdict])
    table("Desk latency (ms)", ["path", "n", "p50", "p95", f"goal p95 <= {GOAL_P95_MS:.0f}"], rows)


if __name__ == "__main__":
    run_main(main)
