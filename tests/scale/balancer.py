"""A small TCP round-robin load balancer with failover, run in a thread of the test process.

It stands for the load balancer of a real deployment (nginx, traefik, a cloud LB) in front of
replicas: each new client connection goes to the next backend in turn; a backend that refuses
the connection (or resets it, or does not answer within `connect_timeout`) is skipped for
`quarantine` seconds and the next one is tried, so a dead replica costs the client nothing at
connect time. A connection that was already established to a replica that dies is closed, as a
real TCP balancer does: what was in flight on it is the client's to handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

Backend = tuple[str, int]


@dataclass
class BalancerStats:
    """What the balancer saw, per backend: connections, requests in flight (bytes sent and no
    answer yet, for request-response protocols), failed connects; and clients turned away."""

    connections: Counter[Backend] = field(default_factory=Counter)
    in_flight: Counter[Backend] = field(default_factory=Counter)
    failed_connects: Counter[Backend] = field(default_factory=Counter)
    turned_away: int = 0


class Balancer:
    """`with Balancer([("127.0.0.1", 5005), ...]) as lb:` listens on `lb.port` until the end."""

    def __init__(
        self,
        backends: list[Backend],
        *,
        host: str = "127.0.0.1",
        quarantine: float = 3.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.backends = list(backends)
        self.host = host
        self.port = 0
        self.stats = BalancerStats()
        self._quarantine = quarantine
        self._connect_timeout = connect_timeout
        self._down_until: dict[Backend, float] = {}
        self._next = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.Task[None]] = set()
        self._hooks: dict[Backend, _Hook] = {}

    @property
    def url(self) -> str:
        """`http://host:port` of the balancer."""
        return f"http://{self.host}:{self.port}"

    def on_next_request(
        self, backend: Backend, hook: Callable[[], None], containing: bytes = b""
    ) -> None:
        """Call `hook` (once, in the balancer's thread) when bytes of a request for `backend`
        that contain `containing` arrive, before they are passed on: the way to kill a replica
        in the middle of a given kind of request."""
        self._hooks[backend] = _Hook(containing, hook)

    def __enter__(self) -> Self:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, self.host, 0), self._loop
        ).result(5)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._open):
            task.cancel()
        await asyncio.gather(*self._open, return_exceptions=True)

    def _order(self) -> list[Backend]:
        """The backends to try for one connection: round robin, quarantined ones last."""
        start = self._next
        self._next = (self._next + 1) % len(self.backends)
        turn = self.backends[start:] + self.backends[:start]
        now = time.monotonic()
        healthy = [b for b in turn if self._down_until.get(b, 0.0) <= now]
        return healthy + [b for b in turn if b not in healthy]

    async def _connect(self) -> tuple[Backend, asyncio.StreamReader, asyncio.StreamWriter] | None:
        for backend in self._order():
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(*backend), self._connect_timeout
                )
            except (OSError, TimeoutError):
                self.stats.failed_connects[backend] += 1
                self._down_until[backend] = time.monotonic() + self._quarantine
                continue
            self.stats.connections[backend] += 1
            return backend, reader, writer
        return None

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        with contextlib.suppress(asyncio.CancelledError):  # cancelled: the balancer closes
            await self._relay(client_r, client_w)
        self._open.discard(task)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            found = await self._connect()
            if found is None:
                self.stats.turned_away += 1
                return
            backend, backend_r, backend_w = found
            flight = _InFlight(self.stats.in_flight, backend, self._hooks)
            pipes = [
                asyncio.create_task(_pipe(client_r, backend_w, flight.asked)),
                asyncio.create_task(_pipe(backend_r, client_w, flight.answered)),
            ]
            try:
                # One side gone (a replica killed, a client done): close both, like a real LB.
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
                flight.answered()
                backend_w.close()
        finally:
            client_w.close()


@dataclass(frozen=True)
class _Hook:
    containing: bytes
    call: Callable[[], None]


class _InFlight:
    """Whether one connection has a request waiting for its answer."""

    def __init__(
        self, counter: Counter[Backend], backend: Backend, hooks: dict[Backend, _Hook]
    ) -> None:
        self._counter = counter
        self._backend = backend
        self._hooks = hooks
        self._waiting = False

    def asked(self, data: bytes) -> None:
        if not self._waiting:
            self._waiting = True
            self._counter[self._backend] += 1
        hook = self._hooks.get(self._backend)
        if hook is not None and hook.containing in data:
            del self._hooks[self._backend]
            hook.call()

    def answered(self, data: bytes = b"") -> None:
        if self._waiting:
            self._waiting = False
            self._counter[self._backend] -= 1


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Callable[[bytes], None]
) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            seen(data)
            writer.write(data)
            await writer.drain()
