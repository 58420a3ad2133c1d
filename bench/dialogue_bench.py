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
  fixed text without touching the knowledge base; Rasa takes "/affirm" as the intent (Rasa 3.6
  still runs its NLU pipeline on it, on one word);
- trivial action through NLU: "yes" as text, classified by the NLU pipeline (affirm), then the
  same action_feedback: the baseline with the NLU work a KB question also pays;
- trivial action on the same question: the KB question, new conversation, sent to a second Rasa
  server on the same model whose action server (`bench/trivial_actions.py`) answers
  action_answer_from_kb with a fixed text: the same NLU, rules and tracker work as the KB turn,
  so the difference is what the knowledge-base action adds (no prepare hint: nothing to prepare);
- raw search: KnowledgeBase.search in this process, one query at a time.
As the gateway does, the client hands each text message to the action server's
`/relevo/prepare` as it sends it to Rasa (`RELEVO_PREPARE_SEARCHES`, on by default); the KB
question of new conversations is also sent without that ("not prepared"), to show its effect.
The sixteen load series share a time cap (--load-seconds, 240 s by default). At each
concurrency level the kinds take turns in four blocks (in one order, then the reverse), pooled
per kind, so that the machine's drifting speed falls on every kind alike; a block that reaches
its share of the time stops early, and the "done" column shows how many turns completed. Kept
conversations start over in each block.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actions.texts import text
from bench.common import p50_p95, rss_mb, table, timed_ms
from bench.stack import (
    ROOT,
    Engine,
    Service,
    Services,
    free_port,
    on_other_ports,
    run_main,
    start_engine,
    start_rasa,
    step,
    temporary_services,
    tree_memory,
    wait_http,
)
from bench.trivial_actions import FIXED_TEXT_KEY
from bot.dialogue_eval import outcome_of
from bot.rasa_client import TRACKER_PREFIX, BotReply, RasaClient
from bot.rasa_process import action_server_command
from kb_index.evaluation import load_queries
from kb_index.language import detect_language
from kb_index.service import KnowledgeBase
from relevo.errors import RasaUnavailableError
from relevo.settings import Settings

TRIVIAL_MESSAGE = "/affirm"
TRIVIAL_TEXT_MESSAGE = "yes"
KB_FRESH = "KB question, new conversation"
KB_KEPT = "KB question, kept conversation"
KB_UNPREPARED = "KB question, new conversation, not prepared"
TRIVIAL = "trivial action (/affirm), new conversation"
TRIVIAL_TEXT = "trivial action ('yes' through NLU), new conversation"
TRIVIAL_SAME = "trivial action on the same question, new conversation"
TRIVIAL_MESSAGES = {TRIVIAL: TRIVIAL_MESSAGE, TRIVIAL_TEXT: TRIVIAL_TEXT_MESSAGE}
TRIVIAL_KINDS = frozenset({*TRIVIAL_MESSAGES, TRIVIAL_SAME})
FIXED_TEXTS = frozenset(text(FIXED_TEXT_KEY, language) for language in ("en", "es"))
"""What action_feedback (after a yes with nothing pending) and the trivial KB action answer."""
BASELINES = (
    (TRIVIAL, "/affirm"),
    (TRIVIAL_TEXT, "'yes' through NLU"),
    (TRIVIAL_SAME, "the same question, trivial action"),
)
RAW = "raw KnowledgeBase.search in-process"


@dataclass(frozen=True)
class Plan:
    """How much load to send."""

    requests_c1: int
    requests: int
    probe_questions: int
    warmup: int
    budget_seconds: float
    levels: tuple[int, ...] = (1, 10, 50)
    kinds: tuple[str, ...] = (
        TRIVIAL,
        TRIVIAL_TEXT,
        TRIVIAL_SAME,
        KB_FRESH,
        KB_UNPREPARED,
        KB_KEPT,
    )
    rounds: int = 4

    @property
    def series_count(self) -> int:
        """Blocks in the whole run: every level with one worker, concurrency 10 with two."""
        return len(self.kinds) * (len(self.levels) + 1) * self.rounds


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


@dataclass(frozen=True)
class Targets:
    """Where turns go: the engine's Rasa, the trivial-action Rasa, the action server's prepare."""

    rasa_url: str
    trivial_rasa_url: str
    prepare_url: str | None

    def url(self, kind: str) -> str:
        """The Rasa server a kind of turn is sent to."""
        return self.trivial_rasa_url if kind == TRIVIAL_SAME else self.rasa_url

    def prepare(self, kind: str) -> str | None:
        """The prepare URL a kind of turn hands its text to, if any."""
        return None if kind in (KB_UNPREPARED, TRIVIAL_SAME) else self.prepare_url


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

    def add(self, block: Result) -> None:
        """Pool the figures of one block of the same series."""
        self.latencies_ms += block.latencies_ms
        self.seconds += block.seconds
        self.errors += block.errors
        self.outcomes += block.outcomes

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
    if kind in TRIVIAL_KINDS:
        said = [r.text for r in replies]
        return "fixed text" if len(said) == 1 and said[0] in FIXED_TEXTS else "unexpected"
    decision = outcome_of(replies)[0]
    if decision == "none":
        return "handoff" if replies else "no reply"
    return decision


