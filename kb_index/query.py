"""Clean a social-media message before it is embedded: handles, links, emoji, shorthand."""

from __future__ import annotations

import re

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"(?<!\w)@\w+")
_HASHTAG = re.compile(r"#(\w+)")
_REPEATS = re.compile(r"([!?.])\1+|([a-zA-Z])\2{2,}")
_SYMBOLS = re.compile(r"[^\w\s¿?¡!.,:;'€$%/-]")
_SHORTHAND = {
    # Spanish
    "q": "que",
    "xq": "porque",
    "pq": "porque",
    "tb": "también",
    "tmb": "también",
    "x": "por",
    "d": "de",
    "k": "que",
    "dnd": "dónde",
    "xfa": "por favor",
    "porfa": "por favor",
    # English
    "u": "you",
    "ur": "your",
    "r": "are",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "w": "with",
    "w/": "with",
    "thru": "through",
    "tix": "tickets",
    "ppl": "people",
    "bc": "because",
    "cuz": "because",
    "idk": "I don't know",
    "asap": "as soon as possible",
    "hrs": "hours",
    "hr": "hour",
    "mins": "minutes",
    "2nd": "second",
    "b4": "before",
}


# Latin American and colloquial Spanish words, in the words the articles use (Spain's Spanish):
# the multilingual model places "valija" or "boleto" far from "maleta" or "billete".
_REGIONAL = {
    "valija": "maleta",
    "valijas": "maletas",
    "boleto": "billete",
    "boletos": "billetes",
    "pasaje": "billete",
    "pasajes": "billetes",
    "celular": "móvil",
    "cel": "móvil",
    "computadora": "ordenador",
    "abordar": "embarcar",
    "abordaje": "embarque",
    "demora": "retraso",
    "demoras": "retrasos",
    "demorado": "retrasado",
    "demorada": "retrasada",
    "atraso": "retraso",
    "atrasado": "retrasado",
    "atrasada": "retrasada",
    "reintegro": "reembolso",
    "plata": "dinero",
    "pasta": "dinero",
    "lana": "dinero",
    "crio": "niño",
    "crios": "niños",
    "nene": "niño",
    "nena": "niña",
    "chamaco": "niño",
    "chamacos": "niños",
    "papeles": "documentos",
}
_PHRASES = {
    "pase de abordar": "tarjeta de embarque",
    "pase de abordaje": "tarjeta de embarque",
    # "sitio" is a seat on board, and a place or a website anywhere else.
    "sitio en el avión": "asiento en el avión",
    "sitio en el avion": "asiento en el avión",
}
_PHRASE = re.compile(rf"\b({'|'.join(map(re.escape, _PHRASES))})\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")

LONG_QUERY_CHARS = 400
"""A longer message is searched by its last sentences (`last_sentences`), at most this long.

The encoder averages a text: the longer the story before a question, the less of the question
its vector holds (after 2,000 characters of story, "¿Cómo reclamo la indemnización por el
retraso?" weighed 0.10 against 0.53 after 140), and a 2,400-character post found missed
connections. People tell the story first and put what they ask at the end (QA s25 M6).
"""
FOCUS_CHARS = 60
"""The last sentences searched of a long message reach at least this long when they can."""


def _plain_word(word: str) -> str:
    """A word in full and in the articles' Spanish; its punctuation stays: 'plata?' -> 'dinero?'."""
    core = word.strip("¿¡?!.,:;")
    if not core:
        return word
    start = word.index(core)
    key = core.lower()
    plain = _REGIONAL.get(key) or _SHORTHAND.get(key) or core
    return word[:start] + plain + word[start + len(core) :]


def last_sentences(text: str) -> str:
    """A long message's last sentences: at least `FOCUS_CHARS`, at most `LONG_QUERY_CHARS`.

    "Gracias de antemano." is not searched alone, and a sentence that would pass the most
    keeps its end, from a word's start. A message within `LONG_QUERY_CHARS` is kept whole.
    """
    if len(text) <= LONG_QUERY_CHARS:
        return text
    kept: list[str] = []
    size = 0
    for sentence in reversed(_SENTENCE_END.split(text)):
        sentence = sentence.strip()
        if not sentence:
            continue
        room = LONG_QUERY_CHARS - size
        if len(sentence) > room:
            tail = sentence[len(sentence) - room :]
            kept.append(tail.split(" ", 1)[-1] if " " in tail else tail)
            break
        kept.append(sentence)
        size += len(sentence) + 1
        if size >= FOCUS_CHARS:
            break
    return " ".join(reversed(kept))


def clean_query(text: str) -> str:
    """The message as a plain question, a long one by its last sentences (`last_sentences`).

    '@BrisaAir q pasa con mi #equipaje 😡' becomes 'que pasa con mi equipaje'.
    """
    text = last_sentences(text)
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _HASHTAG.sub(r"\1", text)
    text = _SYMBOLS.sub(" ", text)
    text = _REPEATS.sub(lambda m: m.group(1) or m.group(2) * 2, text)
    text = _PHRASE.sub(lambda m: _PHRASES[m.group(1).lower()], text)
    words = [_plain_word(w) for w in text.split()]
    cleaned = " ".join(words)
    letters = [c for c in cleaned if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) > 0.6 * len(letters):
        cleaned = cleaned.lower()
    return cleaned or text.strip()
