"""Faults: traffic on every channel while a part of the system fails; what came in, what went out.

Run: `.venv/bin/python bench/faults.py [--only <scenario>]` (a few minutes; it stops by itself).
The stack is the one of bench/load_soak.py (Redis configured as `make run` runs it: append-only,
fsync every second; the demo index, the action server, Rasa, the gateway with Telegram, public
mentions and the Slack desk), with fault injectors in front of its neighbours, all on localhost:

- a TCP proxy in front of the gateway (customers' sockets and posts, agents' Slack requests), one
  in front of the Telegram Bot API and one in front of the social connector: `cut(seconds)` resets
  every open connection and refuses new ones meanwhile (network errors);
- an HTTP proxy between the Telegram proxy and the Telegram emulator (the emulator has no fault
  injection of its own) that answers chosen Bot API methods with 429 (`retry_after`) or 5xx for a
  while, as Telegram does;
- the Slack emulator's `fail_next` (429 with Retry-After, 500, 503).

Each scenario starts its own conversations (question, then "Yes" to "Did this help?", in turn;
think time 1-3 s), injects its fault a few seconds in, waits for the customers' turns to end
(each waits up to 240 s for its answer), then for quiescence (nothing pending in the gateway's and
the desk's streams), and counts from the conversation logs in Redis and from what the channels
received (web chat frames, the Telegram emulator's messages, the connector's posts):

- messages in: customer messages sent (each counted once, whatever the resends) plus agents'
  replies posted in Slack;
- accepted: of those, the ones in a conversation log;
- answered: the ones with at least one reply in the log (for an agent's reply: delivered);
- replies out: messages (parts, in public) the customers' channels received;
- duplicates: a reply delivered twice (the same message twice on the channel or in the log), or
  one customer message answered twice;
- lost: a customer message (or an agent's reply) without a reply on the channel after quiescence,
  or a reply logged as delivered that the channel never got;
- resent: what the clients sent again after an error (the page's retry, a connector's or Slack's
  retry), which the gateway must take once.

Scenarios (--only takes one name): redis-restart, rasa-restart, actions-restart, slack-storm,
telegram-storm, network-errors, duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table
from bench.load_soak import (
    Agents,
    Customer,
    Outcome,
    Plan,
    Population,
    SocialCustomer,
    Stack,
    TelegramCustomer,
    TelegramCustomerApi,
    WebchatCustomer,
    answerable_questions,
    start_stack,
    tally,
    wait_quiet,
)
from bench.stack import BIN, Services, free_port, run_main, step, temporary_services, wait_http
from relevo import keys
from tests.emulators.slack_emulator import AsgiServer

TURN_TIMEOUT = 150.0
HANDOFF_TIMEOUT = 120.0
THINK = (1.0, 3.0)
WEBHOOK_TOKEN = "7002:relevo-faults-hook"
WEBHOOK_SECRET = "faults-hook-secret"


# --- fault injectors -------------------------------------------------------------------------


class TcpProxy:
    """A TCP proxy on localhost that can cut the network: open connections reset, new ones refused.

    It runs its own event loop in a thread, so it keeps forwarding whatever the caller does.
    """

    def __init__(self, target_port: int, name: str) -> None:
        self.name = name
        self.target_port = target_port
        self.port = 0
        self.resets = 0
        self.refused = 0
        self._down_until = 0.0
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        """Listen on a free port."""
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, "127.0.0.1", 0), self._loop
        ).result(10)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        """Stop listening and forwarding."""

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for pair in list(self._pairs):
                for writer in pair:
                    writer.transport.abort()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def cut(self, seconds: float) -> None:
        """Reset every open connection and refuse new ones for `seconds`."""

        def now() -> None:
            self._down_until = time.monotonic() + seconds
            for pair in list(self._pairs):
                self.resets += 1
                for writer in pair:
                    writer.transport.abort()

        self._loop.call_soon_threadsafe(now)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._down_until:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        try:
            await asyncio.wait(
                [
                    asyncio.create_task(_pipe(reader, up_writer)),
                    asyncio.create_task(_pipe(up_reader, writer)),
                ],
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            self._pairs.discard(pair)
            for side in pair:
                with contextlib.suppress(Exception):
                    side.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


@dataclass
class _Storm:
    status: int
    until: float
    retry_after: int | None


class BotApiFaults:
    """An HTTP proxy to the Telegram emulator that answers chosen Bot API methods with errors.

    `storm(method, status, seconds)`: every call of `method` meanwhile gets `status` with a body
    as Telegram's (429: `parameters.retry_after`); everything else is forwarded.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.served: Counter[str] = Counter()
        self._storms: dict[str, _Storm] = {}
        self._http: httpx.AsyncClient | None = None
        self._server = AsgiServer(
            Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])
        )

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>."""
        return self._server.url

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._server.port

    def start(self) -> BotApiFaults:
        """Serve on a free port."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def storm(
        self, method: str, status: int, seconds: float, retry_after: int | None = None
    ) -> None:
        """Answer every call of `method` with `status` for `seconds`."""
        self._storms[method] = _Storm(status, time.monotonic() + seconds, retry_after)

    async def _forward(self, request: Request) -> Response:
        path = request.url.path
        method = path.rsplit("/", 1)[-1]
        storm = self._storms.get(method)
        if storm is not None and time.monotonic() < storm.until:
            self.served[f"{method} {storm.status}"] += 1
            body: dict[str, Any] = {"ok": False, "error_code": storm.status}
            if storm.status == 429:
                wait = storm.retry_after or 1
                body |= {
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                }
            else:
                body["description"] = {502: "Bad Gateway", 503: "Service Unavailable"}.get(
                    storm.status, "Internal Server Error"
                )
            return JSONResponse(body, status_code=storm.status)
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=120)
        try:
            upstream = await self._http.request(
                request.method,
                self.upstream + path,
                params=request.query_params,
                content=await request.body(),
                headers={"Content-Type": request.headers.get("content-type", "application/json")},
            )
        except httpx.HTTPError as exc:
            return JSONResponse({"ok": False, "description": repr(exc)}, status_code=502)
        except asyncio.CancelledError:  # the proxy stops during a long poll: end it quietly
            return JSONResponse({"ok": False, "description": "proxy stopping"}, status_code=502)
        return Response(
            upstream.content,
            status_code=upstream.status_code,
            media_type=upstream.headers.get("content-type"),
        )


