"""A message without words is asked again once; personal data after the knowledge base's try
goes to a person."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ask_for_words, has_words, needs_a_person
from handoff.requests import Reason


def tracker(*events: dict[str, Any], slots: dict[str, Any] | None = None) -> Tracker:
    history = [{"event": "session_started"}, {"event": "action", "name": "action_listen"}]
    return Tracker(
        sender_id="c1",
        slots=slots or {},
        latest_message={"text": "…"},
        events=[*history, *events],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def bot(decision: str) -> dict[str, Any]:
    return {"event": "bot", "text": "…", "data": {"custom": {"relevo": {"decision": decision}}}}


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text}


@pytest.mark.parametrize("text", ["🐶✈️", "???", "👀 !!", " "])
def test_emoji_and_signs_alone_have_no_words(text: str) -> None:
    assert not has_words(text)


@pytest.mark.parametrize("text", ["ok 👍", "1", "¿y?", "BX7K2P"])
def test_a_letter_or_a_digit_is_a_word(text: str) -> None:
    assert has_words(text)


@pytest.mark.parametrize(
    ("language", "asked"), [("es", "pocas palabras"), ("en", "in a few words")]
)
def test_a_first_message_without_words_is_asked_again_in_words(language: str, asked: str) -> None:
    dispatcher = CollectingDispatcher()
    events = ask_for_words(dispatcher, tracker(user("🐶✈️")), language)
    [said] = dispatcher.messages
    assert asked in said["text"]
    assert [b["payload"] for b in said["buttons"]] == ["/ask_human"]
    assert said["custom"]["relevo"]["decision"] == "rephrase"
    assert SlotSet("failed_answers", 1.0) in events
    assert not any(e.get("event") == "followup" for e in events)


def test_the_second_weak_result_in_a_row_without_words_hands_over() -> None:
    dispatcher = CollectingDispatcher()
    weak = {"event": "slot", "name": "failed_answers", "value": 1.0}
    after = tracker(user("🐶✈️"), weak, bot("rephrase"), user("🤔"), slots={"failed_answers": 1.0})
    events = ask_for_words(dispatcher, after, "en")
    assert dispatcher.messages == []
    assert SlotSet("escalation_reason", Reason.REPEATED_FAILURE.value) in events
    assert FollowupAction("action_escalate") in events


CHANGE = "es la reserva BX7K2P, quiero pasarla al día 15"


@pytest.mark.parametrize("tried", ["answer", "suggest", "rephrase", "decline"])
def test_personal_data_after_the_knowledge_base_had_its_try_needs_a_person(tried: str) -> None:
    earlier = tracker(user("necesito cambiar la fecha de mi reserva"), bot(tried), user(CHANGE))
    assert needs_a_person(earlier, CHANGE)
    assert needs_a_person(earlier, "got ref RF-10923, can you check it?")


def test_a_first_message_or_one_without_personal_data_does_not() -> None:
    assert not needs_a_person(tracker(user(CHANGE)), CHANGE)
    answered = tracker(user("how do I change my flight?"), bot("answer"), user("…"))
    assert not needs_a_person(answered, "and can I change my booking online?")
    new_session = tracker(bot("answer"), {"event": "session_started"}, user(CHANGE))
    assert not needs_a_person(new_session, CHANGE)
