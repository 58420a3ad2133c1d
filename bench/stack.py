"""The real stack the dialogue benchmarks run against, started and stopped by the benchmark.

A real redis-server on a free port, the demo knowledge-base index in a temporary data dir, the
action server (`relevo actions`) and Rasa (`relevo rasa serve`) with the environment the
end-to-end tests use. Every process is started in its own session and stopped on exit, error,
Ctrl-C or SIGTERM (`temporary_services`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psutil
import redis
from pydantic import SecretStr

from bot.rasa_process import model_path, train
from kb_index.embeddings import load_embedder
from kb_index.service import index_options, publish_version
from kb_index.store import IndexStore
from kb_index.sync import sync_directory
from relevo.errors import RelevoError
from relevo.health import wait_until_healthy
from relevo.redis_conn import connect, redis_server_binary
from relevo.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "kb" / "articles"
BIN = Path(sys.executable).parent
READY_LINE = "Rasa server is up and running."


@dataclass
class Service:
    """A process started here (in its own process group) and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        """The end of the process's output."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Services:
    """Starts processes in their own sessions and stops every one of them, whatever happens."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self._running: list[Service] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> Service:
        """Start `command` with its output in `<logs>/<name>.log`."""
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name, process, log)
        self._running.append(service)
        return service

    def stop(self, service: Service, seconds: float = 30.0) -> None:
        """SIGTERM the service's process group, SIGKILL it when it does not stop in time."""
        pgid = service.process.pid  # start_new_session: the process leads its own group
        for sig, wait in ((signal.SIGTERM, seconds), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            if _group_gone(service.process, wait):
                break
        if service in self._running:
            self._running.remove(service)

    @property
    def running(self) -> list[Service]:
        """The services still running, oldest first."""
        return list(self._running)

    def stop_all(self) -> None:
        """Stop everything still running, newest first."""
        for service in reversed(list(self._running)):
            self.stop(service)


def _group_gone(process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait until no process of the group `process` leads is left (the leader reaped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception so that every started process is stopped."""
    raise SystemExit(128 + signum)


@contextmanager
def temporary_services(
    prefix: str, keep_logs: Path | None = None
) -> Iterator[tuple[Services, Path]]:
    """Services logging under a temporary folder, and its data dir; all stopped at the end.

    Their logs are copied to `keep_logs` when it is given.
    """
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        data = Path(folder) / "data"
        logs = Path(folder) / "logs"
        logs.mkdir(parents=True)
        services = Services(logs)
        try:
            yield services, data
        finally:
            # A second Ctrl-C or a SIGTERM must not interrupt the cleanup.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            services.stop_all()
            if keep_logs:
                shutil.copytree(logs, keep_logs, dirs_exist_ok=True)


def run_main(main: Callable[[], None]) -> None:
    """Run a benchmark's `main`; Ctrl-C ends it with a short note (the cleanup already ran)."""
    try:
        main()
    except KeyboardInterrupt:
        print("Interrupted; every process the benchmark started was stopped.", file=sys.stderr)
        sys.exit(130)


@contextmanager
def step(title: str) -> Iterator[None]:
    """Print what is being done and how long it took."""
    started = time.perf_counter()
    print(f"{title}...", flush=True)
    yield
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, service: Service, seconds: float) -> None:
    """Wait until `url` answers 200; fail with the service's log when it exits or times out."""
    try:
        wait_until_healthy(url, service.process, seconds)
    except RelevoError as exc:
        raise RuntimeError(f"{service.name}: {exc}\n{service.tail()}") from exc


def wait_rasa_workers(service: Service, workers: int, seconds: float = 180.0) -> None:
    """Wait until every Sanic worker has loaded the model (each logs READY_LINE)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if service.log.read_text(errors="replace").count(READY_LINE) >= workers:
            return
        if service.process.poll() is not None:
            raise RuntimeError(f"Rasa exited:\n{service.tail()}")
        time.sleep(0.5)
    raise RuntimeError(f"Rasa's {workers} workers were not all up in {seconds} s")


def start_redis(services: Services, data: Path) -> str:
    """A real redis-server in the foreground on a free port; returns its URL."""
    port = free_port()
    folder = data / "redis"
    folder.mkdir(parents=True)
    command = [
        str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1",
        "--dir", str(folder), "--save", "", "--appendonly", "no", "--daemonize", "no",
    ]  # fmt: skip
    services.start("redis", command, dict(os.environ))
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            return url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer")


def start_rasa(
    services: Services, settings: Settings, env: dict[str, str], workers: int, label: str = ""
) -> Service:
    """`relevo rasa serve` with `workers` Sanic workers (RELEVO_RASA_WORKERS).

    `label` tells apart the logs of two servers started with the same number of workers.
    """
    rasa_env = {**env, "RELEVO_RASA_WORKERS": str(workers)}
    service = services.start(
        f"rasa-{workers}w{label}",
        [str(BIN / "relevo"), "rasa", "serve", "--port", str(settings.rasa_port)],
        rasa_env,
    )
    wait_http(f"http://127.0.0.1:{settings.rasa_port}/", service, 180)
    wait_rasa_workers(service, workers)
    return service


def tree_memory(pid: int) -> tuple[int, float, float]:
    """Processes, summed RSS (MB) and summed PSS (MB) of a process and all its children."""
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    rss = pss = 0.0
    for process in processes:
        try:
            info = process.memory_full_info()
        except psutil.AccessDenied:
            info = process.memory_info()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss / 1e6
        pss += getattr(info, "pss", float("nan")) / 1e6
    return len(processes), rss, pss


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, s) of a process and its live children so far."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@dataclass
class Engine:
    """The running conversation engine: Redis, the demo index, the action server and Rasa."""

    settings: Settings
    env: dict[str, str]
    store: redis.Redis
    actions: Service
    rasa: Service

    @property
    def redis_url(self) -> str:
        """The URL of the benchmark's Redis."""
        return self.env["REDIS_URL"]

    @property
    def rasa_url(self) -> str:
        """Rasa's base URL (it follows `rasa_port`: `Settings`)."""
        return self.settings.rasa_url


def on_other_ports(settings: Settings, **ports: int) -> Settings:
    """`settings` for a second Rasa (`rasa_port`) or action server (`action_port`).

    A copy keeps the derived `rasa_url` of the original: it is set again from the new port.
    """
    copied = settings.model_copy(update=ports)
    return copied.model_copy(update={"rasa_url": f"http://127.0.0.1:{copied.rasa_port}"})


def prepare_engine(
    data: Path, redis_url: str, extra_env: dict[str, str] | None = None
) -> tuple[Settings, redis.Redis, dict[str, str]]:
    """Settings on `redis_url`, the demo index built and published, the model trained.

    Returns the settings, a Redis client and the environment of the engine's processes.
    """
    settings = Settings(
        data_dir=data,
        kb_dir=DEMO_KB,
        redis_url=SecretStr(redis_url),
        models_dir=ROOT / "models",
        rasa_venv=ROOT / ".venv-rasa",
        nlu_dir=ROOT / "nlu",
        rasa_port=free_port(),
        action_port=free_port(),
    )
    store = connect(settings)
    with step("Demo knowledge-base index"):
        embedder = load_embedder(settings.embedding_model)
        report = sync_directory(
            DEMO_KB, IndexStore(settings.index_dir), embedder, index_options(settings)
        )
        publish_version(store, report)
    with step(f"Rasa model ({model_path(settings).name})"):
        _, trained = train(settings)
        print(f"  {'trained now' if trained else 'already trained'}")
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "RELEVO_DATA_DIR": str(data),
        "RELEVO_KB_DIR": str(DEMO_KB),
        "RELEVO_RASA_PORT": str(settings.rasa_port),
        "RELEVO_ACTION_PORT": str(settings.action_port),
        "SANIC_HOST": "127.0.0.1",
        **(extra_env or {}),
    }
    return settings, store, env


def start_engine(services: Services, data: Path, *, rasa_workers: int = 1) -> Engine:
    """Redis, the demo index in `data`, the trained model, the action server and Rasa."""
    with step("Redis"):
        url = start_redis(services, data)
    settings, store, env = prepare_engine(data, url)
    with step("Action server and Rasa"):
        actions = services.start(
            "actions", [str(BIN / "relevo"), "actions", "--port", str(settings.action_port)], env
        )
        wait_http(f"http://127.0.0.1:{settings.action_port}/health", actions, 120)
        rasa = start_rasa(services, settings, env, workers=rasa_workers)
    return Engine(settings, env, store, actions, rasa)