# --- scenarios -------------------------------------------------------------------------------


@dataclass
class Context:
    """The running stack and its fault injectors."""

    stack: Stack
    client: aioredis.Redis
    questions: dict[str, list[str]]
    front: TcpProxy  # customers and agents -> gateway
    telegram_tcp: TcpProxy  # gateway -> Telegram Bot API
    telegram_http: BotApiFaults  # ... -> Telegram emulator
    connector_tcp: TcpProxy  # gateway -> social connector
    services: Services


def register(population: Population, customer: Customer) -> Customer:
    """Count a customer made outside `Population.make` as one of the population."""
    population.customers.append(customer)
    population.ids.add(customer.conversation)
    population.conversations += 1
    return customer


async def traffic(
    ctx: Context,
    outcome: Outcome,
    *,
    channels: tuple[str, ...],
    conversations: int,
    turns: int,
    inject: Callable[[], Awaitable[str]] | None = None,
    at: float = 0.0,
    handoff_at: int = -1,
    event_copies: int = 1,
    make: Callable[[Population, str, str], Customer] | None = None,
    think: tuple[float, float] = THINK,
    timeout: float = TURN_TIMEOUT,
    handoff_timeout: float = HANDOFF_TIMEOUT,
) -> None:
    """Play the conversations, inject the fault `at` seconds in, wait for quiescence, count.

    The figures are added to `outcome` (a scenario may play several rounds of traffic).
    """
    agents = Agents(
        ctx.stack.slack,
        ctx.front.url,
        ctx.client,
        timeout=handoff_timeout,
        event_copies=event_copies,
    )
    population = Population(ctx.stack, ctx.client, agents, ctx.questions, base_url=ctx.front.url)
    stop = asyncio.Event()
    working = asyncio.create_task(agents.run(stop))
    started = time.monotonic()
    dead_before = int(await ctx.client.llen(keys.OUTBOX_DEAD))
    tasks = []
    for number in range(conversations):
        rng = random.Random(f"{outcome.scenario}-{outcome.conversations}-{number}")
        channel = channels[number % len(channels)]
        language = rng.choice(sorted(ctx.questions))
        customer = (
            make(population, channel, language) if make else population.make(channel, language)
        )
        tasks.append(
            asyncio.create_task(
                population.converse(
                    customer,
                    rng,
                    turns=turns,
                    handoff_at=handoff_at,
                    think=think,
                    end=started + 3600,
                    timeout=timeout,
                    handoff_timeout=handoff_timeout,
                )
            )
        )

    async def fault() -> str:
        await asyncio.sleep(at)
        return await inject() if inject else ""

    injected = asyncio.create_task(fault())
    await asyncio.gather(*tasks)
    note = await injected
    if note:
        outcome.fault = f"{outcome.fault}; {note}" if outcome.fault else note
    quiet = await wait_quiet(ctx.client, 180)
    stop.set()
    await working
    for customer in population.customers:
        if isinstance(customer, TelegramCustomer):
            await customer.collect(0, 1.0)
    outcome.seconds += time.monotonic() - started
    await tally(ctx.client, ctx.stack.connector, population, agents, outcome)
    dead = int(await ctx.client.llen(keys.OUTBOX_DEAD)) - dead_before
    timeouts = sum(1 for r in population.records() if r.error == "timeout")
    errors = Counter(r.error for r in population.records() if r.error and r.error != "timeout")
    outcome.notes.append(
        f"quiet at the end: {quiet}; dead letters: {dead}; waits the customer gave up on "
        f"(turn {timeout:.0f} s, agent {handoff_timeout:.0f} s): {timeouts}; other turn errors: "
        f"{dict(errors) or 0}; web chat reconnections: "
        f"{sum(getattr(c, 'reconnects', 0) for c in population.customers)}"
    )
    await population.close()


