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


def _plain_word(word: str) -> str:
    """A word in full and in the articles' Spanish; its punctuation stays: 'plata?' -> 'dinero?'."""
    core = word.strip("¿¡?!.,:;")
    if not core:
        return word
    start = word.index(core)
    key = core.lower()
    plain = _REGIONAL.get(key) or _SHORTHAND.get(key) or core
    return word[:start] + plain + word[start + len(core) :]


def clean_query(text: str) -> str:
    """The message as a plain question.

    '@BrisaAir q pasa con mi #equipaje 😡' becomes 'que pasa con mi equipaje'.
    """
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
