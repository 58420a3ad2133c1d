"""Reading a Rasa tracker: the customer's language, channel and the transcript."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType

from actions.texts import text
from handoff.requests import TranscriptLine
from kb_index.language import message_language
from relevo.settings import get_settings


def metadata(tracker: Tracker) -> dict[str, Any]:
    """The metadata the gateway sent with the latest message."""
    return dict(tracker.latest_message.get("metadata") or {})


def language(tracker: Tracker) -> str:
    """The customer's language: from the gateway, else the slot, else detected."""
    sent = metadata(tracker).get("language")
    if sent in ("es", "en"):
        return str(sent)
    slot = tracker.get_slot("language")
    text = tracker.latest_message.get("text") or ""
    default = slot if slot in ("es", "en") else get_settings().default_language
    return message_language(text, None, default).code


def changes_only(tracker: Tracker, events: list[EventType]) -> list[EventType]:
    """`events` without the slot settings that would leave their slot as it is.

    Rasa keeps every event for the rest of the conversation and reads them again on each turn
    (and the action server gets them all with every call): fewer events, faster turns.
    """
    return [
        e
        for e in events
        if not (e.get("event") == "slot" and tracker.slots.get(e["name"]) == e.get("value"))
    ]


def is_public(tracker: Tracker) -> bool:
    """Whether the conversation is a public post (answers are seen by everyone)."""
    return bool(metadata(tracker).get("public", False))


def brand_post(tracker: Tracker) -> str | None:
    """The brand's post that the latest message replies to in public, when the connector sent it.

    "how much is it?" under the brand's "your dog can now fly with you in the cabin" asks about
    the post: read alone, it has no subject (`actions.follow_up` reads it like the question
    before a follow-up), and the agent of a handoff reads it on the card.
    """
    post = metadata(tracker).get("brand_post")
    if not isinstance(post, str):
        return None
    return post.strip() or None


def handle(tracker: Tracker) -> str | None:
    """The customer's handle on a social network, if the channel has one."""
    customer = metadata(tracker).get("customer")
    value = customer.get("handle") if isinstance(customer, dict) else None
    return str(value) if value else None


def is_evaluation(tracker: Tracker) -> bool:
    """Whether the message comes from `relevo eval dialogue`: decide, but hand nothing over.

    Only Rasa's own callers can set this flag: the gateway builds the metadata of customers'
    messages itself.
    """
    return metadata(tracker).get("evaluation") is True


def this_session(tracker: Tracker, slot: str) -> Any:
    """The slot's value if this session set it, else None: what the last one left is stale.

    Rasa carries every slot into a new session (an hour away): it sets them all again right
    after `session_started`, before the session's first listen. A weak answer yesterday must
    not count towards "two in a row" today, nor its hits reach today's handoff card. Only a
    custom `action_session_start` could carry some slots and not others, at the price of a
    call to the action server on every conversation's first message.
    """
    live, fresh = True, False
    for event in tracker.events:
        kind = event.get("event")
        if kind == "session_started":
            live, fresh = False, False
        elif kind == "action" and event.get("name") == "action_listen":
            live = True
        elif kind == "slot" and event.get("name") == slot:
            fresh = live
    return tracker.get_slot(slot) if fresh else None


PAUSES = frozenset({"utter_take_your_time"})
"""The bot's answer to "hold on": the question the bot asked before it still stands."""


ASK_HUMAN = "/ask_human"  # the payload of the "Talk to a person" button


def person_buttons(language: str) -> list[dict[str, str]]:
    """The "Talk to a person" button, under a message that offers a person."""
    return [{"title": text("talk_to_person", language), "payload": ASK_HUMAN}]


WANTS_WORDS = {"wants": "words"}
"""Marks (in Relevo's custom data) a message that asks for the customer's own words: "Could you
tell me in a few words what you need?". Its "Talk to a person" button is a way out, not the
question: "ok" there means "I'll tell you"."""


def bot_messages_of_turn(tracker: Tracker, back: int = 0) -> list[dict[str, Any]]:
    """The bot's messages of one turn, newest first.

    `back` 0: the turn in progress (since the customer's latest message); 1: the turn before
    it (between the customer's last two messages).
    """
    said: list[dict[str, Any]] = []
    seen = 0  # the customer's messages walked past
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen += 1
            if seen > back:
                break
        elif seen == back and event.get("event") == "bot":
            said.append(event)
    return said


