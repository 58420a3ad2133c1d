"""The acknowledgement of a customer who writes while waiting for a person.

Once a conversation is queued for a person, the customer's messages go to the desk and the
assistant says nothing; without a word back, "hello? is anyone there?" at night goes unanswered
until the shift opens. The accept script grants one acknowledgement per silent stretch
(`keys.WAITING_NOTICE_SECONDS`, see `ConversationStore.accept`); this module words it: the
message is with the team and, when the handoff's department is off shift, when a person will
answer, in the same words and from the same routing calendar as the action server's off-shift
notice at the handoff. An agent who answered the conversation within `AGENT_AROUND` is at the
desk whatever the calendar says: a customer who writes again right after (a reopening) is not
told the team is off shift.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Any

from actions.texts import off_shift_notice
from bot.conversations import Waiting
from bot.gaps import asks_for_a_person
from bot.inbound import Inbound
from bot.texts import text
from handoff.routing import Routing
from kb_index.text import fold
from relevo.messages import Outgoing
from relevo.settings import Settings

AGENT_AROUND = dt.timedelta(minutes=30)
_ANYONE_THERE = re.compile(
    r"\b(?:(?:are|r) )?(?:you|u) (?:still )?there\b|\bany ?(?:one|body) (?:there|here|around)\b"
    r"|\b(?:estas|estais|esta|sigues|seguis) ahi\b|\bhay alguien\b|\bme (?:oyes|lees)\b"
    r"|\bhola+ *\?{2,}|\bhello+ *\?{2,}"
)


def asks_if_anyone_is_there(said: str) -> bool:
    """Whether a waiting customer asks if anyone is there, or for the person they wait for.

    "¿hay alguien?", "you there??", "quiero hablar con una persona". Such a message is
    acknowledged once the last acknowledgement is 20 seconds old
    (`keys.PRESENCE_NOTICE_SECONDS`), not ten minutes: silence is the answer it fears.
    """
    return _ANYONE_THERE.search(fold(said)) is not None or asks_for_a_person(said)


def waiting_notice(
    inbound: Inbound,
    waiting: Waiting,
    routing: Routing,
    settings: Settings,
    *,
    said: Iterable[str] = (),
) -> Outgoing:
    """The acknowledgement of `inbound`, in the conversation's language.

    The language is the conversation's, else the handoff's, else the default; the desk's
    opening is the calendar's of the handoff's department at the time of the message, so a
    conversation reopened at night is told when the shift opens even if it was handed over
    during the day, unless an agent answered it within `AGENT_AROUND`. With `said` (what the
    bot told the conversation), an off-shift notice the customer already read in full shrinks
    to one line.
    """
    record = _record(waiting.handoff_record)
    language = waiting.language or str(record.get("language") or settings.default_language)
    calendar = routing.department(str(record.get("department") or "")).calendar
    now = inbound.received_at
    if calendar.is_open(now) or _agent_around(waiting.agent_replied_at, now):
        body = text("waiting_for_person", language)
    else:
        customer = record.get("customer") or {}
        zone = inbound.customer.timezone or customer.get("timezone") or calendar.timezone
        opens_at = calendar.next_open(now)
        body = off_shift_notice(opens_at, language, zone, now, settings, said=said)
    return inbound.answer("waiting", body)


def _record(raw: str) -> dict[str, Any]:
    """A handoff record's fields ({} without one)."""
    return dict(json.loads(raw)) if raw else {}


def _agent_around(replied_at: str, now: dt.datetime) -> bool:
    """Whether an agent answered the conversation within `AGENT_AROUND` of `now`."""
    return bool(replied_at) and now - dt.datetime.fromisoformat(replied_at) < AGENT_AROUND
