"""The customer's mood on the card, and the card's contents. Pure."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from handoff.cards import card_blocks, card_text
from handoff.desk import HandoffView
from handoff.requests import HandoffRequest, KbHitSummary, Priority, Reason, TranscriptLine
from handoff.sentiment import sentiment, sounds_angry


@pytest.mark.parametrize(
    ("texts", "label", "reason"),
    [
        (["Esto es una VERGÜENZA, llevo 3 horas esperando!!"], "negative", "verguenza"),
        (["This is unacceptable 😡"], "negative", "unacceptable"),
        (["¿Puedo llevar a mi perro?"], "neutral", None),
        (["¡Muchas gracias, genial!"], "positive", "+gracias"),
    ],
)
def test_the_mood_of_the_customers_words(texts: list[str], label: str, reason: str | None) -> None:
    mood = sentiment(texts)
    assert mood.label == label
    if reason:
        assert reason in mood.reasons


@pytest.mark.parametrize(
    ("text", "angry"),
    [
        ("me han reventado la rueda de la maleta 😤 a quien reclamo", True),
        ("this airline is a scam, I want my money back", True),
        ("no funcionó el wifi, una vergüenza 😠 gracias", True),  # one kind word, two cues
        ("is ESTA required for flights to the US", False),  # capitals are a code, not shouting
        ("hola!! una pregunta, ¿puedo llevar a mi perro?", False),  # "!!" alone: excitement
        ("the wifi was terrible but thanks, the crew was great and lovely 😊", False),
        ("¿Puedo llevar a mi perro?", False),
        # QA s24: a 300,000-follower author got an article link, not a person.
        ("@brisaair la peor aerolínea, me han cancelado el vuelo y nadie me dice nada", True),
        ("¿es peor volar de noche con un bebé?", False),  # "peor" alone is "worse"
    ],
)
def test_an_angry_question_is_told_from_shouting_codes_and_excitement(
    text: str, angry: bool
) -> None:
    assert sounds_angry(text) is angry


def view(state: str = "queued", **extra: object) -> HandoffView:
    request = HandoffRequest(
        conversation_id="social:x:t1:u1",
        channel="social",
        language="es",
        reason=Reason.COMPLAINT,
        priority=Priority.HIGH,
        transcript=[
            TranscriptLine("customer", "Es una vergüenza!!", ""),
            TranscriptLine("bot", "Lo siento de verdad.", ""),
        ],
        hits=[KbHitSummary("delays-es", "Retrasos", 1.31, "es")],
        draft="Borrador",
        customer={
            "id": "x:u1",
            "name": "Ana",
            "handle": "ana",
            "followers": "48000",
            "url": "https://x.example/ana/1",
        },
        created_at="2026-11-26T10:00:00+00:00",
        sla_due_at="2026-11-26T10:30:00+00:00",
    )
    return HandoffView(request=request, state=state, **extra)  # type: ignore[arg-type]


def test_a_card_shows_who_why_how_urgent_the_mood_and_what_the_bot_found() -> None:
    blocks = json.dumps(card_blocks(view()), ensure_ascii=False)
    for expected in (
        "complaint",
        "@ana",
        "48,000 followers",
        "🔴 high",
        "😠 negative",
        "Retrasos (es) — score 1.31",
        "Borrador",
        "original post",
        '"action_id": "claim"',
    ):
        assert expected in blocks
    due = int(dt.datetime.fromisoformat("2026-11-26T10:30:00+00:00").timestamp())
    assert f"<!date^{due}^" in blocks  # the SLA due time, in each agent's own time zone
    assert "Handoff (high): complaint" in card_text(view())


def test_a_card_says_when_the_brand_only_overheard_the_post() -> None:
    """An agent answering a post nobody wrote to the brand knows it (and which term matched)."""
    addressed = json.dumps(card_blocks(view()), ensure_ascii=False)
    addressed_view = view()
    overheard = replace(
        addressed_view, request=replace(addressed_view.request, overheard="#brisaair")
    )
    blocks = json.dumps(card_blocks(overheard), ensure_ascii=False)
    assert "overheard" not in addressed
    assert "overheard: the post matched “#brisaair”, nobody wrote to us" in blocks


def test_a_card_shows_the_brands_post_a_public_reply_answered() -> None:
    """ "how much is it?" reads as nothing without the post it answers (QA M5)."""
    plain = view()
    promo = "Your dog can now fly with you!\n" + "🐶" * 400
    replied = replace(plain, request=replace(plain.request, brand_post=promo))
    section = next(
        b["text"]["text"] for b in card_blocks(replied) if "In reply to" in str(b.get("text"))
    )
    assert section.startswith("*In reply to our post*\n>Your dog can now fly with you! 🐶")
    assert len(section) < 340 and section.endswith("…")  # cut, on one quoted line
    assert "In reply to" not in json.dumps(card_blocks(plain))


def test_a_card_shows_the_customers_slack_markup_as_written() -> None:
    """A name, a message or a post url with Slack's markup pinged the desk or hid a link."""
    plain = view()
    request = replace(
        plain.request,
        customer={"name": "<!channel>", "url": "https://x.example/p|<!here>"},
        transcript=[TranscriptLine("customer", "see <https://evil.example|refund> & co", "")],
        draft="Tap <https://evil.example|here>",
    )
    blocks = json.dumps(card_blocks(replace(plain, request=request)), ensure_ascii=False)
    assert (
        "*&lt;!channel&gt;*" in blocks and "&lt;https://evil.example|refund&gt; &amp; co" in blocks
    )
    assert "<https://x.example/p%7C&lt;!here&gt;|original post>" in blocks
    assert "<!channel>" not in blocks and "<!here>" not in blocks and "<https://evil" not in blocks
    assert "<!channel>" not in card_text(replace(plain, request=request))


