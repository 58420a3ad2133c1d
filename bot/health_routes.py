"""The gateway's operational endpoints: liveness, readiness and Prometheus metrics.

- `GET /healthz`, liveness: the process answers and Redis answers PING; with the index served
  (`index_version`, `chunks`). 503 when Redis does not answer.
- `GET /readyz`, readiness: Redis, Rasa (`GET {rasa_url}/`) and the action server
  (`GET http://127.0.0.1:{action_port}/health`), checked concurrently with short timeouts, each
  with its status and latency. 200 when all are ok, else 503 naming the parts that failed.
- `GET /metrics`: the default Prometheus registry in the text exposition format. The open
  handoffs gauge is refreshed from Redis on each scrape (the console's open set and each open
  handoff's state: O(open handoffs)).

None of them needs a session: they hold no personal data, and load balancers and Prometheus
call them without one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import httpx
import redis
import redis.asyncio as aioredis
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from relevo import keys
from relevo.metrics import OPEN_HANDOFFS
from relevo.settings import Settings

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0  # each readiness check; they run concurrently
OPEN_STATES = ("queued", "agent")


@dataclass(frozen=True)
class Check:
    """One dependency's answer: `ok` or `down`, how long it took, and why it is down."""

    status: str
    latency_ms: float
    error: str = ""


async def timed(probe: Callable[[], Awaitable[None]]) -> Check:
    """Run `probe` within `CHECK_SECONDS`; any exception or a timeout means down."""
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), CHECK_SECONDS)
        error = ""
    except TimeoutError:
        error = f"no answer within {CHECK_SECONDS:g} s"
    except Exception as exc:  # any failure of a dependency is a finding, not a crash
        error = _describe(exc)
    latency = round((time.perf_counter() - started) * 1000, 1)
    return Check("down" if error else "ok", latency, error)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _http_ok(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}")


async def open_handoffs_by_state(client: aioredis.Redis) -> Counter[str]:
    """How many open handoffs the console lists, by state (`queued`, `agent`)."""
    ids = await client.zrange(keys.CONSOLE_OPEN, 0, -1)
    if not ids:
        return Counter()
    async with client.pipeline(transaction=False) as pipe:
        for handoff_id in ids:
            pipe.hget(keys.handoff(handoff_id), "state")
        states = await pipe.execute()
    return Counter(str(state) for state in states if state)


def health_router(settings: Settings, client: aioredis.Redis) -> APIRouter:
    """`/healthz`, `/readyz` and `/metrics` (see the module's docstring)."""
    router = APIRouter(tags=["operations"])
    rasa_url = settings.rasa_url.rstrip("/") + "/"
    actions_url = f"{settings.action_url}/health"

    async def ping() -> None:
        await client.ping()

    @router.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        """Liveness: the process answers and Redis answers PING; the index it serves."""
        redis_check = await timed(ping)
        if redis_check.status != "ok":
            return JSONResponse(
                status_code=503,
                content={"status": "down", "failed": ["redis"], "redis": asdict(redis_check)},
            )
        kb = request.app.state.kb
        return JSONResponse(
            {
                "status": "ok",
                "redis": asdict(redis_check),
                "index_version": kb.version,
                "chunks": kb.chunk_count,
            }
        )

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """Readiness: Redis, Rasa and the action server, each with its status and latency."""
        async with httpx.AsyncClient(timeout=CHECK_SECONDS) as http:
            found = await asyncio.gather(
                timed(ping),
                timed(lambda: _http_ok(http, rasa_url)),
                timed(lambda: _http_ok(http, actions_url)),
            )
        checks = {
            "redis": asdict(found[0]),
            "rasa": {**asdict(found[1]), "url": rasa_url},
            "actions": {**asdict(found[2]), "url": actions_url},
        }
        failed = [name for name, check in checks.items() if check["status"] != "ok"]
        if failed:
            log.warning("not ready", extra={"failed": failed})
        return JSONResponse(
            status_code=503 if failed else 200,
            content={"status": "unavailable" if failed else "ok", "failed": failed, **checks},
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus text exposition of the default registry."""
        try:
            counts = await asyncio.wait_for(open_handoffs_by_state(client), CHECK_SECONDS)
        except (TimeoutError, redis.RedisError) as exc:
            log.warning("open handoffs not counted", extra={"error": repr(exc)})
        else:
            for state in {*OPEN_STATES, *counts}:
                OPEN_HANDOFFS.labels(state=state).set(counts.get(state, 0))
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router
