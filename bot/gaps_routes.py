"""`GET /dashboard/api/gaps`: the knowledge gaps for the dashboard's panel.

The gaps are computed on request (read the handoffs, embed, cluster) and kept for a minute:
embedding a month of questions takes seconds, and a dashboard refreshing every few seconds, or
several agents looking at it, must not repeat that. Computations run in a worker thread, one at
a time, so the event loop keeps serving customers meanwhile.

Dependencies come in as parameters (Redis client, a getter for the embedder, the drafts folder,
and an optional auth dependency that guards the route), so the router mounts on the gateway or
on a bare app in a test alike.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from bot.gaps import find_gaps, parse_since
from kb_index.embeddings import Embedder, load_embedder
from kb_index.gaps import Gap, draft_paths

CACHE_SECONDS = 60.0


class GapOut(BaseModel):
    """One knowledge gap as the panel shows it."""

    rank: int
    label: str
    count: int
    language: str
    departments: list[str]
    draft_path: str
    draft_written: bool
    last_at: str


def lazy_embedder(spec: str) -> Callable[[], Embedder]:
    """A getter that loads the embedding model on first use, once, for processes that have none.

    The gateway's KnowledgeBase keeps its embedder private; loading another copy costs a fraction
    of a second and some memory, paid only when somebody opens the panel.
    """
    lock = threading.Lock()
    loaded: list[Embedder] = []

    def get() -> Embedder:
        with lock:
            if not loaded:
                loaded.append(load_embedder(spec))
            return loaded[0]

    return get


class _GapCache:
    """The ranked gaps per window for `seconds`, computed by one thread at a time."""

    def __init__(
        self,
        compute: Callable[[dt.timedelta], list[Gap]],
        seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._compute = compute
        self._seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[dt.timedelta, tuple[float, list[Gap]]] = {}

    def get(self, window: dt.timedelta) -> list[Gap]:
        """The cached gaps of `window`, or fresh ones when they are older than the cache time."""
        with self._lock:  # the second caller waits for the first one's result
            entry = self._entries.get(window)
            if entry is not None and self._clock() - entry[0] < self._seconds:
                return entry[1]
            found = self._compute(window)
            self._entries[window] = (self._clock(), found)
            return found


def gaps_router(
    client: redis.Redis,
    embedder: Callable[[], Embedder],
    drafts_dir: Path,
    *,
    auth: Callable[..., Any] | None = None,
    cache_seconds: float = CACHE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> APIRouter:
    """The dashboard's gaps endpoint.

    Args:
        client: the Redis with the handoff records and conversation logs.
        embedder: returns the sentence embedder; called on the first request only.
        drafts_dir: where `relevo kb gaps --write` puts drafts (to report each draft's path).
        auth: a FastAPI dependency that rejects callers who are not logged in to the console.
        cache_seconds: how long a computed list is served again.
        clock: seconds, for the cache (tests pass a fake one).
    """
    cache = _GapCache(lambda window: find_gaps(client, embedder(), window), cache_seconds, clock)
    router = APIRouter(dependencies=[Depends(auth)] if auth else [])

    @router.get("/dashboard/api/gaps")
    async def dashboard_gaps(
        since: Annotated[str, Query(description="How far back: 30d, 12h, 2w, 90m.")] = "30d",
        top: Annotated[int, Query(ge=1, le=100, description="How many gaps.")] = 20,
    ) -> list[GapOut]:
        """The questions the assistant could not answer, grouped, largest group first."""
        try:
            window = parse_since(since)
        except ValueError as exc:
            raise RequestValidationError(
                [{"loc": ("query", "since"), "msg": str(exc), "type": "value_error"}]
            ) from exc
        shown = (await run_in_threadpool(cache.get, window))[:top]
        paths = await run_in_threadpool(draft_paths, shown, drafts_dir)
        return [
            GapOut(
                rank=rank,
                label=gap.label,
                count=gap.count,
                language=gap.language,
                departments=gap.departments,
                draft_path=str(path),
                draft_written=path.exists(),
                last_at=gap.last_at,
            )
            for rank, (gap, path) in enumerate(zip(shown, paths, strict=True), start=1)
        ]

    return router