ALL = ("webchat", "telegram", "social")


async def redis_restart(ctx: Context) -> Outcome:
    outcome = Outcome("redis-restart", "")

    async def inject() -> str:
        ctx.stack.kill(ctx.stack.redis)
        down = time.monotonic()
        await asyncio.sleep(3)
        await asyncio.to_thread(ctx.stack.restart_redis)
        return f"redis-server kill -9, restarted on its AOF {time.monotonic() - down:.1f} s later"

    await traffic(ctx, outcome, channels=ALL, conversations=15, turns=4, inject=inject, at=6)
    return outcome


async def rasa_restart(ctx: Context) -> Outcome:
    outcome = Outcome("rasa-restart", "")

    async def inject() -> str:
        ctx.stack.kill(ctx.stack.rasa)
        down = time.monotonic()
        await asyncio.to_thread(ctx.stack.restart_rasa)
        return f"Rasa kill -9 and restarted; serving again {time.monotonic() - down:.0f} s later"

    await traffic(ctx, outcome, channels=ALL, conversations=15, turns=4, inject=inject, at=6)
    return outcome


async def actions_restart(ctx: Context) -> Outcome:
    outcome = Outcome("actions-restart", "")

    async def inject() -> str:
        ctx.stack.kill(ctx.stack.actions)
        down = time.monotonic()
        await asyncio.sleep(5)
        await asyncio.to_thread(ctx.stack.restart_actions)
        return (
            f"action server kill -9, restarted after 5 s; serving again "
            f"{time.monotonic() - down:.0f} s later"
        )

    await traffic(ctx, outcome, channels=ALL, conversations=15, turns=4, inject=inject, at=6)
    return outcome


