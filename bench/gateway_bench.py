"""Gateway benchmark: a web-chat turn through the gateway against the same turn sent to Rasa.

Run: `.venv/bin/python bench/gateway_bench.py [--conversations 50] [--turns 20] [--quick]
[--rasa-workers 1]`. Everything runs on localhost and is started here (bench/stack.py): a real
Redis on a free port, the demo index in a temporary data dir, the action server, Rasa (one Sanic
worker unless --rasa-workers says more) and the gateway (`relevo serve` on a free port, with its
assistant and delivery workers inside). Every process started here is stopped on exit, error,
Ctrl-C or SIGTERM.

Load: --conversations conversations (50) of --turns turns (20), all running at the same time.
Each alternates a knowledge-base question and "/affirm" (the answer to "Did this help?"). The
questions are answerable ones from kb/eval/queries.yaml, each first sent once straight to Rasa
(probe); only those the assistant answers (decision "answer", so no conversation is handed
over to a person) are used. A warm-up, not measured, then plays a few full-length
conversations through each path (Rasa's first long trackers are slower). Scripts (questions,
think times) come from a fixed seed and are the same for both paths.

The two paths, with distinct conversation ids:
- gateway: one WebSocket per conversation to /channels/webchat/ws; a turn is the time from
  sending {"type": "message", ...} to receiving the frame with `ends_turn` that follows the
  customer's own message in the conversation log (socket -> Lua accept -> relevo:inbound ->
  assistant worker -> Rasa -> the worker's Lua record appends the reply to the conversation log,
  the web chat's delivery -> socket);
- direct: one POST to Rasa's /webhooks/rest/webhook (RasaClient) with the metadata the gateway
  sends for a web-chat message; a turn is the time to the full response. Like the gateway, the
  client hands the message to the action server's /relevo/prepare as it sends it (see
  actions/prepare.py), so both paths ask the same work of Rasa and the action server.
Two loads, each through both paths in the same run, ordered direct, gateway, gateway, direct so
that neither path always goes first: with think time (a pause of --think-min..--think-max
seconds, uniform, before every turn) and saturation (no pause). With --rounds N the four series
run N times (even rounds in the order gateway, direct, direct, gateway) and the summary pools
them: Rasa's own speed drifts between series, and more rounds average the drift out. A turn
that takes longer than 60 s is a timeout. A conversation stops at its first error, timeout or
handoff; its remaining turns are counted as not sent. Turns per second = completed turns / wall
time of the series.

Where the time goes comes from timestamps the stack records anyway: Rasa's tracker (when it
logged the customer's message, after its lock and NLU, and its last reply), the id of the
customer's entry in the conversation log (accepted) and of the reply there (logged). CPU: user +
system time each process (with its children) used during a series, per completed turn; "others'
cores" is the machine's busy time minus those processes and this benchmark (other work on the
machine skews a series).
Memory: RSS and PSS via psutil.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psutil
import redis
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import p50_p95, table
from bench.stack import (
    BIN,
    ROOT,
    Engine,
    Service,
    Services,
    free_port,
    run_main,
    start_engine,
    step,
    temporary_services,
    tree_cpu_seconds,
    tree_memory,
    wait_http,
)
from bot.dialogue_eval import outcome_of
from bot.rasa_client import TRACKER_PREFIX, BotReply, RasaClient
from kb_index.evaluation import load_queries
from kb_index.language import message_language
from relevo import keys
from relevo.errors import RasaUnavailableError

AFFIRM = "/affirm"
DIRECT = "direct"
GATEWAY = "gateway"
THINK = "think time"
SATURATION = "saturation"
ORDER = ((THINK, DIRECT), (THINK, GATEWAY), (SATURATION, GATEWAY), (SATURATION, DIRECT))
KINDS = ORDER  # the columns of the pooled tables
CLIENT = "benchmark client (this process)"
MACHINE = "machine"
OTHERS = "other processes (not started here)"
TURN_TIMEOUT = 60.0
NAN = float("nan")


@dataclass(frozen=True)
class Plan:
    """How much load to send."""

    conversations: int
    turns: int
    think_min: float
    think_max: float
    seed: int
    probe_questions: int  # 0: every answerable question
    rounds: int = 1
    warmup_conversations: int = 5


@dataclass(frozen=True)
class Step:
    """One customer turn of a script: the pause before it and the text."""

    pause: float
    text: str


@dataclass(frozen=True)
class Turn:
    """A completed turn."""

    conversation: str
    message_id: str
    sent: float  # wall clock (time.time()), comparable with Redis and Rasa timestamps
    latency_ms: float
    ack_ms: float = NAN
    question: bool = True  # a knowledge-base question; False: "/affirm"


@dataclass
class Series:
    """The figures of one load through one path."""

    load: str
    path: str
    order: int
    conversations: list[str]
    round: int = 1
    planned: int = 0
    turns: list[Turn] = field(default_factory=list)
    errors: int = 0
    timeouts: int = 0
    handoffs: int = 0
    not_sent: int = 0
    seconds: float = 0.0
    stages: dict[str, list[float]] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU each process used meanwhile

    @property
    def label(self) -> str:
        """Load and path."""
        return f"{self.load}, {self.path}"

    @property
    def other_cores(self) -> float:
        """CPU that processes not started here used during the series, in cores."""
        return self.cpu_s.get(OTHERS, NAN) / self.seconds if self.seconds else NAN

    def cpu_ms_per_turn(self, name: str) -> float:
        """CPU ms a process used per completed turn."""
        return self.cpu_s.get(name, NAN) * 1000 / len(self.turns) if self.turns else NAN

    @property
    def p50_p95(self) -> tuple[float, float]:
        """Median and 95th percentile latency of the completed turns (ms)."""
        return self.p50_p95_of(self.turns)

    def p50_p95_of(self, turns: list[Turn]) -> tuple[float, float]:
        """Median and 95th percentile latency of `turns` (ms)."""
        if not turns:
            return NAN, NAN
        return p50_p95(np.array([t.latency_ms for t in turns]))

    def by_kind(self) -> dict[str, list[Turn]]:
        """The completed turns: questions, "/affirm", and all."""
        return {
            "question": [t for t in self.turns if t.question],
            "/affirm": [t for t in self.turns if not t.question],
            "all": self.turns,
        }

    @property
    def turns_per_second(self) -> float:
        """Completed turns per second of wall time."""
        return len(self.turns) / self.seconds if self.seconds else NAN


@dataclass(frozen=True)
class Reply:
    """What a turn produced, beyond its latency."""

    handoff: bool
    ack_ms: float = NAN


class TurnError(Exception):
    """The turn failed (an error frame, no reply, a closed socket)."""


class Chat(Protocol):
    """One conversation through one path."""

    conversation: str

    async def say(self, text: str, client_id: str) -> Reply:
        """Send one customer message; return when the turn has ended."""
        ...


def webchat_metadata(conversation: str, message_id: str, text: str) -> dict[str, Any]:
    """What the gateway sends Rasa with a web-chat text message (the language when it shows)."""
    metadata: dict[str, Any] = {
        "channel": "webchat",
        "public": False,
        "customer": {"id": conversation},
        "message_id": message_id,
    }
    language = message_language(text, None, "en")  # this bench's sockets send no `lang` hint
    if language.decided:
        metadata["language"] = language.code
    return metadata


def hands_over(replies: list[BotReply]) -> bool:
    """Whether Rasa's replies hand the conversation over to a person."""
    return any((r.custom.get("relevo") or {}).get("decision") == "handoff" for r in replies)


