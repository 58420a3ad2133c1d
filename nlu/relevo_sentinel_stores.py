"""Rasa's Redis tracker and lock stores on a Redis Sentinel group (Rasa 3.6 has none of its own).

Loaded by Rasa from nlu/endpoints-sentinel.yml (`relevo rasa serve` picks that file when
REDIS_URL is a `redis+sentinel://` URL, and puts this folder on PYTHONPATH). Each store keeps
the behaviour of the store it extends and only swaps its client for one that asks the
Sentinels for the primary and follows it through a failover. Runs in Rasa's environment
(Python 3.10, redis-py 4.6).
"""

from __future__ import annotations

from typing import Any

from rasa.core.lock_store import RedisLockStore
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig
from redis import Redis
from redis.sentinel import Sentinel
from relevo_lock_store import RelevoLockStore
from relevo_tracker_store import RelevoTrackerStore


def sentinel_primary(
    sentinels: str,
    service: str,
    db: int | str,
    password: str | None,
    sentinel_password: str | None,
    **options: Any,
) -> Redis:
    """A client of the service's current primary; `sentinels` is `host:port,host:port`."""
    if not sentinels or not service:
        raise ValueError("The Sentinel stores need `sentinels` (host:port,...) and `service`.")
    addresses = [
        (host, int(port)) for host, _, port in (a.rpartition(":") for a in sentinels.split(","))
    ]
    group = Sentinel(
        addresses, sentinel_kwargs={"password": sentinel_password or None, "socket_timeout": 2.0}
    )
    return group.master_for(service, db=int(db), password=password or None, **options)


class SentinelTrackerStore(RelevoTrackerStore):
    """Relevo's Redis tracker store whose client follows the Sentinel group's primary."""

    def __init__(
        self,
        domain: Domain,
        sentinels: str = "",
        service: str = "",
        db: int | str = 0,
        password: str | None = None,
        sentinel_password: str | None = None,
        host: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, db=int(db), **kwargs)
        self.red = sentinel_primary(
            sentinels, service, db, password, sentinel_password, decode_responses=True
        )


class SentinelLockStore(RelevoLockStore):
    """Relevo's lock store whose client follows the Sentinel group's primary."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        options = dict(endpoint_config.kwargs)
        RedisLockStore.__init__(self, key_prefix=options.get("key_prefix"))
        self.red = sentinel_primary(
            options.get("sentinels", ""),
            options.get("service", ""),
            options.get("db", 0),
            options.get("password"),
            options.get("sentinel_password"),
            socket_timeout=float(options.get("socket_timeout", 10)),
        )
