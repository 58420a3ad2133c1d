"""Dialogue benchmark: a knowledge-base turn through Rasa against a trivial custom-action turn.

Run: `.venv/bin/python bench/dialogue_bench.py [--requests 400] [--quick]`.
Everything runs on localhost and is started here: a real Redis on a free port, the demo index in
a temporary data dir, the action server (`relevo actions`) and Rasa (`relevo rasa serve`) with
the environment the end-to-end tests use. Every process started here is stopped on exit, error,
Ctrl-C or SIGTERM.

Turns are POSTs to Rasa's REST webhook through RasaClient, with the metadata the gateway sends:
- KB turn: an answerable customer question from kb/eval/queries.yaml (intent `question` and the
  like run action_answer_from_kb), as the first turn of a new conversation, and again in kept
  conversations (one sender per virtual user) whose trackers grow;
- trivial-action turn: "/affirm" with no pending question runs action_feedback, which answers a
  fixed text without touching the knowledge base;
- raw search: KnowledgeBase.search in this process, one query at a time.
Both kinds of turn also run action_validate_slot_mappings, as every turn does.
The twelve load series share a time cap (--load-seconds, 240 s by default): a series that
reaches its share stops early, and the "done" column shows how many of its turns completed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import psutil
import redis
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actions.texts import text
from bench.common import p50_p95, rss_mb, table, timed_ms
from bot.dialogue_eval import outcome_of
from bot.rasa_client import TRACKER_PREFIX, BotReply, RasaClient
from bot.rasa_process import model_path, train
from kb_index.embeddings import load_embedder
from kb_index.evaluation import load_queries
from kb_index.language import detect_language
from kb_index.service import KnowledgeBase, index_options, publish_version
from kb_index.store import IndexStore
from kb_index.sync import sync_directory
from relevo.errors import RasaUnavailableError, RelevoError
from relevo.health import wait_until_healthy
from relevo.redis_conn import connect, redis_server_binary
from relevo.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "kb" / "articles"
BIN = Path(sys.executable).parent
TRIVIAL_MESSAGE = "/affirm"
KB_FRESH = "KB question, new conversation"
KB_KEPT = "KB question, kept conversation"
TRIVIAL = "trivial action (/affirm), new conversation"
RAW = "raw KnowledgeBase.search in-process"
READY_LINE = "Rasa server is up and running."


@dataclass(frozen=True)
class Plan:
    """How much load to send."""

    requests_c1: int
    requests: int
    probe_questions: int
    warmup: int
    budget_seconds: float
    levels: tuple[int, ...] = (1, 10, 50)
    kinds: tuple[str, ...] = (TRIVIAL, KB_FRESH, KB_KEPT)

    @property
    def series_count(self) -> int:
        """Series in the whole run: every level with one worker, concurrency 10 with two."""
        return len(self.kinds) * (len(self.levels) + 1)


class Budget:
    """Shares the load's time among the series left: a fast series leaves time to the others."""

    def __init__(self, seconds: float, series: int) -> None:
        self._seconds = seconds
        self._left = series

    def next_cap(self) -> float:
        """Seconds the next series may take (at least 5)."""
        return max(self._seconds / max(self._left, 1), 5.0)

    def spent(self, seconds: float) -> None:
        """A series ended after `seconds`."""
        self._seconds -= seconds
        self._left -= 1


@dataclass(frozen=True)
class Question:
    """A customer question and the language the gateway would send with it."""

    text: str
    language: str


@dataclass
class Result:
    """The figures of one series at one concurrency level."""

    workers: int
    concurrency: int
    kind: str
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def turns_per_second(self) -> float:
        """Completed turns per second of wall time."""
        return len(self.latencies_ms) / self.seconds if self.seconds else float("nan")

    @property
    def p50_p95(self) -> tuple[float, float]:
        """Median and 95th percentile latency of the completed turns (ms)."""
        if not self.latencies_ms:
            return float("nan"), float("nan")
        return p50_p95(np.array(self.latencies_ms))


