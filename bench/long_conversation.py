"""Long conversations: how a turn's latency grows with the conversation's length in Rasa.

Run: `.venv/bin/python bench/long_conversation.py [--turns 80] [--conversations 3]`.
Starts Redis, the demo index, the action server and Rasa (as the other benchmarks do), then plays
conversations of `--turns` turns one after another straight to Rasa's REST webhook: a customer
question (the knowledge-base action), then "yes" (action_feedback), in turn. Prints the median
latency of each kind per block of ten turns, against the first block (the baseline: the same
turns in a short conversation) in the same run.
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
from bench.stack import ROOT, run_main, start_engine, step, temporary_services
from bot.rasa_client import RasaClient
from kb_index.evaluation import load_queries

BLOCK = 10


async def play(url: str, turns: int, conversations: int) -> list[list[float]]:
    """Latency (ms) of every turn, per conversation."""
    questions = [
        q
        for q in load_queries(ROOT / "kb" / "eval" / "queries.yaml")
        if q.expected is not None and q.kind == "question"
    ]
    client = RasaClient(url=url, timeout=60)
    played = []
    try:
        for warm in range(10):  # not measured: loads what the first turns load
            question = questions[warm]
            await client.send(f"warm-{warm}", question.text, {"language": question.language})
        for number in range(conversations):
            sender = f"long-{uuid.uuid4().hex[:8]}"
            latencies = []
            for index in range(turns):
                question = questions[(number * turns + index * 7) % len(questions)]
                text = question.text if index % 2 == 0 else "yes"
                metadata = {"channel": "webchat", "language": question.language}
                started = time.perf_counter()
                await client.send(sender, text, metadata)
                latencies.append((time.perf_counter() - started) * 1000)
            played.append(latencies)
    finally:
        await client.close()
    return played


def rows(played: list[list[float]], turns: int) -> list[list[object]]:
    """One row per block of ten turns: medians of questions and of "yes", against block one."""
    out: list[list[object]] = []
    first: tuple[float, float] | None = None
    for start in range(0, turns, BLOCK):
        kinds = []
        for offset in (0, 1):  # questions on even turns, "yes" on odd ones
            block = [c[i] for c in played for i in range(start + offset, start + BLOCK, 2)]
            kinds.append(statistics.median(block) if block else float("nan"))
        question, yes = kinds
        first = first or (question, yes)
        out.append(
            [f"{start + 1}-{start + BLOCK}", question, question / first[0], yes, yes / first[1]]
        )
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
        with step(f"{args.conversations} conversations of {args.turns} turns"):
            played = asyncio.run(play(engine.rasa_url, args.turns, args.conversations))
    table(
        f"Turn latency by position in the conversation, median ms ({args.conversations} "
        "conversations straight to Rasa; baseline: turns 1-10 of the same run)",
        ["turns", "question", "x turns 1-10", "'yes'", "x turns 1-10"],
        rows(played, args.turns),
    )


if __name__ == "__main__":
    run_main(main)
