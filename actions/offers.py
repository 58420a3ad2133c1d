"""Offers of articles ("Is it one of these?"), and the customer's pick: tapped, or typed.

Without a sure answer the assistant offers the plausible articles as buttons (in private), or
the likeliest one as a link (on a public post). Under the buttons, customers often type their
choice instead of tapping it: "the first one", "la segunda", "2", "the cabin one", "el de
equipaje de mano". Searched as a question, such a message found nothing, and that second weak
result handed them to a person (QA s19 H1). Rasa reads these messages as anything
(`out_of_scope`, `nlu_fallback`, `question`, `affirm`), so the actions read them against the
offer still waiting for a tap: a position (an ordinal or a number, in English or Spanish, or the
last one), or words that all belong to one offered title and to no other. Anything else is not a
pick, and is searched as the question it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import conversation
from actions.compose import article_url
from actions.texts import text
from kb_index.retriever import Hit
from kb_index.text import FUNCTION_WORDS, tokens
from relevo.settings import get_settings

PICK_INTENT = "pick_article"  # the payload of an offered article's button
MAX_PAYLOAD_BYTES = 64  # Telegram's limit on a button's callback data
LAST = -1  # the position of "the last one"

_ORDINALS = (  # folded, as `tokens` gives them ("1º" is "1o")
    ("first", "1st", "primero", "primera", "primer", "1o", "1a"),
    ("second", "2nd", "two", "segundo", "segunda", "dos", "2o", "2a"),
    ("third", "3rd", "three", "tercero", "tercera", "tercer", "tres", "3o", "3a"),
    ("fourth", "4th", "four", "cuarto", "cuarta", "cuatro", "4o", "4a"),
    ("fifth", "5th", "five", "quinto", "quinta", "cinco", "5o", "5a"),
)
_POSITIONS = {
    **{word: n for n, words in enumerate(_ORDINALS, 1) for word in (str(n), *words)},
    **dict.fromkeys(("last", "ultimo", "ultima"), LAST),
}
# The words around a choice ("I'll take the first one, please"; "quiero el de la mascota").
_FRAME_WORDS = """
    the one ones that this it its is about on with for of an me want take pick choose please
    option number article link button no yes ok okay mean meant ll like thanks thank pls
    el la lo los las de del uno una ese esa eso este esta es sobre con que quiero elijo opcion
    numero articulo enlace boton por favor si vale pues gracias porfa me quedo prefiero