def test_a_claimed_card_has_no_claim_button_and_a_closed_one_no_buttons() -> None:
    claimed = card_blocks(view("agent", owner="U1", owner_name="Laura"))
    actions = next(b for b in claimed if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["reassign", "return", "resolve"]
    assert [e["action_id"] for e in claimed[-1]["elements"]] == ["history", "reveal"]
    assert "with Laura" in json.dumps(claimed)
    closed = card_blocks(view("closed", resolved_at="2026-11-26T10:12:00+00:00", rating="5"))
    buttons = [e["action_id"] for b in closed if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["history"]  # no transitions once closed, the history always
    assert "handled in 12 min" in json.dumps(closed) and "rated 5/5" in json.dumps(closed)


def test_the_card_shows_score_reasons_department_sla_state_and_notices_and_redacts() -> None:
    base = view()
    request = replace(
        base.request,
        transcript=[TranscriptLine("customer", "mi tarjeta 4111 1111 1111 1111, email a@b.es", "")],
        draft="Te escribo a a@b.es",
        score=62,
        priority_reasons=["complaint +25", "48,000 followers +16"],
        department="special-assistance",
        routing_reasons=["keyword: silla de ruedas"],
        opens_at="2026-11-30T07:00:00+00:00",
    )
    card = card_blocks(
        replace(
            base,
            request=request,
            raised_priority="urgent",
            sla_state="breached",
            notices=("El vuelo BA123 sale con retraso.",),
        )
    )
    blocks = json.dumps(card, ensure_ascii=False)
    for expected in (
        "🚨 urgent · score 62",  # raised by the breach
        "⏰ overdue",
        "Special assistance",
        "complaint +25 · 48,000 followers +16 · keyword: silla de ruedas",
        "the shift opens",
        "📣 *Notice*: El vuelo BA123 sale con retraso.",
        "[card ••••1111]",
    ):
        assert expected in blocks, expected
    assert "4111 1111" not in blocks and "a@b.es" not in blocks
    answered = replace(base, first_response_at="2026-11-26T10:20:00+00:00", sla_state="warning")
    assert "✅ met" in json.dumps(card_blocks(answered), ensure_ascii=False)
    late = replace(base, first_response_at="2026-11-26T11:00:00+00:00")
    assert "answered late" in json.dumps(card_blocks(late), ensure_ascii=False)


def test_a_tapped_button_shows_as_its_title_and_does_not_set_the_mood() -> None:
    calm = replace(
        view().request,
        transcript=[
            TranscriptLine("customer", "¿Puedo llevar a mi perro?", ""),
            TranscriptLine("bot", "¿Es alguno de estos?", ""),
            TranscriptLine("customer", "Reclamar una maleta dañada: ¡vergüenza!", "", tapped=True),
        ],
    )
    blocks = json.dumps(card_blocks(HandoffView(request=calm, state="queued")), ensure_ascii=False)
    assert "😐 neutral" in blocks  # only what the customer wrote counts
    assert "👤 [Reclamar una maleta dañada: ¡vergüenza!]" in blocks
    assert "👤 ¿Puedo llevar a mi perro?" in blocks


def test_a_reopened_cards_sla_is_its_new_cycles() -> None:
    """QA D3: a reopened handoff showed the first cycle's due time."""
    reopened = view(
        reopened_at="2026-11-27T09:00:00+00:00",
        cycle_sla_due_at="2026-11-27T09:30:00+00:00",
    )
    blocks = json.dumps(card_blocks(reopened), ensure_ascii=False)
    due = int(dt.datetime.fromisoformat("2026-11-27T09:30:00+00:00").timestamp())
    assert f"<!date^{due}^" in blocks and "🟢 on time" in blocks
    first = int(dt.datetime.fromisoformat("2026-11-26T10:30:00+00:00").timestamp())
    assert f"<!date^{first}^" not in blocks


def test_a_reopened_card_shows_what_the_customer_wrote_to_reopen_it() -> None:
    """Its "Last messages" are the first cycle's; the reopening message was only in the thread."""
    reopened = view(
        reopened_at="2026-11-27T09:00:00+00:00",
        reopened_by="it happened again, write to ana@example.com",
    )
    blocks = json.dumps(card_blocks(reopened), ensure_ascii=False)
    assert "*Reopened with*" in blocks and "it happened again" in blocks
    assert "ana@example.com" not in blocks  # redacted, as every transcript line
    assert "Reopened with" not in json.dumps(card_blocks(view()), ensure_ascii=False)


def test_a_card_closed_into_another_handoff_says_so_not_resolved() -> None:
    merged = json.dumps(card_blocks(view("closed", merged_into="h-open")), ensure_ascii=False)
    resolved = json.dumps(card_blocks(view("closed")), ensure_ascii=False)
    assert "closed into the customer's open handoff in private" in merged
    assert "resolved" not in merged and "✅ resolved" in resolved
