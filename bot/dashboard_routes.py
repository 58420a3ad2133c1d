"""The operations dashboard: the page at `/dashboard` and its JSON at `/dashboard/api/summary`.

Figures come from the operations event stream (`relevo.events`) through `bot.reports.kpis`;
the open handoffs come from the console's open list. Nothing shown names a customer or quotes
one: ids, channels, languages, departments, counts and times only.

It sits behind the agent console's login. The console's session cookie is scoped to `/console`,
so the browser does not send it here: `GET /console/dashboard` (inside the console's scope)
checks that session and copies it into a cookie scoped to `/dashboard` (same signed value, same
expiry), then redirects here. Without a session the page redirects to the console's login and
the API answers 401.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time.

import asyncio
import base64
import dataclasses
import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import redis
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from bot.console_routes import COOKIE, Refusal
from bot.gaps_routes import gaps_router, lazy_embedder
from bot.reports.kpis import Costs, Filters, compute, timeseries
from bot.reports.scope import UnknownFilter, check_filters
from bot.reports.source import read_events
from handoff.cards import department_name
from handoff.console import ConsoleDesk, queue_order
from handoff.console_login import Agent, ConsoleLogin, console_token
from handoff.desk import HandoffView, load, moment
from kb_index.gaps import default_drafts_dir
from relevo import keys
from relevo.redis_conn import connect
from relevo.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static" / "dashboard"
DASHBOARD_COOKIE = "relevo_dashboard"
PERIODS = r"^[1-9][0-9]{0,2}[hd]$"  # 24h, 7d, 30d... up to 999 hours or days
MAX_PERIOD = dt.timedelta(days=366)
HOURLY_UP_TO = dt.timedelta(hours=48)
CACHE_SECONDS = 5.0  # pages refresh every 10 s; several pages share one computation
OPEN_LISTED = 50  # the most urgent open handoffs listed by the API
SLA_STATES = ("overdue", "due_soon", "on_time", "answered")

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_FILTER_PATTERN = r"^[A-Za-z0-9_.:@ -]*$"
_FILTER = Annotated[str, Query(max_length=64, pattern=_FILTER_PATTERN)]


def period_of(text: str) -> dt.timedelta:
    """`24h` -> 24 hours, `7d` -> 7 days; capped at a year.

    Raises:
        ValueError: not `<n>h` or `<n>d`.
    """
    if not re.match(PERIODS, text):
        raise ValueError(f"not a period: {text!r} (write e.g. 24h, 7d or 30d)")
    amount, unit = int(text[:-1]), text[-1]
    period = dt.timedelta(hours=amount) if unit == "h" else dt.timedelta(days=amount)
    return min(period, MAX_PERIOD)


def bucket_for(period: dt.timedelta) -> dt.timedelta:
    """Hourly buckets up to 48 hours, daily beyond."""
    return dt.timedelta(hours=1) if period <= HOURLY_UP_TO else dt.timedelta(days=1)


def floor_to(moment: dt.datetime, bucket: dt.timedelta) -> dt.datetime:
    """The start of the hour or the (UTC) day a moment falls in."""
    if bucket >= dt.timedelta(days=1):
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def sla_bucket(view: HandoffView, now: dt.datetime, warn_before: float) -> str:
    """Where an open handoff's first-response target stands (its current cycle's).

    `answered` once a person replied; else `overdue` past `sla_due_at`, `due_soon` within the
    last `warn_before` of its window (created or reopened -> due) or once the SLA monitor
    warned, else `on_time` (also when there is no target).
    """
    if view.first_response_at:
        return "answered"
    due = moment(view.sla_due_at) if view.sla_due_at else None
    if due is None:
        return "on_time"
    if now >= due:
        return "overdue"
    created = moment(view.cycle_started_at) or now
    window = max((due - created).total_seconds(), 0.0)
    if view.sla_state == "warning" or (due - now).total_seconds() <= window * warn_before:
        return "due_soon"
    return "on_time"


def _matches(view: HandoffView, filters: Filters) -> bool:
    request = view.request
    for wanted, value in (
        (filters.channel, request.channel),
        (filters.language, request.language),
        (filters.department, request.department),
    ):
        if wanted and wanted.strip().lower() != (value or "").lower():
            return False
    return True


def open_summary(
    views: list[HandoffView],
    now: dt.datetime,
    warn_before: float,
    departments: dict[str, str],
) -> dict[str, Any]:
    """Open handoffs by state, priority and SLA, the priority x SLA table, and the most urgent."""
    ordered = sorted(views, key=queue_order)
    slas = {view.id: sla_bucket(view, now, warn_before) for view in ordered}
    # The most urgent: late ones first, then due soon, on time, answered; the queue order within.
    urgent = sorted(ordered, key=lambda view: SLA_STATES.index(slas[view.id]))
    by_priority = Counter(view.priority.value for view in ordered)
    table = Counter((view.priority.value, slas[view.id]) for view in ordered)
    priorities = ("urgent", "high", "normal", "low")
    return {
        "total": len(ordered),
        "by_state": dict(Counter(view.state for view in ordered)),
        "by_priority": {p: by_priority.get(p, 0) for p in priorities},
        "by_sla": {s: sum(1 for v in slas.values() if v == s) for s in SLA_STATES},
        "table": [
            {"priority": p, **{s: table.get((p, s), 0) for s in SLA_STATES}} for p in priorities
        ],
        "handoffs": [
            {
                "id": view.id,
                "state": view.state,
                "priority": view.priority.value,
                "sla": slas[view.id],
                "reason": view.request.reason.value,
                "department": view.request.department,
                "department_name": department_name(view.request.department, departments),
                "channel": view.request.channel,
                "language": view.request.language,
                "created_at": view.request.created_at,
                "waiting_since": view.cycle_started_at,
                "sla_due_at": view.sla_due_at,
                "handle": view.request.customer.get("handle") or "",
                "followers": view.request.customer.get("followers") or "",
                "owner_name": view.owner_name if view.state == "agent" else "",
            }
            for view in urgent[:OPEN_LISTED]
        ],
    }


def filter_options(events: list[dict[str, str]], views: list[HandoffView]) -> dict[str, list[str]]:
    """The channels, languages and departments present in the period or the open handoffs."""
    found: dict[str, set[str]] = {"channel": set(), "language": set(), "department": set()}
    for event in events:
        for name, values in found.items():
            value = event.get(name)
            if value:
                values.add(value.lower())
    for view in views:
        for name, value in (
            ("channel", view.request.channel),
            ("language", view.request.language),
            ("department", view.request.department),
        ):
            if value:
                found[name].add(value.lower())
    return {f"{name}s": sorted(values) for name, values in found.items()}


def summary(
    events: list[dict[str, str]],
    views: list[HandoffView],
    *,
    now: dt.datetime,
    period: dt.timedelta,
    filters: Filters,
    warn_before: float,
    departments: dict[str, str],
    costs: Costs | None = None,
) -> dict[str, Any]:
    """The dashboard's figures for `[now - period, now)` (CPU only: no Redis, no clock)."""
    since = now - period
    bucket = bucket_for(period)
    kpis = compute(events, since, now, filters, costs or Costs())
    series = timeseries(events, floor_to(since, bucket), now, bucket, filters)
    options = filter_options(events, views)
    shown = [view for view in views if _matches(view, filters)]
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "since": since.isoformat(timespec="seconds"),
        "until": now.isoformat(timespec="seconds"),
        "bucket": "hour" if bucket < dt.timedelta(days=1) else "day",
        "filters": dataclasses.asdict(filters),
        "options": options,
        "departments": {
            key: department_name(key, departments)
            for key in sorted({*options["departments"], *departments})
        },
        "open": open_summary(shown, now, warn_before, departments),
        "kpis": dataclasses.asdict(kpis),
        "series": series,
    }


