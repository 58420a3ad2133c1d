"""Prometheus metrics of every stage, served by the gateway at `/metrics`.

Counters count what went through a stage and how it ended; histograms time it. The knowledge-base
search runs in the action server, which reports its time back in the reply's custom payload, so
the gateway observes it too and one scrape covers the whole way of a message.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

INBOUND = Counter(
    "relevo_inbound_messages_total",
    "Customer messages received, by channel and route (bot, relay, notice, rating, duplicate).",
    ["channel", "route"],
)
INBOUND_SECONDS = Histogram(
    "relevo_inbound_seconds", "Time to accept a customer message.", ["channel"], buckets=SECONDS
)
RASA_SECONDS = Histogram(
    "relevo_rasa_seconds", "Time Rasa took for one turn (actions included).", buckets=SECONDS
)
RASA_ERRORS = Counter("relevo_rasa_errors_total", "Turns Rasa failed (kept and retried).")
KB_SECONDS = Histogram(
    "relevo_kb_search_seconds", "Knowledge-base search time in the action server.", buckets=SECONDS
)
DECISIONS = Counter(
    "relevo_assistant_decisions_total",
    "What the assistant did with a message (answer, rephrase, handoff...).",
    ["decision"],
)
DELIVERY_SECONDS = Histogram(
    "relevo_delivery_seconds", "Time to deliver one outgoing message.", ["channel"], buckets=SECONDS
)
DELIVERIES = Counter(
    "relevo_deliveries_total",
    "Outgoing messages by channel and outcome (delivered, retried, dead).",
    ["channel", "outcome"],
)
HANDOFFS = Counter(
    "relevo_handoff_actions_total",
    "Handoff events: requested, claimed, returned, resolved, replied, upset (an angry message "
    "while queued), sla_warning, sla_breach.",
    ["action"],
)
HANDOFF_CARD_SECONDS = Histogram(
    "relevo_handoff_card_seconds",
    "From the escalation to its card in the desk.",
    buckets=SECONDS,
)
OPEN_HANDOFFS = Gauge("relevo_open_handoffs", "Handoffs waiting or with an agent.", ["state"])
