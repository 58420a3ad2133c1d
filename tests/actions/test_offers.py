"""A pick typed under an offer of articles: which article it picks, and which offer is pending."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.offers import Option, Pick, chosen, pending_offer, pick_payload, typed_pick

EN = [
    Option("baggage-cabin-en", "Cabin baggage: sizes, weight and what your fare includes"),
    Option("baggage-delayed-en", "My bag did not arrive: delayed luggage"),
    Option("baggage-damaged-en", "My suitcase arrived damaged, broken or wet"),
]
ES = [
    Option("baggage-cabin-es", "Equipaje de mano: medidas, peso y qué incluye tu tarifa"),
    Option("special-baggage-es", "Equipaje especial: material deportivo e instrumentos musicales"),
    Option("baggage-checked-es", "Equipaje facturado: franquicia, maletas adicionales y sobrepeso"),
]


@pytest.mark.parametrize(
    ("typed", "position"),
    [
        ("the first one", 1),
        ("1", 1),
        ("first", 1),
        ("I'll take the 2nd one, please", 2),
        ("option 3", 3),
        ("#2", 2),
        ("no, the second one", 2),
        ("the last one", 3),
        ("the first one, thanks", 1),
    ],
)
def test_an_english_ordinal_or_number_picks_the_article_at_that_place(
    typed: str, position: int
) -> None:
    assert chosen(typed, EN) == EN[position - 1].article_id


@pytest.mark.parametrize(
    ("typed", "position"),
    [
        ("el primero", 1),
        ("la segunda", 2),
        ("la primera, gracias", 1),
        ("me quedo con la segunda", 2),
        ("la primera opción", 1),
        ("el 3", 3),
        ("el 1º", 1),
        ("quiero el tercero por favor", 3),
        ("el último", 3),
    ],
)
def test_a_spanish_ordinal_or_number_picks_the_article_at_that_place(
    typed: str, position: int
) -> None:
    assert chosen(typed, ES) == ES[position - 1].article_id


@pytest.mark.parametrize(
    ("typed", "options", "article"),
    [
        ("the cabin one", EN, "baggage-cabin-en"),
        ("the one about delayed luggage", EN, "baggage-delayed-en"),
        ("damaged suitcases", EN, "baggage-damaged-en"),
        ("el de equipaje de mano", ES, "baggage-cabin-es"),
        ("el de los instrumentos musicales", ES, "special-baggage-es"),
    ],
)
def test_words_that_name_one_offered_title_pick_it(
    typed: str, options: list[Option], article: str
) -> None:
    assert chosen(typed, options) == article


@pytest.mark.parametrize(
    ("typed", "options"),
    [
        ("how much does cabin baggage weigh?", EN),  # a question of its own: searched
        ("cuanto pesa la maleta de mano maximo", ES),
        ("el de equipaje", ES),  # every offered title has it
        ("my bag", EN),  # "my" and "bag" are in one title, but say nothing on their own
        ("the fourth one", EN),  # only three were offered
        ("the first or the second", EN),
        ("2 bags", EN),
        ("yes", EN),
        ("no", ES),
        ("🐶✈️", EN),
        ("how?", EN),
    ],
)
def test_anything_else_is_not_a_pick(typed: str, options: list[Option]) -> None:
    assert chosen(typed, options) is None


def offer(*articles: Option) -> dict[str, Any]:
    """The bot message of an offer, as Rasa stores it."""
    buttons = [{"title": o.title, "payload": pick_payload(o.article_id)} for o in articles]
    buttons.append({"title": "None: talk to a person", "payload": "/deny"})
    custom = {"relevo": {"decision": "suggest", "options": [o.article_id for o in articles]}}
    return {
        "event": "bot",
        "text": "Is it one of them?",
        "data": {"buttons": buttons, "custom": custom},
    }


def said(text: str, decision: str | None = None) -> dict[str, Any]:
    custom = {"relevo": {"decision": decision}} if decision else None
    return {"event": "bot", "text": text, "data": {"custom": custom}}


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text}


def listen() -> dict[str, Any]:
    return {"event": "action", "name": "action_listen"}


def tracker(*events: dict[str, Any], slot: bool = True, typed: str = "the first one") -> Tracker:
    return Tracker(
        sender_id="c1",
        slots={"offer_pending": slot},
        latest_message={"text": typed},
        events=[{"event": "session_started"}, listen(), *events],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def pending(*events: dict[str, Any], slot: bool = True) -> list[Option]:
    return pending_offer(tracker(*events, slot=slot))


OFFER = offer(*EN)
OFFER_PENDING = {"event": "slot", "name": "offer_pending", "value": True}


def test_the_offer_on_screen_is_pending_with_its_buttons_titles_in_order() -> None:
    events = (user("how much hand luggage?"), OFFER, OFFER_PENDING, listen(), user("1"))
    assert pending(*events) == EN


def test_a_which_one_or_a_greeting_since_leaves_the_offer_standing() -> None:
    events = (user("hand luggage?"), OFFER, OFFER_PENDING, listen(), user("yes"))
    events += (said("Which one? Tap it above, or tell me a bit more."), listen(), user("1"))
    assert pending(*events) == EN


def test_after_an_answer_a_handoff_or_without_the_slot_no_offer_is_pending() -> None:
    base = (user("hand luggage?"), OFFER, OFFER_PENDING, listen(), user("/pick_article"))
    for decision in ("answer", "handoff", "rephrase"):
        assert pending(*base, said("…", decision), listen(), user("1")) == []
    assert pending(user("hand luggage?"), OFFER, listen(), user("1"), slot=False) == []
    assert pending(user("the first one")) == []


def test_an_offer_of_the_last_session_is_not_pending() -> None:
    events = (user("hand luggage?"), OFFER, OFFER_PENDING, {"event": "session_started"})
    assert pending(*events, listen(), user("1")) == []


@pytest.mark.parametrize(
    ("typed", "missing"), [("5", True), ("the fourth one", True), ("2", False), ("5 bags", False)]
)
def test_a_place_the_offer_does_not_have_is_a_pick_gone_astray(typed: str, missing: bool) -> None:
    events = (OFFER, OFFER_PENDING, listen(), user(typed))
    assert (typed_pick(tracker(*events, typed=typed)) == Pick(None)) is missing
    assert typed_pick(tracker(user(typed), typed=typed, slot=False)) is None  # no offer