async def slack_storm(ctx: Context) -> Outcome:
    outcome = Outcome("slack-storm", "")
    slack = ctx.stack.slack
    before = len(slack.calls())
    # 1. A burst just longer than the Slack client's retries (3 on 5xx, 5 on 429), on one
    # handoff alone, so that it surely meets its card.
    for status, error, times in ((500, "internal_error", 4), (429, "ratelimited", 6)):
        slack.fail_next("chat.postMessage", error=error, status=status, retry_after=1, times=times)
        await traffic(
            ctx,
            outcome,
            channels=("webchat",),
            conversations=1,
            turns=2,
            handoff_at=0,
            handoff_timeout=45,
        )
        outcome.fault += (
            f"{'; ' if outcome.fault else ''}{times} x {status} on chat.postMessage "
            "as one handoff's card is posted"
        )

    # 2. A storm while 12 handoffs come in on every channel.
    async def inject() -> str:
        slack.fail_next("chat.postMessage", status=429, retry_after=1, times=10)
        slack.fail_next("chat.postMessage", error="internal_error", status=500, times=6)
        slack.fail_next("chat.postMessage", error="service_unavailable", status=503, times=6)
        slack.fail_next("chat.update", status=429, retry_after=1, times=10)
        slack.fail_next("reactions.add", error="internal_error", status=500, times=6)
        slack.fail_next("reactions.add", error="service_unavailable", status=503, times=6)
        return (
            "then, as 12 handoffs arrive: chat.postMessage 10 x 429 (Retry-After 1), 6 x 500, "
            "6 x 503 in a row; chat.update 10 x 429; reactions.add 6 x 500, 6 x 503"
        )

    await traffic(
        ctx, outcome, channels=ALL, conversations=12, turns=3, handoff_at=0, inject=inject, at=0.5
    )
    failed = Counter(f"{c.method} {c.status}" for c in slack.calls()[before:] if c.status != 200)
    outcome.notes.append(f"Slack answers served as faults: {dict(failed)}")
    slack.reset()  # faults not used up must not reach the next scenario
    return outcome


async def telegram_storm(ctx: Context) -> Outcome:
    outcome = Outcome("telegram-storm", "")
    api = ctx.telegram_http

    async def inject() -> str:
        api.storm("sendMessage", 429, 8, retry_after=2)
        await asyncio.sleep(10)
        api.storm("sendMessage", 500, 5)
        await asyncio.sleep(5)
        api.storm("sendMessage", 502, 5)
        api.storm("getUpdates", 502, 5)
        await asyncio.sleep(5)
        return (
            "Telegram Bot API: sendMessage 429 (retry_after 2) for 8 s; 10 s later 500 for 5 s, "
            "then 502 for 5 s with getUpdates 502 at the same time"
        )

    before = Counter(api.served)
    await traffic(
        ctx, outcome, channels=("telegram",), conversations=12, turns=4, inject=inject, at=4
    )
    outcome.notes.append(f"Bot API faults served: {dict(api.served - before)}")
    return outcome


async def network_errors(ctx: Context) -> Outcome:
    outcome = Outcome("network-errors", "")
    proxies = (ctx.front, ctx.telegram_tcp, ctx.connector_tcp)

    async def inject() -> str:
        for proxy in proxies:
            proxy.cut(10)
        await asyncio.sleep(10)
        return (
            "network cut for 10 s (connections reset, new ones refused) between customers and "
            "the gateway, the gateway and Telegram, the gateway and the social connector"
        )

    before = [(p.resets, p.refused) for p in proxies]
    await traffic(ctx, outcome, channels=ALL, conversations=15, turns=4, inject=inject, at=6)
    outcome.notes.append(
        "connections reset / refused: "
        + ", ".join(
            f"{p.name} {p.resets - r} / {p.refused - f}"
            for p, (r, f) in zip(proxies, before, strict=True)
        )
    )
    return outcome


