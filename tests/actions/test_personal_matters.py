"""Which public posts move to a private channel, and what the notice to delete a post names."""

import re
from pathlib import Path

import pytest
import yaml

from actions.privacy import (
    is_personal_matter,
    private_notice,
    private_notice_text,
    shows_personal_data,
)
from actions.texts import SHOWN
from relevo.pii import Kind

EVAL = Path(__file__).parents[2] / "kb" / "eval"
_FLIGHT_NUMBER = re.compile(r"\b[A-Z]{2} ?\d{3,4}\b")


def labelled(kind: str) -> list[str]:
    """The messages of both labelled sets with this `kind` (question when none is given)."""
    return [
        item["q"]
        for name in ("queries.yaml", "heldout.yaml")
        for item in yaml.safe_load((EVAL / name).read_text(encoding="utf-8"))["queries"]
        if item.get("kind", "question") == kind
    ]


@pytest.mark.parametrize(
    "text",
    [
        "donde esta mi reembolso de BX7K2Q???",
        "my refund still hasn't arrived",
        "where is my refund",
        "mi reembolso no llega",
        "ref RF-10923 status?",
        "me habéis cobrado dos veces",
        "U CHARGED ME TWICE",
        "you charged me twice",
        "quiero cambiar mi reserva",
        "cancel my booking",
        "change the name on my ticket",
        "I was charged twice for my seat",
        "Nos cobraron dos veces el asiento",
        "quiero cambiar la fecha de mi viaje",
        "quiero cambiar mi vuelo del viernes",
        "Quiero cambiar mi vuelo del viernes",
        "my flight BR1422 was cancelled, rebook me",
        "my husband's ticket was charged twice",
        "Necesito la factura de mi compra",
        "el billete de mi hija no aparece",
        "forgot my jacket on BR 1422 yesterday, anyone find it?",
        "can't make my trip anymore (BR 1422 on friday), how do i drop it",
    ],
)
def test_personal_matters_are_detected(text: str) -> None:
    assert is_personal_matter(text)


@pytest.mark.parametrize(
    "text",
    [
        "how long do refunds take?",
        "cuanto pesa la maleta de mano",
        "WIFI PLUS PRICE",
        "can I bring my dog",
        "is the BR1422 flight on time",
        "is BR 2231 on time today?",
        "can I bring my bag and my laptop?",
        "what is the charge for a second bag?",
        "can my kids fly alone?",
        # QA s22 D1: "my flight" in a question or a compliment is no booking.
        "@brisaair what is the cabin bag allowance on my flight to Paris?",
        "@brisaair ¿cuánto equipaje de mano puedo llevar en mi vuelo a París?",
        "@brisaair cuanto equipaje de mano puedo llevar en mi vuelo a Paris?",
        "@brisaair is wifi available on my flight?",
        "@brisaair my flight to Paris was amazing, the crew were lovely",
        "Loving my flight with #BrisaAir today",
        "mi vuelo a Lisboa fue genial, gracias!",
        "¿hay wifi en mi vuelo?",
        "how do I change my flight?",
        "Can I change the name on my reservation?",
        "how long does my refund take?",
        "where do i find my booking ref? is it the 6 character thing?",
        "does my ticket include travel insurance?",
    ],
)
def test_general_questions_are_not_personal(text: str) -> None:
    assert not is_personal_matter(text)


def test_every_labelled_personal_matter_is_detected() -> None:
    personal = labelled("personal")
    assert len(personal) >= 14
    assert [q for q in personal if not is_personal_matter(q)] == []


def test_no_labelled_question_goes_private_for_mentioning_my_flight() -> None:
    """Of the labelled questions, only those that show data or name a flight are flagged.

    "quiero pasar mi vuelo del viernes al domingo cuanto me sale??", "does my ticket include
    travel insurance?" and "como compenso el co2 de mi vuelo?" were sent to private.
    """
    questions = labelled("question")
    assert len(questions) >= 300
    flagged = [q for q in questions if is_personal_matter(q)]
    assert [q for q in flagged if not (shows_personal_data(q) or _FLIGHT_NUMBER.search(q))] == []


@pytest.mark.parametrize(
    ("post", "kind"),
    [
        ("@brisaair llamadme al 612 345 678 por favor, es por mi equipaje", Kind.PHONE),
        ("me cobrasteis dos veces en la tarjeta 4111 1111 1111 1111", Kind.CARD),
        ("my email is ana.bags@example.com, where is my refund?", Kind.EMAIL),
        ("quiero cambiar la fecha de mi reserva XK42PL", Kind.BOOKING),
        ("mi DNI es 12345678Z y no me deja facturar", Kind.NATIONAL_ID),
    ],
)
def test_the_notice_to_delete_a_post_names_what_it_shows(post: str, kind: Kind) -> None:
    """QA s22 D12: a phone number was called "a card, a document or a booking code"."""
    key = private_notice(post)
    assert key == f"pii_public_{kind.value}"
    for language in ("es", "en"):
        words = private_notice_text(post, language, "social")
        assert SHOWN[kind][language] in words
        assert ("borra tu publicación" if language == "es" else "delete your post") in words


def test_in_a_telegram_group_the_post_to_delete_is_a_message() -> None:
    """QA s25: "borra tu publicación" read oddly in a group chat."""
    post = "mi localizador es QW3RT7"
    assert "borra tu mensaje: muestra un localizador" in private_notice_text(post, "es", "telegram")
    assert "delete your message: it shows a booking code" in (
        private_notice_text(post, "en", "telegram")
    )


def test_a_post_showing_several_kinds_is_said_to_show_personal_data() -> None:
    post = "llamadme al 612 345 678 o escribid a ana.bags@example.com"
    assert private_notice_text(post, "es", "social").startswith(
        "Por tu seguridad, borra tu publicación: muestra datos personales."
    )
    assert "it shows personal data." in private_notice_text(post, "en", "social")


def test_a_personal_matter_without_data_is_only_invited_to_private() -> None:
    assert private_notice("where is my refund") == "go_private"


def test_every_kind_of_personal_data_has_its_notice() -> None:
    assert set(SHOWN) == set(Kind)
