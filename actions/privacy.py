"""Is a public message about the customer's own booking, refund or payment? Pure."""

from __future__ import annotations

import re

from actions.texts import text
from kb_index.text import fold
from relevo.pii import contains_personal_data, kinds

# Six letters and digits, both present; a flight number (two letters, four digits) is not one.
_BOOKING_CODE = re.compile(r"\b(?![A-Z]{2}\d{4}\b)(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6}\b")
_REFERENCE = re.compile(r"\bRF-?\d{4,}\b", re.IGNORECASE)
_OWNER = r"(mi|mis|my|our|nuestra|nuestro|nuestras|nuestros)"
_KIN = r"(husband|wife|son|daughter|partner|mother|mum|mom|father|dad|kids|children|family)"
_PARIENTE = r"(marido|mujer|esposa|esposo|hijo|hija|hijos|pareja|madre|padre|familia)"


def _owned(things: str) -> re.Pattern[str]:
    """A pattern for one of `things` that is the customer's or their family's.

    "my refund", "my wife's ticket", "el billete de mi hija".
    """
    return re.compile(
        rf"\b{_OWNER} {things}\b"
        rf"|\b(my|our) {_KIN}'?s? {things}\b"
        rf"|\b(la|el|las|los) {things} de {_OWNER} {_PARIENTE}\b"
    )


# Records only the customer's data can answer for: a booking, a refund, a payment, an invoice,
# an account. "My booking code" is not one: where to find it is a question like any other; nor
# is "por mi cuenta" (on my own).
_MY_RECORD = _owned(
    r"(reservas?|reservations?|bookings?(?! (code|ref|reference|number))|reembolsos?|refunds?"
    r"|devolucion|devoluciones|pagos?|payments?|cobros?|facturas?|invoices?|recibos?|receipts?"
    r"|pedidos?|orders?|compras?|purchases?|(?<!por mi )(?<!por nuestra )cuenta|account)"
)
# Things every traveller has: "my flight" is personal only with something done to it.
_MY_TRIP = _owned(r"(vuelos?|flights?|viajes?|trips?|billetes?|tickets?|tarjeta|card)")
_DONE_TO_IT = re.compile(
    r"\b(cancel\w*|chang(e|ed|ing)|mov(e|ed|ing)|rebook\w*|reschedul\w*|postpon\w*|refunded"
    r"|refund (it|me|my|this|that)|delayed|overbooked|missed|declined|charged|not showing"
    r"|(doesn'?t|does not) (show|appear)|cambi\w*|modific\w*|mover(lo|la)?|muev\w*|pasar(lo|la)?"
    r"|anul\w*|aplaz\w*|retras\w*|quitar(lo|la)?|reembols[ae]\w*|devolv\w*|perd(i|imos|ido)"
    r"|rechazad\w*|cobrad[oa]s?|no (me )?aparece)\b"
)
# Asking how things work, what they cost or whether they are allowed is a general question,
# even about "my flight": the knowledge base answers it for everyone.
_GENERAL_QUESTION = re.compile(
    r"\b((can|could|may) (i|we)|(i|we) can|how (do|does|can|to|much|long|many|early|late)"
    r"|is it possible|what happens if|puedo|podemos|se puede|como (se|puedo|podemos|hago|funciona)"
    r"|cuant[oa]s?|es posible|que pasa si)\b"
)
# Money taken from the customer: only their payment record tells what happened.
_CHARGED = re.compile(
    r"\b((me|nos) (habeis|han|has|hayan) cobrado|(me|nos) (cobraron|cobrasteis)"
    r"|charged (me|us)|you charged|(i|we) (was|were|got|have been|ve been) charged)\b"
)
# A flight number names one trip: with "my trip" it is theirs ("my trip (BR 1422 on friday)"),
# and with a day gone by it is one they took ("forgot my jacket on BR 1422 yesterday"). Alone or
# ahead ("is BR 2231 on time today?", "check in for BR 2045 on friday") it is anyone's.
# EU261 is the passengers' rights regulation, not a flight.
_FLIGHT_NUMBER = re.compile(r"(?<!\w)(?!EU)[A-Z][A-Z0-9] ?\d{3,4}\b|\b(?!eu)[a-z]{2}\d{3,4}\b")
_DAY_GONE_BY = re.compile(
    r"\b(yesterday|ayer|anteayer|last (week|night|month)|la semana pasada|anoche)\b"
    r"|\b(el|la) \w+ pasad[oa]\b|\blast (mon|tues|wednes|thurs|fri|satur|sun)day\b"
)


def is_personal_matter(text: str) -> bool:
    """True when only the customer's own data can answer: their booking, refund or payment.

    A message that gives such data, says they were charged, or names their own trip by its
    flight number is one ("forgot my jacket on BR 1422 yesterday"). So is one about their own
    record ("where is my refund", "cancel my booking") or something done to their trip
    ("quiero cambiar mi vuelo del viernes"), unless it asks how things work, what they cost or
    whether they are allowed. A question or a remark that merely mentions "my flight" ("is
    wifi available on my flight?", "my flight was amazing") is answered in public like any other.
    """
    folded = fold(text)
    if shows_personal_data(text) or _CHARGED.search(folded) or _names_own_flight(text, folded):
        return True
    trip = bool(_MY_TRIP.search(folded) and _DONE_TO_IT.search(folded))
    own = trip or _MY_RECORD.search(folded) is not None
    return own and not _GENERAL_QUESTION.search(folded)


def _names_own_flight(text: str, folded: str) -> bool:
    """Whether a flight number names the customer's trip: "my trip" or a day gone by with it."""
    if not _FLIGHT_NUMBER.search(text):
        return False
    return bool(_MY_TRIP.search(folded) or _MY_RECORD.search(folded) or _DAY_GONE_BY.search(folded))


def shows_personal_data(text: str) -> bool:
    """True when the message itself gives such data: a booking code, a refund reference, a card."""
    code = _BOOKING_CODE.search(text) or _REFERENCE.search(text)
    return code is not None or contains_personal_data(text)


_NAMING_A_CODE = re.compile(
    r"\b(my|mi|the|el|la|this|este|booking|reservation|reserva|localizador|code|codigo|ref"
    r"|reference|referencia|refund|reembolso|number|numero|is|es|de|here|aqui)\b"
)


def only_a_reference(text: str) -> bool:
    """Whether the message gives a booking code or refund reference, and says nothing else.

    "XK7P2Q" or "mi localizador es XK7P2Q", as a message of its own, asks nothing yet.
    """
    upper = text.upper()
    if not (_BOOKING_CODE.search(upper) or _REFERENCE.search(upper)):
        return False
    rest = _REFERENCE.sub(" ", _BOOKING_CODE.sub(" ", upper))
    return not any(ch.isalnum() for ch in _NAMING_A_CODE.sub(" ", fold(rest)))


def private_notice_text(question: str, language: str, channel: str) -> str:
    """The words that move a public customer to private (`private_notice`), in `language`.

    A Telegram group's post is a message: "borra tu publicación" read oddly there (QA s25).
    """
    shared = text("your_message" if channel == "telegram" else "your_post", language)
    return text(private_notice(question), language, post=shared)


def private_notice(text: str) -> str:
    """The text key that moves a public customer to a private channel.

    When they already posted personal data, they are also asked to delete the post, which is
    told what it shows ("a phone number"), or "personal data" when it shows several kinds.
    """
    shown = kinds(text)
    if not shown:
        return "go_private"
    return f"pii_public_{shown.pop().value}" if len(shown) == 1 else "pii_public"