async def probe(targets: Targets, store: redis.Redis, questions: list[Question]) -> list[Question]:
    """Send each question once (also the warm-up); keep those for which Rasa ran the KB action.

    Also checks that "/affirm" and "yes" run action_feedback and not the KB action, and that
    the trivial-action Rasa answers a kept question with the fixed text.
    """
    client = RasaClient(url=targets.rasa_url, timeout=60)
    trivial_client = RasaClient(url=targets.trivial_rasa_url, timeout=60)
    kept = []
    try:
        run = uuid.uuid4().hex[:8]
        for number, question in enumerate(questions):
            sender = f"probe-{run}-{number}"
            await client.send(sender, question.text, metadata(question.language))
            if "action_answer_from_kb" in actions_run(store, sender):
                kept.append(question)
        for number, (kind, message) in enumerate(TRIVIAL_MESSAGES.items()):
            sender = f"probe-{run}-trivial-{number}"
            replies = await client.send(sender, message, metadata("en"))
            ran = actions_run(store, sender)
            if "action_feedback" not in ran or "action_answer_from_kb" in ran:
                raise RuntimeError(f"{message!r} did not run action_feedback alone: {ran}")
            if outcome(kind, replies) != "fixed text":
                raise RuntimeError(f"{message!r} answered {[r.text for r in replies]}")
        for number, question in enumerate(kept[:3]):
            sender = f"probe-{run}-same-{number}"
            replies = await trivial_client.send(sender, question.text, metadata(question.language))
            ran = actions_run(store, sender)
            if "action_answer_from_kb" not in ran or outcome(TRIVIAL_SAME, replies) != "fixed text":
                raise RuntimeError(
                    f"the trivial-action Rasa did not answer {question.text!r} with its fixed "
                    f"text: ran {ran}, answered {[r.text for r in replies]}"
                )
    finally:
        await client.close()
        await trivial_client.close()
    return kept


