"""nlu/relevo_lock_store.py: Rasa's ticket lock in Redis, each step one atomic script.

Run in Rasa's environment against the engine's Redis, through Rasa's own loader (the way
endpoints.yml names the store), beside Rasa's stock RedisLockStore.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Engine, run_in_rasa_env

RASA_SIDE = r"""
import asyncio, json, sys, threading, time, uuid
import redis
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

host, port, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
prefix = "locktest" + uuid.uuid4().hex[:6]
client = redis.Redis(host=host, port=port, db=db)


def ours():
    config = EndpointConfig(
        url=host, port=port, db=db, key_prefix=prefix, type="relevo_lock_store.RelevoLockStore"
    )
    return LockStore.create(config)


def key(conversation):
    return ours().key_prefix + conversation


found = {"class": type(ours()).__name__}

# Replicas taking tickets for one conversation at once: each number once, none skipped.
numbers, stores = [], [ours() for _ in range(8)]
def take(store):
    for _ in range(25):
        numbers.append(store.issue_ticket("busy", 30))
threads = [threading.Thread(target=take, args=(s,)) for s in stores]
[t.start() for t in threads]
[t.join() for t in threads]
found["numbers"] = sorted(numbers)
ttl = client.pttl(key("busy"))
for number in numbers:
    stores[0].cleanup("busy", number)
found["ttl_ms"] = ttl
found["left_after_cleanup"] = client.exists(key("busy"))

# Rasa's own store and this one read and write the same locks.
stock = RedisLockStore(host=host, port=port, db=db, key_prefix=prefix)
first = stock.issue_ticket("shared", 30)
second = ours().issue_ticket("shared", 30)
seen = stock.get_lock("shared")
found["shared"] = [first, second, seen.now_serving, [t.number for t in seen.tickets]]
ours().cleanup("shared", first)
found["shared_serving_after"] = stock.get_lock("shared").now_serving
stock.cleanup("shared", second)
found["shared_left"] = client.exists(key("shared"))

# An expired ticket no longer holds the lock.
store = ours()
stale = store.issue_ticket("stale", 0.05)
time.sleep(0.2)
fresh, serving, _ = store._issue("stale", 30)
found["stale"] = [stale, fresh, serving]
store.cleanup("stale", fresh)

# Two turns of one conversation, on two stores: the second waits for the first.
order = []
async def turn(name, store, hold):
    async with store.lock("turns", 30, wait_time_in_seconds=0.02):
        order.append(name + " in")
        await asyncio.sleep(hold)
        order.append(name + " out")
async def both():
    first = asyncio.create_task(turn("A", ours(), 0.3))
    await asyncio.sleep(0.05)
    await turn("B", ours(), 0.0)
    await first
asyncio.run(both())
found["order"] = list(order)
found["turns_left"] = client.exists(key("turns"))

# An uncontended turn: the commands the store sends Redis.
store = ours()
asyncio.run(turn("warm", store, 0))  # the scripts are loaded
sent = []
execute = store.red.execute_command
def counted(*args, **options):
    sent.append(str(args[0]).upper())
    return execute(*args, **options)
store.red.execute_command = counted
asyncio.run(turn("C", store, 0))
found["sent"] = sent
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def found(engine: Engine) -> dict[str, Any]:
    assert engine.settings.redis_url is not None
    url = urlsplit(engine.settings.redis_url.get_secret_value())
    db = url.path.strip("/") or "0"
    return dict(run_in_rasa_env(engine, RASA_SIDE, url.hostname or "", str(url.port), db))


def test_rasa_loads_it_by_the_name_endpoints_yml_gives(found: dict[str, Any]) -> None:
    assert found["class"] == "RelevoLockStore"


def test_replicas_taking_tickets_at_once_each_get_their_own(found: dict[str, Any]) -> None:
    assert found["numbers"] == list(range(200))
    # The key goes with its last ticket (30 s, and 1 s to spare). Replicas stamp their tickets
    # with their own clock reading: one stored after a later-stamped ticket keeps the key a few
    # ms longer than 31 s (seen: 31001).
    assert 29_000 < found["ttl_ms"] <= 31_100
    assert found["left_after_cleanup"] == 0


def test_rasa_s_own_store_shares_its_locks(found: dict[str, Any]) -> None:
    assert found["shared"] == [0, 1, 0, [0, 1]]
    assert found["shared_serving_after"] == 1
    assert found["shared_left"] == 0


def test_an_expired_ticket_no_longer_holds_the_lock(found: dict[str, Any]) -> None:
    stale, fresh, serving = found["stale"]
    assert (stale, fresh) == (0, 0) and serving == fresh


def test_a_second_turn_waits_for_the_first(found: dict[str, Any]) -> None:
    assert found["order"] == ["A in", "A out", "B in", "B out"]
    assert found["turns_left"] == 0


def test_an_uncontended_turn_takes_two_round_trips(found: dict[str, Any]) -> None:
    assert found["sent"] == ["EVALSHA", "EVALSHA"]  # Rasa's own store: GET, SET, GET, GET...
