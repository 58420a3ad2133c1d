"""What the desk says to customers, in both languages."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "resolved": {
        "en": "Thanks for your patience! We've marked this as resolved. How would you rate the "
        "help you got, from 1 (poor) to 5 (excellent)?",
        "es": "¡Gracias por tu paciencia! Damos esto por resuelto. ¿Cómo valorarías la ayuda "
        "recibida, de 1 (mala) a 5 (excelente)?",
    },
    "resolved_sensitive": {  # no rating asked: a death, an illness, a legal matter
        "en": "We've marked this as resolved. If there's anything else we can do, just write to "
        "us here.",
        "es": "Damos esto por resuelto. Si podemos ayudarte en algo más, escríbenos por aquí.",
    },
    "follow_up": {
        "en": "Hi again! We're checking in: is everything sorted after your conversation with "
        "us? If anything is still pending, just reply here and we'll pick it up.",
        "es": "¡Hola de nuevo! Queríamos saber si quedó todo resuelto tras tu conversación con "
        "nosotros. Si queda algo pendiente, responde aquí y lo retomamos.",
    },
    "invite_private": {  # an agent's, on a public thread: the links follow on their own line
        "en": "Let's continue in private so I can look at your details safely: follow the link "
        "and I'll pick it up there. Please don't share booking codes or card details here. 🔒",
        "es": "Sigamos por privado para revisar tus datos con seguridad: entra en el enlace y lo "
        "retomo allí. Por favor, no compartas localizadores ni datos de tarjeta aquí. 🔒",
    },
}


def text(key: str, language: str | None) -> str:
    """A text in `language` (English when unknown)."""
    variants = TEXTS[key]
    return variants.get(language or "en", variants["en"])


def rating_buttons() -> list[dict[str, str]]:
    """One to five stars."""
    return [{"title": f"{n} ⭐", "payload": str(n)} for n in range(1, 6)]