@dataclass
class Service:
    """A process started here (in its own process group) and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        """The end of the process's output."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Services:
    """Starts processes in their own sessions and stops every one of them, whatever happens."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._running: list[Service] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> Service:
        """Start `command` with its output in `<logs>/<name>.log`."""
        log = self._logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name, process, log)
        self._running.append(service)
        return service

    def stop(self, service: Service, seconds: float = 30.0) -> None:
        """SIGTERM the service's process group, SIGKILL it when it does not stop in time."""
        pgid = service.process.pid  # start_new_session: the process leads its own group
        for sig, wait in ((signal.SIGTERM, seconds), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            if _group_gone(service.process, wait):
                break
        if service in self._running:
            self._running.remove(service)

    def stop_all(self) -> None:
        """Stop everything still running, newest first."""
        for service in reversed(list(self._running)):
            self.stop(service)


def _group_gone(process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait until no process of the group `process` leads is left (the leader reaped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, service: Service, seconds: float) -> None:
    """Wait until `url` answers 200; fail with the service's log when it exits or times out."""
    try:
        wait_until_healthy(url, service.process, seconds)
    except RelevoError as exc:
        raise RuntimeError(f"{service.name}: {exc}\n{service.tail()}") from exc


def wait_rasa_workers(service: Service, workers: int, seconds: float = 180.0) -> None:
    """Wait until every Sanic worker has loaded the model (each logs READY_LINE)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if service.log.read_text(errors="replace").count(READY_LINE) >= workers:
            return
        if service.process.poll() is not None:
            raise RuntimeError(f"Rasa exited:\n{service.tail()}")
        time.sleep(0.5)
    raise RuntimeError(f"Rasa's {workers} workers were not all up in {seconds} s")


def start_redis(services: Services, data: Path) -> str:
    """A real redis-server in the foreground on a free port; returns its URL."""
    port = free_port()
    folder = data / "redis"
    folder.mkdir(parents=True)
    command = [
        str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1",
        "--dir", str(folder), "--save", "", "--appendonly", "no", "--daemonize", "no",
    ]  # fmt: skip
    services.start("redis", command, dict(os.environ))
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            return url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer")


def start_rasa(
    services: Services, settings: Settings, env: dict[str, str], workers: int
) -> Service:
    """`relevo rasa serve`, with SANIC_WORKERS when more than one worker is asked for."""
    rasa_env = dict(env)
    if workers > 1:
        rasa_env["SANIC_WORKERS"] = str(workers)
    service = services.start(
        f"rasa-{workers}w",
        [str(BIN / "relevo"), "rasa", "serve", "--port", str(settings.rasa_port)],
        rasa_env,
    )
    wait_http(f"http://127.0.0.1:{settings.rasa_port}/", service, 180)
    wait_rasa_workers(service, workers)
    return service


def tree_memory(pid: int) -> tuple[int, float, float]:
    """Processes, summed RSS (MB) and summed PSS (MB) of a process and all its children."""
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    rss = pss = 0.0
    for process in processes:
        try:
            info = process.memory_full_info()
        except psutil.AccessDenied:
            info = process.memory_info()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss / 1e6
        pss += getattr(info, "pss", float("nan")) / 1e6
    return len(processes), rss, pss


def metadata(language: str) -> dict[str, Any]:
    """What the gateway sends with a web-chat message."""
    return {
        "channel": "webchat",
        "language": language,
        "public": False,
        "message_id": uuid.uuid4().hex,
    }


def actions_run(client: redis.Redis, sender: str) -> list[str]:
    """The custom and built-in actions Rasa ran in a conversation, from the tracker store."""
    raw = client.get(f"{TRACKER_PREFIX}:tracker:{sender}")
    events = json.loads(raw).get("events", []) if raw else []
    return [e.get("name", "") for e in events if e.get("event") == "action"]


def outcome(kind: str, replies: list[BotReply]) -> str:
    """What a turn produced: the KB decision, or whether the trivial action gave its fixed text."""
    if kind == TRIVIAL:
        said = [r.text for r in replies]
        return "fixed text" if said == [text("not_pending", "en")] else "unexpected"
    decision, _ = outcome_of(replies)
    if decision == "none":
        return "handoff" if replies else "no reply"
    return decision


async def probe(url: str, store: redis.Redis, questions: list[Question]) -> list[Question]:
    """Send each question once (also the warm-up); keep those for which Rasa ran the KB action.

    Also checks that "/affirm" runs action_feedback and not the KB action.
    """
    client = RasaClient(url=url, timeout=60)
    kept = []
    try:
        run = uuid.uuid4().hex[:8]
        for number, question in enumerate(questions):
            sender = f"probe-{run}-{number}"
            await client.send(sender, question.text, metadata(question.language))
            if "action_answer_from_kb" in actions_run(store, sender):
                kept.append(question)
        sender = f"probe-{run}-affirm"
        replies = await client.send(sender, TRIVIAL_MESSAGE, metadata("en"))
        ran = actions_run(store, sender)
        if "action_feedback" not in ran or "action_answer_from_kb" in ran:
            raise RuntimeError(f"/affirm did not run action_feedback alone: {ran}")
        if outcome(TRIVIAL, replies) != "fixed text":
            raise RuntimeError(f"/affirm answered {[r.text for r in replies]}")
    finally:
        await client.close()
    return kept


async def load(
    url: str,
    kind: str,
    questions: list[Question],
    *,
    workers: int,
    concurrency: int,
    requests: int,
    seconds: float,
) -> Result:
    """Send `requests` turns with `concurrency` virtual users; stop early after `seconds`."""
    result = Result(workers=workers, concurrency=concurrency, kind=kind)
    client = RasaClient(url=url, timeout=120)
    run = uuid.uuid4().hex[:8]
    next_request = 0
    started = time.perf_counter()
    stop_at = started + seconds

    async def user(number: int) -> None:
        nonlocal next_request
        while next_request < requests and time.perf_counter() < stop_at:
            index = next_request
            next_request += 1
            if kind == TRIVIAL:
                message, language = TRIVIAL_MESSAGE, "en"
            else:
                question = questions[index % len(questions)]
                message, language = question.text, question.language
            sender = f"bench-{run}-u{number}" if kind == KB_KEPT else f"bench-{run}-{index}"
            sent = time.perf_counter()
            try:
                replies = await client.send(sender, message, metadata(language))
            except RasaUnavailableError:
                result.errors += 1
                continue
            result.latencies_ms.append((time.perf_counter() - sent) * 1000)
            result.outcomes[outcome(kind, replies)] += 1

    try:
        await asyncio.gather(*(user(n) for n in range(concurrency)))
    finally:
        result.seconds = time.perf_counter() - started
        await client.close()
    return result


async def warm_up(url: str, questions: list[Question], count: int) -> None:
    """A few turns of each kind at concurrency 10, not measured (fresh workers, caches)."""
    for kind in (TRIVIAL, KB_FRESH):
        await load(url, kind, questions, workers=0, concurrency=10, requests=count, seconds=60)


def series(
    url: str,
    questions: list[Question],
    plan: Plan,
    budget: Budget,
    *,
    workers: int,
    levels: tuple[int, ...],
) -> list[Result]:
    """Every kind of turn at every concurrency level, trivial first."""
    results = []
    for level in levels:
        requests = plan.requests_c1 if level == 1 else plan.requests
        for kind in plan.kinds:
            cap = budget.next_cap()
            result = asyncio.run(
                load(
                    url,
                    kind,
                    questions,
                    workers=workers,
                    concurrency=level,
                    requests=requests,
                    seconds=cap,
                )
            )
            budget.spent(result.seconds)
            p50, p95 = result.p50_p95
            print(
                f"  workers={workers} c={level} {kind}: {len(result.latencies_ms)}/{requests} "
                f"turns in {result.seconds:.0f} s (cap {cap:.0f} s), p50 {p50:.0f} ms, "
                f"p95 {p95:.0f} ms, {result.turns_per_second:.1f}/s",
                flush=True,
            )
            results.append(result)
    return results


def find(results: list[Result], workers: int, level: int, kind: str) -> Result | None:
    """The result of one series, if it was run."""
    for result in results:
        if (result.workers, result.concurrency, result.kind) == (workers, level, kind):
            return result
    return None


def goal_row(name: str, value: float, goal: str, met: bool) -> list[object]:
    """A row of the ratio table."""
    status = "n/a" if np.isnan(value) else ("met" if met else "not met")
    return [name, value, goal, status]


def ratio_rows(results: list[Result], raw_p50: float) -> list[list[object]]:
    """The issue's two goals (first turns of new conversations) and related figures."""
    rows = []
    goals = [
        ("KB turn p95 / trivial-action p95 at concurrency 1", 1, 1, "p95", 1.3),
        ("KB turn throughput / trivial-action throughput at concurrency 10", 1, 10, "tps", 0.85),
        ("same throughput ratio, SANIC_WORKERS=2, concurrency 10", 2, 10, "tps", 0.85),
    ]
    for label, workers, level, metric, bound in goals:
        kb, trivial = (
            find(results, workers, level, KB_FRESH),
            find(results, workers, level, TRIVIAL),
        )
        if kb and trivial:
            if metric == "p95":
                value = kb.p50_p95[1] / trivial.p50_p95[1]
                rows.append(goal_row(label, value, f"<= {bound}", value <= bound))
            else:
                value = kb.turns_per_second / trivial.turns_per_second
                rows.append(goal_row(label, value, f">= {bound}", value >= bound))
    kb1, trivial1 = find(results, 1, 1, KB_FRESH), find(results, 1, 1, TRIVIAL)
    kb10, kb2 = find(results, 1, 10, KB_FRESH), find(results, 2, 10, KB_FRESH)
    if kb10 and kb2:
        rows.append(
            [
                "KB turns/s: SANIC_WORKERS=2 / one worker, concurrency 10",
                kb2.turns_per_second / kb10.turns_per_second,
                "-",
                "info",
            ]
        )
    if kb1 and trivial1:
        extra = kb1.p50_p95[0] - trivial1.p50_p95[0]
        rows.append(["KB turn p50 - trivial-action p50 at concurrency 1 (ms)", extra, "-", "info"])
        rows.append(["raw in-process KB search p50 (ms)", raw_p50, "-", "info"])
    return rows


def result_row(result: Result, requests: int) -> list[object]:
    """A row of the latency table."""
    p50, p95 = result.p50_p95
    outcomes = ", ".join(f"{k} {v}" for k, v in result.outcomes.most_common())
    return [
        result.workers,
        result.concurrency,
        result.kind,
        f"{len(result.latencies_ms)}/{requests}",
        result.errors,
        p50,
        p95,
        result.turns_per_second,
        outcomes,
    ]


def choose_questions(path: Path, default_language: str) -> list[Question]:
    """Answerable questions (no complaints, no personal matters), language as detected."""
    return [
        Question(q.text, detect_language(q.text, default=default_language).code)
        for q in load_queries(path)
        if q.expected is not None and q.kind == "question"
    ]


def plan_from(args: argparse.Namespace) -> Plan:
    """The load plan from the command line."""
    if args.quick:
        requests = args.requests or 40
        return Plan(
            requests_c1=max(requests // 2, 1),
            requests=requests,
            probe_questions=24,
            warmup=10,
            budget_seconds=args.load_seconds or 120,
        )
    requests = args.requests or 400
    return Plan(
        requests_c1=max(requests // 2, 1),
        requests=requests,
        probe_questions=0,
        warmup=30,
        budget_seconds=args.load_seconds or 240,
    )


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception so that every started process is stopped."""
    raise SystemExit(128 + signum)


@contextmanager
def step(title: str) -> Iterator[None]:
    """Print what is being done and how long it took."""
    started = time.perf_counter()
    print(f"{title}...", flush=True)
    yield
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="Turns per series at concurrency 10 and 50 (half at concurrency 1); "
        "default 400, 40 with --quick.",
    )
    parser.add_argument("--quick", action="store_true", help="Small counts: a smoke run.")
    parser.add_argument(
        "--load-seconds",
        type=float,
        default=None,
        help="Time cap of all the load series together, shared out as they run "
        "(default 240 s, 120 s with --quick).",
    )
    args = parser.parse_args()
    plan = plan_from(args)
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    run_started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="relevo-dialogue-bench-") as folder:
        data = Path(folder) / "data"
        logs = Path(folder) / "logs"
        logs.mkdir(parents=True)
        services = Services(logs)
        try:
            run(services, data, plan)
        finally:
            # A second Ctrl-C or a SIGTERM must not interrupt the cleanup.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            services.stop_all()
    print(f"Whole run: {time.perf_counter() - run_started:.0f} s")


def run(services: Services, data: Path, plan: Plan) -> None:
    """Start everything, measure, print the tables."""
    with step("Redis"):
        url = start_redis(services, data)
    settings = Settings(
        data_dir=data,
        kb_dir=DEMO_KB,
        redis_url=SecretStr(url),
        models_dir=ROOT / "models",
        rasa_venv=ROOT / ".venv-rasa",
        nlu_dir=ROOT / "nlu",
        rasa_port=free_port(),
        action_port=free_port(),
    )
    store = connect(settings)
    with step("Demo knowledge-base index"):
        embedder = load_embedder(settings.embedding_model)
        report = sync_directory(
            DEMO_KB, IndexStore(settings.index_dir), embedder, index_options(settings)
        )
        publish_version(store, report)
    with step(f"Rasa model ({model_path(settings).name})"):
        _, trained = train(settings)
        print(f"  {'trained now' if trained else 'already trained'}")
    env = {
        **os.environ,
        "REDIS_URL": url,
        "RELEVO_DATA_DIR": str(data),
        "RELEVO_KB_DIR": str(DEMO_KB),
        "RELEVO_RASA_PORT": str(settings.rasa_port),
        "RELEVO_ACTION_PORT": str(settings.action_port),
        "SANIC_HOST": "127.0.0.1",
    }
    rasa_url = f"http://127.0.0.1:{settings.rasa_port}"
    with step("Action server and Rasa"):
        actions = services.start(
            "actions", [str(BIN / "relevo"), "actions", "--port", str(settings.action_port)], env
        )
        wait_http(f"http://127.0.0.1:{settings.action_port}/health", actions, 120)
        rasa = start_rasa(services, settings, env, workers=1)

    candidates = choose_questions(ROOT / "kb" / "eval" / "queries.yaml", settings.default_language)
    if plan.probe_questions:
        candidates = candidates[:: max(len(candidates) // plan.probe_questions, 1)]
    with step(f"Probe: which of {len(candidates)} answerable questions reach the KB action"):
        questions = asyncio.run(probe(rasa_url, store, candidates))
        print(f"  {len(questions)} of {len(candidates)} ran action_answer_from_kb")
    if not questions:
        raise RuntimeError("no question reached action_answer_from_kb")

    with step("Raw in-process search (servers idle)"):
        kb = KnowledgeBase.from_settings(settings, store)
        kb.search(questions[0].text, 5, questions[0].language)
        raw_ms = timed_ms(lambda q: kb.search(q.text, 5, q.language), questions * 2)
    raw = Result(
        workers=0,
        concurrency=1,
        kind=RAW,
        latencies_ms=list(raw_ms),
        seconds=float(raw_ms.sum()) / 1000,
    )

    results: list[Result] = []
    budget = Budget(plan.budget_seconds, plan.series_count)
    with step("Load, one Rasa worker"):
        asyncio.run(warm_up(rasa_url, questions, plan.warmup))
        results += series(rasa_url, questions, plan, budget, workers=1, levels=plan.levels)
    memory = [
        ["Rasa server, one worker", *tree_memory(rasa.process.pid)],
        ["action server", *tree_memory(actions.process.pid)],
    ]

    with step("Restart Rasa with SANIC_WORKERS=2"):
        services.stop(rasa)
        rasa = start_rasa(services, settings, env, workers=2)
    with step("Load, SANIC_WORKERS=2"):
        asyncio.run(warm_up(rasa_url, questions, plan.warmup))
        results += series(rasa_url, questions, plan, budget, workers=2, levels=(10,))
    memory += [
        ["Rasa server, SANIC_WORKERS=2", *tree_memory(rasa.process.pid)],
        ["action server (after both loads)", *tree_memory(actions.process.pid)],
    ]
    own = psutil.Process().memory_full_info()
    memory.append(["this benchmark (index build, in-process KB)", 1, rss_mb(), own.pss / 1e6])

    requests = {1: plan.requests_c1}
    table(
        f"Turns through Rasa's REST webhook, {len(questions)} customer questions "
        f"(load capped at {plan.budget_seconds:.0f} s in all; latency of completed turns)",
        [
            "Rasa workers",
            "concurrency",
            "turn",
            "done",
            "errors",
            "p50 ms",
            "p95 ms",
            "turns/s",
            "outcomes",
        ],
        [
            *[result_row(r, requests.get(r.concurrency, plan.requests)) for r in results],
            ["-", "sequential", RAW, len(raw_ms), 0, *raw.p50_p95, raw.turns_per_second, "-"],
        ],
    )
    table(
        "Goals of the issue (new conversations; trivial action = action_feedback on /affirm)",
        ["measure", "value", "goal", "status"],
        ratio_rows(results, raw.p50_p95[0]),
    )
    table(
        "Memory after the load (process and all its children; RSS counts shared pages "
        "in every process, PSS shares them out)",
        ["process", "processes", "RSS MB", "PSS MB"],
        memory,
    )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("Interrupted; every process the benchmark started was stopped.", file=sys.stderr)
        sys.exit(130)
