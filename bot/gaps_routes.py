"""`GET /dashboard/api/gaps`: the knowledge gaps for the dashboard's panel.

The gaps are computed on request (read the handoffs, embed, cluster) and kept for a minute:
embedding a month of questions takes seconds, and a dashboard refreshing every few seconds, or
several agents looking at it, must not repeat that. Computations run in a worker thread, one at
a time, so the event loop keeps serving customers meanwhile.

The panel follows the dashboard's filters: the questions are chosen by their handoff's channel,
language and department before they are grouped, so the counts are those of the slice.

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

from bot.gaps import collect_unanswered, parse_since
from bot.reports.kpis import Filters
from bot.reports.scope import UnknownFilter, check_filters
from handoff.requests import HandoffRequest
from kb_index.embeddings import Embedder, load_embedder
from kb_index.gaps import Gap, UnansweredQuestion, cluster, draft_paths
from relevo import keys

CACHE_SECONDS = 60.0


class GapOut(BaseModel):
    """One knowledge gap as the panel shows it."""

    rank: int
    label: str
    count: int
    language: str
    departments: list[str]
    draft: str  # the file name only: where the server keeps it is no business of a browser
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


def _channels(client: redis.Redis, handoff_ids: list[str]) -> dict[str, str]:
    """The channel of each handoff, from its record (the question itself does not carry it)."""
    pipe = client.pipeline(transaction=False)
    for handoff_id in handoff_ids:
        pipe.hget(keys.handoff(handoff_id), "record")
    channels = {}
    for handoff_id, raw in zip(handoff_ids, pipe.execute(), strict=True):
        if raw is not None:
            text = raw.decode() if isinstance(raw, bytes) else raw
            channels[handoff_id] = HandoffRequest.from_json(text).channel
    return channels


def _in_slice(
    questions: list[UnansweredQuestion], filters: Filters, client: redis.Redis
) -> list[UnansweredQuestion]:
    """The questions whose handoff is of the (folded) channel, language and department."""
    kept = [
        q
        for q in questions
        if (not filters.language or q.language.lower() == filters.language)
        and (not filters.department or q.department.lower() == filters.department)
    ]
    if not filters.channel:
        return kept
    channels = _channels(client, [q.handoff_id for q in kept])
    return [q for q in kept if channels.get(q.handoff_id, "").lower() == filters.channel]


def filtered_gaps(
    client: redis.Redis, embedder: Embedder, window: dt.timedelta, filters: Filters
) -> list[Gap]:
    """The knowledge gaps of the last `window` in one slice: collect, keep the slice, cluster."""
    since = dt.datetime.now(dt.UTC) - window
    return cluster(_in_slice(collect_unanswered(client, since), filters, client), embedder)


_Key = tuple[dt.timedelta, Filters]


class _GapCache:
    """The ranked gaps per window and slice for `seconds`, computed by one thread at a time."""

    def __init__(
        self,
        compute: Callable[[dt.timedelta, Filters], list[Gap]],
        seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._compute = compute
        self._seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[_Key, tuple[float, list[Gap]]] = {}

    def get(self, window: dt.timedelta, filters: Filters) -> list[Gap]:
        """The cached gaps, or fresh ones when they are older than the cache time."""
        with self._lock:  # the second caller waits for the first one's result
            entry = self._entries.get((window, filters))
            if entry is not None and self._clock() - entry[0] < self._seconds:
                return entry[1]
            found = self._compute(window, filters)
            self._entries[(window, filters)] = (self._clock(), found)
            return found


def _fold(value: str) -> str | None:
    """A filter as compared: lower case, `None` when empty."""
    return value.strip().lower() or None


def _query_error(name: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", name), "msg": message, "type": "value_error"}])


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
    cache = _GapCache(
        lambda window, filters: filtered_gaps(client, embedder(), window, filters),
        cache_seconds,
        clock,
    )
    router = APIRouter(dependencies=[Depends(auth)] if auth else [])

    @router.get("/dashboard/api/gaps")
    async def dashboard_gaps(
        since: Annotated[str, Query(description="How far back: 30d, 12h, 2w, 90m.")] = "30d",
        top: Annotated[int, Query(ge=1, le=100, description="How many gaps.")] = 20,
        channel: Annotated[str, Query(max_length=64, description="Only this channel.")] = "",
        language: Annotated[str, Query(max_length=64, description="Only this language.")] = "",
        department: Annotated[str, Query(max_length=64, description="Only this one.")] = "",
    ) -> list[GapOut]:
        """The questions the assistant could not answer, grouped, largest group first."""
        try:
            window = parse_since(since)
        except ValueError as exc:
            raise _query_error("since", str(exc)) from exc
        filters = Filters(_fold(channel), _fold(language), _fold(department))
        try:
            check_filters(filters)
        except UnknownFilter as exc:
            raise _query_error(exc.name, str(exc)) from exc
        shown = (await run_in_threadpool(cache.get, window, filters))[:top]
        paths = await run_in_threadpool(draft_paths, shown, drafts_dir)
        return [
            GapOut(
                rank=rank,
                label=gap.label,
                count=gap.count,
                language=gap.language,
                departments=gap.departments,
                draft=path.name,
                draft_written=path.exists(),
                last_at=gap.last_at,
            )
            for rank, (gap, path) in enumerate(zip(shown, paths, strict=True), start=1)
        ]

    return router
