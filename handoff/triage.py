"""Triage of an escalation: its priority, its department and its SLA due times. Pure.

The action server calls `triage` when it opens a handoff: the routing file names the departments,
their calendars and SLA targets, the VIPs and the urgent words; `handoff.priority` turns the
signals into a score. Due times are counted in the department's business hours, so a question
asked on Friday night is due on Monday morning, and `opens_at` tells the customer when a person
will be there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from handoff.priority import Score, Signals, score
from handoff.requests import Reason
from handoff.routing import Department, Routing
from handoff.routing import Signals as RouteSignals


@dataclass(frozen=True)
class Escalation:
    """What is known of an escalation when it happens."""

    reason: Reason
    channel: str
    public: bool
    language: str
    customer_texts: Sequence[str]
    customer: Mapping[str, str]
    intent: str | None = None
    kb_departments: Sequence[str] = ()
    metrics: Mapping[str, int] | None = None


@dataclass(frozen=True)
class Triage:
    """The outcome: score and level, department, due times and the desk's next opening."""

    score: Score
    department: Department
    routing_reasons: tuple[str, ...]
    first_response_due: dt.datetime
    resolution_due: dt.datetime
    opens_at: dt.datetime | None  # None when a person is on shift now


def _followers(customer: Mapping[str, str]) -> int:
    try:
        return max(0, int(customer.get("followers") or 0))
    except ValueError:
        return 0


def _is_vip(routing: Routing, customer: Mapping[str, str], channel: str) -> bool:
    if customer.get("handle") and routing.is_vip(f"@{customer['handle'].lstrip('@')}"):
        return True
    return bool(customer.get("id")) and routing.is_vip(customer["id"], channel=channel)


def triage(routing: Routing, escalation: Escalation, now: dt.datetime) -> Triage:
    """Score, route and time one escalation."""
    joined = " ".join(escalation.customer_texts)
    points = score(
        Signals(
            reason=escalation.reason,
            public=escalation.public,
            customer_texts=tuple(escalation.customer_texts),
            followers=_followers(escalation.customer),
            metrics=escalation.metrics,
            vip=_is_vip(routing, escalation.customer, escalation.channel),
            urgent_keywords=tuple(routing.urgent_keywords(joined)),
        ),
        routing.influencer_followers,
    )
    decision = routing.route(
        RouteSignals(
            text=joined,
            language=escalation.language,
            intent=escalation.intent,
            kb_departments=tuple(escalation.kb_departments),
            hashtags=(),
        )
    )
    calendar = decision.department.calendar
    first, resolution = routing.sla_minutes(points.priority, escalation.channel)
    return Triage(
        score=points,
        department=decision.department,
        routing_reasons=tuple(decision.reasons),
        first_response_due=calendar.add(now, dt.timedelta(minutes=first)),
        resolution_due=calendar.add(now, dt.timedelta(minutes=resolution)),
        opens_at=None if calendar.is_open(now) else calendar.next_open(now),
    )
