"""The operations event stream: one append-only record of what happened, the source of every KPI.

Each stage appends a small event to `relevo:events` (a Redis stream): a customer message was
accepted, the assistant answered or handed over, an agent claimed or replied, a handoff was
resolved and rated, an SLA broke, a message was delivered or given up. Events carry ids,
channels, languages, departments, counts and timings, never the customer's words (only the
hashtags and a few keywords, for trends), so reports and dashboards hold no personal data.
`relevo report` and the dashboard compute every figure from these events alone.

Every event has `type` and `at` (ISO 8601, UTC). The other fields, all strings, by type:

- `message_in`: conversation, channel, language, public ("1"/""), customer, followers,
  hashtags, keywords (space-separated, folded)
- `bot_reply`: conversation, channel, language, decision (answer, suggest, rephrase, decline,
  notice, private, handoff, other), article, department, latency_ms
- `feedback`: conversation, channel, helpful ("1"/"")
- `handoff`: conversation, handoff, channel, language, reason, priority, score, department,
  followers
- `claimed`, `returned`: handoff, conversation, agent
- `agent_reply`: handoff, conversation, channel, agent, first ("1" for the first reply)
- `resolved`: handoff, conversation, channel, agent
- `rating`: handoff, conversation, channel, rating (1-5)
- `sla_warning`, `sla_breach`: handoff, conversation, target (first_response, resolution)
- `delivered`, `delivery_failed`: conversation, channel, author (bot, agent, system)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from enum import StrEnum

import redis
import redis.asyncio as aioredis

from relevo import keys
from relevo.redis_conn import text_of

log = logging.getLogger(__name__)

MAXLEN = 2_000_000  # about a year of a busy desk; trimmed approximately, oldest first


class EventType(StrEnum):
    """What happened."""

    MESSAGE_IN = "message_in"
    BOT_REPLY = "bot_reply"
    FEEDBACK = "feedback"
    HANDOFF = "handoff"
    CLAIMED = "claimed"
    AGENT_REPLY = "agent_reply"
    RETURNED = "returned"
    RESOLVED = "resolved"
    MERGED = "merged"  # closed into the customer's open handoff in private (handoff.follow)
    RATING = "rating"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"


def event_fields(
    kind: EventType, at: dt.datetime | None = None, **fields: object
) -> dict[str, str]:
    """An event as stream fields: strings only, empty values dropped."""
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    body = {"type": kind.value, "at": moment.isoformat(timespec="milliseconds")}
    body.update({k: str(v) for k, v in fields.items() if v is not None and v != ""})
    return body


async def emit(
    client: aioredis.Redis, kind: EventType, at: dt.datetime | None = None, **fields: object
) -> None:
    """Append an event; a failure is logged, never raised (figures must not stop the service)."""
    try:
        await client.xadd(
            keys.EVENTS, event_fields(kind, at, **fields), maxlen=MAXLEN, approximate=True
        )
    except redis.RedisError as exc:
        log.warning("event not recorded", extra={"event": kind.value, "error": repr(exc)})


def emit_sync(
    client: redis.Redis, kind: EventType, at: dt.datetime | None = None, **fields: object
) -> None:
    """`emit` for synchronous callers (the action server)."""
    try:
        client.xadd(keys.EVENTS, event_fields(kind, at, **fields), maxlen=MAXLEN, approximate=True)
    except redis.RedisError as exc:
        log.warning("event not recorded", extra={"event": kind.value, "error": repr(exc)})


def parse(fields: Mapping[object, object]) -> dict[str, str]:
    """A stream entry's fields as text."""
    return {text_of(k): text_of(v) for k, v in fields.items()}