class DirectChat:
    """A conversation sent straight to Rasa's REST webhook."""

    def __init__(self, client: RasaClient, conversation: str) -> None:
        self._client = client
        self.conversation = conversation

    async def say(self, text: str, client_id: str) -> Reply:
        """One POST; the turn ends with the response."""
        message_id = f"{self.conversation}:{client_id}"
        replies = await self._client.send(
            self.conversation, text, webchat_metadata(self.conversation, message_id, text)
        )
        if not replies:
            raise TurnError("Rasa answered nothing")
        return Reply(handoff=hands_over(replies))


class SocketChat:
    """A conversation through the gateway's web-chat WebSocket, as the page speaks it."""

    def __init__(self, socket: Any, conversation: str) -> None:
        self._socket = socket
        self.conversation = conversation

    async def say(self, text: str, client_id: str) -> Reply:
        """Send the message; the turn ends with the first `ends_turn` frame after its own entry."""
        frame = {"type": "message", "client_id": client_id, "text": text}
        if text == AFFIRM:  # a tap on "Yes": the page sends the button's title with its payload
            frame["display"] = "Yes"
        sent = time.perf_counter()
        await self._socket.send(json.dumps(frame))
        ack_ms, own, handoff = NAN, False, False
        while True:
            frame = json.loads(await self._socket.recv())
            kind = frame.get("type")
            if kind == "ack" and frame.get("client_id") == client_id:
                if frame.get("duplicate"):
                    raise TurnError("the gateway took the message for a duplicate")
                ack_ms = (time.perf_counter() - sent) * 1000
            elif kind == "error":
                raise TurnError(f"error frame: {frame.get('reason')}")
            elif kind == "message" and frame.get("client_id") == client_id:
                own = True  # the customer's entry in the log: what follows answers it
            elif own and kind in ("message", "event"):
                handoff = handoff or frame.get("event") == "queued"
                if frame.get("ends_turn"):
                    return Reply(handoff=handoff, ack_ms=ack_ms)


