"""Is a public message about the customer's own booking, refund or payment? Pure."""

from __future__ import annotations

import re

from kb_index.text import fold
from relevo.pii import contains_personal_data

# Six letters and digits, both present; a flight number (two letters, four digits) is not one.
_BOOKING_CODE = re.compile(r"\b(?![A-Z]{2}\d{4}\b)(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6}\b")
_REFERENCE = re.compile(r"\bRF-?\d{4,}\b", re.IGNORECASE)
_THINGS = (
    r"(reserva|reservas|reservation|reservations|booking|bookings|reembolso|refund|devolucion|"
    r"billete|billetes|ticket|tickets|tarjeta|card|cobro|pago|payment|localizador|vuelo|vuelos|"
    r"flight|flights|pedido|order|viaje|trip|compra|purchase|factura|invoice|recibo|receipt)"
)
_KIN = r"(husband|wife|son|daughter|partner|mother|mum|mom|father|dad|kids|children|family)"
_PARIENTE = r"(marido|mujer|esposa|esposo|hijo|hija|hijos|pareja|madre|padre|familia)"
_PERSONAL = re.compile(
    rf"\b(mi|mis|my|our|nuestra|nuestro|nuestras|nuestros) {_THINGS}\b"
    rf"|\b(my|our) {_KIN}'?s? {_THINGS}\b"
    rf"|\b(la|el|las|los) {_THINGS} de (mi|mis|nuestra|nuestro) {_PARIENTE}\b"
    r"|\b((me|nos) (habeis|han|has|hayan) cobrado|(me|nos) (cobraron|cobrasteis)"
    r"|charged (me|us)|you charged|(i|we) (was|were|got|have been|ve been) charged)\b"
)


def is_personal_matter(text: str) -> bool:
    """True when answering would involve the customer's own data (a booking, refund, payment)."""
    return shows_personal_data(text) or bool(_PERSONAL.search(fold(text)))


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


def private_notice(text: str) -> str:
    """The text key that moves a public customer to a private channel.

    When they already posted personal data, they are also asked to delete the post.
    """
    return "pii_public" if contains_personal_data(text) else "go_private"