class TripleWebchat(WebchatCustomer):
    """A page that sends every frame three times (a flaky client resending)."""

    async def _transmit(self, frame: dict[str, Any]) -> None:
        for _ in range(3):
            await super()._transmit(frame)


class TripleSocial(SocialCustomer):
    """A connector that delivers every event three times: twice at once, once a little later."""

    async def post(self, event: dict[str, Any], record: Any = None) -> int:
        """Post the event three times; 202 when one of the copies was accepted."""
        answers = list(await asyncio.gather(super().post(event, record), super().post(event)))
        await asyncio.sleep(0.3)
        answers.append(await super().post(event))
        return 202 if 202 in answers else answers[0]


async def duplicates(ctx: Context) -> Outcome:
    outcome = Outcome("duplicates", "")

    def make(population: Population, channel: str, language: str) -> Customer:
        number = population.conversations + 1
        run = population.run_id
        if channel == "webchat":
            ws = ctx.front.url.replace("http://", "ws://") + "/channels/webchat/ws"
            return register(population, TripleWebchat(ws, f"wc-dup-{run}-{number:04d}", language))
        return register(
            population,
            TripleSocial(
                population.http,
                ctx.front.url,
                ctx.stack.connector,
                ctx.client,
                f"d{run}{number:04d}",
                language,
            ),
        )

    async def nothing() -> str:
        return (
            "web chat frames sent 3 times, social events posted 3 times (2 at once), agents' "
            "Slack reply events delivered 3 times (X-Slack-Retry-Num)"
        )

    await traffic(
        ctx,
        outcome,
        channels=("webchat", "social"),
        conversations=8,
        turns=10,
        handoff_at=5,
        inject=nothing,
        at=0,
        event_copies=3,
        make=make,
    )
    # Fast customers: 9 messages in well under a minute, each delivered 3 times.
    await traffic(
        ctx,
        outcome,
        channels=("webchat", "social"),
        conversations=2,
        turns=9,
        think=(0.3, 0.8),
        timeout=45,
        make=make,
    )
    outcome.fault += "; two fast customers (9 messages in about 30 s, each delivered 3 times)"
    webhook = await telegram_webhook_out_of_order(ctx)
    for name in ("messages_in", "accepted", "answered", "replies_out"):
        setattr(outcome, name, getattr(outcome, name) + getattr(webhook, name))
    outcome.why.update(webhook.why)
    outcome.duplicates = sum(n for k, n in outcome.why.items() if k.startswith("duplicate"))
    outcome.lost = sum(n for k, n in outcome.why.items() if k.startswith("lost"))
    outcome.conversations += webhook.conversations
    outcome.notes += webhook.notes
    outcome.fault += "; Telegram webhook updates delivered 3 times each, shuffled"
    return outcome


