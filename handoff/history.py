"""The customer's 360 history: their earlier conversations and handoffs, across channels.

A conversation names its customer's profile; profiles proven to be one person (they followed a
private link from a public reply) share a `relevo:person:<id>` set. The history of a handoff is
every conversation of every profile of that person, most recent first, each with its handoffs:
what the agent on the History button or the console's panel needs to see at a glance. Text is
redacted like everywhere else on the desk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis.asyncio as aioredis

from handoff.requests import HandoffRequest
from relevo import keys
from relevo.pii import redact
from relevo.redis_conn import text_of


@dataclass(frozen=True)
class PastHandoff:
    """One handoff of a conversation."""

    id: str
    state: str
    reason: str
    department: str
    created_at: str
    agent: str
    rating: str


@dataclass(frozen=True)
class PastConversation:
    """One conversation of the customer."""

    conversation_id: str
    channel: str
    profile: str
    started_at: str
    last_message_at: str
    messages: int
    last_customer_message: str
    handoffs: list[PastHandoff] = field(default_factory=list)


async def profiles_of(client: aioredis.Redis, profile_key: str) -> list[str]:
    """Every profile linked to this one (itself included)."""
    person = await client.hget(profile_key, "person")
    if not person:
        return [profile_key]
    members = await client.smembers(keys.person(text_of(person)))
    return sorted(text_of(m) for m in members) or [profile_key]


async def customer_history(
    client: aioredis.Redis, conversation_id: str, limit: int = 20
) -> list[PastConversation]:
    """The conversations of the person behind a conversation, most recent first."""
    profile = await client.hget(keys.conversation(conversation_id), "customer")
    if not profile:
        return []
    ranked: list[tuple[float, str, str]] = []
    for member in await profiles_of(client, text_of(profile)):
        listed = await client.zrange(keys.customer_conversations(member), 0, -1, withscores=True)
        ranked += [(float(at), text_of(conversation), member) for conversation, at in listed]
    ranked.sort(reverse=True)
    return [await _conversation(client, cid, member) for _, cid, member in ranked[:limit]]


async def _conversation(
    client: aioredis.Redis, conversation_id: str, profile: str
) -> PastConversation:
    meta = {
        text_of(k): text_of(v)
        for k, v in (await client.hgetall(keys.conversation(conversation_id))).items()
    }
    log = [
        {text_of(k): text_of(v) for k, v in entry.items()}
        for _, entry in await client.xrange(keys.conversation_log(conversation_id))
    ]
    messages = [fields for fields in log if fields.get("type") == "message"]
    said = [f["text"] for f in messages if f.get("author") == "customer" and f.get("text")]
    last_customer = redact(said[-1])[:200] if said else ""
    handoff_ids = [
        text_of(h) for h in await client.lrange(keys.conversation_handoffs(conversation_id), 0, -1)
    ]
    return PastConversation(
        conversation_id=conversation_id,
        channel=meta.get("channel", ""),
        profile=profile,
        started_at=meta.get("created_at", ""),
        last_message_at=meta.get("last_message_at", ""),
        messages=len(messages),
        last_customer_message=last_customer,
        handoffs=[
            h for h in [await _handoff(client, hid, conversation_id) for hid in handoff_ids] if h
        ],
    )


async def _handoff(
    client: aioredis.Redis, handoff_id: str, conversation_id: str
) -> PastHandoff | None:
    """The handoff, when it still belongs to the conversation.

    One that followed its customer from a public post into a private chat (`handoff.follow`)
    is listed under the private conversation only.
    """
    raw = {
        text_of(k): text_of(v) for k, v in (await client.hgetall(keys.handoff(handoff_id))).items()
    }
    if "record" not in raw:
        return None
    request = HandoffRequest.from_json(raw["record"])
    if request.conversation_id != conversation_id:
        return None
    return PastHandoff(
        id=handoff_id,
        state=raw.get("state", ""),
        reason=request.reason.value,
        department=request.department,
        created_at=request.created_at,
        agent=raw.get("owner_name", ""),
        rating=raw.get("rating", ""),
    )


def history_text(history: list[PastConversation], current: str) -> str:
    """The history as a Slack message (mrkdwn)."""
    others = [c for c in history if c.conversation_id != current]
    if not others:
        return "🕘 *History*: this is the customer's first conversation with us."
    channels = sorted({c.channel for c in others})
    lines = [f"🕘 *History*: {len(others)} earlier conversation(s) on {', '.join(channels)}"]
    for past in others:
        line = f"• {past.started_at[:10]} {past.channel}, {past.messages} messages"
        for handoff in past.handoffs:
            who = f" by {handoff.agent}" if handoff.agent else ""
            stars = f", rated {handoff.rating}/5" if handoff.rating else ""
            line += f"; handoff ({handoff.reason.replace('_', ' ')}) {handoff.state}{who}{stars}"
        if past.last_customer_message:
            line += f"\n   “{past.last_customer_message}”"
        lines.append(line)
    return "\n".join(lines)