"""
_FRAME = frozenset(_FRAME_WORDS.split())
# Short words a title shares with many messages: they name no article.
_VAGUE_WORDS = "how why who can you your and are not que por mis tus sus"
_VAGUE = frozenset(_VAGUE_WORDS.split())


@dataclass(frozen=True)
class Option:
    """One offered article, as its button showed it."""

    article_id: str
    title: str


def pick_payload(article_id: str) -> str:
    """The payload of the button that picks an article (Rasa's "/intent{entities}" form)."""
    return f"/{PICK_INTENT}" + json.dumps({"article": article_id}, separators=(",", ":"))


def offerable(options: tuple[Hit, ...]) -> list[Hit]:
    """The offered hits whose button payload fits every channel."""
    return [h for h in options if len(pick_payload(h.article_id).encode()) <= MAX_PAYLOAD_BYTES]


def offer(
    dispatcher: CollectingDispatcher,
    offered: list[Hit],
    language: str,
    reason: str,
    kb_ms: float,
) -> None:
    """Offer the plausible articles as buttons, and a person when none fits.

    "None: talk to a person" is a no to the offer (`/deny`, as a typed "no"): the knowledge base
    had no answer, and the handoff says so (`low_confidence`), so the question reaches the
    content team's gaps. As `/ask_human` it was filed as a plain request for a person.
    """
    buttons = [{"title": h.title, "payload": pick_payload(h.article_id)} for h in offered]
    buttons.append({"title": text("suggest_none", language), "payload": "/deny"})
    dispatcher.utter_message(
        text=text("suggest", language),
        buttons=buttons,
        json_message={
            "relevo": {
                "decision": "suggest",
                "options": [h.article_id for h in offered],
                "reason": reason,
                "kb_ms": kb_ms,
            }
        },
    )


def point_to(
    dispatcher: CollectingDispatcher, hit: Hit, language: str, reason: str, kb_ms: float
) -> None:
    """On a public post, where there are no buttons to offer: the likeliest article's link."""
    url = article_url(get_settings().kb_public_url, hit)
    pointer = text("suggest_public", language, title=hit.title)
    said = f"{pointer} {text('read_more', language, url=url)}"
    dispatcher.utter_message(
        text=said,
        json_message={
            "relevo": {
                "decision": "suggest",
                "options": [hit.article_id],
                "reason": reason,
                "kb_ms": kb_ms,
            }
        },
    )


@dataclass(frozen=True)
class Pick:
    """A message typed under an offer that reads as a choice."""

    article_id: str | None  # None: a place the offer does not have ("5" under three articles)


def typed_pick(tracker: Tracker) -> Pick | None:
    """What the customer's latest message picks of the offer on screen; None when no pick.

    "5" under three articles is a pick gone astray, not a question (`Pick(None)`): the
    customer is asked which one, and the offer stays. The offer is read once a turn.
    """
    options = pending_offer(tracker)
    if not options:
        return None
    text = tracker.latest_message.get("text") or ""
    article_id = chosen(text, options)
    if article_id is not None:
        return Pick(article_id)
    return Pick(None) if _position(_words(text)) is not None else None


def pending_offer(tracker: Tracker) -> list[Option]:
    """The articles of this session's offer still waiting for a tap, in their order.

    None once the bot has decided anything since (an answer, another offer is the new one, a
    handoff); a message without a decision ("Which one?") leaves the offer standing.
    """
    if not conversation.this_session(tracker, "offer_pending"):
        return []
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return []
        decision = conversation.decision_of(event) if event.get("event") == "bot" else None
        if decision == "suggest":
            return _options(event)
        if decision not in (None, "notice"):  # an operator's notice is said beside a decision
            return []
    return []


def _options(event: dict[str, Any]) -> list[Option]:
    """The offered articles of an offer's message, with the titles of their buttons."""
    data = event.get("data") or {}
    titles = {b.get("payload"): b.get("title") for b in data.get("buttons") or []}
    ids = data["custom"]["relevo"].get("options") or []
    return [Option(i, str(titles[pick_payload(i)])) for i in ids if titles.get(pick_payload(i))]


def chosen(text: str, options: list[Option]) -> str | None:
    """The article among `options` that `text` picks: by position, or by naming its title."""
    words = _words(text)
    if not words:
        return None
    position = _position(words)
    if position is not None:
        return _at(position, options)
    return None if all(w in _POSITIONS for w in words) else _named(words, options)


def _words(text: str) -> list[str]:
    """The message's words without those around a choice."""
    return [w for w in tokens(text) if w not in _FRAME]


def _position(words: list[str]) -> int | None:
    """The one place the words name ("the 2nd", "dos"), when they are only a place."""
    if not words or not all(w in _POSITIONS for w in words):
        return None
    positions = {_POSITIONS[w] for w in words}
    return positions.pop() if len(positions) == 1 else None


def _at(position: int, options: list[Option]) -> str | None:
    """The article at a position counted from one (or the last), if there is one."""
    if position == LAST:
        return options[-1].article_id
    return options[position - 1].article_id if 1 <= position <= len(options) else None


def _named(words: list[str], options: list[Option]) -> str | None:
    """The one option whose title holds every word, when the words name something."""
    if any(len(w) < 3 or w in FUNCTION_WORDS or w in _VAGUE for w in words):
        return None
    wanted = {_stem(w) for w in words}
    named = [o for o in options if wanted <= {_stem(w) for w in tokens(o.title)}]
    return named[0].article_id if len(named) == 1 else None


def _stem(word: str) -> str:
    """A word without its plural ending: "pets" and "pet", "maletas" and "maleta" match."""
    return word[:-1] if len(word) > 3 and word.endswith("s") else word
