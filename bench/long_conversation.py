"""Long conversations: how a turn's latency grows with the conversation's length in Rasa.

Run: `.venv/bin/python bench/long_conversation.py [--turns 80] [--conversations 3]`.
Starts Redis, the demo index, the action server and two Rasa servers on the same model, one
with the launcher's memo of dialogue states (nlu/relevo_states.py, the default) and one without
it (RELEVO_RASA_STATE_MEMO=0: Rasa's own computation, the baseline). Then plays conversations of
`--turns` turns one after another straight to Rasa's REST webhook, alternating the servers: a
customer question (the knowledge-base action), then "yes" (action_feedback), in turn. Prints
the median latency of each kind per block of ten turns on each server, and each block against
the first (the same turns in a short conversation).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table
from bench.stack import (
    ROOT,
    free_port,
    on_other_ports,
    run_main,
    start_engine,
    start_rasa,
    step,
    temporary_services,
    tree_memory,
)
from bot.rasa_client import RasaClient
from kb_index.evaluation import LabelledQuery, load_queries

BLOCK = 10
WITH_MEMO = "memo of states"
WITHOUT = "Rasa's own (baseline)"


async def play(
    urls: dict[str, str], turns: int, conversations: int
) -> dict[str, list[list[float]]]:
    """Latency (ms) of every turn, per server and conversation; the servers take turns."""
    questions = [
        q
        for q in load_queries(ROOT / "kb" / "eval" / "queries.yaml")
        if q.expected is not None and q.kind == "question"
    ]
    clients = {name: RasaClient(url=url, timeout=60) for name, url in urls.items()}
    played: dict[str, list[list[float]]] = {name: [] for name in urls}
    try:
        for client in clients.values():  # not measured: loads what the first turns load
            for warm in range(10):
                question = questions[warm]
                await client.send(f"warm-{warm}", question.text, {"language": question.language})
        for number in range(conversations):
            for name, client in clients.items():
                played[name].append(await converse(client, questions, number, turns))
    finally:
        for client in clients.values():
            await client.close()
    return played


async def converse(
    client: RasaClient, questions: list[LabelledQuery], number: int, turns: int
) -> list[float]:
    """One conversation: the latency (ms) of each turn."""
    sender = f"long-{uuid.uuid4().hex[:8]}"
    latencies = []
    for index in range(turns):
        question = questions[(number * turns + index * 7) % len(questions)]
        text = question.text if index % 2 == 0 else "yes"
        metadata = {"channel": "webchat", "language": question.language}
        started = time.perf_counter()
        await client.send(sender, text, metadata)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def medians(played: list[list[float]], start: int) -> tuple[float, float]:
    """Median latency of the questions and of the "yes" turns in the block from `start`."""
    kinds = []
    for offset in (0, 1):  # questions on even turns, "yes" on odd ones
        block = [c[i] for c in played for i in range(start + offset, start + BLOCK, 2)]
        kinds.append(statistics.median(block) if block else float("nan"))
    return kinds[0], kinds[1]


def rows(played: dict[str, list[list[float]]], turns: int) -> list[list[object]]:
    """One row per block of ten turns: both servers' medians, and each against block one."""
    out: list[list[object]] = []
    first = {name: medians(runs, 0) for name, runs in played.items()}
    for start in range(0, turns, BLOCK):
        row: list[object] = [f"{start + 1}-{start + BLOCK}"]
        for name, runs in played.items():
            question, yes = medians(runs, start)
            row += [
                f"{question:.1f} ({question / first[name][0]:.2f}x)",
                f"{yes:.1f} ({yes / first[name][1]:.2f}x)",
            ]
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=80, help="Turns per conversation (80).")
    parser.add_argument(
        "--conversations", type=int, default=3, help="Conversations, one after another (3)."
    )
    args = parser.parse_args()
    if args.turns < BLOCK or args.conversations < 1:
        raise SystemExit(f"--turns must be >= {BLOCK} and --conversations >= 1")
    with temporary_services("relevo-long-bench-") as (services, data):
        engine = start_engine(services, data)
        with step("A second Rasa server, without the memo of dialogue states"):
            settings = on_other_ports(engine.settings, rasa_port=free_port())
            env = {**engine.env, "RELEVO_RASA_STATE_MEMO": "false"}
            baseline = start_rasa(services, settings, env, workers=1, label="-no-memo")
        urls = {WITH_MEMO: engine.rasa_url, WITHOUT: settings.rasa_url}
        with step(f"{args.conversations} conversations of {args.turns} turns on each server"):
            played = asyncio.run(play(urls, args.turns, args.conversations))
        memory = [
            [name, *tree_memory(service.process.pid)]
            for name, service in ((WITH_MEMO, engine.rasa), (WITHOUT, baseline))
        ]
    table(
        f"Turn latency by position in the conversation, median ms, and against turns 1-10 "
        f"({args.conversations} conversations on each server, straight to Rasa)",
        [
            "turns",
            f"question, {WITH_MEMO}",
            f"'yes', {WITH_MEMO}",
            f"question, {WITHOUT}",
            f"'yes', {WITHOUT}",
        ],
        rows(played, args.turns),
    )
    table(
        "Rasa's memory after the conversations", ["server", "processes", "RSS MB", "PSS MB"], memory
    )


if __name__ == "__main__":
    run_main(main)
