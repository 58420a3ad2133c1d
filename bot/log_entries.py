"""The entries of a conversation's log: a customer's message, a delivered message, an event.

Both the accept script (customer messages) and the delivery (the bot's, a person's and the
events) write them; the web chat's history, the desk's transcript and the reports read them.
"""

from __future__ import annotations

import datetime as dt
import json

from bot.gestures import Gesture
from bot.inbound import Inbound, Kind
from relevo.events import EventType, event_fields
from relevo.messages import Outgoing

DESK_NAMES = {"voice": "voice message", "document": "file"}
"""How the desk names an attachment kind (`Inbound.route["attachment"]`), when not by the kind."""
EDITED_MARK = "[edited]"
"""What the desk shows before the new text of an edited message."""


def now_iso() -> str:
    """The current time, for logs and records."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def customer_log_fields(
    inbound: Inbound, client_id: str | None, gesture: Gesture = Gesture.TYPED
) -> dict[str, str]:
    """The log entry of a customer message (a channel command is marked so for the desk)."""
    fields = {
        "type": "message",
        "author": "customer",
        "kind": inbound.kind.value,
        "text": inbound.text,
        "message_id": inbound.message_id,
        "time": inbound.received_at.isoformat(timespec="milliseconds"),
    }
    display = inbound.display or attachment_display(inbound)
    if inbound.kind is Kind.EDIT:
        display = f"{EDITED_MARK} {display or inbound.text}"
    if display:
        fields["display"] = display
    if client_id:
        fields["client_id"] = client_id
    if gesture is Gesture.COMMAND:
        fields["gesture"] = gesture.value
    return fields


def attachment_display(inbound: Inbound) -> str | None:
    """What the desk shows of a message with an attachment: "[photo]", then the caption.

    Only the text travels, so without it a photo reads as an empty bubble, its caption as
    plain text. None for a message without an attachment.
    """
    what = inbound.route.get("attachment")
    if not what:
        return None
    mark = f"[{DESK_NAMES.get(what, what)}]"
    return f"{mark} {inbound.text}" if inbound.text else mark


def outgoing_log_fields(message: Outgoing) -> dict[str, str]:
    """The log entry of a delivered message or an event."""
    if message.event:
        fields = {"type": "event", "event": message.event, "time": now_iso()}
    else:
        fields = {
            "type": "message",
            "author": message.author,
            "text": message.text,
            "buttons": json.dumps(message.buttons, ensure_ascii=False),
            "time": now_iso(),
        }
    if message.agent:
        fields["agent"] = message.agent
    if message.ends_turn:
        fields["ends_turn"] = "1"
    if message.pause:
        fields["pause"] = "1"
    fields["out_id"] = message.out_id
    return fields


def delivered_event(message: Outgoing, channel: str) -> dict[str, str]:
    """The `delivered` event of a message that reached the customer (events get none)."""
    return event_fields(
        EventType.DELIVERED,
        conversation=message.conversation_id,
        channel=channel,
        author=message.author,
    )
