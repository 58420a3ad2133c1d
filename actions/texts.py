"""What the assistant says from custom actions, in both languages, written once."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "answer_intro": {
        "en": "Here's what I found in “{title}”:",
        "es": "Esto es lo que he encontrado en «{title}»:",
    },
    "read_more": {"en": "More: {url}", "es": "Más info: {url}"},
    "other_language": {
        "en": "(This article is only available in Spanish.)",
        "es": "(Este artículo solo está disponible en inglés).",
    },
    "go_private": {
        "en": "I'd love to help with your booking, but let's keep your details safe: please "
        "send us a private message and we'll take it from there. Never share booking codes "
        "or card details in public. 🔒",
        "es": "Te ayudo encantado con tu reserva, pero cuidemos tus datos: escríbenos por "
        "mensaje privado y lo vemos allí. No compartas nunca localizadores ni datos de tarjeta "
        "en público. 🔒",
    },
    "not_pending": {
        "en": "Got it! Is there anything else I can help you with?",
        "es": "¡Entendido! ¿Hay algo más en lo que pueda ayudarte?",
    },
}


def text(key: str, language: str, **values: str) -> str:
    """The text `key` in `language` (English when the language is unknown)."""
    variants = TEXTS[key]
    return variants.get(language, variants["en"]).format(**values)