class _Cache:
    """Answers by query for a few seconds: every open page refreshes every 10 s."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._answers: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}
        self._lock = asyncio.Lock()

    async def get(self, key: tuple[str, ...], make: Any) -> dict[str, Any]:
        async with self._lock:  # one computation at a time: the others wait and reuse it
            now = time.monotonic()
            self._answers = {k: v for k, v in self._answers.items() if now - v[0] < self.seconds}
            if key not in self._answers:
                self._answers[key] = (now, await make())
            return self._answers[key][1]


def install_dashboard(app: FastAPI, console: ConsoleDesk, settings: Settings) -> None:
    """Mount the dashboard: page, assets, API, knowledge gaps, the bridge from the console."""
    login = ConsoleLogin(console_token(settings))
    secure = settings.public_url.startswith("https://")

    def logged_in(request: Request) -> Agent:
        return require_session(login, request)

    costs = Costs.configured(settings)
    app.include_router(dashboard_router(console, login, costs, secure_cookie=secure))
    app.include_router(
        gaps_router(
            connect(settings),  # the gap search runs in a worker thread: a sync client
            lazy_embedder(settings.embedding_model),
            default_drafts_dir(settings.kb_dir),
            auth=logged_in,
        )
    )
    app.mount("/dashboard/assets", StaticFiles(directory=STATIC_DIR), name="dashboard")

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refusal)
        return JSONResponse(status_code=exc.status, content={"error": str(exc), **exc.extra})

    app.add_exception_handler(Refusal, refused)  # the console's own, if it is mounted too


def session_agent(login: ConsoleLogin, request: Request) -> Agent | None:
    """The agent logged in through the dashboard's cookie or the console's."""
    return login.read(request.cookies.get(DASHBOARD_COOKIE)) or login.read(
        request.cookies.get(COOKIE)
    )


def require_session(login: ConsoleLogin, request: Request) -> Agent:
    """The logged-in agent, else a 401 refusal."""
    agent = session_agent(login, request)
    if agent is None:
        raise Refusal(401, "log in first")
    return agent


def dashboard_router(
    console: ConsoleDesk, login: ConsoleLogin, costs: Costs, *, secure_cookie: bool
) -> APIRouter:
    """The dashboard's routes (see the module's docstring)."""
    router = APIRouter()
    departments = {key: d.name for key, d in console.routing.departments.items()}
    warn_before = console.routing.warn_before
    cache = _Cache(CACHE_SECONDS)

    def agent_of(request: Request) -> Agent | None:
        return session_agent(login, request)

    async def session(request: Request) -> Agent:
        return require_session(login, request)

    Session = Annotated[Agent, Depends(session)]

    @router.get("/console/dashboard", include_in_schema=False)
    async def bridge(request: Request) -> RedirectResponse:
        """From a console session to a dashboard session (see the module's docstring)."""
        cookie = request.cookies.get(COOKIE)
        agent = login.read(cookie)
        if agent is None or cookie is None:
            return RedirectResponse("/console", status_code=303)
        expires = _expiry(cookie)
        back = urlencode({**_view_of(request), "from": "console"})
        response = RedirectResponse(f"/dashboard?{back}", status_code=303)
        response.set_cookie(
            DASHBOARD_COOKIE,
            cookie,
            max_age=max(1, int(expires - time.time())),
            path="/dashboard",
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
        )
        return response

    @router.get("/dashboard", include_in_schema=False, response_model=None)
    async def page(request: Request) -> FileResponse | RedirectResponse:
        """The dashboard page; without a session, via the console's login."""
        if agent_of(request) is None:
            # Coming back from the bridge without a session means the cookie was refused:
            # go to the console rather than round in circles.
            if request.query_params.get("from") == "console":
                return RedirectResponse("/console", 303)
            view = urlencode(_view_of(request))
            return RedirectResponse(f"/console/dashboard{'?' if view else ''}{view}", 303)
        return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)

    async def open_views() -> list[HandoffView]:
        client = console.desk.client
        ids = await client.zrange(keys.CONSOLE_OPEN, 0, -1)
        views = [await load(client, handoff_id) for handoff_id in ids]
        return [view for view in views if view is not None and view.state in ("queued", "agent")]

    @router.get("/dashboard/api/summary")
    async def summary_api(
        request: Request,
        _: Session,
        since: Annotated[str, Query(max_length=16, description="24h, 7d, 30d...")] = "7d",
        channel: _FILTER = "",
        language: _FILTER = "",
        department: _FILTER = "",
    ) -> JSONResponse:
        """Open handoffs, the KPIs of the period and their time series (see `summary`).

        An unknown channel, language or department, or a period that is none, is refused
        (422, saying what works) rather than shown as a quiet desk.
        """
        try:
            period = period_of(since)
        except ValueError as exc:
            raise Refusal(422, f"since: {exc}") from None
        filters = Filters(channel or None, language or None, department or None)
        _refuse_unknown(filters, None)
        client: redis.Redis = request.app.state.redis

        async def make() -> dict[str, Any]:
            now = dt.datetime.now(dt.UTC)
            start = floor_to(now - period, bucket_for(period)) - period  # with the previous one
            events = await run_in_threadpool(read_events, client, start, now)
            views = await open_views()
            return await run_in_threadpool(
                lambda: summary(
                    events,
                    views,
                    now=now,
                    period=period,
                    filters=filters,
                    warn_before=warn_before,
                    departments=departments,
                    costs=costs,
                )
            )

        key = (since, channel.lower(), language.lower(), department.lower())
        answer = await cache.get(key, make)
        _refuse_unknown(filters, answer["departments"])  # known: routed, or seen in the period
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return router


def _refuse_unknown(filters: Filters, departments: Collection[str] | None) -> None:
    """A 422 naming the filter that matches nothing and the values that would."""
    try:
        check_filters(filters, departments)
    except UnknownFilter as exc:
        raise Refusal(422, str(exc), field=exc.name) from None


def _view_of(request: Request) -> dict[str, str]:
    """The period and filters of a request's query, checked, to carry through a redirect."""
    view = {}
    for name in ("since", "channel", "language", "department"):
        value = request.query_params.get(name, "")
        pattern = PERIODS if name == "since" else _FILTER_PATTERN
        if value and re.match(pattern, value) and len(value) <= 64:
            view[name] = value
    return view


def _expiry(cookie: str) -> float:
    """The expiry (epoch seconds) written in a session cookie that `ConsoleLogin` accepted."""
    payload = cookie.split(".", 1)[0]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(data.get("exp", 0))