def offered_a_person(tracker: Tracker) -> bool:
    """Whether the bot's last message before the customer's latest offered a person.

    The offer is its "Talk to a person" button; the words say it too ("a person from our team
    can look into it"), which is all a public post shows, since it has no buttons. A message
    that asks for the customer's words (`WANTS_WORDS`) offers none: "ok" to "tell me in a few
    words what you need" handed the customer over (QA s24 C2).
    """
    said = bot_messages_of_turn(tracker, back=1)
    if not said or relevo_data(said[0]).get("wants") == WANTS_WORDS["wants"]:
        return False
    buttons = (said[0].get("data") or {}).get("buttons") or []
    return any(button.get("payload") == ASK_HUMAN for button in buttons)


def last_bot_action(tracker: Tracker) -> str | None:
    """The last action the bot ran before the customer's latest message (listening aside).

    A pause ("hold on" -> "No rush") is looked past: "did this help?", "wait", "no rush", "yes"
    is a yes to "did this help?".
    """
    before_latest = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if before_latest:
                return None
            before_latest = True
        elif before_latest and kind == "action" and event.get("name") != "action_listen":
            if event.get("name") in PAUSES:
                before_latest = False  # past the pause's own message too
                continue
            return str(event.get("name"))
    return None


def relevo_data(event: dict[str, Any]) -> dict[str, Any]:
    """Relevo's custom data on a bot message (its decision, marks), empty if none."""
    custom = (event.get("data") or {}).get("custom") or {}
    relevo = custom.get("relevo") if isinstance(custom, dict) else None
    return relevo if isinstance(relevo, dict) else {}


def decision_of(event: dict[str, Any]) -> str | None:
    """The decision a bot message carried (Relevo's custom data), if any."""
    decision = relevo_data(event).get("decision")
    return str(decision) if decision is not None else None


NO_ANSWER = frozenset({"decline", "rephrase"})  # the knowledge base had nothing to say


def after_no_answer(tracker: Tracker) -> bool:
    """Whether the bot's last decision before the customer's latest message found no answer.

    A person asked for right then (its "Talk to a person" button, or "yes" to its offer of one)
    is asked for because the knowledge base failed: the handoff's reason says so, and the
    question reaches the content team's gaps (QA s24: "do you offer a student discount?",
    declined, then the button, was filed as a plain request for a person).
    """
    decided = (decision_of(event) for event in bot_messages_of_turn(tracker, back=1))
    return next((d for d in decided if d), None) in NO_ANSWER


def session_decisions(tracker: Tracker) -> list[str]:
    """The decisions of the bot's messages in this session so far, oldest first."""
    said: list[str] = []
    for event in tracker.events:
        if event.get("event") == "session_started":
            said = []
        elif event.get("event") == "bot" and (decision := decision_of(event)) is not None:
            said.append(decision)
    return said


def channel(tracker: Tracker) -> str:
    """The channel the conversation came from."""
    return str(metadata(tracker).get("channel") or tracker.get_latest_input_channel() or "rest")


def transcript(tracker: Tracker, limit: int = 50) -> list[TranscriptLine]:
    """The conversation's messages, oldest first, at most `limit`.

    A tapped button reads as its title (the gateway's `display`), not as its payload
    ('/pick_article{"article":"pets-en"}'); the buttons a bot message offered follow its text,
    so the agent sees which articles the customer was offered.
    """
    lines = []
    for event in tracker.events:
        role = {"user": "customer", "bot": "bot"}.get(event.get("event", ""))
        text = event.get("text")
        if not (role and text):
            continue
        if role == "bot" and (titles := _button_titles(event)):
            text = f"{text}\nButtons: {' | '.join(titles)}"
        at = dt.datetime.fromtimestamp(event.get("timestamp") or 0, dt.UTC).isoformat()
        display = (event.get("metadata") or {}).get("display") if role == "customer" else None
        if text.startswith("/") and isinstance(display, str) and display:
            lines.append(TranscriptLine(role=role, text=display, at=at, tapped=True))
        else:
            lines.append(TranscriptLine(role=role, text=text, at=at))
    return lines[-limit:]


def _button_titles(event: dict[str, Any]) -> list[str]:
    """The titles of the buttons a bot message offered."""
    buttons = (event.get("data") or {}).get("buttons") or []
    return [str(b.get("title")) for b in buttons if isinstance(b, dict) and b.get("title")]
