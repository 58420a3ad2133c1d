"""What the gateway itself says to customers (not the assistant), in both languages."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "empty": {
        "en": "I didn't get any text there 🙂 What can I help you with?",
        "es": "No me ha llegado ningún texto 🙂 ¿En qué te puedo ayudar?",
    },
    "empty_public": {  # a bare mention: the brand answers it as a hello
        "en": "Hi! 👋 How can we help you?",
        "es": "¡Hola! 👋 ¿En qué podemos ayudarte?",
    },
    "too_long": {
        "en": "That message is a bit long for me. Could you sum it up in fewer than {limit} "
        "characters?",
        "es": "Ese mensaje es un poco largo para mí. ¿Me lo resumes en menos de {limit} "
        "caracteres?",
    },
    "unsupported": {
        "en": "I can only read text for now, so I couldn't open {that}. Could you write it to me?",
        "es": "De momento solo puedo leer texto, así que no he podido abrir {that}. "
        "¿Me lo escribes?",
    },
    "unsupported_relayed": {
        "en": "I can only pass text on to the team for now, so I couldn't open your {what}. Could "
        "you write it instead? The person helping you will read it.",
        "es": "De momento solo puedo pasar texto al equipo, así que no he podido abrir tu {what}. "
        "¿Me lo escribes? La persona que te atiende lo leerá.",
    },
    "unsupported_location": {
        "en": "I can't see shared locations. Could you tell me in words what you need? For "
        "example, which airport you're at.",
        "es": "No puedo ver ubicaciones compartidas. ¿Me cuentas con palabras qué necesitas? Por "
        "ejemplo, en qué aeropuerto estás.",
    },
    "unsupported_location_relayed": {
        "en": "The team can't see shared locations. Could you write where you are instead? The "
        "person helping you will read it.",
        "es": "El equipo no puede ver ubicaciones compartidas. ¿Me escribes dónde estás? La "
        "persona que te atiende lo leerá.",
    },
    "unsupported_contact": {
        "en": "I can't open shared contacts, and there's no need to send contact details here. "
        "What can I help you with?",
        "es": "No puedo abrir contactos compartidos, y no hace falta que envíes datos de contacto "
        "por aquí. ¿En qué puedo ayudarte?",
    },
    "unsupported_contact_relayed": {
        "en": "The team can't open shared contacts, and there's no need to send contact details: "
        "the person helping you is already in this chat.",
        "es": "El equipo no puede abrir contactos compartidos, y no hace falta que envíes datos "
        "de contacto: la persona que te atiende ya está en este chat.",
    },
    "slow_down": {
        "en": "You're writing faster than I can read 🙂 I've kept your messages; give me a "
        "moment and write again in a minute.",
        "es": "Escribes más rápido de lo que puedo leer 🙂 He guardado tus mensajes; dame un "
        "momento y vuelve a escribirme en un minuto.",
    },
    "no_answer": {
        "en": "Sorry, I couldn't answer that just now. Could you ask again in a moment, or write "
        "/agent to talk to a person?",
        "es": "Perdona, ahora mismo no he podido responderte. ¿Me lo preguntas de nuevo en un "
        "momento, o escribes /agent para hablar con una persona?",
    },
    "help": {
        "en": "I'm Brisa Air's assistant. Ask me anything about bookings, baggage, check-in, "
        "refunds or your flight, in English or Spanish. Write /agent at any time to talk to a "
        "person.",
        "es": "Soy el asistente de Brisa Air. Pregúntame lo que quieras sobre reservas, "
        "equipaje, check-in, reembolsos o tu vuelo, en español o en inglés. Escribe /agent "
        "cuando quieras para hablar con una persona.",
    },
    "continued": {
        "en": "Hi{name}! Let's continue here, privately, with what you wrote in public: “{said}”",
        "es": "¡Hola{name}! Seguimos aquí, en privado, con lo que nos escribiste en público: "
        "«{said}»",
    },
    "continued_person": {
        "en": "Hi{name}! Let's continue here, privately. A person from our team has your message "
        "and will reply to you here.",
        "es": "¡Hola{name}! Seguimos aquí, en privado. Una persona de nuestro equipo tiene tu "
        "mensaje y te responderá por aquí.",
    },
    "continued_again": {  # a link to private followed again, with nothing new to carry
        "en": "We're already talking here, in private 🙂 Write here whatever you need.",
        "es": "Ya seguimos aquí, en privado 🙂 Escríbeme aquí lo que necesites.",
    },
    "invite_expired": {  # a link to continue in private that no longer works (or never did)
        "en": "This link has expired or isn't valid, so your public message didn't come with it. "
        "Tell me here what you need and I'll help you.",
        "es": "Este enlace ha caducado o no es válido, así que tu mensaje público no ha llegado "
        "con él. Cuéntame aquí qué necesitas y te ayudo.",
    },
    "invite_taken": {  # a public link another chat took up first
        "en": "This link has already been used to continue in another chat, so I can't carry "
        "that conversation over here. Tell me here what you need and I'll help you.",
        "es": "Este enlace ya se usó para seguir en otro chat, así que no puedo traer aquí esa "
        "conversación. Cuéntame aquí qué necesitas y te ayudo.",
    },
    "not_invited": {  # another member followed a Telegram group's invitation
        "en": "This link is for someone else, so I can't continue that conversation here.",
        "es": "Este enlace es para otra persona, así que no puedo continuar aquí esa conversación.",
    },
    "rating_thanks": {
        "en": "Thank you for your rating! It helps us get better. 💙",
        "es": "¡Gracias por tu valoración! Nos ayuda a mejorar. 💙",
    },
    "rating_thanks_poor": {  # a rating of 1 or 2: no heart emoji for "1/5, you did nothing"
        "en": "Thank you for telling us, and we're sorry we didn't get it right. If anything is "
        "still pending, just reply here and we'll pick it up.",
        "es": "Gracias por decírnoslo, y sentimos no haberlo hecho mejor. Si queda algo "
        "pendiente, responde aquí y lo retomamos.",
    },
    "welcome": {
        "en": "You're welcome! 😊 We're here whenever you need us.",
        "es": "¡De nada! 😊 Aquí estamos para lo que necesites.",
    },
    "person_help": {  # /help or /start while a person has the conversation
        "en": "A person from our team has this conversation and will answer you here: write "
        "whatever you'd like them to know. Once they're done, I'll answer your questions again.",
        "es": "Una persona de nuestro equipo tiene esta conversación y te responderá por aquí: "
        "escribe lo que quieras que sepa. Cuando termine, volveré a responder tus preguntas.",
    },
    "person_on_it": {  # "back to the assistant" tapped once a person has claimed the handoff
        "en": "A person from our team is already on your conversation and will answer you here "
        "shortly.",
        "es": "Una persona de nuestro equipo ya está con tu conversación y te responderá por aquí "
        "enseguida.",
    },
    "person_already": {  # /agent, or a "talk to a person" tap, while a person has it
        "en": "You're already with our team: a person has this conversation and will answer you "
        "here. Everything you write here reaches them.",
        "es": "Ya estás con nuestro equipo: una persona tiene esta conversación y te responderá "
        "por aquí. Todo lo que escribas aquí le llega.",
    },
    "waiting_for_person": {
        "en": "Got it: I've added your message for our team, and a person will answer you here "
        "as soon as they can.",
        "es": "Recibido: he añadido tu mensaje para nuestro equipo y una persona te responderá "
        "aquí en cuanto pueda.",
    },
    "invite": {
        "en": "Continue in private: {link}",
        "es": "Sigue en privado: {link}",
    },
    "buttons_for": {
        "en": "These buttons are for {who}. Mention me to ask your own question 🙂",
        "es": "Estos botones son para {who}. Mencióname para hacer tu propia pregunta 🙂",
    },
    "buttons_stale": {
        "en": "Those buttons were for an earlier answer. Use the ones under my latest message 👇",
        "es": "Esos botones eran de una respuesta anterior. Usa los de mi último mensaje 👇",
    },
    "buttons_unknown": {
        "en": "These buttons answered another message. Mention me to ask your own question 🙂",
        "es": "Estos botones respondían a otro mensaje. Mencióname para hacer tu propia "
        "pregunta 🙂",
    },
    "agent_joined": {
        "en": "{agent} from our team has joined the conversation.",
        "es": "{agent}, de nuestro equipo, se ha unido a la conversación.",
    },
    "agent_joined_unnamed": {
        "en": "A person from our team has joined the conversation.",
        "es": "Una persona de nuestro equipo se ha unido a la conversación.",
    },
    "bot_back": {
        "en": "You're chatting with the assistant again: ask me anything, or ask for a person at "
        "any time.",
        "es": "Vuelves a hablar con el asistente: pregúntame lo que quieras, o pide hablar con "
        "una persona cuando quieras.",
    },
}

UNSUPPORTED_NAMES: dict[str, dict[str, str]] = {
    "sticker": {"en": "sticker", "es": "sticker"},
    "photo": {"en": "photo", "es": "foto"},
    "voice": {"en": "voice note", "es": "audio"},
    "audio": {"en": "audio file", "es": "audio"},
    "video": {"en": "video", "es": "vídeo"},
    "video_note": {"en": "video message", "es": "videomensaje"},
    "animation": {"en": "GIF", "es": "GIF"},
    "document": {"en": "file", "es": "archivo"},
    "poll": {"en": "poll", "es": "encuesta"},
    "dice": {"en": "dice roll", "es": "dado"},
}
_FEMININE_ES = frozenset({"foto", "encuesta"})
_NO_WORDS = frozenset({"location", "contact"})
"""Attachments answered with their own texts: a place asked in words, no contact details."""


def text(key: str, language: str | None, **values: object) -> str:
    """A text in `language` (English when unknown), with `values` filled in."""
    variants = TEXTS[key]
    return variants.get(language or "en", variants["en"]).format(**values)


def unsupported_notice(what: str, language: str | None, *, relayed: bool) -> str:
    """What the customer is told of an attachment the assistant cannot open.

    `what` is Telegram's kind ("photo", "location"...); `relayed`: a person has the conversation.
    """
    suffix = "_relayed" if relayed else ""
    if what in _NO_WORDS:
        return text(f"unsupported_{what}{suffix}", language)
    names = UNSUPPORTED_NAMES.get(what, {"en": "attachment", "es": "adjunto"})
    name = names.get(language or "en", names["en"])
    if language == "es":
        that = f"{'esa' if name in _FEMININE_ES else 'ese'} {name}"
    else:
        that = f"that {name}"
    return text(f"unsupported{suffix}", language, what=name, that=that)
