"""The gateway's background workers, started and stopped together.

The assistant, delivery, Telegram polling, the handoff desk (Slack's, with Socket Mode when an
app-level token is set, or the web console's) and the trimmer that keeps the work streams short.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

import httpx
import redis.asyncio as aioredis
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.assistant import AssistantWorker
from bot.channels.social import SocialSender
from bot.channels.telegram import TelegramChannel
from bot.channels.webchat import WebchatSender
from bot.delivery import DeliveryWorker, RetryPolicy, Sender
from bot.inbound import Channel
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from bot.rasa_client import RasaClient
from handoff.console import ConsoleDesk
from handoff.slack import SlackDesk
from relevo.settings import Settings
from relevo.stream_trim import keep_trimmed

log = logging.getLogger(__name__)


class Workers:
    """`async with Workers(...)`: the workers run inside the block and stop cleanly after it."""

    def __init__(
        self,
        settings: Settings,
        client: aioredis.Redis,
        pipeline: InboundPipeline,
        invitations: Invitations,
        telegram: TelegramChannel | None,
        desk: SlackDesk | ConsoleDesk | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._pipeline = pipeline
        self._invitations = invitations
        self._telegram = telegram
        self._desk = desk
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._rasa = RasaClient(
            url=settings.rasa_url, timeout=settings.rasa_timeout, prepare_url=settings.prepare_url
        )
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))

    def senders(self) -> dict[str, Sender]:
        """The way out of each enabled channel."""
        senders: dict[str, Sender] = {
            Channel.WEBCHAT.value: WebchatSender(),
            Channel.SOCIAL.value: SocialSender(self._settings, self._http, self._client),
        }
        if self._telegram is not None:
            senders[Channel.TELEGRAM.value] = self._telegram.sender()
        return senders

    async def __aenter__(self) -> Workers:
        await self._client.ping()
        if self._telegram is not None:
            await self._telegram.start()
            if self._settings.telegram_mode == "polling":
                self._spawn("telegram polling", self._telegram.poll(self._stop))
        assistant = AssistantWorker(
            client=self._client, rasa=self._rasa, concurrency=self._settings.assistant_concurrency
        )
        delivery = DeliveryWorker(
            client=self._client,
            senders=self.senders(),
            invites=self._invitations,
            policy=RetryPolicy(
                max_attempts=self._settings.outbox_max_attempts,
                base_seconds=self._settings.outbox_backoff_seconds,
                max_seconds=self._settings.outbox_backoff_max_seconds,
            ),
        )
        if self._desk is not None:
            self._spawn("desk", self._desk.desk.run(self._stop))
            self._spawn("sla", self._desk.sla.run(self._stop, self._settings.sla_check_seconds))
        if isinstance(self._desk, SlackDesk) and self._settings.slack_app_token is not None:
            socket_mode = AsyncSocketModeHandler(
                self._desk.app, self._settings.slack_app_token.get_secret_value()
            )
            await socket_mode.connect_async()
            self._closers.append(socket_mode.close_async)
        self._spawn("assistant", assistant.run(self._stop))
        self._pipeline.hand_to(assistant.lanes)  # this process's messages go straight to Rasa
        self._spawn("delivery", delivery.run(self._stop))
        self._spawn("stream trim", keep_trimmed(self._client, self._stop))
        return self

    def _spawn(self, name: str, work: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work, name=name)  # type: ignore[arg-type]
        task.add_done_callback(self._report)
        self._tasks.append(task)

    @staticmethod
    def _report(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "worker stopped", extra={"worker": task.get_name(), "error": repr(task.exception())}
            )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pipeline.hand_to(None)
        self._stop.set()
        for task in self._tasks:
            if task.get_name() == "telegram polling":
                task.cancel()  # a long poll in flight: nothing is lost, the offset did not move
        _, late = await asyncio.wait(self._tasks, timeout=25) if self._tasks else (set(), set())
        for task in late:
            task.cancel()
        for close in self._closers:
            await close()
        if self._telegram is not None:
            await self._telegram.stop()
        await self._rasa.close()
        await self._http.aclose()
