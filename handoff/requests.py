"""Handoff requests: the full context of an escalation, queued atomically in Redis.

`request_handoff` moves the conversation from the bot to the queue and records the request in
one Lua script, so a conversation is never queued twice and never queued without its record.
The Slack desk consumes the stream `relevo:handoff:requests`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum

import redis

from relevo import keys

FORMAT = 1


class Reason(StrEnum):
    """Why the assistant handed a conversation over."""

    ASKED_FOR_PERSON = "asked_for_person"
    LOW_CONFIDENCE = "low_confidence"
    NEGATIVE_FEEDBACK = "negative_feedback"
    COMPLAINT = "complaint"
    REPEATED_FAILURE = "repeated_failure"
    SENSITIVE_TOPIC = "sensitive_topic"  # the routing file sends the topic to people only
    PERSONAL_CASE = "personal_case"  # the customer's own booking or payment: a person must act


class Priority(StrEnum):
    """How soon a person must look, lowest first."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for urgent."""
        return list(Priority).index(self)


@dataclass(frozen=True)
class TranscriptLine:
    """One message of the conversation."""

    role: str
    text: str
    at: str
    tapped: bool = False  # the customer tapped a button: `text` is its title


def customer_said(transcript: list[TranscriptLine]) -> list[str]:
    """What the customer wrote, oldest first: their messages without the buttons they tapped."""
    return [line.text for line in transcript if line.role == "customer" and not line.tapped]


@dataclass(frozen=True)
class KbHitSummary:
    """A knowledge-base hit as the agent sees it."""

    article_id: str
    title: str
    score: float
    language: str
    department: str = ""


@dataclass(frozen=True)
class HandoffRequest:
    """Everything an agent needs to take over without asking the customer again."""

    conversation_id: str
    channel: str
    language: str
    reason: Reason
    priority: Priority
    transcript: list[TranscriptLine]
    hits: list[KbHitSummary]
    draft: str | None
    customer: dict[str, str] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    sla_due_at: str = ""
    resolution_due_at: str = ""
    score: int = 0
    priority_reasons: list[str] = field(default_factory=list)
    department: str = ""
    routing_reasons: list[str] = field(default_factory=list)
    opens_at: str = ""  # when the department's desk opens, if it was closed at the escalation
    overheard: str = ""  # the listening term a public post matched, when nobody wrote to the brand
    brand_post: str = ""  # the brand's post that the customer's public post replied to
    format: int = FORMAT

    def to_json(self) -> str:
        """Serialise with a format number."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> HandoffRequest:
        """Parse what `to_json` wrote."""
        data = json.loads(text)
        data["reason"] = Reason(data["reason"])
        data["priority"] = Priority(data["priority"])
        data["transcript"] = [TranscriptLine(**line) for line in data["transcript"]]
        data["hits"] = [KbHitSummary(**hit) for hit in data["hits"]]
        return cls(**data)


_QUEUE_SCRIPT = """
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= 'bot' and owner ~= 'closed' then
  return 0
end
redis.call('SET', KEYS[1], 'queued', 'KEEPTTL')
redis.call('HSET', KEYS[2], 'record', ARGV[1], 'state', 'queued', 'conversation', ARGV[3])
redis.call('SET', KEYS[4], ARGV[2])
redis.call('XADD', KEYS[3], '*', 'handoff_id', ARGV[2], 'conversation', ARGV[3])
redis.call('RPUSH', KEYS[5], ARGV[2])
redis.call('SET', KEYS[6], '1', 'EX', ARGV[5])
if tonumber(ARGV[4]) > 0 then
  for i = 1, 5 do if i ~= 3 then redis.call('EXPIRE', KEYS[i], ARGV[4]) end end
end
return 1
"""


def request_handoff(
    client: redis.Redis, request: HandoffRequest, retention_seconds: int = 0
) -> bool:
    """Queue the conversation for a person; False when a person already has it or it is queued.

    The customer has just been told a person will take over: that starts the stretch in which
    their next messages are not acknowledged again (`keys.WAITING_NOTICE_SECONDS`).

    The record expires after `retention_seconds` (0: kept); each new message extends it.
    """
    queued = client.eval(
        _QUEUE_SCRIPT,
        6,
        keys.conversation_owner(request.conversation_id),
        keys.handoff(request.id),
        keys.HANDOFF_REQUESTS,
        keys.conversation_handoff(request.conversation_id),
        keys.conversation_handoffs(request.conversation_id),
        keys.conversation_waiting_notice(request.conversation_id),
        request.to_json(),
        request.id,
        request.conversation_id,
        retention_seconds,
        keys.WAITING_NOTICE_SECONDS,
    )
    return bool(queued)


def current_handoff(client: redis.Redis, conversation_id: str) -> HandoffRequest | None:
    """The latest handoff request of a conversation, if any."""
    handoff_id = client.get(keys.conversation_handoff(conversation_id))
    if handoff_id is None:
        return None
    record = client.hget(keys.handoff(str(handoff_id)), "record")
    return HandoffRequest.from_json(str(record)) if record else None


def owner(client: redis.Redis, conversation_id: str) -> str:
    """Who owns the conversation: bot (the default), queued, agent:<user> or closed."""
    return str(client.get(keys.conversation_owner(conversation_id)) or "bot")
