"""Running a WebSocket's two directions together: when one ends, the other is stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

log = logging.getLogger(__name__)


async def run_both(
    name: str, websocket: WebSocket, *work: Coroutine[Any, Any, None], **context: object
) -> None:
    """Run the socket's coroutines until the first ends; log a failure that is not a goodbye.

    After a failure the socket is closed with 1011, so the browser reconnects (and resends what
    was not acknowledged) instead of waiting on a socket nobody serves.
    """
    tasks = [asyncio.create_task(w) for w in work]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect):
                log.error(
                    f"{name} socket failed", extra={**context, "error": repr(error)}, exc_info=error
                )
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(code=1011)