async def load(
    targets: Targets,
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
    client = RasaClient(url=targets.url(kind), timeout=120, prepare_url=targets.prepare(kind))
    run = uuid.uuid4().hex[:8]
    next_request = 0
    started = time.perf_counter()
    stop_at = started + seconds

    async def user(number: int) -> None:
        nonlocal next_request
        while next_request < requests and time.perf_counter() < stop_at:
            index = next_request
            next_request += 1
            if kind in TRIVIAL_MESSAGES:
                message, language = TRIVIAL_MESSAGES[kind], "en"
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


async def warm_up(targets: Targets, questions: list[Question], count: int) -> None:
    """A few turns of each kind at concurrency 10, not measured (fresh workers, caches)."""
    for kind in (TRIVIAL, TRIVIAL_TEXT, TRIVIAL_SAME, KB_FRESH):
        await load(
            targets,
            kind,
            questions,
            workers=0,
            concurrency=10,
            requests=count,
            seconds=60,
        )


def series(
    targets: Targets,
    questions: list[Question],
    plan: Plan,
    budget: Budget,
    *,
    workers: int,
    levels: tuple[int, ...],
) -> list[Result]:
    """Every kind of turn at every concurrency level.

    The kinds take turns in `plan.rounds` blocks (in one order, then the other), each block a
    share of the series' turns and time, pooled per kind: the machine's speed drifts by tens of
    percent over a minute here, and a kind run all at once would take the drift for itself.
    """
    results = []
    for level in levels:
        requests = (plan.requests_c1 if level == 1 else plan.requests) // plan.rounds
        pooled = {kind: Result(workers, level, kind) for kind in plan.kinds}
        for number in range(plan.rounds):
            for kind in plan.kinds if number % 2 == 0 else plan.kinds[::-1]:
                block = asyncio.run(
                    load(
                        targets,
                        kind,
                        questions,
                        workers=workers,
                        concurrency=level,
                        requests=requests,
                        seconds=budget.next_cap(),
                    )
                )
                budget.spent(block.seconds)
                pooled[kind].add(block)
        for kind, result in pooled.items():
            p50, p95 = result.p50_p95
            print(
                f"  workers={workers} c={level} {kind}: {len(result.latencies_ms)}/"
                f"{requests * plan.rounds} turns in {result.seconds:.0f} s ({plan.rounds} blocks),"
                f" p50 {p50:.0f} ms, p95 {p95:.0f} ms, {result.turns_per_second:.1f}/s",
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
    """The issue's two goals (first turns of new conversations) against each trivial baseline."""
    rows = []
    goals = [
        ("KB turn p95 / {} p95 at concurrency 1", 1, 1, "p95", 1.3),
        ("KB turn throughput / {} throughput at concurrency 10", 1, 10, "tps", 0.85),
        ("same throughput ratio against {}, SANIC_WORKERS=2, c=10", 2, 10, "tps", 0.85),
    ]
    for baseline, name in BASELINES:
        for label, workers, level, metric, bound in goals:
            kb, trivial = (
                find(results, workers, level, KB_FRESH),
                find(results, workers, level, baseline),
            )
            if kb and trivial:
                if metric == "p95":
                    value = kb.p50_p95[1] / trivial.p50_p95[1]
                    rows.append(goal_row(label.format(name), value, f"<= {bound}", value <= bound))
                else:
                    value = kb.turns_per_second / trivial.turns_per_second
                    rows.append(goal_row(label.format(name), value, f">= {bound}", value >= bound))
    kb1, kb10, kb2 = (find(results, w, c, KB_FRESH) for w, c in ((1, 1), (1, 10), (2, 10)))
    if kb10 and kb2:
        rows.append(
            [
                "KB turns/s: SANIC_WORKERS=2 / one worker, concurrency 10",
                kb2.turns_per_second / kb10.turns_per_second,
                "-",
                "info",
            ]
        )
    for baseline, name in BASELINES:
        trivial1 = find(results, 1, 1, baseline)
        if kb1 and trivial1:
            extra = kb1.p50_p95[0] - trivial1.p50_p95[0]
            rows.append([f"KB turn p50 - {name} p50 at concurrency 1 (ms)", extra, "-", "info"])
    for workers, level in ((1, 1), (1, 10)):
        prepared, unprepared = (find(results, workers, level, k) for k in (KB_FRESH, KB_UNPREPARED))
        if prepared and unprepared:
            rows.append(
                [
                    f"KB turn p50 / p95, prepared - not prepared at concurrency {level} (ms)",
                    f"{prepared.p50_p95[0] - unprepared.p50_p95[0]:+.1f} / "
                    f"{prepared.p50_p95[1] - unprepared.p50_p95[1]:+.1f}",
                    "-",
                    "info",
                ]
            )
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
            rounds=2,
        )
    requests = args.requests or 400
    return Plan(
        requests_c1=max(requests // 2, 1),
        requests=requests,
        probe_questions=0,
        warmup=30,
        budget_seconds=args.load_seconds or 240,
    )


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
    run_started = time.perf_counter()
    with temporary_services("relevo-dialogue-bench-") as (services, data):
        run(services, data, plan)
    print(f"Whole run: {time.perf_counter() - run_started:.0f} s")


@dataclass
class TrivialSide:
    """The trivial action server and the second Rasa server (same model) that calls it."""

    settings: Settings
    env: dict[str, str]
    actions: Service
    rasa: Service


def start_trivial_side(services: Services, engine: Engine) -> TrivialSide:
    """`bench.trivial_actions` on Relevo's action server, and a Rasa server whose endpoint it is."""
    settings = on_other_ports(engine.settings, rasa_port=free_port(), action_port=free_port())
    env = {
        **engine.env,
        "RELEVO_RASA_PORT": str(settings.rasa_port),
        "RELEVO_ACTION_PORT": str(settings.action_port),
    }
    command = action_server_command(settings, settings.action_port, "bench.trivial_actions")
    actions = services.start("trivial-actions", command, env)
    wait_http(f"http://127.0.0.1:{settings.action_port}/health", actions, 120)
    rasa = start_rasa(services, settings, env, workers=1, label="-trivial")
    return TrivialSide(settings, env, actions, rasa)


def run(services: Services, data: Path, plan: Plan) -> None:
    """Start everything, measure, print the tables."""
    engine = start_engine(services, data)
    settings, store, rasa = engine.settings, engine.store, engine.rasa
    with step("Trivial action server and a second Rasa on the same model"):
        trivial = start_trivial_side(services, engine)
    targets = Targets(engine.rasa_url, trivial.settings.rasa_url, settings.prepare_url)

    candidates = choose_questions(ROOT / "kb" / "eval" / "queries.yaml", settings.default_language)
    if plan.probe_questions:
        candidates = candidates[:: max(len(candidates) // plan.probe_questions, 1)]
    with step(f"Probe: which of {len(candidates)} answerable questions reach the KB action"):
        questions = asyncio.run(probe(targets, store, candidates))
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
        asyncio.run(warm_up(targets, questions, plan.warmup))
        results += series(targets, questions, plan, budget, workers=1, levels=plan.levels)
    memory = [
        ["Rasa server, one worker", *tree_memory(rasa.process.pid)],
        ["action server", *tree_memory(engine.actions.process.pid)],
        ["trivial action server", *tree_memory(trivial.actions.process.pid)],
    ]

    with step("Restart both Rasa servers with SANIC_WORKERS=2"):
        services.stop(rasa)
        services.stop(trivial.rasa)
        rasa = start_rasa(services, settings, engine.env, workers=2)
        start_rasa(services, trivial.settings, trivial.env, workers=2, label="-trivial")
    with step("Load, SANIC_WORKERS=2"):
        asyncio.run(warm_up(targets, questions, plan.warmup))
        results += series(targets, questions, plan, budget, workers=2, levels=(10,))
    memory += [
        ["Rasa server, SANIC_WORKERS=2", *tree_memory(rasa.process.pid)],
        ["action server (after both loads)", *tree_memory(engine.actions.process.pid)],
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
        "Goals of the issue (new conversations; trivial action: action_feedback for /affirm and "
        "'yes', a fixed-text action_answer_from_kb for the same question)",
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
    run_main(main)
