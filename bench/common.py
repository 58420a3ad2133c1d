"""Helpers shared by the benchmarks: percentiles, timing, memory, tables."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np
import psutil
from rich.console import Console
from rich.table import Table

T = TypeVar("T")
console = Console(width=140)


def timed_ms(function: Callable[[T], object], inputs: Iterable[T]) -> np.ndarray:
    """Milliseconds of each call of `function` on each input."""
    samples = []
    for item in inputs:
        started = time.perf_counter()
        function(item)
        samples.append((time.perf_counter() - started) * 1000)
    return np.array(samples)


def p50_p95(samples: np.ndarray) -> tuple[float, float]:
    """Median and 95th percentile."""
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def rss_mb() -> float:
    """Resident memory of this process in MB."""
    return psutil.Process(os.getpid()).memory_info().rss / 1e6


def table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    """Print a table of results."""
    out = Table(*columns, title=title)
    for row in rows:
        out.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    console.print(out)
