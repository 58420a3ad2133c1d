"""Customers that behave like the real clients when a gateway dies under them.

A web chat customer is the page: it keeps the id of the last log entry it rendered and the
messages the server has not acknowledged; when its socket drops it reconnects (here to the other
gateway, as a load balancer would send it) with `after=<last id>` and resends those messages
with their `client_id`, which the server drops when it already has them. A social customer is a
connector: it posts signed events and, when a gateway does not answer, posts to the other.

Both wait for the end of the assistant's turn (`ends_turn`) before saying the next thing. A turn
that the assistant finished without a word (its done marker holds no text) will never end, so
they note it as unanswered and go on rather than wait for ever: the audit counts it as lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosed

from bot.signing import signed_headers
from relevo import keys
from tests.e2e.test_channels import mention
from tests.e2e.webchat_client import WebchatCustomer


class _Socket(WebchatCustomer):
    """One connection of the page."""

    @property
    def closed(self) -> bool:
        reader = self._reader
        if reader is None or not reader.done():
            return False
        if not reader.cancelled():
            reader.exception()  # a dropped connection ends the reader: seen, not an error
        return True


class Tripwire:
    """A one-shot hook that the next customer to send a message sets off (to kill a gateway
    with a message on its way in)."""

    def __init__(self) -> None:
        self._hook: Callable[[], None] | None = None

    def arm(self, hook: Callable[[], None]) -> None:
        self._hook = hook

    def trip(self) -> None:
        hook, self._hook = self._hook, None
        if hook is not None:
            hook()


@dataclass
class Figures:
    """What one customer went through."""

    sent: int = 0
    reconnects: int = 0
    resent: int = 0
    duplicate_acks: int = 0
    failovers: int = 0
    unanswered: list[str] = field(default_factory=list)
    turn_seconds: list[float] = field(default_factory=list)


async def finished_in_silence(client: aioredis.Redis, message_id: str) -> bool:
    """Whether the assistant marked the message done with no text to send."""
    done = await client.get(keys.inbound_done(message_id))
    return done is not None and not any(reply.get("text") for reply in json.loads(done))


class WebchatFailoverCustomer:
    """A web chat page pinned to one gateway that fails over to the other."""

    def __init__(
        self, ws_urls: list[str], home: int, client: aioredis.Redis, tripwire: Tripwire
    ) -> None:
        self._urls = ws_urls
        self._at = home
        self._redis = client
        self._tripwire = tripwire
        self.conversation = f"wc-{uuid.uuid4().hex}"
        self.frames: list[dict[str, Any]] = []
        self.unacked: dict[str, str] = {}
        self.client_ids: list[str] = []
        self.figures = Figures()
        self._socket: _Socket | None = None
        self._seen = 0
        self._last_id = "0"
        self._speaking = ""  # the client id of the latest customer message in the log
        self._ended: set[str] = set()

    @property
    def message_ids(self) -> list[str]:
        """The channel message ids of what this customer said (the server's dedupe keys)."""
        return [self._message_id(c) for c in self.client_ids]

    def _message_id(self, client_id: str) -> str:
        return f"{self.conversation}:{client_id}"

    async def connect(self) -> None:
        """Open a socket on the current gateway, else the next one; resend what is unacked."""
        for _ in range(40):
            socket = _Socket(self._urls[self._at], self.conversation, after=self._last_id)
            try:
                await socket.__aenter__()
            except OSError:
                self._at = (self._at + 1) % len(self._urls)
                await asyncio.sleep(0.25)
                continue
            self._socket, self._seen = socket, 0
            for client_id, text in list(self.unacked.items()):
                self.figures.resent += 1
                with contextlib.suppress(ConnectionClosed):  # noticed by the next check
                    await socket.say(text, client_id)
            return
        raise AssertionError(f"{self.conversation}: no gateway accepts connections")

    async def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.__aexit__(None, None, None)

    async def ask(self, text: str, timeout: float) -> None:
        """Say `text` and wait for the end of the assistant's turn, failing over as needed."""
        client_id = uuid.uuid4().hex
        self.client_ids.append(client_id)
        self.unacked[client_id] = text
        self.figures.sent += 1
        started = last_look = time.monotonic()
        assert self._socket is not None
        with contextlib.suppress(ConnectionClosed):  # the page keeps it and resends it
            await self._socket.say(text, client_id)
        self._tripwire.trip()
        async with asyncio.timeout(timeout):
            while client_id not in self._ended:
                self._absorb()
                if self._socket is None or self._socket.closed:
                    await self._fail_over()
                if time.monotonic() - last_look > 1.0:
                    last_look = time.monotonic()
                    if await finished_in_silence(self._redis, self._message_id(client_id)):
                        self.figures.unanswered.append(self._message_id(client_id))
                        break
                await asyncio.sleep(0.05)
        self.figures.turn_seconds.append(time.monotonic() - started)

    def _absorb(self) -> None:
        if self._socket is None:
            return
        for frame in self._socket.frames[self._seen :]:
            self.frames.append(frame)
            if frame.get("type") == "ack":
                self.unacked.pop(frame["client_id"], None)
                self.figures.duplicate_acks += bool(frame.get("duplicate"))
            if frame.get("id"):
                self._last_id = frame["id"]
            if frame.get("type") == "message" and frame.get("author") == "customer":
                self._speaking = frame.get("client_id", "")
            if frame.get("ends_turn"):
                self._ended.add(self._speaking)
        self._seen = len(self._socket.frames)

    async def _fail_over(self) -> None:
        self._absorb()
        await self.close()
        self.figures.reconnects += 1
        self._at = (self._at + 1) % len(self._urls)
        await self.connect()


class SocialFailoverCustomer:
    """An author who mentions the brand in one thread; the connector fails over between gateways."""

    def __init__(
        self, base_urls: list[str], home: int, secret: str, client: aioredis.Redis
    ) -> None:
        self._urls = base_urls
        self._at = home
        self._secret = secret
        self._redis = client
        tag = uuid.uuid4().hex[:10]
        self.thread = f"t-{tag}"
        self.author = {"id": f"u-{tag}", "handle": f"ana_{tag}", "followers": 900}
        self.conversation = f"social:x:{self.thread}:{self.author['id']}"
        self.message_ids: list[str] = []
        self.figures = Figures()

    async def ask(self, text: str, timeout: float) -> None:
        """Post a mention in the thread and wait until the assistant's turn is logged."""
        event = mention(text, thread_id=self.thread, author=self.author)
        message_id = f"x:{event['post_id']}"
        self.message_ids.append(message_id)
        self.figures.sent += 1
        started = time.monotonic()
        await self._post(json.dumps(event).encode())
        async with asyncio.timeout(timeout):
            while not await self._turn_ended(message_id):
                if await finished_in_silence(self._redis, message_id):
                    self.figures.unanswered.append(message_id)
                    break
                await asyncio.sleep(0.2)
        self.figures.turn_seconds.append(time.monotonic() - started)

    async def _post(self, body: bytes) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(40):
                headers = {**signed_headers(self._secret, body), "Content-Type": "application/json"}
                try:
                    answer = await http.post(
                        f"{self._urls[self._at]}/channels/social/events",
                        content=body,
                        headers=headers,
                    )
                except httpx.TransportError:
                    answer = None
                if answer is not None and answer.status_code < 500:
                    assert answer.json()["status"] in ("accepted", "duplicate"), answer.text
                    return
                self.figures.failovers += 1
                self._at = (self._at + 1) % len(self._urls)
                await asyncio.sleep(0.25)
        raise AssertionError("no gateway accepts social events")

    async def _turn_ended(self, message_id: str) -> bool:
        entries = await self._redis.xrange(keys.conversation_log(self.conversation))
        return any(
            fields.get("ends_turn") and fields.get("out_id", "").rsplit(":", 1)[0] == message_id
            for _, fields in entries
        )
