"""What the desk shows of a handoff, and what a desk adapter draws it with.

`HandoffView` is a handoff as it stands now (the request and its state), `DeskAdapter` the
protocol of Slack's and the console's adapters, and the few helpers every part of the desk uses
to read a handoff and to word it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from handoff.requests import HandoffRequest, Priority, TranscriptLine
from handoff.texts import text
from relevo import keys
from relevo.messages import Outgoing
from relevo.pii import redact
from relevo.redis_conn import text_of


@dataclass(frozen=True)
class HandoffView:
    """A handoff as the desk shows it: the request and where it stands now.

    A customer who writes soon after the resolution reopens the handoff, which starts a new
    cycle: from then on the claim, first response, SLA state and rating are the new cycle's
    (the reopening clears the last one's, which the events keep), and so are the targets, due
    from the reopening.
    """

    request: HandoffRequest
    state: str
    owner: str = ""
    owner_name: str = ""
    card_channel: str = ""
    card_ts: str = ""
    claimed_at: str = ""
    first_response_at: str = ""
    resolved_at: str = ""
    rating: str = ""
    notes: int = 0
    raised_priority: str = ""  # set by an SLA breach, or by anger while queued
    sla_state: str = ""  # "", warning, breached, resolution_warning, resolution_breached
    notices: tuple[str, ...] = ()  # incident notices related to the customer's question
    notice_ids: tuple[str, ...] = ()  # their announcements' ids, in order (none on old records)
    reopened_at: str = ""  # the customer wrote again after a resolution (bot.conversations)
    reopened_by: str = ""  # the message that reopened it
    last_owner: str = ""  # who had it when it was resolved, for a reopened handoff
    last_owner_name: str = ""
    cycle_sla_due_at: str = ""  # a reopened cycle's targets (handoff.relay); "" until set
    cycle_resolution_due_at: str = ""
    public: bool = False  # everyone reads the conversation (a public post, a group)
    merged_into: str = ""  # closed into the customer's open handoff in private (handoff.follow)

    @property
    def id(self) -> str:
        """The handoff id."""
        return self.request.id

    @property
    def priority(self) -> Priority:
        """The priority now: the request's, or higher after an SLA breach or an angry message."""
        return Priority(self.raised_priority) if self.raised_priority else self.request.priority

    @property
    def cycle_started_at(self) -> str:
        """When the current cycle began: the escalation, or the latest reopening."""
        return self.reopened_at or self.request.created_at

    @property
    def sla_due_at(self) -> str:
        """The current cycle's first-response due time ("" for none, or not yet set)."""
        return self.cycle_sla_due_at if self.reopened_at else self.request.sla_due_at

    @property
    def resolution_due_at(self) -> str:
        """The current cycle's resolution due time ("" for none, or not yet set)."""
        return self.cycle_resolution_due_at if self.reopened_at else self.request.resolution_due_at

    def handling_minutes(self) -> float | None:
        """From the escalation to the resolution."""
        if not self.resolved_at:
            return None
        start = dt.datetime.fromisoformat(self.request.created_at)
        return (dt.datetime.fromisoformat(self.resolved_at) - start).total_seconds() / 60


class AlertLevel(StrEnum):
    """How loud a desk alert is."""

    INFO = "info"  # the shift opened
    WARNING = "warning"  # a target is due soon
    BREACH = "breach"  # a target broke
    PRIORITY = "priority"  # the customer turned angry or urgent while waiting: priority went up
    REOPENED = "reopened"  # the customer wrote again after the resolution
    FEEDBACK = "feedback"  # a poor rating
    TAKEN_OVER = "taken_over"  # someone else resolved, returned or reassigned the owner's handoff
    MOVED = "moved"  # the customer continued in private: the handoff moved there (handoff.follow)


ALERT_ICONS = {
    AlertLevel.INFO: "🌅",
    AlertLevel.WARNING: "⚠️",
    AlertLevel.BREACH: "⏰",
    AlertLevel.PRIORITY: "📈",
    AlertLevel.REOPENED: "🔁",
    AlertLevel.FEEDBACK: "👎",
    AlertLevel.TAKEN_OVER: "👥",
    AlertLevel.MOVED: "➡️",
}
POOR_RATING = 2  # a rating this low or lower alerts the agent who handled it


class DeskAdapter(Protocol):
    """Where agents work."""

    async def post_card(self, view: HandoffView) -> tuple[str, str]:
        """Post a new card; returns where it is (channel, message id)."""
        ...

    async def update_card(self, view: HandoffView) -> None:
        """Redraw the card in place."""
        ...

    async def post_in_thread(self, view: HandoffView, body: str) -> None:
        """Add a message under the card (the customer's words, the transcript)."""
        ...

    async def post_invitation(
        self, view: HandoffView, *, agent: str, agent_name: str, body: str
    ) -> str:
        """Show that `agent` invited the customer to private (`body`: what the customer reads).

        Returns the line's reference on the desk, where the invitation's delivery is marked.
        """
        ...

    async def mark_delivery(self, receipt: str, ok: bool, reason: str) -> None:
        """Show on an agent's message whether it reached the customer."""
        ...

    async def alert(
        self,
        view: HandoffView,
        body: str,
        *,
        level: AlertLevel,
        mention: str | None = None,
        notify: str = "",
    ) -> None:
        """A warning from the desk itself (SLA, shifts, reopenings, ratings).

        A breach also alerts the whole desk and `mention`s the department's user group where
        the medium has one; `notify` is an agent (their desk id) to call by name there.
        """
        ...

    def when(self, iso: str, timezone: str) -> str:
        """A time for an alert, as the medium shows times best.

        On the agent's own clock where the medium knows it, else in `timezone` (the
        department's), named.
        """
        ...


async def load(client: aioredis.Redis, handoff_id: str) -> HandoffView | None:
    """A handoff by id, or None."""
    raw = await client.hgetall(keys.handoff(handoff_id))
    if not raw or "record" not in raw:
        return None
    fields = {text_of(k): text_of(v) for k, v in raw.items()}
    request = HandoffRequest.from_json(fields["record"])
    public = await client.hget(keys.conversation(request.conversation_id), "public")
    return HandoffView(
        request=request,
        state=fields.get("state", "queued"),
        owner=fields.get("owner", ""),
        owner_name=fields.get("owner_name", ""),
        card_channel=fields.get("card_channel", ""),
        card_ts=fields.get("card_ts", ""),
        claimed_at=fields.get("claimed_at", ""),
        first_response_at=fields.get("first_response_at", ""),
        resolved_at=fields.get("resolved_at", ""),
        rating=fields.get("rating", ""),
        notes=int(fields.get("notes", "0")),
        raised_priority=fields.get("priority", ""),
        sla_state=fields.get("sla_state", ""),
        notices=tuple(json.loads(fields.get("notices") or "[]")),
        notice_ids=tuple(json.loads(fields.get("notice_ids") or "[]")),
        reopened_at=fields.get("reopened_at", ""),
        reopened_by=fields.get("reopened_by", ""),
        last_owner=fields.get("last_owner", ""),
        last_owner_name=fields.get("last_owner_name", ""),
        cycle_sla_due_at=fields.get("cycle_sla_due_at", ""),
        cycle_resolution_due_at=fields.get("cycle_resolution_due_at", ""),
        public=request.channel == "social" or bool(public and text_of(public)),
        merged_into=fields.get("merged_into", ""),
    )


async def say_to_customer(
    client: aioredis.Redis,
    view: HandoffView,
    purpose: str,
    text_key: str,
    buttons: list[dict[str, str]] | None = None,
) -> None:
    """Queue one of the desk's own messages: once per handoff, cycle and purpose (the out id).

    A reopened handoff's resolution is told, and followed up, as the first one was.
    """
    cycle = f":{view.reopened_at}" if view.reopened_at else ""
    await client.xadd(
        keys.OUTBOX,
        Outgoing(
            out_id=f"desk:{view.id}:{purpose}{cycle}",
            conversation_id=view.request.conversation_id,
            author="bot",
            text=text(text_key, view.request.language),
            buttons=buttons or [],
            ends_turn=True,
        ).to_fields(),
    )


def agent_message(
    view: HandoffView, agent: str, body: str, receipt: str, *, invite_private: bool = False
) -> Outgoing:
    """An agent's message to the customer: keyed by its `receipt` on the desk (sent once)."""
    return Outgoing(
        out_id=f"desk:{receipt}",
        conversation_id=view.request.conversation_id,
        author="agent",
        agent=agent,
        text=body,
        receipt=receipt,
        invite_private=invite_private,
    )


def local_time(iso: str, timezone: str) -> str:
    """A stored time on a desk that has no clock of its own: in `timezone`, with its name.

    "2026-11-28 11:35 Europe/Madrid": the department's wall clock, which its shifts and the
    customers' notices use, not UTC.
    """
    at = dt.datetime.fromisoformat(iso)
    local = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d %H:%M} {timezone}"


def cut(body: str, limit: int | None) -> str:
    """`text` in at most `limit` characters, with an ellipsis when it was cut."""
    if limit is None or len(body) <= limit:
        return body
    return body[: limit - 1].rstrip() + "…"


def transcript_line(line: TranscriptLine, limit: int | None = None) -> str:
    """One message as the desk shows it: who, then what (a tapped button in brackets)."""
    icon = {"customer": "👤", "bot": "🤖"}.get(line.role, "•")
    said = cut(redact(line.text), limit)
    return f"{icon} [{said}]" if line.tapped else f"{icon} {said}"


def transcript_text(request: HandoffRequest) -> str:
    """The conversation so far, one line per message, for the card's thread."""
    return "\n".join(transcript_line(line) for line in request.transcript)
