"""Whole conversations through the real Rasa server and action server, in both languages."""

from __future__ import annotations

import pytest
import redis

from bot.rasa_client import BotReply
from handoff.requests import Priority, Reason, current_handoff, owner
from tests.e2e.conftest import Customer, Engine


def decisions(replies: list[BotReply]) -> list[str]:
    return [r.custom["relevo"]["decision"] for r in replies if "relevo" in r.custom]


def texts(replies: list[BotReply]) -> str:
    return "\n".join(r.text or "" for r in replies)


QUESTIONS = {
    "es": ("hola, mi perro puede viajar conmigo en cabina?", "pets-es", "no, no me sirve"),
    "en": ("hi! is there wifi on the plane?", "wifi-onboard-en", "no"),
}


@pytest.mark.parametrize("language", ["es", "en"])
async def test_a_question_is_answered_then_feedback_closes_the_loop(
    engine: Engine, language: str
) -> None:
    question, article, _ = QUESTIONS[language]
    customer = Customer(engine, language)
    replies = await customer.says(question)
    assert decisions(replies) == ["answer"]
    data = next(r.custom["relevo"] for r in replies if "relevo" in r.custom)
    assert data["article_id"] == article
    assert f"/{article}" in texts(replies)
    ask = replies[-1]
    assert [b["payload"] for b in ask.buttons] == ["/affirm", "/deny"]
    thanks = await customer.says(ask.buttons[0]["payload"])  # the customer taps "yes"
    expected = "me alegro" if language == "es" else "glad"
    assert expected in texts(thanks).lower()


async def test_the_conversation_keeps_its_language_when_a_message_does_not_show_one(
    engine: Engine,
) -> None:
    """The gateway sends no language for "si" or a button: the `language` slot stays Spanish."""
    customer = Customer(engine, "es")
    await customer.says(QUESTIONS["es"][0])
    del customer.metadata["language"]
    thanks = await customer.says("/affirm")
    assert "me alegro" in texts(thanks).lower()


@pytest.mark.parametrize("language", ["es", "en"])
async def test_a_no_hands_over_with_the_whole_context(
    engine: Engine, store: redis.Redis, language: str
) -> None:
    question, article, no = QUESTIONS[language]
    customer = Customer(engine, language)
    await customer.says(question)
    replies = await customer.says(no)
    assert decisions(replies) == ["handoff"]
    request = current_handoff(store, customer.id)
    assert request is not None and owner(store, customer.id) == "queued"
    assert request.reason is Reason.NEGATIVE_FEEDBACK and request.priority is Priority.NORMAL
    assert request.language == language and request.channel == "webchat"
    assert [line.role for line in request.transcript][:2] == ["customer", "bot"]
    assert request.transcript[0].text == question
    assert request.hits[0].article_id == article and request.hits[0].score > 0
    assert request.draft and f"/{article}" in request.draft
    assert request.customer == {"handle": "@ana", "followers": "1200"}
    assert request.sla_due_at > request.created_at


@pytest.mark.parametrize(
    ("language", "ask"), [("es", "quiero hablar con una persona"), ("en", "agent please")]
)
async def test_asking_for_a_person_escalates_at_any_time(
    engine: Engine, store: redis.Redis, language: str, ask: str
) -> None:
    customer = Customer(engine, language)
    replies = await customer.says(ask)
    assert decisions(replies) == ["handoff"]
    request = current_handoff(store, customer.id)
    assert request is not None and request.reason is Reason.ASKED_FOR_PERSON
    person = "persona" if language == "es" else "person"
    assert person in texts(replies).lower()


@pytest.mark.parametrize(
    ("language", "rant"),
    [
        ("es", "esto es una vergüenza, llevo 3 horas esperando y nadie me dice nada!!!"),
        ("en", "worst airline ever, I want compensation NOW, this is unacceptable"),
    ],
)
async def test_a_complaint_gets_empathy_and_a_high_priority_handoff(
    engine: Engine, store: redis.Redis, language: str, rant: str
) -> None:
    customer = Customer(engine, language)
    replies = await customer.says(rant)
    assert decisions(replies) == ["handoff"]
    assert len(replies) >= 2  # the empathetic answer, then the handoff
    request = current_handoff(store, customer.id)
    assert request is not None
    assert request.reason is Reason.COMPLAINT and request.priority is Priority.HIGH


@pytest.mark.parametrize(
    ("language", "unanswerable"),
    [
        ("es", ["se puede alquilar un coche en vuestra web?", "hay parking en el aeropuerto?"]),
        ("en", ["do you sell gift cards for birthdays?", "can I rent a car through you?"]),
    ],
)
async def test_two_weak_answers_in_a_row_escalate(
    engine: Engine, store: redis.Redis, language: str, unanswerable: list[str]
) -> None:
    customer = Customer(engine, language)
    first = await customer.says(unanswerable[0])
    assert decisions(first) == ["rephrase"]
    assert current_handoff(store, customer.id) is None and owner(store, customer.id) == "bot"
    second = await customer.says(unanswerable[1])
    assert decisions(second) == ["handoff"]
    request = current_handoff(store, customer.id)
    assert request is not None and request.reason is Reason.REPEATED_FAILURE
    assert [line.text for line in request.transcript if line.role == "customer"] == unanswerable


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("es", "@BrisaAir donde esta mi reembolso de la reserva BX7K2Q???"),
        ("en", "@BrisaAir where is my refund for booking BX7K2Q??"),
    ],
)
async def test_personal_matters_in_public_move_to_a_private_channel(
    engine: Engine, language: str, question: str
) -> None:
    customer = Customer(engine, language, public=True)
    replies = await customer.says(question)
    # Answered by the knowledge-base action, or handed over when Rasa hears a complaint: either
    # way the customer is invited to a private channel and the booking code is not repeated.
    assert decisions(replies)[-1] == "private"
    text = texts(replies)
    assert "BX7K2Q" not in text
    assert ("privado" if language == "es" else "private") in text
