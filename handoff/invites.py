"""The agent's invitation to continue a public conversation in private. Pure.

On a public post or a group, everyone reads the agent's replies, so the desk refuses one with a
booking code or an e-mail in it. The agent moves the customer instead: a short message in the
customer's language, from the agent, to which the delivery worker adds the links that open a
private chat (`bot.invitations`); when the customer follows one, the handoff follows them
(`handoff.follow`). It goes once per handoff cycle, however often the agent clicks or Slack
retries, and only from the agent who could reply (`Desk.invite`).
"""

from __future__ import annotations

from handoff.desk_view import HandoffView, agent_message
from handoff.replies import ReplyOutcome, not_open
from handoff.texts import text
from relevo.messages import Outgoing

INVITE_HINTS = {
    ReplyOutcome.DUPLICATE: "The invitation is already on the public thread: it goes once. When "
    "the customer follows it, this thread says so and your replies go to the private chat.",
    ReplyOutcome.NOT_PUBLIC: "Nothing was sent: this conversation is private already, nobody else "
    "reads it. Reply here as usual.",
    ReplyOutcome.NOT_OWNER: "Nothing was sent: only the agent who owns the handoff invites the "
    "customer, so claim it first if it is waiting, or ask its owner to do it.",
    ReplyOutcome.RETURNED: "Nothing was sent: the conversation is back with the assistant. If the "
    "customer asks for a person again, a new handoff comes in.",
    ReplyOutcome.CLOSED: "Nothing was sent: the handoff was resolved. If the customer writes again "
    "soon, it opens here again, ready to claim.",
}
"""What an agent is told when the invitation did not go (or had gone already), by outcome."""


def invite_hint(outcome: ReplyOutcome) -> str | None:
    """What to tell the agent about an invitation's `outcome`; None when it went."""
    return INVITE_HINTS.get(outcome)


def invite_refusal(view: HandoffView | None) -> ReplyOutcome | None:
    """Why no invitation can go, whoever asks: the handoff is not open, or not public."""
    stopped = not_open(view.state if view else "")
    if stopped is not None or view is None:
        return stopped or ReplyOutcome.CLOSED
    return None if view.public else ReplyOutcome.NOT_PUBLIC


def invite_once(view: HandoffView) -> str:
    """The invitation's key on the desk: one per handoff and cycle (a reopening may invite)."""
    return f"invite:{view.id}:{view.cycle_started_at}"


def invitation_text(view: HandoffView) -> str:
    """The invitation as the customer reads it, in their language, before its links."""
    return text("invite_private", view.request.language)


def invitation(view: HandoffView, agent_name: str, receipt: str) -> Outgoing:
    """The agent's invitation on the public thread; the delivery worker adds the links."""
    return agent_message(view, agent_name, invitation_text(view), receipt, invite_private=True)


def invited_line(agent_name: str) -> str:
    """The desk's line under the card: who invited, and what happens next."""
    return (
        f"🔒 {agent_name} invited the customer to continue in private: the invitation and its "
        "links are on the public thread. When they follow it, this handoff moves there with them."
    )
