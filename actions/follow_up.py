"""A short follow-up read with the question it follows.

"What about a cat?" after "can I bring my dog on board?", "¿y mi reembolso?" after a question
on the Wi-Fi. Searched alone, such a message has too few words to find its article, and two of
them in a row would hand the customer over. When it finds no answer alone, the action searches
it again after the question the bot last answered (`answered_question`), or after the brand's
post it replies to in public (`actions.conversation.brand_post`), and answers when that search
does, with an article the message alone found plausible (a change of subject is not read as a
follow-up), or with any article when the message only asks something of what was just answered
("¿y cuánto cuesta?", "and how much is it?": `asks_about_it`).
"""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.conversation import decision_of
from kb_index.text import FUNCTION_WORDS, tokens

FOLLOW_UP_WORDS = 5
"""A message of this many words or fewer may lean on the question before it."""
ASKING_WORDS = 8
"""Nor longer, one that only asks something of it: "and how much does it cost?" is six words."""
_LOOK_BACK = 3  # customer messages between the question and its follow-up, at most
_ASIDES = frozenset({"notice"})  # said beside a decision: an incident the operator announced


# What a short follow-up may ask of the subject just answered, without naming one of its own.
_ATTRIBUTE_WORDS = """
    cost costs price prices much many long free fee fees charge charged pay paid kids children
    child baby babies infant infants weight weigh weighs heavy size sizes big small when early
    late online airport cuesta cuestan cuanto cuanta cuantos cuantas precio precios vale valen
    sale gratis tarifa pagar pago pagan cobran cobrais tarda tiempo peso pesa kilos kilo tamano
    grande ninos nino bebe bebes cuando hora pronto tarde aeropuerto web
"""
_ATTRIBUTES = frozenset(_ATTRIBUTE_WORDS.split())
# Short words around the question: "and how much is it?", "¿y eso cuánto cuesta?".
_AROUND_WORDS = """
    and how what about is it for the of per to do does are so then yes el la lo los las si es
    son por de eso esto en con me te nos
"""
_AROUND = frozenset(_AROUND_WORDS.split())


def asks_about_it(text: str) -> bool:
    """Whether a short message only asks something of the subject just answered.

    "¿y cuánto cuesta?" after the Wi-Fi's answer is its price: read alone, it found the seats'
    article (QA s21). A message that names a subject ("and parking?", "¿y la sala vip?") is
    not one: read with the Wi-Fi question, it was answered with the Wi-Fi article.
    """
    words = [w for w in tokens(text) if w not in FUNCTION_WORDS and w not in _AROUND]
    short = 0 < len(text.split()) <= ASKING_WORDS
    return short and bool(words) and all(w in _ATTRIBUTES or w.isdigit() for w in words)


# The words of a yes, a no or a "kind of" to "did this help?", folded as `tokens` folds them.
_YES_NO_WORDS = """
    yes yeah yep yup sure ok okay no nope nah not didn dont doesn never nothing thanks thank
    help helped helpful useful great good bad fine perfect si vale claro nada tampoco nunca
    bueno buena perfecto genial gracias sirve sirvio servido ayuda ayudado ayudo util bien mal
    more less kind sort bit little somewhat partly mostly almost poco mas menos casi medias regular
"""
_YES_NO = frozenset(_YES_NO_WORDS.split())


def asks_something_else(text: str) -> bool:
    """Whether a short message Rasa read as a yes or a no is rather a follow-up question.

    "¿y para los niños?" under "did this help?" was read as a no (0.65) and handed the customer
    over as unhappy with the answer, and "y para niños" as one at 0.94. A message that says no
    word of a yes or a no, and names something besides the words around a question, asks.
    """
    if text.startswith("/") or not is_follow_up(text):  # a button's payload is its answer
        return False
    words = tokens(text)
    named = [w for w in words if w not in FUNCTION_WORDS and w not in _AROUND]
    return bool(named) and not any(w in _YES_NO for w in words)


def is_follow_up(text: str) -> bool:
    """Whether a message may be read with the question before it: short, or only asking."""
    return 0 < len(text.split()) <= FOLLOW_UP_WORDS or asks_about_it(text)


def answered_question(tracker: Tracker) -> str | None:
    """The customer's last question in this session that the bot answered from an article.

    Only answers (to it, or to follow-ups of it) and feedback may have come since: after an
    offer, a request to rephrase or a handoff, a short message is read alone. Taps on buttons
    are not questions to lean on, and a short message only when no longer one was answered
    (it may itself be a follow-up): then the earliest such one, "is there wifi on board?"
    before "and the price?" before "y cuánto cuesta?".
    """
    answered, earlier, latest = False, 0, True
    short: str | None = None
    for event in reversed(tracker.events):
        kind = event.get("event")
        if latest:  # the message being answered, and what Rasa noted after it
            latest = kind != "user"
            continue
        if kind == "session_started":
            return short
        if kind == "bot":
            decision = decision_of(event)
            if decision == "answer":
                answered = True
            elif decision is not None and decision not in _ASIDES:
                return short
        elif kind == "user":
            text = str(event.get("text") or "")
            if answered and not text.startswith("/"):
                if not is_follow_up(text):
                    return text
                short = text
            earlier += 1
            if earlier >= _LOOK_BACK:
                return short
            answered = False
    return short
