"""The agent's invitation to private: when it may go, what the customer reads, the card's button.
Pure."""

from __future__ import annotations

from typing import Any

import pytest

from bot.invitations import with_invitation
from handoff.cards import card_blocks
from handoff.desk_view import HandoffView
from handoff.invites import invitation, invite_hint, invite_once, invite_refusal
from handoff.replies import ReplyOutcome
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine
from relevo.messages import mention
from relevo.settings import Settings


def view(
    state: str = "agent", *, public: bool = True, language: str = "es", **extra: Any
) -> HandoffView:
    request = HandoffRequest(
        conversation_id="social:x:t1:u1",
        channel="social" if public else "webchat",
        language=language,
        reason=Reason.PERSONAL_CASE,
        priority=Priority.NORMAL,
        transcript=[TranscriptLine("customer", "@brisaair mi reembolso no llega", "")],
        hits=[],
        draft=None,
        customer={"id": "u1", "handle": "marta_viaja"},
        id="h1",
        created_at="2026-01-01T09:00:00+00:00",
    )
    return HandoffView(request=request, state=state, public=public, owner="U1", **extra)


@pytest.mark.parametrize(
    ("handoff", "refused"),
    [
        (view("agent"), None),
        (view("queued"), None),  # its owner is decided by the desk, as for a reply
        (view("agent", public=False), ReplyOutcome.NOT_PUBLIC),
        (view("returned"), ReplyOutcome.RETURNED),
        (view("returned", public=False), ReplyOutcome.RETURNED),
        (view("closed"), ReplyOutcome.CLOSED),
        (None, ReplyOutcome.CLOSED),
    ],
)
def test_an_invitation_goes_only_from_an_open_public_handoff(
    handoff: HandoffView | None, refused: ReplyOutcome | None
) -> None:
    assert invite_refusal(handoff) is refused
    assert (invite_hint(refused) is None) is (refused is None)


def test_the_invitation_is_the_agents_in_the_customers_language_and_asks_for_the_links() -> None:
    sent = invitation(view(), "Laura", "slack:C1:1.000100:1.000200")
    assert (sent.author, sent.agent, sent.invite_private) == ("agent", "Laura", True)
    assert sent.receipt == "slack:C1:1.000100:1.000200"
    assert sent.out_id == "desk:slack:C1:1.000100:1.000200"
    assert sent.conversation_id == "social:x:t1:u1"
    assert sent.text.startswith("Sigamos por privado")
    assert invitation(view(language="en"), "Laura", "r").text.startswith("Let's continue")
    assert invitation(view(language="fr"), "Laura", "r").text.startswith("Let's continue")


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_invitation_with_its_link_fits_one_public_reply(language: str) -> None:
    """The link is added on delivery: the whole post must still be one reply, not two."""
    body = invitation(view(language=language), "Laura", "r").text
    link = "https://t.me/BrisaAirAssistantBot?start=" + "x" * 16
    posted = mention("a" * 15) + with_invitation(body, (link,))
    assert len(posted) <= Settings().public_reply_chars
    assert posted.endswith(link) and ("Sigue en privado" in posted) is (language == "es")


def test_each_cycle_of_a_handoff_invites_once() -> None:
    first = invite_once(view())
    assert first == invite_once(view(owner_name="Laura"))
    assert first != invite_once(view(reopened_at="2026-01-02T10:00:00+00:00"))


def _buttons(handoff: HandoffView) -> dict[str, dict[str, Any]]:
    return {
        element["action_id"]: element
        for block in card_blocks(handoff)
        if block["type"] == "actions"
        for element in block["elements"]
    }


def test_the_card_offers_the_invitation_only_while_a_public_handoff_is_open() -> None:
    button = _buttons(view("agent"))["invite_private"]
    assert button["value"] == "h1" and button["text"]["text"] == "Invite to private"
    assert button["confirm"]["confirm"]["text"] == "Invite"
    assert "invite_private" in _buttons(view("queued"))
    assert "invite_private" not in _buttons(view("agent", public=False))
    assert "invite_private" not in _buttons(view("closed"))
