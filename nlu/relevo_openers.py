"""Openers: a message that only says the customer has a question or needs help.

"I have a question", "quick question", "I need help", "tengo una duda", "una consulta",
"¿me ayudas?": the question itself comes next. DIET took them for `goodbye` ("tengo una duda":
"Take care and have a great flight!"), `deny` ("I need help") or its fallback ("I have a
question": straight to a person). Teaching DIET a new intent moved unrelated questions to
`complaint` (the question/complaint boundary is thin), so the openers are recognised here by
their whole wording instead: a greeting, a mention and "please" may come around them, nothing
else may. "I need help with my booking" is not an opener: it says what it is about.

Pure Python, no Rasa: the component (relevo_opener_intent.py) runs it in Rasa's environment and
the tests run it in the app's.
"""

from __future__ import annotations

import re
import unicodedata

_GREETING = (
    r"(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|hola|buenas(?: tardes| noches)?"
    r"|buenos dias)(?: (?:there|team|all|brisa(?: air)?|equipo))?"
)
_POLITE = r"(?:please|pls|plz|por favor|porfa|porfavor|xfa|plis)"
_EN = (
    r"(?:i )?(?:have|ve got|got) (?:a|one|another|one more|a quick|a small|a few|a couple of"
    r"|some|two) (?:quick )?(?:question|questions|query|queries|doubt|doubts)(?: for (?:you|u))?",
    r"(?:a |one )?quick (?:question|q)",
    r"(?:another|one more) question",
    r"(?:a )?question",
    r"(?:i )?(?:need|want) (?:some |a little )?(?:help|info|information|assistance)",
    r"help(?: me)?",
    r"(?:can|could) (?:you|u) help(?: me)?(?: with something| out)?",
    r"(?:can|could|may) i ask (?:you |u )?(?:something|a question|a quick question)",
)
_ES = (
    r"(?:tengo|traigo) (?:una|otra|un par de|unas|dos|varias) (?:duda|dudas|pregunta|preguntas"
    r"|consulta|consultas|preguntita|dudilla)(?: rapida| rapidita)?",
    r"(?:una|otra) (?:duda|pregunta|consulta|preguntita|dudilla)(?: rapida| rapidita)?",
    r"necesito (?:ayuda|informacion|info)",
    r"ayuda(?:me)?",
    r"(?:me )?(?:puedes|podeis|podrias|podriais|pueden) ayudar(?:me)?",
    r"me (?:ayudas|ayudais|ayuda|echas una mano|echais una mano)",
    r"(?:te |os |les )?(?:puedo|podria) (?:hacer|preguntar(?:te|os)?) "
    r"(?:una pregunta|una consulta|algo)",
    r"(?:te |os )?(?:puedo|podria) preguntar(?:te|os)? algo",
    r"queria (?:consultar|preguntar(?:te|os)?) (?:una cosa|algo)",
)
_OPENER = re.compile(
    rf"(?:{_POLITE} )?(?:{_GREETING} )?(?:{'|'.join(_EN + _ES)})(?: {_POLITE})?",
)


def _words(text: str) -> str:
    """Lower-case words without accents, mentions, emoji or punctuation, one space apart."""
    text = re.sub(r"@\w+", " ", text.lower())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("'", "")  # "i've" is "ive"
    return " ".join(re.findall(r"[a-z0-9]+", text)).replace("ive got", "ve got")


def is_opener(text: str) -> bool:
    """Whether the message only announces a question or asks for help (module docstring)."""
    return _OPENER.fullmatch(_words(text)) is not None
