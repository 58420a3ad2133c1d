"""Which question a short follow-up is read with: the last one answered, or the brand's post."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.conversation import brand_post
from actions.follow_up import (
    answered_question,
    asks_about_it,
    asks_something_else,
    is_follow_up,
)


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text}


def bot(decision: str | None, text: str = "…") -> dict[str, Any]:
    custom = {"relevo": {"decision": decision}} if decision else None
    return {"event": "bot", "text": text, "data": {"custom": custom}}


def tracker(*events: dict[str, Any], metadata: dict[str, Any] | None = None) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker(
        sender_id="c1",
        slots={},
        latest_message={"text": latest["text"], "metadata": metadata or {}},
        events=[{"event": "session_started"}, *events, {"event": "slot", "name": "language"}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


DOG = "can I bring my dog on board?"


def test_a_public_reply_leans_on_the_brands_post_the_gateway_sent() -> None:
    promo = " Your dog can now fly with you in the cabin! "
    assert brand_post(tracker(user("how much?"), metadata={"brand_post": promo})) == promo.strip()
    for sent in ({}, {"brand_post": "  "}, {"brand_post": ["not", "text"]}):
        assert brand_post(tracker(user("how much?"), metadata=sent)) is None


def test_a_follow_up_leans_on_the_question_answered_just_before() -> None:
    assert answered_question(tracker(user(DOG), bot("answer"), bot(None), user("a cat?"))) == DOG


def test_feedback_and_earlier_follow_ups_in_between_are_passed_over() -> None:
    events = (
        user(DOG),
        bot("notice"),  # an operator's announcement said first
        bot("answer"),
        user("/affirm"),
        bot(None, "Glad it helped!"),
        user("what about a cat?"),
        bot("answer"),
        user("and at the airport?"),
    )
    assert answered_question(tracker(*events)) == DOG


def test_after_an_offer_a_handoff_or_in_a_new_session_a_message_stands_alone() -> None:
    for decision in ("suggest", "rephrase", "decline", "handoff", "private"):
        assert answered_question(tracker(user(DOG), bot(decision), user("a cat?"))) is None
    new_session = tracker(user(DOG), bot("answer"), {"event": "session_started"}, user("a cat?"))
    assert answered_question(new_session) is None
    assert answered_question(tracker(user("a cat?"))) is None


def test_a_question_long_ago_is_not_leaned_on() -> None:
    events = [user(DOG), bot("answer")]
    for _ in range(3):
        events += [user("/affirm"), bot(None)]
    assert answered_question(tracker(*events, user("a cat?"))) is None


def test_a_short_question_that_was_answered_is_leaned_on_when_no_longer_one_was() -> None:
    """QA s21: "y cuánto cuesta?" after "is there wifi on board?" (five words) stood alone."""
    wifi = "is there wifi on board?"
    assert answered_question(tracker(user(wifi), bot("answer"), user("y cuánto cuesta?"))) == wifi
    chain = (user(wifi), bot("answer"), user("and the price?"), bot("answer"), user("for kids?"))
    assert answered_question(tracker(*chain)) == wifi
    longer = (user(DOG), bot("answer"), user("what about a cat?"), bot("answer"), user("kids?"))
    assert answered_question(tracker(*longer)) == DOG
    offered = (user(wifi), bot("suggest"), user("y cuánto cuesta?"))
    assert answered_question(tracker(*offered)) is None


def test_only_short_messages_are_follow_ups() -> None:
    assert is_follow_up("and for kids?") and is_follow_up("y si no funciona?")
    assert not is_follow_up("")
    assert not is_follow_up("how much does it cost to bring a bike?")
    assert is_follow_up("and how much does it cost?")  # six words, but only asking (QA s22 D8)


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("y cuánto cuesta?", True),
        ("and how much is it?", True),
        ("¿y si pesa 30 kilos?", True),
        ("and for kids?", True),
        ("and how much does it cost?", True),
        ("¿y el parking?", False),  # a subject of its own
        ("and what about lounges?", False),
        ("¿y un dron?", False),
        ("how much does it cost to bring a bike on the plane?", False),  # not short
    ],
)
def test_a_short_question_of_price_or_size_asks_about_what_was_just_answered(
    text: str, asks: bool
) -> None:
    assert asks_about_it(text) is asks


@pytest.mark.parametrize(
    "message", ["¿y para los niños?", "y para niños", "and for kids?", "what about my dog?"]
)
def test_a_follow_up_without_a_yes_or_a_no_asks_something_else(message: str) -> None:
    assert asks_something_else(message)


@pytest.mark.parametrize(
    "message",
    [
        "no",
        "nope, not really",
        "no me ha servido",
        "sí, gracias",
        "kind of",
        "más o menos",
        "/deny",
        "y eso?",
        "👎",
        "it did not answer what I asked about my refund at all, sorry",  # long: not a follow-up
    ],
)
def test_a_yes_a_no_or_a_button_is_feedback(message: str) -> None:
    assert not asks_something_else(message)