async def telegram_webhook_out_of_order(ctx: Context) -> Outcome:
    """A second gateway in webhook mode: each update posted 3 times, all shuffled; the figures.

    It has a Redis database of its own (gateways sharing one deliver each other's outbox, right for
    replicas of one bot and wrong for two bots), and its own bot token on the same emulator.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = ctx.stack.redis_url.rsplit("/", 1)[0] + "/2"
    env = {
        **ctx.stack.env,
        "REDIS_URL": url,
        "RELEVO_PORT": str(port),
        "RELEVO_RASA_URL": ctx.stack.rasa_url,
        "RELEVO_TELEGRAM_TOKEN": WEBHOOK_TOKEN,
        "RELEVO_TELEGRAM_API_URL": ctx.stack.telegram.bot_base_url,
        "RELEVO_TELEGRAM_MODE": "webhook",
        "RELEVO_TELEGRAM_WEBHOOK_URL": f"{base}/channels/telegram/webhook",
        "RELEVO_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    gateway = ctx.services.start("gateway-webhook", [str(BIN / "relevo"), "serve"], env)
    client = aioredis.Redis.from_url(url, decode_responses=True)
    api = TelegramCustomerApi(ctx.stack.telegram, WEBHOOK_TOKEN)
    try:
        await asyncio.to_thread(wait_http, f"{base}/healthz", gateway, 180)
        rng = random.Random(11)
        questions = [q for v in ctx.questions.values() for q in v]
        chats = [830_000_000 + n for n in range(5)]
        updates: list[dict[str, Any]] = []
        update_id = 1000
        for chat in chats:
            for number in range(3):
                update_id += 1
                updates.append(
                    {
                        "update_id": update_id,
                        "message": {
                            "message_id": 100 + number,
                            "date": int(time.time()),
                            "text": rng.choice(questions),
                            "from": {"id": chat, "is_bot": False, "first_name": "Ana"},
                            "chat": {"id": chat, "type": "private", "first_name": "Ana"},
                        },
                    }
                )
        deliveries = [u for u in updates for _ in range(3)]
        rng.shuffle(deliveries)
        statuses: Counter[int] = Counter()
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with httpx.AsyncClient(timeout=30) as http:
            for batch in range(0, len(deliveries), 3):  # three at a time, as concurrent retries
                answers = await asyncio.gather(
                    *(
                        http.post(f"{base}/channels/telegram/webhook", json=u, headers=headers)
                        for u in deliveries[batch : batch + 3]
                    )
                )
                statuses.update(a.status_code for a in answers)
        await wait_quiet(client, 180)
        await asyncio.sleep(2)
        received: dict[int, list[dict[str, Any]]] = {}
        for chat in chats:
            received[chat] = await api.unread(chat)
        outcome = Outcome("", "", conversations=len(chats), messages_in=len(updates))
        for chat in chats:
            log = await client.xrange(keys.conversation_log(f"tg:{chat}"))
            ids = Counter(f["message_id"] for _, f in log if f.get("author") == "customer")
            delivered = [
                f for _, f in log if f.get("type") == "message" and f.get("author") != "customer"
            ]
            out_ids = Counter(f.get("out_id", "") for f in delivered)
            why = outcome.why
            why["duplicate: telegram update accepted twice"] += sum(
                n - 1 for n in ids.values() if n > 1
            )
            why["duplicate: a reply logged twice"] += sum(n - 1 for n in out_ids.values() if n > 1)
            for number in range(3):
                message_id = f"{chat}:{100 + number}"
                outcome.accepted += message_id in ids
                if any(o.startswith(message_id + ":") for o in out_ids):
                    outcome.answered += 1
                else:
                    why["lost: telegram update never answered"] += 1
            got = Counter(m["message"].get("text", "") for m in received[chat])
            sent = Counter(f.get("text", "") for f in delivered)
            outcome.replies_out += len(received[chat])
            why["duplicate: telegram message received twice"] += sum((got - sent).values())
            why["lost: telegram reply logged as sent, never received"] += sum((sent - got).values())
        outcome.notes.append(
            f"Telegram webhook: {len(deliveries)} deliveries of {len(updates)} updates "
            f"({len(chats)} chats), shuffled, 3 at a time; HTTP answers {dict(statuses)}"
        )
        return outcome
    finally:
        await api.close()
        await client.aclose()
        ctx.services.stop(gateway)


SCENARIOS: dict[str, Callable[[Context], Awaitable[Outcome]]] = {
    "redis-restart": redis_restart,
    "rasa-restart": rasa_restart,
    "actions-restart": actions_restart,
    "slack-storm": slack_storm,
    "telegram-storm": telegram_storm,
    "network-errors": network_errors,
    "duplicates": duplicates,
}


async def run_scenarios(ctx: Context, names: list[str]) -> list[Outcome]:
    """Each scenario in turn, with a pause for the stack to settle in between."""
    outcomes = []
    for name in names:
        started = time.perf_counter()
        print(f"Scenario {name}...", flush=True)
        outcome = await SCENARIOS[name](ctx)
        print(
            f"  in {outcome.messages_in}, answered {outcome.answered} (apologies "
            f"{outcome.apologies}), out {outcome.replies_out}, "
            f"duplicates {outcome.duplicates}, lost {outcome.lost} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        for note in outcome.notes:
            print(f"  {note}", flush=True)
        if outcome.why:
            print(f"  by cause: {dict(+outcome.why)}", flush=True)
        outcomes.append(outcome)
        await wait_quiet(ctx.client, 60)
    return outcomes


def run(services: Services, data: Path, names: list[str]) -> list[Outcome]:
    """Start the stack with the fault injectors, play the scenarios, print the table."""
    with ExitStack() as resources:
        proxies: dict[str, Any] = {}

        def telegram_front(url: str) -> str:
            http = BotApiFaults(url).start()
            resources.callback(http.stop)
            tcp = TcpProxy(http.port, "gateway -> Telegram").start()
            resources.callback(tcp.stop)
            proxies["telegram_http"], proxies["telegram_tcp"] = http, tcp
            return tcp.url

        def connector_front(url: str) -> str:
            port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
            tcp = TcpProxy(port, "gateway -> connector").start()
            resources.callback(tcp.stop)
            proxies["connector_tcp"] = tcp
            return url.replace(f":{port}/", f":{tcp.port}/")

        stack = start_stack(
            services,
            data,
            resources,
            telegram_front=telegram_front,
            connector_front=connector_front,
            gateway_env={"RELEVO_LOG_LEVEL": "INFO"},
        )
        front = TcpProxy(int(stack.gateway_url.rsplit(":", 1)[1]), "customers -> gateway").start()
        resources.callback(front.stop)
        plan = Plan(0, 0, 0, 0, 0, probe_questions=24)
        with step("Probe: the questions the assistant answers"):
            questions = answerable_questions(stack.rasa_url, plan)

        async def main_async() -> list[Outcome]:
            client = aioredis.Redis(
                connection_pool=aioredis.BlockingConnectionPool.from_url(
                    stack.redis_url, decode_responses=True, max_connections=500, timeout=60
                )
            )
            ctx = Context(
                stack,
                client,
                questions,
                front,
                proxies["telegram_tcp"],
                proxies["telegram_http"],
                proxies["connector_tcp"],
                services,
            )
            try:
                return await run_scenarios(ctx, names)
            finally:
                await client.aclose()

        try:
            outcomes = asyncio.run(main_async())
        finally:
            services.stop_all()  # the gateway first, then the proxies and emulators it talks to
    table(
        "Faults: one row per scenario (counted after quiescence from the conversation logs and "
        "what the channels received)",
        [
            "scenario",
            "conv.",
            "msgs in",
            "accepted",
            "answered",
            "apologised",
            "replies out",
            "duplicates",
            "lost",
            "resent",
            "p95 ms",
            "wall s",
        ],
        [
            [
                o.scenario,
                o.conversations,
                o.messages_in,
                o.accepted,
                o.answered,
                o.apologies,
                o.replies_out,
                o.duplicates,
                o.lost,
                o.resent,
                o.p95_ms,
                o.seconds,
            ]
            for o in outcomes
        ],
    )
    for outcome in outcomes:
        print(f"{outcome.scenario}: {outcome.fault}")
        for note in outcome.notes:
            print(f"  - {note}")
        for cause, count in sorted((+outcome.why).items()):
            print(f"  - {cause}: {count}")
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=sorted(SCENARIOS), help="Run this scenario alone.")
    parser.add_argument(
        "--keep-logs", type=Path, default=None, help="Copy the services' logs to this folder."
    )
    args = parser.parse_args()
    names = [args.only] if args.only else list(SCENARIOS)
    started = time.perf_counter()
    with temporary_services("relevo-faults-", args.keep_logs) as (services, data):
        run(services, data, names)
    print(f"Whole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    run_main(main)
