"""A scripted web chat customer: the browser's protocol over a real WebSocket."""

from __future__ import annotations

import asyncio
import json
import uuid
from types import TracebackType
from typing import Any, Self

import websockets


class WebchatCustomer:
    """Connects like the page does, sends messages and collects what the server sends."""

    def __init__(self, ws_url: str, conversation: str | None = None, **params: str) -> None:
        self.conversation = conversation or f"wc-{uuid.uuid4().hex}"
        query = "&".join(
            f"{k}={v}" for k, v in {"conversation": self.conversation, **params}.items()
        )
        self._url = f"{ws_url}?{query}"
        self.frames: list[dict[str, Any]] = []
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._socket = await websockets.connect(self._url)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._socket.close()
        if self._reader:
            self._reader.cancel()

    async def _read(self) -> None:
        async for raw in self._socket:
            self.frames.append(json.loads(raw))

    async def say(self, text: str, client_id: str | None = None) -> str:
        client_id = client_id or uuid.uuid4().hex
        await self._socket.send(
            json.dumps({"type": "message", "client_id": client_id, "text": text})
        )
        return client_id

    async def send_raw(self, raw: str | bytes) -> None:
        await self._socket.send(raw)

    def messages(self, author: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "message" and f["author"] == author]

    async def wait_for(
        self, author: str, count: int, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.messages(author)) < count:
                await asyncio.sleep(0.05)
        return self.messages(author)
