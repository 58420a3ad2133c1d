"""Two ways of starting Rasa, side by side: what `relevo rasa serve` does against a baseline.

Run: `.venv/bin/python bench/rasa_launcher_bench.py
[--compare launcher|tf-threads|json|validator|lock-store] [--rounds 2] [--requests 300]`.
- `--compare launcher` (default): Rasa through nlu/relevo_rasa.py (`python -m relevo_rasa run
  ...`, the action-answer validator built once) against plain `rasa run ...`;
- `--compare tf-threads`: TensorFlow with one inter-op and one intra-op thread (what
  `relevo rasa serve` sets unless TF_INTER_OP_PARALLELISM_THREADS or
  TF_INTRA_OP_PARALLELISM_THREADS is set) against TensorFlow's own thread pools;
- `--compare json`: the tracker store and the launcher's requests to the action server encoding
  and parsing with ujson, against the standard library's `json` (a `sitecustomize` module on the
  baseline's path makes `import ujson` return `json`). This comparison adds a third series,
  the knowledge-base question in one kept conversation, where the tracker grows every turn;
- `--compare validator`: the launcher recognising valid action answers without the schema's
  `oneOf` (`relevo_rasa.quick_validity`) against the launcher checking every answer with the
  full validator (started with `quick_validity` replaced by one that declines);
- `--compare lock-store`: `nlu/relevo_lock_store.py` (one Lua script to take a ticket, one to
  give it back) against Rasa's own RedisLockStore (an endpoints file with `type: redis`).
Starts Redis, the demo index, the action server and one Rasa server at a time on the same
model and stores, alternating the two starts for `--rounds` rounds. Each start is warmed up
with 60 knowledge-base turns, then measured: the trivial-action turn ("/affirm") and a
knowledge-base question, each as the first turn of a new conversation, at concurrency 1 and 10.
CPU seconds per turn are Rasa's own (its process tree), over the measured turns.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table
from bench.dialogue_bench import (
    KB_FRESH,
    KB_KEPT,
    TRIVIAL,
    Question,
    Result,
    choose_questions,
    load,
)
from bench.stack import (
    ROOT,
    Engine,
    Service,
    Services,
    run_main,
    start_engine,
    step,
    temporary_services,
    tree_cpu_seconds,
    wait_http,
)
from bot.rasa_process import (
    TF_THREAD_VARIABLES,
    model_path,
    rasa_binary,
    rasa_env,
    serve_command,
)

PLAIN_RASA = "plain rasa run (baseline)"
TF_POOLS = "TF's own thread pools (baseline)"
STDLIB_JSON = "json from the standard library (baseline)"
FULL_VALIDATOR = "every answer through the full validator (baseline)"
STOCK_LOCKS = "Rasa's RedisLockStore (baseline)"
COMPARISONS = {
    "launcher": ("launcher (relevo_rasa)", PLAIN_RASA),
    "tf-threads": ("TF one thread each (relevo rasa serve)", TF_POOLS),
    "json": ("ujson (relevo rasa serve)", STDLIB_JSON),
    "validator": ("quick check of valid answers (relevo rasa serve)", FULL_VALIDATOR),
    "lock-store": ("relevo_lock_store (relevo rasa serve)", STOCK_LOCKS),
}
OUR_LOCK_STORE = "type: relevo_lock_store.RelevoLockStore"
SERIES = ((TRIVIAL, 1), (KB_FRESH, 1), (TRIVIAL, 10), (KB_FRESH, 10))
KEPT_SERIES = ((KB_KEPT, 1), (KB_KEPT, 10))
UJSON_IS_JSON = "import json, sys\nsys.modules['ujson'] = json\n"
WITHOUT_QUICK_CHECK = (
    "import relevo_rasa\nrelevo_rasa.quick_validity = lambda schema: None\nrelevo_rasa.main()\n"
)


def start_variant(
    services: Services, engine: Engine, variant: str, tag: str, scratch: Path
) -> Service:
    """Rasa on the engine's port as `relevo rasa serve` starts it, or with one baseline change."""
    settings = engine.settings
    command = serve_command(settings, model_path(settings), settings.rasa_port)
    env = {**engine.env, **rasa_env(settings)}
    assert command[1:3] == ["-m", "relevo_rasa"], command
    if variant == PLAIN_RASA:
        command = [str(rasa_binary(settings)), *command[3:]]
    if variant == FULL_VALIDATOR:
        command = [command[0], "-c", WITHOUT_QUICK_CHECK, *command[3:]]
    if variant == STOCK_LOCKS:
        at = command.index("--endpoints") + 1
        ours = Path(command[at]).read_text(encoding="utf-8")
        assert OUR_LOCK_STORE in ours, command[at]
        stock = scratch / "endpoints-stock-locks.yml"
        stock.write_text(ours.replace(OUR_LOCK_STORE, "type: redis"), encoding="utf-8")
        command[at] = str(stock)
    if variant == TF_POOLS:
        for name in TF_THREAD_VARIABLES:
            env.pop(name)
    if variant == STDLIB_JSON:
        (scratch / "sitecustomize.py").write_text(UJSON_IS_JSON, encoding="utf-8")
        env["PYTHONPATH"] = f"{scratch}{os.pathsep}{env['PYTHONPATH']}"
    rasa = services.start(f"rasa-{tag}", command, env)
    wait_http(f"{engine.rasa_url}/", rasa, 180)
    return rasa


