"""Rasa's Redis tracker store, saving in time proportional to the conversation's length.

Rasa 3.6's `RedisTrackerStore.save` reads the stored tracker back, turns every event into an
object and merges it with the tracker in memory. The merge is quick only when the tracker in
memory starts with every stored event; otherwise it compares each new event with each stored
one. That is every turn of every conversation whose messages carry metadata: Rasa then stores
`SlotSet(session_started_metadata)` before `action_session_start`, so it splits the stored
tracker into two "sessions", `retrieve` returns the last one and `save` takes the slow path.
Measured on a 20-turn conversation, the merge was a third of Rasa's CPU per turn.

This store keeps the stored events before the tracker in memory (the earlier sessions) and
the tracker's own events, found by comparing the stored JSON with the tracker's, and falls
back to Rasa's merge when the two do not line up. It writes one event per line (still plain
JSON, read by anything that reads Rasa's trackers), so the next save compares the stored
events as text without parsing them: parsing and re-encoding the tracker on every save was
another tenth of Rasa's CPU per turn. It also reads a tracker as Rasa does but looks up each
event's class once per event type: Rasa walks every Event subclass for every event, an eighth
of its CPU per turn on the same conversations. It encodes and parses with ujson (a dependency
of Rasa and Sanic), 2.4x faster than `json` at encoding a tracker's events and 1.6x at parsing
them; the values are the same, written without spaces after separators and with "/" escaped.

Loaded by Rasa from nlu/endpoints.yml (`relevo rasa serve` puts this folder on PYTHONPATH);
runs in Rasa's environment (Python 3.10).
"""

from __future__ import annotations

import functools
from typing import Any

import ujson
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.conversation import Dialogue
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

EventDict = dict[str, Any]


@functools.cache
def event_class(type_name: str) -> type[Event] | None:
    """Rasa's `Event.resolve_by_type`, once per type name (None for an old `topic` event)."""
    return Event.resolve_by_type(type_name)


def events_from_dicts(dicts: list[EventDict]) -> list[Event]:
    """Rasa's `deserialise_events`: entries it cannot read are skipped, as Rasa does."""
    classes = ((event_class(d["event"]), d) for d in dicts if d.get("event"))
    events = (cls._from_parameters(d) for cls, d in classes if cls is not None)
    return [event for event in events if event is not None]


def merged_events(stored: list[str], current: list[str]) -> list[str] | None:
    """The stored events before `current`, then `current`; None if `current` does not resume them.

    Events are compared as their JSON texts. `current` resumes the stored events when it starts
    with the stored events from some index k on (k = 0: the whole tracker; k > 0: its last
    session).
    """
    for start, event in enumerate(stored):
        if event == current[0] and stored[start:] == current[: len(stored) - start]:
            return stored[:start] + current
    return None


EVENTS_OPEN = ', "events": [\n'
EVENT_SEPARATOR = ",\n"
EVENTS_CLOSE = "\n]}"


def serialised(name: str, event_texts: list[str]) -> str:
    """A tracker as Rasa's JSON with one event per line.

    JSON escapes every newline inside a string, so a raw newline only separates events.
    """
    events = EVENT_SEPARATOR.join(event_texts)
    return f'{{"name": {ujson.dumps(name)}{EVENTS_OPEN}{events}{EVENTS_CLOSE}'


def event_texts_of(stored: str) -> list[str]:
    """Each stored event's JSON text: split if this store wrote it, else parsed (Rasa wrote it)."""
    head, found, rest = stored.partition(EVENTS_OPEN)
    if found and "\n" not in head and rest.endswith(EVENTS_CLOSE):
        body = rest[: -len(EVENTS_CLOSE)]
        return body.split(EVENT_SEPARATOR) if body else []
    return [ujson.dumps(event) for event in ujson.loads(stored).get("events") or []]


def event_texts(tracker: DialogueStateTracker) -> list[str]:
    """The tracker's events as JSON texts, as Rasa serialises them."""
    return [ujson.dumps(event.as_dict()) for event in tracker.events]


class RelevoTrackerStore(RedisTrackerStore):
    """Rasa's RedisTrackerStore with a save that does not grow with the square of the events."""

    def __init__(self, *args: Any, record_exp: int | str | None = None, **kwargs: Any) -> None:
        expiry = int(float(record_exp)) if record_exp else None
        super().__init__(*args, record_exp=expiry, **kwargs)

    def deserialise_tracker(
        self, sender_id: str, serialised_tracker: str | bytes
    ) -> DialogueStateTracker:
        """The stored tracker, as Rasa's `deserialise_tracker` builds it."""
        parameters = ujson.loads(serialised_tracker)
        dialogue = Dialogue(
            parameters.get("name"), events_from_dicts(parameters.get("events") or [])
        )
        tracker = self.init_tracker(sender_id)
        tracker.recreate_from_dialogue(dialogue)
        return tracker

    async def save(self, tracker: DialogueStateTracker, timeout: float | None = None) -> None:
        """Store the tracker with the earlier sessions' events kept."""
        await self.stream_events(tracker)
        key = self.key_prefix + tracker.sender_id
        events = event_texts(tracker)
        stored = self.red.get(key)
        if stored is not None and events:
            merged = merged_events(event_texts_of(stored), events)
            if merged is None:  # not a continuation: Rasa's own merge
                prior = self.deserialise_tracker(tracker.sender_id, stored)
                merged = event_texts(self._merge_trackers(prior, tracker))
            events = merged
        self.red.set(key, serialised(tracker.sender_id, events), ex=timeout or self.record_exp)
