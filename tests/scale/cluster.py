"""Two replicas of every Relevo process on one Redis, as a scaled-out deployment runs them.

Two action servers behind one balancer, two Rasa servers (sharing the Redis tracker and lock
stores) whose action endpoint is that balancer, two Rasa servers behind a second balancer that
both gateways use as `RELEVO_RASA_URL`, and two gateways, each with its workers (assistant,
delivery, desk), reached directly by customers. Every replica runs in its own process group so
that `kill()` is a real `kill -9` of all of it (the action server's sanic runs worker processes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.rasa_process import train
from kb_index.embeddings import load_embedder
from kb_index.service import index_options, publish_version
from kb_index.store import IndexStore
from kb_index.sync import sync_directory
from relevo.health import wait_until_healthy
from relevo.redis_conn import connect
from relevo.settings import Settings
from tests.channels.connector import Connector, running_connector
from tests.conftest import BIN, DEMO_KB, ROOT, free_port
from tests.e2e.conftest import SOCIAL_SECRET, always_open_routing
from tests.scale.balancer import Balancer

STARTUP_SECONDS = 240


@dataclass
class Replica:
    """One process of the deployment."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    health_url: str
    log: Path
    killed_at: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """`kill -9` of the whole process group, no goodbye (safe from any thread)."""
        if self.killed_at is None:
            self.killed_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@dataclass
class Cluster:
    """Handles on the running deployment."""

    redis_url: str
    data: Path
    actions: list[Replica]
    rasa: list[Replica]
    gateways: list[Replica]
    actions_lb: Balancer
    rasa_lb: Balancer
    connector: Connector
    social_secret: str

    def ws_url(self, gateway: Replica) -> str:
        return gateway.base_url.replace("http://", "ws://") + "/channels/webchat/ws"


def build_index_and_model(settings: Settings) -> None:
    """The demo index published on the cluster's Redis, and the Rasa model (trained or cached).

    The steps of `tests.e2e.conftest.running_engine`, which starts its one Rasa and action
    server itself.
    """
    report = sync_directory(
        DEMO_KB,
        IndexStore(settings.index_dir),
        load_embedder(settings.embedding_model),
        index_options(settings),
    )
    publish_version(connect(settings), report)
    train(settings)


def _spawn(
    name: str, args: list[str], env: dict[str, str], logs: Path, port: int, health: str
) -> Replica:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "relevo"), *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, for kill()
        )
    return Replica(name, port, process, f"http://127.0.0.1:{port}{health}", log)


@contextmanager
def running_cluster(redis_url: str, data: Path) -> Iterator[Cluster]:
    """Everything started, healthy, and stopped at the end (whatever was killed meanwhile)."""
    settings = Settings(
        data_dir=data,
        kb_dir=DEMO_KB,
        redis_url=SecretStr(redis_url),
        models_dir=ROOT / "models",
        rasa_venv=ROOT / ".venv-rasa",
        nlu_dir=ROOT / "nlu",
    )
    build_index_and_model(settings)
    logs = data / "logs"
    logs.mkdir(exist_ok=True)
    base = {
        **os.environ,
        "REDIS_URL": redis_url,
        "RELEVO_DATA_DIR": str(data),
        "RELEVO_KB_DIR": str(DEMO_KB),
        "RELEVO_ROUTING_FILE": str(always_open_routing(data / "routing.yml")),
        "RELEVO_EMBEDDED_REDIS_AUTOSTART": "false",
        "SANIC_HOST": "127.0.0.1",
    }
    replicas: list[Replica] = []

    def stop_all() -> None:
        for replica in replicas:
            replica.stop()

    with ExitStack() as stack:
        stack.callback(stop_all)
        action_ports = [free_port(), free_port()]
        actions_lb = stack.enter_context(Balancer([("127.0.0.1", p) for p in action_ports]))
        rasa_ports = [free_port(), free_port()]
        rasa_lb = stack.enter_context(Balancer([("127.0.0.1", p) for p in rasa_ports]))
        connector = stack.enter_context(running_connector(SOCIAL_SECRET))
        actions = [
            _spawn(f"actions-{x}", ["actions", "--port", str(p)], base, logs, p, "/health")
            for x, p in zip("ab", action_ports, strict=True)
        ]
        replicas += actions
        rasa = []
        for x, port in zip("ab", rasa_ports, strict=True):
            home = data / f"rasa-{x}"
            home.mkdir(exist_ok=True)
            # rasa_env() points Rasa's action endpoint at RELEVO_ACTION_PORT on 127.0.0.1: here
            # the balancer's port (Relevo has no setting for an action server on another host).
            env = {**base, "RELEVO_DATA_DIR": str(home), "RELEVO_ACTION_PORT": str(actions_lb.port)}
            rasa.append(
                _spawn(f"rasa-{x}", ["rasa", "serve", "--port", str(port)], env, logs, port, "/")
            )
        replicas += rasa
        gateways = []
        for x in "ab":
            port = free_port()
            env = {
                **base,
                "RELEVO_PORT": str(port),
                "RELEVO_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "RELEVO_RASA_URL": rasa_lb.url,
                "RELEVO_ACTION_PORT": str(actions_lb.port),  # /readyz
                "RELEVO_SOCIAL_SECRET": SOCIAL_SECRET,
                "RELEVO_SOCIAL_OUTBOUND_URL": connector.url,
                "RELEVO_OUTBOX_BACKOFF_SECONDS": "0.1",
            }
            gateways.append(_spawn(f"gateway-{x}", ["serve"], env, logs, port, "/healthz"))
        replicas += gateways
        for replica in replicas:
            wait_until_healthy(replica.health_url, replica.process, STARTUP_SECONDS)
        yield Cluster(
            redis_url, data, actions, rasa, gateways, actions_lb, rasa_lb, connector, SOCIAL_SECRET
        )
