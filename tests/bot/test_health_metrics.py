"""Liveness, readiness and metrics of the real gateway app, on a real Redis and index.

Rasa and the action server are stood in for by tiny HTTP servers on free ports (processes that
answer, not mocks of our code); stopping one closes its port, as a crashed process would.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from bot.gateway import create_app
from kb_index.service import index_options, publish_version
from kb_index.store import IndexStore
from kb_index.sync import sync_directory
from relevo import keys
from relevo.redis_conn import connect, redis_server_binary
from relevo.settings import Settings
from tests.conftest import DEMO_KB, free_port, wait_for_redis

pytestmark = pytest.mark.slow


class _Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"Hello from Rasa: 3.6" if self.path == "/" else b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


class StandIn:
    """A process that answers 200 on a free port until stopped (then the port is closed)."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def data_dir(redis_url: str, tmp_path_factory: pytest.TempPathFactory, use_embedder) -> Path:
    """A data directory with the demo index built (once for the module)."""
    data = tmp_path_factory.mktemp("health-data")
    settings = Settings(data_dir=data, kb_dir=DEMO_KB, redis_url=redis_url)
    report = sync_directory(
        DEMO_KB, IndexStore(settings.index_dir), use_embedder, index_options(settings)
    )
    publish_version(connect(settings), report)
    return data


def gateway_settings(data: Path, redis_url: str, rasa: int, actions: int) -> Settings:
    return Settings(
        data_dir=data,
        kb_dir=DEMO_KB,
        redis_url=redis_url,
        rasa_url=f"http://127.0.0.1:{rasa}",
        action_port=actions,
        console_token="health-test-token",
    )


@pytest.fixture
def stand_ins() -> Iterator[tuple[StandIn, StandIn]]:
    rasa, actions = StandIn(), StandIn()
    yield rasa, actions
    for server in (rasa, actions):
        server.stop()


def test_liveness_and_readiness_name_the_part_that_is_down(
    data_dir: Path, redis_url: str, stand_ins: tuple[StandIn, StandIn]
) -> None:
    rasa, actions = stand_ins
    app = create_app(gateway_settings(data_dir, redis_url, rasa.port, actions.port))
    with TestClient(app) as http:
        live = http.get("/healthz")
        assert live.status_code == 200
        body = live.json()
        assert body["status"] == "ok" and body["redis"]["status"] == "ok"
        assert body["index_version"] >= 1 and body["chunks"] > 0

        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ok" and body["failed"] == []
        for part in ("redis", "rasa", "actions"):
            assert body[part]["status"] == "ok"
            assert 0 <= body[part]["latency_ms"] < 2000
        assert body["rasa"]["url"] == f"http://127.0.0.1:{rasa.port}/"
        assert body["actions"]["url"] == f"http://127.0.0.1:{actions.port}/health"

        rasa.stop()  # its port is closed now
        ready = http.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable" and body["failed"] == ["rasa"]
        assert body["rasa"]["status"] == "down" and "Connect" in body["rasa"]["error"]
        assert body["actions"]["status"] == "ok" and body["redis"]["status"] == "ok"
        assert http.get("/healthz").status_code == 200  # alive all the same

        actions.stop()
        body = http.get("/readyz").json()
        assert body["failed"] == ["rasa", "actions"]


def test_a_gateway_whose_redis_died_is_neither_live_nor_ready(
    data_dir: Path, redis_url: str, tmp_path: Path, stand_ins: tuple[StandIn, StandIn]
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            str(redis_server_binary()),
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_redis(redis.Redis.from_url(url))
        # The published index version lives in Redis: copy it to this server.
        version = redis.Redis.from_url(redis_url).get(keys.KB_VERSION)
        redis.Redis.from_url(url).set(keys.KB_VERSION, version or b"1")
        rasa, actions = stand_ins
        app = create_app(gateway_settings(data_dir, url, rasa.port, actions.port))
        with TestClient(app) as http:
            assert http.get("/healthz").status_code == 200
            server.terminate()
            server.wait(10)
            live = http.get("/healthz")
            assert live.status_code == 503
            assert live.json()["failed"] == ["redis"]
            body = http.get("/readyz").json()
            assert body["failed"] == ["redis"] and body["redis"]["error"]
            assert http.get("/metrics").status_code == 200  # counters still readable
    finally:
        server.terminate()
        server.wait(10)


def test_metrics_are_prometheus_text_with_open_handoffs_by_state(
    data_dir: Path, redis_url: str, stand_ins: tuple[StandIn, StandIn]
) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for handoff, state in (("h-q1", "queued"), ("h-q2", "queued"), ("h-a1", "agent")):
        client.hset(keys.handoff(handoff), mapping={"state": state})
        client.zadd(keys.CONSOLE_OPEN, {handoff: 1.0})
    rasa, actions = stand_ins
    app = create_app(gateway_settings(data_dir, redis_url, rasa.port, actions.port))
    try:
        with TestClient(app) as http:
            answer = http.get("/metrics")
            assert answer.status_code == 200
            assert answer.headers["content-type"] == CONTENT_TYPE_LATEST
            families = {f.name: f for f in text_string_to_metric_families(answer.text)}
            for name, kind in {
                "relevo_inbound_messages": "counter",
                "relevo_inbound_seconds": "histogram",
                "relevo_rasa_seconds": "histogram",
                "relevo_deliveries": "counter",
                "relevo_handoff_actions": "counter",
                "relevo_open_handoffs": "gauge",
            }.items():
                assert families[name].type == kind, name
            assert "relevo_inbound_messages_total" in answer.text
            gauge = {s.labels["state"]: s.value for s in families["relevo_open_handoffs"].samples}
            assert gauge == {"queued": 2.0, "agent": 1.0}

            # Resolved: it leaves the open set, and the next scrape says so.
            client.zrem(keys.CONSOLE_OPEN, "h-a1")
            again = {f.name: f for f in text_string_to_metric_families(http.get("/metrics").text)}
            gauge = {s.labels["state"]: s.value for s in again["relevo_open_handoffs"].samples}
            assert gauge == {"queued": 2.0, "agent": 0.0}
    finally:
        client.delete(keys.CONSOLE_OPEN, *(keys.handoff(h) for h in ("h-q1", "h-q2", "h-a1")))
