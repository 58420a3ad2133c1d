"""Rasa's trackers in Redis, saved by nlu/relevo_tracker_store.py: every event kept once.

The store replaces Rasa's quadratic merge on save. These tests read what the real Rasa server
wrote: a conversation's events in order, none lost or doubled, and the events of an earlier
session kept when a new one starts.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from bot.rasa_client import TRACKER_PREFIX
from tests.e2e.conftest import Customer, Engine, run_in_rasa_env

SESSION_EXPIRY_SECONDS = 60 * 60  # session_expiration_time in nlu/domain.yml, in minutes there


def stored_events(store: redis.Redis, customer: Customer) -> list[dict[str, Any]]:
    raw = store.get(f"{TRACKER_PREFIX}:tracker:{customer.id}")
    assert raw is not None, "Rasa did not store the tracker in Redis"
    return list(json.loads(raw)["events"])


def user_texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "user"]


def session_starts(events: list[dict[str, Any]]) -> int:
    return sum(1 for e in events if e["event"] == "action" and e["name"] == "action_session_start")


async def test_a_conversation_is_stored_whole_each_event_once(
    engine: Engine,
    store: redis.Redis,
) -> None:
    customer = Customer(engine, "en")
    said = ["hi! is there wifi on the plane?", "/affirm", "how much hand luggage can I take?"]
    lengths = []
    for text in said:
        await customer.says(text)
        lengths.append(len(stored_events(store, customer)))
    events = stored_events(store, customer)
    assert user_texts(events) == said
    # Rasa stores the session's metadata before action_session_start: the shape that made its
    # own store merge event by event on every save.
    assert events[0]["event"] == "slot" and events[0]["name"] == "session_started_metadata"
    assert session_starts(events) == 1
    assert len({json.dumps(e, sort_keys=True) for e in events}) == len(events)
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    assert lengths == sorted(lengths) and len(set(lengths)) == len(lengths)


async def test_a_new_session_keeps_the_earlier_sessions_events(
    engine: Engine,
    store: redis.Redis,
) -> None:
    customer = Customer(engine, "es")
    first, second = "hola, mi perro puede viajar conmigo en cabina?", "¿y cuánto cuesta?"
    await customer.says(first)
    key = f"{TRACKER_PREFIX}:tracker:{customer.id}"
    tracker = json.loads(store.get(key) or "{}")
    for event in tracker["events"]:  # the first session ended two hours ago
        event["timestamp"] -= 2 * SESSION_EXPIRY_SECONDS
    store.set(key, json.dumps(tracker))
    earlier = tracker["events"]

    await customer.says(second)

    events = stored_events(store, customer)
    assert events[: len(earlier)] == earlier
    assert session_starts(events) == 2
    assert user_texts(events) == [first, second]


RASA_SIDE = """
import asyncio, json, sys
from urllib.parse import urlparse
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import deserialise_events, ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker
from relevo_tracker_store import (
    RelevoTrackerStore, event_texts, event_texts_of, events_from_dicts, merged_events
)

raw = sys.stdin.read()
events = json.loads(raw)["events"]
texts = event_texts_of(raw)
url = urlparse(sys.argv[1])
domain = Domain.load("nlu/domain.yml")
found = {
    "read_as_rasa": [e.as_dict() for e in events_from_dicts(events)]
    == [e.as_dict() for e in deserialise_events(events)],
    "split_as_json": len(texts) == len(events) and [json.loads(t) for t in texts] == events,
    "whole": merged_events(texts, texts + ["x"]) == texts + ["x"],
    "last_session": merged_events(texts, texts[1:]) == texts,
    "unrelated": merged_events(texts, ["x"]),
}


def store(store_class):
    return store_class(domain, host=url.hostname, port=url.port, db=url.path.strip("/"),
                       key_prefix="relevotest")


async def saved(store_class, key):
    s = store(store_class)
    s.red.set(s.key_prefix + key, json.dumps({"name": key, "events": events[:4]}))
    other = DialogueStateTracker.from_events(key, deserialise_events(events[4:8]))
    await s.save(other)
    return json.loads(s.red.get(s.key_prefix + key))["events"]


async def resumed():
    # The tracker Rasa retrieves, one event later, resumes the stored text event for event.
    s = store(RelevoTrackerStore)
    s.red.set(s.key_prefix + "resumed", raw)
    tracker = await s.retrieve("resumed")
    tracker.update(ActionExecuted("action_listen"))
    return merged_events(event_texts_of(raw), event_texts(tracker)) is not None


found["not_a_continuation"] = asyncio.run(saved(RelevoTrackerStore, "ours")) == asyncio.run(
    saved(RedisTrackerStore, "rasas")
)
found["resumed"] = asyncio.run(resumed())
print(json.dumps(found))
"""


async def test_the_store_reads_merges_and_falls_back_as_rasa_does(
    engine: Engine, store: redis.Redis
) -> None:
    customer = Customer(engine, "en")
    await customer.says("hi! is there wifi on the plane?")
    await customer.says("/affirm")
    raw = store.get(f"{TRACKER_PREFIX}:tracker:{customer.id}")
    assert raw is not None
    assert engine.settings.redis_url is not None
    url = engine.settings.redis_url.get_secret_value()
    found = run_in_rasa_env(engine, RASA_SIDE, url, stdin=raw)
    assert found == {
        "read_as_rasa": True,
        "split_as_json": True,
        "whole": True,
        "last_session": True,
        "unrelated": None,
        "not_a_continuation": True,
        "resumed": True,
    }
