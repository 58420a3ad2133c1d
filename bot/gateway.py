"""The gateway: one ASGI app for every door of Relevo, and its background workers.

Doors: health, knowledge-base search, the web chat (page, widget, WebSocket), the signed social
events API, the Telegram webhook, and the handoff desk: Slack's endpoints when Slack is
configured, else the web agent console at `/console`. Workers, started with the app: the assistant
(inbound -> Rasa -> outbox), the delivery of the outbox, the desk, and Telegram long polling when
configured.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Annotated, Literal

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from bot.article_pages import article_router
from bot.body_limit import BodyLimit
from bot.channels.social import social_router
from bot.channels.telegram import TelegramChannel
from bot.channels.webchat import STATIC_DIR, webchat_router
from bot.console_routes import install_console
from bot.dashboard_routes import install_dashboard
from bot.health_routes import health_router
from bot.inbound import Channel
from bot.invitations import Invitations
from bot.log_follower import LogFollower
from bot.pipeline import InboundPipeline
from bot.workers import Workers
from handoff.console import ConsoleDesk
from handoff.routing import configured_routing
from handoff.slack import SlackDesk, slack_router
from kb_index.retriever import Hit
from kb_index.service import KnowledgeBase
from kb_index.store import IndexStore
from relevo import __version__
from relevo.redis_conn import connect, connect_async
from relevo.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HitOut(Hit):
    """A search hit with the public link of its article."""

    url: str


class SearchOut(BaseModel):
    """The answer of `GET /kb/search`."""

    query: str
    index_version: int
    hits: list[HitOut]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; Redis and the index are opened at start-up and fail loudly there."""
    settings = settings or get_settings()

    client = connect(settings)
    aclient = connect_async(settings)
    pipeline = InboundPipeline(aclient, settings)
    follower = LogFollower(aclient)
    telegram: TelegramChannel | None = None
    invitations = Invitations(aclient, settings, lambda: telegram.username if telegram else None)
    if settings.telegram_token is not None:
        telegram = TelegramChannel(settings, pipeline, invitations)
    routing = configured_routing(settings.routing_file)
    desk = (
        SlackDesk(settings, aclient, routing)
        if settings.slack_enabled
        else ConsoleDesk(aclient, routing)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = client
        app.state.kb = KnowledgeBase.from_settings(settings, client)
        app.state.kb.follow()
        async with Workers(settings, aclient, pipeline, invitations, telegram, desk):
            log.info("gateway ready", extra={"index_version": app.state.kb.version})
            yield
        app.state.kb.close()
        await follower.close()
        await aclient.aclose()  # type: ignore[attr-defined]  # types-redis lags redis 5+
        client.close()

    app = FastAPI(title="Relevo gateway", version=__version__, lifespan=lifespan)
    app.add_middleware(BodyLimit)
    app.include_router(webchat_router(pipeline, invitations, follower))
    app.include_router(social_router(pipeline, settings, aclient))
    app.include_router(article_router(settings.kb_dir, IndexStore(settings.index_dir)))
    if telegram is not None:
        app.include_router(telegram.router())
    if isinstance(desk, SlackDesk):
        app.include_router(slack_router(desk))
    else:
        install_console(app, desk, pipeline.store, settings)
        install_dashboard(app, desk, settings)
    app.include_router(health_router(settings, aclient))
    app.mount("/webchat", StaticFiles(directory=STATIC_DIR), name="webchat")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse(
            status_code=422, content={"error": "invalid request", "problems": problems}
        )

    @app.get("/kb/search")
    async def kb_search(
        request: Request,
        q: Annotated[str, Query(min_length=1, max_length=1000, description="The question.")],
        k: Annotated[int, Query(ge=1, le=50, description="How many articles.")] = 5,
        lang: Annotated[Literal["es", "en"] | None, Query(description="es or en.")] = None,
        channel: Annotated[
            Channel | None, Query(description="Only the articles cited on this channel.")
        ] = None,
    ) -> SearchOut:
        """Search the knowledge base; hits in the customer's language first."""
        if not q.strip():
            raise RequestValidationError(
                [{"loc": ("query", "q"), "msg": "must not be blank", "type": "value_error"}]
            )
        kb: KnowledgeBase = request.app.state.kb
        hits = await run_in_threadpool(kb.search, q, k, lang, channel)
        base = settings.kb_public_url.rstrip("/")
        return SearchOut(
            query=q,
            index_version=kb.version,
            hits=[
                HitOut(
                    **asdict(h), url=f"{base}/{h.article_id}" + (f"#{h.anchor}" if h.anchor else "")
                )
                for h in hits
            ],
        )

    return app
