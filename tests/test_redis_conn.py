"""The embedded Redis: a real redis-server on TCP with append-only persistence."""

import contextlib
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import redis

from relevo.errors import ConfigurationError, RedisUnavailableError
from relevo.redis_conn import (
    SentinelAddress,
    connect,
    redis_server_binary,
    sentinel_address,
    stop_embedded_daemon,
)
from relevo.settings import Settings
from tests.conftest import BIN, free_port, wait_for_redis


def test_embedded_redis_starts_on_demand_and_persists(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedded_redis_port=free_port(), redis_url=None)
    client = connect(settings)
    try:
        client.set("relevo:test", "kept")
        assert (tmp_path / "redis" / "redis.pid").exists()
        client.shutdown()  # SHUTDOWN flushes the append-only file
    except redis.ConnectionError:
        pass
    again = connect(settings)
    try:
        assert again.get("relevo:test") == "kept"
        assert list((tmp_path / "redis").glob("appendonly*"))
    finally:
        with contextlib.suppress(redis.ConnectionError):
            again.shutdown(nosave=True)


def test_a_daemon_left_by_a_command_is_stopped_with_its_data_saved(tmp_path: Path) -> None:
    """`relevo up` stops it before starting its processes, which reached it then lost it."""
    settings = Settings(data_dir=tmp_path, embedded_redis_port=free_port(), redis_url=None)
    client = connect(settings)  # a CLI command's autostart: a daemon
    client.set("relevo:test", "kept")
    stop_embedded_daemon(settings)
    with pytest.raises(redis.ConnectionError):
        client.ping()
    stop_embedded_daemon(settings)  # nothing running: nothing to do
    again = connect(settings)
    try:
        assert again.get("relevo:test") == "kept"
    finally:
        with contextlib.suppress(redis.ConnectionError):
            again.shutdown(nosave=True)


def test_relevo_redis_serve_runs_in_the_foreground_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "RELEVO_DATA_DIR": str(tmp_path), "RELEVO_EMBEDDED_REDIS_PORT": str(port)}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [str(BIN / "relevo"), "redis", "serve"], env=env, stdout=subprocess.DEVNULL
    )
    client = redis.Redis(port=port)
    wait_for_redis(client)
    assert client.ping()
    server.send_signal(signal.SIGTERM)
    assert server.wait(10) == 0
    with pytest.raises(redis.ConnectionError):
        client.ping()


def test_redis_serve_refuses_when_redis_url_is_set(tmp_path: Path) -> None:
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0", "RELEVO_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [str(BIN / "relevo"), "redis", "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1 and "REDIS_URL is set" in result.stderr


def test_an_unreachable_redis_url_fails_loudly_with_what_to_do(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(RedisUnavailableError, match="fix REDIS_URL"):
        connect(settings)


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_database() -> None:
    found = sentinel_address(
        "redis+sentinel://app:s%40cret@10.0.0.1:26379,[::1]:26380/care-primary/3"
        "?sentinel_password=watch"
    )
    assert found == SentinelAddress(
        sentinels=(("10.0.0.1", 26379), ("::1", 26380)),
        service="care-primary",
        db=3,
        username="app",
        password="s@cret",
        sentinel_password="watch",
    )
    assert sentinel_address("redis+sentinel://h:26379/relevo") == SentinelAddress(
        sentinels=(("h", 26379),), service="relevo"
    )
    assert sentinel_address("redis://127.0.0.1:6379/0") is None


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://:secret@h:26379",  # no service
        "redis+sentinel://:secret@h:26379/relevo/x",  # db is not a number
        "redis+sentinel://:secret@h/relevo",  # no port
        "redis+sentinel://:secret@/relevo",  # no Sentinel
    ],
)
def test_a_malformed_sentinel_url_is_refused_without_showing_its_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        connect(Settings(redis_url=url))
    assert "secret" not in str(refused.value)
    assert "redis+sentinel://" in str(refused.value) or "host:port" in str(refused.value)


def test_a_redis_that_comes_back_within_a_few_seconds_is_waited_for(tmp_path: Path) -> None:
    """A blip (a restart, a failover) while the action server queues a handoff."""
    port = free_port()
    settings = Settings(redis_url=None, data_dir=tmp_path, embedded_redis_port=port)
    client = connect(settings, ride_out=True)
    client.shutdown(nosave=True)  # Redis goes away...
    command = [
        str(redis_server_binary()),
        "--port",
        str(port),
        "--save",
        "",
        "--dir",
        str(tmp_path),
    ]
    restart = threading.Timer(0.5, lambda: servers.append(subprocess.Popen(command)))
    servers: list[subprocess.Popen[bytes]] = []
    restart.start()  # ...and comes back half a second later
    try:
        assert client.set("relevo:test", "queued") and client.get("relevo:test") == "queued"
    finally:
        restart.join()
        for server in servers:
            server.terminate()
            server.wait(5)