def measure(
    engine: Engine,
    rasa: Service,
    questions: list[Question],
    requests: int,
    series: tuple[tuple[str, int], ...],
) -> list[tuple[Result, float]]:
    """Each series once; with Rasa's CPU milliseconds per turn."""
    asyncio.run(
        load(
            engine.rasa_url, KB_FRESH, questions, workers=1, concurrency=10, requests=60, seconds=60
        )
    )
    found = []
    for kind, level in series:
        cpu_before = tree_cpu_seconds(rasa.process.pid)
        result = asyncio.run(
            load(
                engine.rasa_url,
                kind,
                questions,
                workers=1,
                concurrency=level,
                requests=requests if level > 1 else requests // 3,
                seconds=120,
            )
        )
        cpu = tree_cpu_seconds(rasa.process.pid) - cpu_before
        found.append((result, cpu * 1000 / max(len(result.latencies_ms), 1)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--compare",
        choices=sorted(COMPARISONS),
        default="launcher",
        help="What the two starts differ in (launcher).",
    )
    parser.add_argument("--rounds", type=int, default=2, help="Alternations of the two starts.")
    parser.add_argument(
        "--requests",
        type=int,
        default=300,
        help="Turns per concurrency-10 series (a third at concurrency 1).",
    )
    args = parser.parse_args()
    rows: dict[tuple[str, str, int], list[tuple[Result, float]]] = {}
    with temporary_services("relevo-launcher-bench-") as (services, data):
        engine = start_engine(services, data)
        questions = choose_questions(ROOT / "kb" / "eval" / "queries.yaml", "en")
        rasa = engine.rasa
        series = SERIES + KEPT_SERIES if args.compare == "json" else SERIES
        for number in range(args.rounds):
            for variant in COMPARISONS[args.compare]:
                with step(f"Round {number + 1}: {variant}"):
                    services.stop(rasa)
                    rasa = start_variant(services, engine, variant, f"{number}-{len(rows)}", data)
                    for (kind, level), found in zip(
                        series,
                        measure(engine, rasa, questions, args.requests, series),
                        strict=True,
                    ):
                        rows.setdefault((variant, kind, level), []).append(found)
    table(
        f"Rasa turns, {args.rounds} alternating starts pooled (latency of all turns; "
        "throughput and CPU per turn: mean of the starts)",
        [
            "start",
            "turn",
            "concurrency",
            "turns",
            "p50 ms",
            "p95 ms",
            "turns/s",
            "Rasa CPU ms/turn",
        ],
        [
            [
                variant,
                kind,
                level,
                sum(len(r.latencies_ms) for r, _ in found),
                *(
                    float(np.percentile(np.concatenate([r.latencies_ms for r, _ in found]), p))
                    for p in (50, 95)
                ),
                float(np.mean([r.turns_per_second for r, _ in found])),
                float(np.mean([cpu for _, cpu in found])),
            ]
            for (variant, kind, level), found in sorted(
                rows.items(), key=lambda item: (item[0][2], item[0][1], item[0][0])
            )
        ],
    )


if __name__ == "__main__":
    run_main(main)
