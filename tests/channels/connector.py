"""A social network connector for tests: a real HTTP server that records Relevo's replies.

It checks each reply's signature, and answers from a script (for example 429, then 500, then
200) so the delivery worker's retries are tested against real HTTP.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from tests.conftest import free_port


@dataclass
class Connector:
    secret: str
    url: str = ""
    replies: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    refused: list[str] = field(default_factory=list)
    on_reply: Callable[[], None] | None = None  # called after each reply is taken, before 200

    def wait_for(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.replies) >= count:
                return self.replies
            time.sleep(0.05)
        raise AssertionError(f"expected {count} replies, got {self.replies}")


@contextmanager
def running_connector(secret: str) -> Iterator[Connector]:
    connector = Connector(secret)

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        connector.attempts += 1
        try:
            verify(
                secret,
                body,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                max_skew=300,
            )
        except SignatureError as exc:
            connector.refused.append(str(exc))
            return JSONResponse({"error": str(exc)}, status_code=401)
        if connector.script:
            status, headers = connector.script.popleft()
            if status >= 300:
                return JSONResponse({"error": "scripted"}, status_code=status, headers=headers)
        reply = json.loads(body)
        reply["post_id"] = f"brand-{len(connector.replies) + 1}"  # the network's id of the post
        connector.replies.append(reply)
        if connector.on_reply is not None:
            connector.on_reply()
        return JSONResponse({"ok": True, "post_id": reply["post_id"]})

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/replies", receive, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    connector.url = f"http://127.0.0.1:{port}/replies"
    try:
        yield connector
    finally:
        server.should_exit = True
        thread.join(5)
