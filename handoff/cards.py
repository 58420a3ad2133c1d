"""The escalation card in Slack's Block Kit, built as data from a handoff. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handoff.desk_view import HandoffView, cut, transcript_line
from handoff.requests import TranscriptLine, customer_said
from handoff.sentiment import sentiment
from handoff.slack_text import slack_date, slack_escaped
from relevo.pii import contains_personal_data, redact

REASONS = {
    "asked_for_person": "asked for a person",
    "low_confidence": "the assistant was not sure",
    "negative_feedback": "the answer did not help",
    "complaint": "complaint",
    "repeated_failure": "two answers failed",
    "sensitive_topic": "a topic for people only",
    "personal_case": "their own booking or payment: a person must act",
}
PRIORITIES = {"urgent": "🚨 urgent", "high": "🔴 high", "normal": "🟡 normal", "low": "⚪ low"}
SLA_STATES = {
    "warning": "⚠️ due soon",
    "breached": "⏰ overdue",
    "resolution_warning": "⚠️ resolution due soon",
    "resolution_breached": "⏰ resolution overdue",
}
STATES = {
    "queued": "⏳ waiting for an agent",
    "agent": "🙋 with {owner}",
    "returned": "🤖 back with the assistant",
    "closed": "✅ resolved",
}
CHANNELS = {"telegram": "Telegram", "webchat": "web chat", "social": "public post"}


def _customer(view: HandoffView) -> str:
    customer = view.request.customer
    who = customer.get("name") or customer.get("handle") or customer.get("id", "customer")
    parts = [f"*{slack_escaped(who)}*"]  # a name is the customer's words, as their messages
    if customer.get("handle"):
        parts.append(f"@{slack_escaped(customer['handle'])}")
    parts.append(CHANNELS.get(view.request.channel, view.request.channel))
    if customer.get("followers"):
        parts.append(f"{int(customer['followers']):,} followers")
    return " · ".join(parts)


def _mood(view: HandoffView) -> str:
    mood = sentiment(customer_said(view.request.transcript))
    icon = {"negative": "😠", "positive": "🙂"}.get(mood.label, "😐")
    because = f" ({', '.join(mood.reasons)})" if mood.reasons else ""
    return f"{icon} {mood.label}{because}"


def card_text(view: HandoffView) -> str:
    """The notification text (and what screen readers say)."""
    reason = REASONS.get(view.request.reason.value, view.request.reason.value)
    return f"Handoff ({view.priority.value}): {reason}. {_customer(view)}"


def department_name(key: str, names: Mapping[str, str] | None = None) -> str:
    """The routing file's name of a department, else its key made readable.

    `special-assistance` -> `Special assistance` (a key the routing file no longer names).
    """
    return (names or {}).get(key) or key.replace("-", " ").capitalize()


def state_text(view: HandoffView) -> str:
    """Where the handoff stands; a reopened one says who had it."""
    if view.merged_into:
        return "🔗 closed into the customer's open handoff in private"
    state = STATES.get(view.state, view.state).format(owner=view.owner_name or view.owner)
    if view.state == "queued" and view.reopened_at:
        had = view.last_owner_name or view.last_owner
        state += f"\n🔁 reopened by the customer{f'; {had} had it' if had else ''}"
    return state


def sla_text(view: HandoffView) -> str:
    """The current cycle's first-response due time and where it stands."""
    if not view.sla_due_at:
        return "—"
    due = slack_date(view.sla_due_at)
    if view.first_response_at:
        met = view.first_response_at <= view.sla_due_at
        return f"{due} · {'✅ met' if met else '☑️ answered late'}"
    return f"{due} · {SLA_STATES.get(view.sla_state, '🟢 on time')}"


def has_personal_data(view: HandoffView) -> bool:
    """Whether the card itself hides something (the thread may hide more, later)."""
    return any(contains_personal_data(line.text) for line in view.request.transcript)


