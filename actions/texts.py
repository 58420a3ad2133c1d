"""What the assistant says from custom actions, in both languages, written once."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from relevo.pii import Kind
from relevo.settings import Settings

# What a public post shows, by kind: the notice that asks to delete the post names it.
SHOWN: dict[Kind, dict[str, str]] = {
    Kind.CARD: {"en": "a card number", "es": "un número de tarjeta"},
    Kind.NATIONAL_ID: {"en": "an ID number", "es": "un número de documento"},
    Kind.PASSPORT: {"en": "a passport number", "es": "un número de pasaporte"},
    Kind.EMAIL: {"en": "an e-mail address", "es": "un correo electrónico"},
    Kind.PHONE: {"en": "a phone number", "es": "un número de teléfono"},
    Kind.BOOKING: {"en": "a booking code", "es": "un localizador"},
}
_PERSONAL_DATA = {"en": "personal data", "es": "datos personales"}  # several kinds at once
_DELETE_POST = {
    "en": "For your safety, please delete your {post}: it shows {what}. Send us a private "
    "message and we'll help you there. 🔒",
    "es": "Por tu seguridad, borra tu {post}: muestra {what}. Escríbenos por mensaje privado y "
    "te ayudamos allí. 🔒",
}


def _delete_post(what: dict[str, str]) -> dict[str, str]:
    """The notice asking to delete a public post, naming `what` it shows, in both languages.

    `{post}` stays for the caller: a social network's post, a Telegram group's message.
    """
    return {lang: words.replace("{what}", what[lang]) for lang, words in _DELETE_POST.items()}


TEXTS: dict[str, dict[str, str]] = {
    "answer_intro": {
        "en": "Here's what I found in “{title}”:",
        "es": "Esto es lo que he encontrado en «{title}»:",
    },
    "read_more": {"en": "More: {url}", "es": "Más info: {url}"},
    "your_post": {"en": "post", "es": "publicación"},  # what a public customer deletes
    "your_message": {"en": "message", "es": "mensaje"},  # ... in a Telegram group
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
    # A sensitive topic's handoff (actions.escalate.caring_words): a caring line first, in
    # public too, then a person; no emoji.
    "care_loss": {"en": "I'm so sorry for your loss.", "es": "Siento mucho tu pérdida."},
    "care_anger": {
        "en": "I'm so sorry for what happened, and I understand your frustration.",
        "es": "Siento mucho lo ocurrido y entiendo tu malestar.",
    },
    "care_sensitive": {
        "en": "I'm so sorry you're going through this.",
        "es": "Siento mucho que estés pasando por esto.",
    },
    "handoff_personally": {
        "en": "A person on our team will look after it personally: they'll see our "
        "conversation, so you won't need to repeat anything.",
        "es": "Una persona de nuestro equipo se ocupará personalmente: verá toda la "
        "conversación, así que no tendrás que repetir nada.",
    },
    "offline": {
        "en": "Our team is off shift right now: a person will answer you {when}. Your message "
        "is in the queue and nothing more is needed from you.",
        "es": "Ahora mismo nuestro equipo está fuera de turno: una persona te responderá {when}. "
        "Tu mensaje ya está en la cola y no hace falta que hagas nada más.",
    },
    "handoff_public": {
        "en": "A person from our team will reply to you here.",
        "es": "Una persona de nuestro equipo te responderá aquí.",
    },
    "handoff_public_later": {
        "en": "A person from our team will reply to you here {when}.",
        "es": "Una persona de nuestro equipo te responderá aquí {when}.",
    },
    "handoff_wait": {
        "en": "Our team aims to reply within {wait}. Rather not wait? Tap below to carry on "
        "with me.",
        "es": "Nuestro equipo intenta responder en menos de {wait}. ¿Prefieres no esperar? Toca "
        "abajo para seguir conmigo.",
    },
    "back_to_bot": {"en": "Back to the assistant", "es": "Volver al asistente"},
    "suggest_public": {
        "en": "I think this is what you're looking for: {title}",
        "es": "Creo que esto es lo que buscas: {title}",
    },
    "offline_again": {  # the full notice (with the phone) was said in this conversation
        "en": "Our team is still off shift: a person will answer you {when}.",
        "es": "Nuestro equipo sigue fuera de turno: una persona te responderá {when}.",
    },
    "offline_phone": {
        "en": "If it can't wait, call us on {phone}.",
        "es": "Si no puede esperar, llámanos al {phone}.",
    },
    "offline_form": {
        "en": "You can also write to us through {url}.",
        "es": "También puedes escribirnos en {url}.",
    },
    "suggest": {
        "en": "I'm not sure which of these you need. Is it one of them?",
        "es": "No estoy seguro de cuál de estos necesitas. ¿Es alguno de ellos?",
    },
    "suggest_which": {
        "en": "Which one? Tap it above, or tell me a bit more.",
        "es": "¿Cuál de ellos? Tócalo arriba o cuéntame un poco más.",
    },
    "suggest_none": {"en": "None: talk to a person", "es": "Ninguno: hablar con una persona"},
    "what_else": {
        "en": "Sure! What can I help you with?",
        "es": "¡Claro! ¿En qué te puedo ayudar?",
    },
    "in_words": {
        "en": "I'm not sure what you mean 🙂 Could you tell me in a few words what you need? "
        "For example: “Can I bring my dog on board?”",
        "es": "No sé muy bien a qué te refieres 🙂 ¿Me cuentas en pocas palabras qué necesitas? "
        "Por ejemplo: «¿Puedo llevar a mi perro en cabina?»",
    },
    "talk_to_person": {"en": "Talk to a person", "es": "Hablar con una persona"},
    "reference_only": {
        "en": "Thanks! 🙂 What do you need with that booking? Tell me and I'll help, or talk to "
        "a person from our team, who can look it up.",
        "es": "¡Gracias! 🙂 ¿Qué necesitas con esa reserva? Cuéntamelo y te ayudo, o habla con "
        "una persona del equipo, que puede consultarla.",
    },
    "not_understood": {
        "en": "Sorry about the confusion 🙏 Could you tell me in other words what you need? "
        "Or, if you prefer, talk to a person from our team.",
        "es": "Perdona el lío 🙏 ¿Me cuentas con otras palabras qué necesitas? "
        "O, si lo prefieres, habla con una persona del equipo.",
    },
    "pii_public": _delete_post(_PERSONAL_DATA),
    **{f"pii_public_{kind.value}": _delete_post(what) for kind, what in SHOWN.items()},
}


def text(key: str, language: str, **values: str) -> str:
    """The text `key` in `language` (English when the language is unknown)."""
    variants = TEXTS[key]
    return variants.get(language, variants["en"]).format(**values)


WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
}  # fmt: skip


def when(at: dt.datetime, language: str, timezone: str, now: dt.datetime) -> str:
    """A moment as a customer reads it, in their time zone: "tomorrow at 08:00 (Madrid time)"."""
    local = at.astimezone(ZoneInfo(timezone))
    days = (local.date() - now.astimezone(ZoneInfo(timezone)).date()).days
    clock = local.strftime("%H:%M")
    es = language == "es"
    if days == 0:
        day = "hoy" if es else "today"
    elif days == 1:
        day = "mañana" if es else "tomorrow"
    elif es:
        day = f"el {WEEKDAYS['es'][local.weekday()]} {local.day} de {MONTHS['es'][local.month - 1]}"
    else:
        day = f"on {WEEKDAYS['en'][local.weekday()]} {local.day} {MONTHS['en'][local.month - 1]}"
    zone = zone_name(timezone, language)
    return f"{day} a las {clock} {zone}" if es else f"{day} at {clock} {zone}"


def wait_words(minutes: float, language: str) -> str:
    """A wait as a customer reads it: "15 minutes", "1 hour", "2 horas" (rounded up)."""
    es = language == "es"
    if minutes <= 55:
        count = max(5, math.ceil(minutes / 5) * 5)
        return f"{count} minutos" if es else f"{count} minutes"
    hours = math.ceil(minutes / 60)
    if hours == 1:
        return "1 hora" if es else "1 hour"
    return f"{hours} horas" if es else f"{hours} hours"


def zone_name(timezone: str, language: str) -> str:
    """A time zone as a customer reads it: "(Madrid time)", "(hora de Madrid)", "(hora UTC)".

    A zone named after a city reads as the city's time; one that is only a name (UTC, GMT,
    Etc/UTC) as that name, never "hora de UTC".
    """
    place = timezone.rsplit("/", 1)[-1].replace("_", " ")
    city = "/" in timezone and not timezone.startswith("Etc/")
    if language == "es":
        return f"(hora de {place})" if city else f"(hora {place})"
    return f"({place} time)"


def off_shift_notice(
    opens_at: dt.datetime,
    language: str,
    timezone: str,
    now: dt.datetime,
    settings: Settings,
    *,
    said: Iterable[str] = (),
) -> str:
    """When a person will answer (in `timezone`), and the phone and form when there are some."""
    return off_shift_words(when(opens_at, language, timezone, now), language, settings, said=said)


def off_shift_words(
    later: str, language: str, settings: Settings, *, said: Iterable[str] = ()
) -> str:
    """The off-shift notice for a moment already written out (`when`).

    When `said` (what the bot told the conversation before) holds this very notice, one short
    line instead: the customer has read it, with its phone number, and the opening is the same.
    """
    parts = [text("offline", language, when=later)]
    if settings.care_phone:
        parts.append(text("offline_phone", language, phone=settings.care_phone))
    if settings.care_form_url:
        parts.append(text("offline_form", language, url=settings.care_form_url))
    full = " ".join(parts)
    return text("offline_again", language, when=later) if full in said else full
