"""A turn of the assistant, pure: the customer message it reads and what it sends back.

`AssistantMessage` is what the inbound pipeline hands the assistant worker (`bot.assistant`);
`outgoing_for_turn` turns Rasa's replies into the messages and events for the customer, and
`turn_summary` reads the turn's decision for the metrics and logs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from bot.rasa_client import BotReply
from relevo.messages import Outgoing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssistantMessage:
    """What the assistant needs of a customer message.

    `returned_handoff`: the handoff a person had just handed back to the assistant when the
    message was accepted (the accept script adds it), which Rasa's tracker learns.
    """

    message_id: str
    conversation_id: str
    text: str
    metadata: dict[str, Any]
    returned_handoff: str | None = None
    log_id: str = ""  # the message's entry in the conversation log

    def to_fields(self) -> dict[str, str]:
        """For the `relevo:inbound` stream."""
        return {
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "text": self.text,
            "metadata": json.dumps(self.metadata, ensure_ascii=False),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> AssistantMessage:
        """From a `relevo:inbound` entry."""
        return cls(
            message_id=fields["message_id"],
            conversation_id=fields["conversation_id"],
            text=fields["text"],
            metadata=json.loads(fields.get("metadata") or "{}"),
            returned_handoff=fields.get("returned_handoff") or None,
            log_id=fields.get("log_id") or fields["message_id"],  # older entries had none
        )

    def desk_fields(self) -> dict[str, str]:
        """The message as the desk reads a customer's words relayed to it."""
        fields = {"type": "message", "author": "customer", "kind": "text", "text": self.text}
        if self.metadata.get("display"):
            fields["display"] = str(self.metadata["display"])
        return fields


# What is worth saying in public to a post the brand only overheard: an answer, a person (a
# complaint, a request), the move to private (personal data shown), an incident. Not offered
# articles: on a public post they are one link to the likeliest, a guess, and "Loving my flight
# with #BrisaAir" got the missed-connection article under it (QA s24).
WORTH_SAYING = frozenset({"answer", "handoff", "private", "notice"})


def worth_saying(replies: list[BotReply]) -> bool:
    """Whether a turn has something useful to say (`WORTH_SAYING`)."""
    return any((r.custom.get("relevo") or {}).get("decision") in WORTH_SAYING for r in replies)


def outgoing_for_turn(message: AssistantMessage, replies: list[BotReply]) -> list[Outgoing]:
    """The messages and events a turn of the assistant sends to the customer.

    Rasa's REST channel returns a message's custom data as its own element after the text:
    `private` marks the text before it for an invitation to a private channel, `pause` marks it
    as the answer to "hold on" (the question before still stands), and `handoff`
    adds a `queued` event to the conversation. The last one ends the turn (the typing
    indicator goes off). A post the brand only overheard (a hashtag or keyword it listens
    for) gets nothing unless the turn is `worth_saying`: listening detects and prioritises, and
    a canned "I can't answer that" under someone's happy post is read by everyone. The post
    stays in the log and the turn is counted.
    """
    if message.metadata.get("overheard") and not worth_saying(replies):
        log.info(
            "overheard post: nothing useful to say, no public reply",
            extra={
                "conversation": message.conversation_id,
                "message_id": message.message_id,
                "decision": turn_summary(replies).decision,
            },
        )
        return []
    out: list[Outgoing] = []
    queued = False
    for index, reply in enumerate(replies):
        relevo = reply.custom.get("relevo") or {}
        decision = relevo.get("decision")
        if decision == "private" and out and not out[-1].event:
            out[-1] = replace(out[-1], invite_private=True)
        if relevo.get("pause") and out and not out[-1].event:
            out[-1] = replace(out[-1], pause=True)
        queued = queued or decision == "handoff"
        if reply.text:
            buttons = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in reply.buttons
            ]
            out.append(
                Outgoing(
                    out_id=f"{message.message_id}:{index}",
                    conversation_id=message.conversation_id,
                    author="bot",
                    text=reply.text,
                    buttons=buttons,
                )
            )
    if message.metadata.get("public"):
        out = _one_post(out)
    if queued:
        out.append(
            Outgoing(
                out_id=f"{message.message_id}:queued",
                conversation_id=message.conversation_id,
                author="system",
                text="",
                event="queued",
            )
        )
    if out:
        out[-1] = replace(out[-1], ends_turn=True)
    return out


def _one_post(messages: list[Outgoing]) -> list[Outgoing]:
    """A turn's messages on a public post as one reply, in order.

    Each reply is a post everyone reads, and several in a row read as a flood; the sender splits
    the one reply to the platform's length. Buttons are dropped: a public post has none.
    """
    if len(messages) < 2:
        return messages
    return [
        replace(
            messages[0],
            text="\n".join(m.text for m in messages),
            buttons=[],
            invite_private=any(m.invite_private for m in messages),
        )
    ]


DECISION_ORDER = ("handoff", "answer", "private", "notice", "suggest", "rephrase", "decline")


@dataclass(frozen=True)
class TurnSummary:
    """What the assistant did in one turn, from the actions' payloads."""

    decision: str  # handoff, answer, private, notice, suggest, rephrase, decline or other
    article: str | None
    department: str | None
    kb_ms: float | None


def turn_summary(replies: list[BotReply]) -> TurnSummary:
    """The turn's main decision (a handoff outweighs an answer), its article and search time."""
    payloads = [r.custom.get("relevo") or {} for r in replies]
    decisions = {p.get("decision") for p in payloads}
    decision = next((d for d in DECISION_ORDER if d in decisions), "other")
    found = next((p for p in payloads if p.get("article_id")), {})
    timed = [float(p["kb_ms"]) for p in payloads if p.get("kb_ms") is not None]
    return TurnSummary(
        decision=decision,
        article=found.get("article_id"),
        department=found.get("department"),
        kb_ms=timed[0] if timed else None,
    )