def card_blocks(view: HandoffView) -> list[dict[str, Any]]:
    """The whole card: who, why, priority, SLA, state, last messages, KB hits, draft, buttons."""
    request = view.request
    reason = REASONS.get(request.reason.value, request.reason.value)
    priority = f"{PRIORITIES[view.priority.value]} · score {request.score}"
    department = department_name(request.department) or "—"
    state = state_text(view)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Handoff: {reason}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _customer(view)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Priority*\n{priority}"},
                {"type": "mrkdwn", "text": f"*State*\n{state}"},
                {"type": "mrkdwn", "text": f"*First response due*\n{sla_text(view)}"},
                {"type": "mrkdwn", "text": f"*Department*\n{department}"},
                {"type": "mrkdwn", "text": f"*Language*\n{request.language}"},
                {"type": "mrkdwn", "text": f"*Sentiment*\n{_mood(view)}"},
            ],
        },
    ]
    why = [*request.priority_reasons, *request.routing_reasons]
    if request.opens_at:
        why.append(f"🌙 arrived out of hours; the shift opens {slack_date(request.opens_at)}")
    if why:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(why)}]}
        )
    for notice in view.notices:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"📣 *Notice*: {notice}"}}
        )
    if view.reopened_by:  # the transcript is the first cycle's: what the customer wrote since
        said = slack_escaped(
            transcript_line(TranscriptLine("customer", view.reopened_by, ""), limit=300)
        )
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Reopened with*\n{said}"}}
        )
    if request.brand_post:  # "how much is it?" says nothing without the post it answers
        post = slack_escaped(cut(request.brand_post, 300).replace("\n", " "))
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*In reply to our post*\n>{post}"},
            }
        )
    last = request.transcript[-4:]
    if last:
        lines = "\n".join(slack_escaped(transcript_line(line, limit=300)) for line in last)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Last messages*\n{lines}"}}
        )
    if request.hits:
        hits = "\n".join(
            f"• {slack_escaped(hit.title)} ({hit.language}) — score {hit.score:.2f}"
            for hit in request.hits[:3]
        )
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Knowledge base*\n{hits}"}}
        )
    if request.draft:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*The assistant's draft*\n>"
                    + slack_escaped(cut(redact(request.draft), 600)),
                },
            }
        )
    context = []
    if request.customer.get("url"):
        url = slack_escaped(request.customer["url"]).replace("|", "%7C")  # ends no token early
        context.append(f"<{url}|original post>")
    if request.overheard:
        context.append(f"overheard: the post matched “{request.overheard}”, nobody wrote to us")
    if view.first_response_at:
        context.append(f"first response {slack_date(view.first_response_at)}")
    if view.notes:
        context.append(f"📝 {view.notes} internal note(s) in the thread")
    minutes = view.handling_minutes() if view.state == "closed" else None
    if minutes is not None:
        context.append(f"handled in {minutes:.0f} min")
    if view.rating:
        context.append(f"rated {view.rating}/5 ⭐")
    context.append(
        "replies in the thread reach the customer; start with `note:` to keep one internal"
    )
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
    )
    if view.state in ("queued", "agent"):
        blocks.append(_actions(view))
    blocks.append(_lookups(view))
    return blocks


def _lookups(view: HandoffView) -> dict[str, Any]:
    """History (any time) and, while the handoff is open, Reveal (what redaction hid)."""
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": "history",
            "value": view.id,
            "text": {"type": "plain_text", "text": "History"},
        }
    ]
    if view.state in ("queued", "agent"):
        elements.append(
            {
                "type": "button",
                "action_id": "reveal",
                "value": view.id,
                "text": {"type": "plain_text", "text": "Reveal personal data"},
                "confirm": _confirm(
                    "Reveal personal data?", "Only you will see it, and the reveal is logged."
                ),
            }
        )
    return {"type": "actions", "block_id": f"lookup:{view.id}", "elements": elements}


def _confirm(title: str, body: str) -> dict[str, Any]:
    """A confirmation dialog whose button repeats the title's verb."""
    plain = {"type": "plain_text"}
    return {
        "title": {**plain, "text": title},
        "text": {**plain, "text": body},
        "confirm": {**plain, "text": title.split()[0]},
        "deny": {**plain, "text": "Cancel"},
    }


def _owner_told(view: HandoffView) -> str:
    """For a confirmation: whose handoff it is (anyone may act; the owner is told)."""
    if view.state != "agent":
        return ""
    return f" {view.owner_name or view.owner} has it and will be told if it is not you."


def _actions(view: HandoffView) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    if view.state == "queued":
        elements.append(
            {
                "type": "button",
                "action_id": "claim",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Claim"},
                "value": view.id,
            }
        )
    elements.append(
        {
            "type": "users_select",
            "action_id": "reassign",
            "placeholder": {"type": "plain_text", "text": "Reassign to…"},
        }
    )
    if view.public:
        elements.append(_invite(view))
    elements += [
        {
            "type": "button",
            "action_id": "return",
            "value": view.id,
            "text": {"type": "plain_text", "text": "Return to bot"},
            "confirm": _confirm(
                "Return to the assistant?",
                "The assistant answers the customer's next message." + _owner_told(view),
            ),
        },
        {
            "type": "button",
            "action_id": "resolve",
            "style": "danger",
            "value": view.id,
            "text": {"type": "plain_text", "text": "Resolve"},
            "confirm": _confirm(
                "Resolve this handoff?",
                "The customer is thanked and asked for a rating." + _owner_told(view),
            ),
        },
    ]
    return {"type": "actions", "block_id": f"handoff:{view.id}", "elements": elements}


def _invite(view: HandoffView) -> dict[str, Any]:
    """Invite to private: for a public conversation, where personal data must not be asked."""
    return {
        "type": "button",
        "action_id": "invite_private",
        "value": view.id,
        "text": {"type": "plain_text", "text": "Invite to private"},
        "confirm": _confirm(
            "Invite to private?",
            "A short invitation with the links to a private chat is posted on the public "
            "thread, as you. When the customer follows it, this handoff moves there.",
        ),
    }