def scripts(questions: list[str], plan: Plan, *, think: bool) -> list[list[Step]]:
    """Every conversation's turns: question, /affirm, question...; the same for both paths."""
    out = []
    for number in range(plan.conversations):
        rng = random.Random(plan.seed * 1_000_003 + number)
        wanted = (plan.turns + 1) // 2
        if len(questions) >= wanted:
            asked = rng.sample(questions, wanted)
        else:
            asked = [rng.choice(questions) for _ in range(wanted)]
        steps = []
        for index in range(plan.turns):
            pause = rng.uniform(plan.think_min, plan.think_max)  # drawn for both loads alike
            steps.append(
                Step(pause if think else 0.0, asked[index // 2] if index % 2 == 0 else AFFIRM)
            )
        out.append(steps)
    return out


async def converse(chat: Chat, script: list[Step], series: Series) -> None:
    """Play one conversation's script, timing every turn."""
    for index, turn in enumerate(script):
        if turn.pause:
            await asyncio.sleep(turn.pause)
        client_id = uuid.uuid4().hex
        wall, started = time.time(), time.perf_counter()
        try:
            async with asyncio.timeout(TURN_TIMEOUT):
                reply = await chat.say(turn.text, client_id)
        except TimeoutError:
            series.timeouts += 1
        except (TurnError, RasaUnavailableError, websockets.ConnectionClosed) as exc:
            print(f"    {chat.conversation}: {exc}", flush=True)
            series.errors += 1
        else:
            series.turns.append(
                Turn(
                    chat.conversation,
                    f"{chat.conversation}:{client_id}",
                    wall,
                    (time.perf_counter() - started) * 1000,
                    reply.ack_ms,
                    turn.text != AFFIRM,
                )
            )
            if not reply.handoff:
                continue
            series.handoffs += 1
        series.not_sent += len(script) - index - 1
        return


async def play(
    series: Series,
    all_scripts: list[list[Step]],
    rasa_url: str,
    ws_url: str,
    prepare_url: str | None,
) -> None:
    """Open the conversations (not timed), then play every script at the same time."""
    client = RasaClient(url=rasa_url, timeout=TURN_TIMEOUT + 30, prepare_url=prepare_url)
    sockets = []
    try:
        chats: list[Chat] = []
        for conversation in series.conversations:
            if series.path == DIRECT:
                chats.append(DirectChat(client, conversation))
            else:
                socket = await websockets.connect(f"{ws_url}?conversation={conversation}")
                sockets.append(socket)
                chats.append(SocketChat(socket, conversation))
        started = time.perf_counter()
        await asyncio.gather(
            *(converse(c, s, series) for c, s in zip(chats, all_scripts, strict=True))
        )
        series.seconds = time.perf_counter() - started
    finally:
        for socket in sockets:
            await socket.close()
        await client.close()


def run_series(
    load: str,
    path: str,
    order: int,
    all_scripts: list[list[Step]],
    *,
    run_id: str,
    rasa_url: str,
    ws_url: str,
    prepare_url: str | None,
) -> Series:
    """One load through one path, with conversation ids of its own."""
    series = Series(
        load=load,
        path=path,
        order=order,
        conversations=[f"wc-{run_id}-s{order}-c{n:03d}" for n in range(len(all_scripts))],
        planned=sum(len(s) for s in all_scripts),
    )
    asyncio.run(play(series, all_scripts, rasa_url, ws_url, prepare_url))
    return series


async def probe(url: str, candidates: list[str]) -> list[str]:
    """Send each question once to Rasa; keep those it answers.

    Also checks that "/affirm" after an answer closes the loop without a handoff.
    """
    client = RasaClient(url=url, timeout=TURN_TIMEOUT)
    run_id = uuid.uuid4().hex[:8]
    kept: list[str] = []
    try:
        for number, question in enumerate(candidates):
            sender = f"wc-probe-{run_id}-{number}"
            metadata = webchat_metadata(sender, f"{sender}:{uuid.uuid4().hex}", question)
            decision = outcome_of(await client.send(sender, question, metadata))[0]
            if decision != "answer":
                continue
            if not kept:
                metadata = webchat_metadata(sender, f"{sender}:{uuid.uuid4().hex}", AFFIRM)
                replies = await client.send(sender, AFFIRM, metadata)
                if not replies or hands_over(replies):
                    raise RuntimeError(f"/affirm after an answer: {[r.text for r in replies]}")
            kept.append(question)
    finally:
        await client.close()
    return kept


def start_gateway(services: Services, engine: Engine) -> tuple[Service, str]:
    """`relevo serve` on a free port against the benchmark's Redis and Rasa; its socket URL."""
    port = free_port()
    env = {
        **engine.env,
        "RELEVO_PORT": str(port),
        "RELEVO_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "RELEVO_RASA_URL": engine.rasa_url,
    }
    gateway = services.start("gateway", [str(BIN / "relevo"), "serve"], env)
    wait_http(f"http://127.0.0.1:{port}/healthz", gateway, 180)
    return gateway, f"ws://127.0.0.1:{port}/channels/webchat/ws"


def gateway_idle(store: redis.Redis) -> bool:
    """Whether the assistant and delivery workers have read and finished every entry."""
    for stream, group in ((keys.INBOUND, keys.INBOUND_GROUP), (keys.OUTBOX, keys.OUTBOX_GROUP)):
        if not store.exists(stream):
            continue
        info = {g["name"]: g for g in store.xinfo_groups(stream)}.get(group)
        last = store.xinfo_stream(stream)["last-generated-id"]
        if info is None or info["pending"] or info["last-delivered-id"] != last:
            return False
    return True


def wait_idle(store: redis.Redis, seconds: float = 120.0) -> None:
    """Let the gateway finish what a previous series left (late turns after a timeout)."""
    deadline = time.monotonic() + seconds
    while not gateway_idle(store) and time.monotonic() < deadline:
        time.sleep(0.2)


def stream_time(entry_id: str) -> float:
    """The wall-clock time (s) a Redis stream entry was added."""
    return int(entry_id.split("-")[0]) / 1000


def rasa_times(store: redis.Redis, conversation: str) -> dict[str, tuple[float, float]]:
    """message_id -> (Rasa logged the customer message, Rasa's last reply), from its tracker."""
    raw = store.get(f"{TRACKER_PREFIX}:tracker:{conversation}")
    found: dict[str, tuple[float, float]] = {}
    current = None
    for event in json.loads(raw).get("events", []) if raw else []:
        if event.get("event") == "user":
            current = (event.get("metadata") or {}).get("message_id")
            if current:
                found[current] = (event["timestamp"], NAN)
        elif event.get("event") == "bot" and current in found:
            found[current] = (found[current][0], event["timestamp"])
    return found


def log_times(store: redis.Redis, conversation: str) -> tuple[dict[str, float], dict[str, float]]:
    """message_id -> when the gateway accepted it, and when the turn's last reply was logged."""
    accepted, delivered = {}, {}
    for entry_id, fields in store.xrange(keys.conversation_log(conversation)):
        if fields.get("author") == "customer" and fields.get("message_id"):
            accepted[fields["message_id"]] = stream_time(entry_id)
        elif fields.get("ends_turn") and fields.get("out_id"):
            delivered[fields["out_id"].rsplit(":", 1)[0]] = stream_time(entry_id)
    return accepted, delivered


# Stages of a turn: key -> (label, the path it applies to).
STAGES = {
    "to_rasa": ("send -> Rasa logs the message (after its lock and NLU)", "both"),
    "ack": ("  send -> ack frame", GATEWAY),
    "accept": ("  send -> accepted (socket, Lua accept)", GATEWAY),
    "queue": ("  accepted -> Rasa logs it (inbound stream, worker, HTTP, NLU)", GATEWAY),
    "rasa": ("Rasa: message -> last reply (policies, actions)", "both"),
    "back": ("last reply -> turn ends at the client", "both"),
    "publish": ("  last reply -> logged (tracker save, HTTP answer, Lua record)", GATEWAY),
    "socket": ("  conversation log -> client (log follower, frames)", GATEWAY),
}


def measure_stages(store: redis.Redis, series: Series) -> None:
    """Split each completed turn into the stages above (ms), from Rasa's and Redis's stamps."""
    stages: dict[str, list[float]] = {key: [] for key in STAGES}
    by_conversation: dict[str, list[Turn]] = {}
    for turn in series.turns:
        by_conversation.setdefault(turn.conversation, []).append(turn)
    for conversation, turns in by_conversation.items():
        rasa = rasa_times(store, conversation)
        accepted, delivered = log_times(store, conversation)
        for turn in turns:
            received = turn.sent + turn.latency_ms / 1000
            rasa_in, rasa_out = rasa.get(turn.message_id, (NAN, NAN))
            seconds = {
                "to_rasa": rasa_in - turn.sent,
                "rasa": rasa_out - rasa_in,
                "back": received - rasa_out,
            }
            if series.path == GATEWAY:
                got = accepted.get(turn.message_id, NAN)
                logged = delivered.get(turn.message_id, NAN)
                seconds |= {
                    "ack": turn.ack_ms / 1000,
                    "accept": got - turn.sent,
                    "queue": rasa_in - got,
                    "publish": logged - rasa_out,
                    "socket": received - logged,
                }
            if any(np.isnan(v) for v in seconds.values()):
                continue
            for key, value in seconds.items():
                stages[key].append(value * 1000)
    series.stages = stages


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time so far of each service's process tree, of this benchmark, and of the machine."""
    machine = psutil.cpu_times()
    return {
        **{name: tree_cpu_seconds(pid) for name, pid in pids.items()},
        CLIENT: time.process_time(),
        MACHINE: sum(machine) - machine.idle - getattr(machine, "iowait", 0.0),
    }


def cpu_use(series: Series, before: dict[str, float], after: dict[str, float]) -> None:
    """CPU each process used during the series, and what the other processes used."""
    spent = {name: after[name] - before[name] for name in before}
    others = spent.pop(MACHINE) - sum(spent.values())
    series.cpu_s = {**spent, OTHERS: others}


def pooled(results: list[Series], load: str, path: str) -> Series:
    """Every round of one load through one path, as one series."""
    parts = [s for s in results if (s.load, s.path) == (load, path)]
    total = Series(load, path, order=0, conversations=[], round=0)
    for part in parts:
        total.conversations += part.conversations
        total.planned += part.planned
        total.turns += part.turns
        total.errors += part.errors
        total.timeouts += part.timeouts
        total.handoffs += part.handoffs
        total.not_sent += part.not_sent
        total.seconds += part.seconds
        for key, samples in part.stages.items():
            total.stages.setdefault(key, []).extend(samples)
        for name, seconds in part.cpu_s.items():
            total.cpu_s[name] = total.cpu_s.get(name, 0.0) + seconds
    return total


def round_order(number: int) -> tuple[tuple[str, str], ...]:
    """Odd rounds: direct, gateway, gateway, direct; even rounds the other way round."""
    if number % 2:
        return ORDER
    swap = {DIRECT: GATEWAY, GATEWAY: DIRECT}
    return tuple((load, swap[path]) for load, path in ORDER)


def ratio_row(name: str, value: float, goal: str, met: bool) -> list[object]:
    """A row of the goals table."""
    status = "n/a" if np.isnan(value) else ("met" if met else "not met")
    return [name, value, goal, status]


def goal_rows(results: list[Series], plan: Plan) -> list[list[object]]:
    """The goals of the issue (every round pooled), and the figures that explain them."""
    rows = []
    for load in (THINK, SATURATION):
        gateway, direct = pooled(results, load, GATEWAY), pooled(results, load, DIRECT)
        for label, index in (("p50", 0), ("p95", 1)):
            value = gateway.p50_p95[index] / direct.p50_p95[index]
            rows.append(
                ratio_row(
                    f"gateway overhead, {load}: gateway {label} / direct {label}",
                    value,
                    "<= 1.15x",
                    value <= 1.15,
                )
            )
    think_gateway, think_direct = pooled(results, THINK, GATEWAY), pooled(results, THINK, DIRECT)
    p95 = think_gateway.p50_p95[1]
    rows.append(ratio_row("p95 end to end (gateway), think time (ms)", p95, "<= 250", p95 <= 250))
    sat_gateway, sat_direct = (
        pooled(results, SATURATION, GATEWAY),
        pooled(results, SATURATION, DIRECT),
    )
    value = sat_gateway.turns_per_second / sat_direct.turns_per_second
    rows.append(ratio_row("saturation throughput, gateway / direct", value, ">= 0.9", value >= 0.9))
    rows.append(["p95 direct to Rasa, think time (ms)", think_direct.p50_p95[1], "-", "info"])
    offered = plan.conversations / ((plan.think_min + plan.think_max) / 2)
    rows.append(["think-time load offered if replies were instant (turns/s)", offered, "-", "info"])
    capacity = sat_direct.turns_per_second
    rows.append(["Rasa's capacity: direct turns/s at saturation", capacity, "-", "info"])
    for load in (THINK, SATURATION):
        gateway, direct = pooled(results, load, GATEWAY), pooled(results, load, DIRECT)
        extra = gateway.p50_p95[0] - direct.p50_p95[0]
        rows.append([f"gateway p50 - direct p50, {load} (ms)", extra, "-", "info"])
    if plan.rounds > 1:
        rows += round_rows(results, plan.rounds)
    return rows


def round_rows(results: list[Series], rounds: int) -> list[list[object]]:
    """The ratios of each round alone: how far they scatter."""
    rows: list[list[object]] = []
    for load, metric in ((THINK, "p50"), (SATURATION, "p50"), (SATURATION, "turns/s")):
        values = []
        for number in range(1, rounds + 1):
            done = [s for s in results if s.round == number]
            gateway, direct = pooled(done, load, GATEWAY), pooled(done, load, DIRECT)
            if metric == "p50":
                values.append(gateway.p50_p95[0] / direct.p50_p95[0])
            else:
                values.append(gateway.turns_per_second / direct.turns_per_second)
        spread = ", ".join(f"{v:.2f}" for v in values)
        rows.append([f"gateway / direct {metric}, {load}, round by round", spread, "-", "info"])
    return rows


def kind_rows(results: list[Series]) -> list[list[object]]:
    """Latency by kind of turn with think time, each path, and the gateway's overhead."""
    gateway, direct = pooled(results, THINK, GATEWAY), pooled(results, THINK, DIRECT)
    rows: list[list[object]] = []
    direct_kinds = direct.by_kind()
    for kind, turns in gateway.by_kind().items():
        through = gateway.p50_p95_of(turns)
        straight = direct.p50_p95_of(direct_kinds[kind])
        mean_ratio = np.mean([t.latency_ms for t in turns]) / np.mean(
            [t.latency_ms for t in direct_kinds[kind]]
        )
        rows.append(
            [
                kind,
                f"{straight[0]:.1f} / {straight[1]:.1f}",
                f"{through[0]:.1f} / {through[1]:.1f}",
                through[0] - straight[0],
                through[0] / straight[0],
                through[1] / straight[1],
                mean_ratio,
            ]
        )
    return rows


def series_row(series: Series) -> list[object]:
    """A row of the latency table."""
    p50, p95 = series.p50_p95
    return [
        series.order or "all",
        series.round or "all",
        series.load,
        series.path,
        f"{len(series.turns)}/{series.planned}",
        f"{series.errors} / {series.timeouts}",
        f"{series.handoffs} / {series.not_sent}",
        p50,
        p95,
        series.turns_per_second,
        series.seconds,
        series.other_cores,
    ]


def stage_rows(results: list[Series]) -> list[list[object]]:
    """p50 / p95 of every stage, one column per (pooled) series."""
    rows: list[list[object]] = [
        ["turns with every timestamp", *[len(s.stages.get("to_rasa") or []) for s in results]]
    ]
    for key, (name, path) in STAGES.items():
        row: list[object] = [name]
        for series in results:
            samples = series.stages.get(key) or []
            if path not in ("both", series.path) or not samples:
                row.append("-")
            else:
                p50, p95 = p50_p95(np.array(samples))
                row.append(f"{p50:.0f} / {p95:.0f}")
        rows.append(row)
    return rows


def plan_from(args: argparse.Namespace) -> Plan:
    """The load plan from the command line."""
    if args.think_min < 0 or args.think_max < args.think_min:
        raise SystemExit("--think-min must be >= 0 and <= --think-max")
    if args.quick:
        return Plan(10, 6, args.think_min, args.think_max, args.seed, 30, args.rounds)
    return Plan(
        args.conversations, args.turns, args.think_min, args.think_max, args.seed, 0, args.rounds
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--conversations", type=int, default=50, help="Conversations at the same time (50)."
    )
    parser.add_argument("--turns", type=int, default=20, help="Turns per conversation (20).")
    parser.add_argument(
        "--think-min", type=float, default=2.0, help="Shortest pause before a turn, s (2)."
    )
    parser.add_argument(
        "--think-max", type=float, default=4.0, help="Longest pause before a turn, s (4)."
    )
    parser.add_argument("--seed", type=int, default=7, help="Seed of the scripts (7).")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="Run the four series this many times (odd rounds direct, gateway, gateway, direct; "
        "even rounds the other way round) and pool them in the summary (1).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="A smoke run: 10 conversations of 6 turns, 30 probe questions.",
    )
    parser.add_argument(
        "--rasa-workers",
        type=int,
        default=1,
        help="Rasa's Sanic workers (SANIC_WORKERS), the same for both paths (1).",
    )
    parser.add_argument(
        "--keep-logs", type=Path, default=None, help="Copy the services' logs to this folder."
    )
    args = parser.parse_args()
    plan = plan_from(args)
    run_started = time.perf_counter()
    with temporary_services("relevo-gateway-bench-", args.keep_logs) as (services, data):
        run(services, data, plan, args.rasa_workers)
    print(f"Whole run: {time.perf_counter() - run_started:.0f} s")


def run(services: Services, data: Path, plan: Plan, rasa_workers: int) -> None:
    """Start everything, measure, print the tables."""
    engine = start_engine(services, data, rasa_workers=rasa_workers)
    candidates = [
        q.text
        for q in load_queries(ROOT / "kb" / "eval" / "queries.yaml")
        if q.expected is not None and q.kind == "question"
    ]
    if plan.probe_questions:
        candidates = candidates[:: max(len(candidates) // plan.probe_questions, 1)]
    with step(f"Probe: which of {len(candidates)} questions Rasa answers"):
        questions = asyncio.run(probe(engine.rasa_url, candidates))
        print(f"  {len(questions)} of {len(candidates)} answered (decision 'answer')")
    if not questions:
        raise RuntimeError("Rasa answered none of the questions")

    with step("Gateway (relevo serve)"):
        gateway, ws_url = start_gateway(services, engine)
    memory = [["gateway, after start-up", *tree_memory(gateway.process.pid)]]
    where = {
        "run_id": uuid.uuid4().hex[:8],
        "rasa_url": engine.rasa_url,
        "ws_url": ws_url,
        "prepare_url": engine.settings.prepare_url,
    }
    warm = Plan(plan.warmup_conversations, plan.turns, 0, 0, plan.seed + 1, 0)
    with step(
        f"Warm-up, not measured: {warm.conversations} conversations of {warm.turns} turns, "
        "straight to Rasa then through the gateway"
    ):
        for order, path in ((-1, DIRECT), (-2, GATEWAY)):
            run_series(SATURATION, path, order, scripts(questions, warm, think=False), **where)
        wait_idle(engine.store)

    watched = {s.name: s.process.pid for s in services.running}
    results: list[Series] = []
    plays = [(n, kind) for n in range(1, plan.rounds + 1) for kind in round_order(n)]
    for order, (number, (load, path)) in enumerate(plays, start=1):
        all_scripts = scripts(questions, plan, think=load == THINK)
        with step(f"Series {order} (round {number}): {load}, {path}"):
            before = cpu_seconds(watched)
            series = run_series(load, path, order, all_scripts, **where)
            series.round = number
            wait_idle(engine.store)
            cpu_use(series, before, cpu_seconds(watched))
            p50, p95 = series.p50_p95
            print(
                f"  {len(series.turns)}/{series.planned} turns in {series.seconds:.0f} s, "
                f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, {series.turns_per_second:.2f} turns/s, "
                f"errors {series.errors}, timeouts {series.timeouts}, "
                f"handoffs {series.handoffs}; other processes used {series.other_cores:.2f} cores",
                flush=True,
            )
            measure_stages(engine.store, series)
        results.append(series)
    memory += [
        ["gateway, after the load", *tree_memory(gateway.process.pid)],
        [
            f"Rasa server ({rasa_workers} worker(s)), after the load",
            *tree_memory(engine.rasa.process.pid),
        ],
        ["action server, after the load", *tree_memory(engine.actions.process.pid)],
    ]
    gateway_log = gateway.log.read_text(errors="replace")
    print_tables(results, memory, plan, len(questions))
    print(
        f"Gateway log: {gateway_log.count('entry kept for a retry')} Rasa calls retried, "
        f"{gateway_log.count(' ERROR ')} error lines."
    )


def print_tables(
    results: list[Series], memory: list[list[object]], plan: Plan, questions: int
) -> None:
    """The series, the goals, the stages and the memory."""
    table(
        f"Web-chat turns through the gateway and straight to Rasa: {plan.conversations} "
        f"conversations of {plan.turns} turns at the same time, question and /affirm in turn "
        f"({questions} questions; think time {plan.think_min:g}-{plan.think_max:g} s; "
        f"timeout {TURN_TIMEOUT:.0f} s; others' cores: CPU used meanwhile by processes the "
        "benchmark did not start)",
        [
            "#",
            "round",
            "load",
            "path",
            "done",
            "errors / timeouts",
            "handoffs / not sent",
            "p50 ms",
            "p95 ms",
            "turns/s",
            "wall s",
            "others' cores",
        ],
        [series_row(s) for s in results]
        + ([series_row(pooled(results, *kind)) for kind in KINDS] if plan.rounds > 1 else []),
    )
    table(
        "Goals of the issue",
        ["measure", "value", "goal", "status"],
        goal_rows(results, plan),
    )
    rounds = "every round pooled; " if plan.rounds > 1 else ""
    table(
        f"Think time by kind of turn ({rounds}half the turns are questions, half /affirm: the "
        "median of all turns falls in the gap between the two kinds)",
        [
            "turns",
            "direct p50 / p95 ms",
            "gateway p50 / p95 ms",
            "gateway - direct p50 ms",
            "p50 ratio",
            "p95 ratio",
            "mean ratio",
        ],
        kind_rows(results),
    )
    every = [pooled(results, *kind) for kind in KINDS]
    table(
        f"Where a turn's time goes, p50 / p95 ms ({rounds}from Rasa's tracker and Redis "
        "stream ids)",
        ["stage", *[s.label for s in every]],
        stage_rows(every),
    )
    table(
        f"CPU time per completed turn, ms ({rounds}user + system of the process and its "
        "children during the series / completed turns)",
        ["process", *[s.label for s in every]],
        [[name, *[s.cpu_ms_per_turn(name) for s in every]] for name in every[0].cpu_s],
    )
    table(
        "Memory (process and its children; PSS shares out the pages shared between processes)",
        ["process", "processes", "RSS MB", "PSS MB"],
        memory,
    )


if __name__ == "__main__":
    run_main(main)
