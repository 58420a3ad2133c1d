"""Language detection that works on short social-media texts (Spanish or English)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_CODES = {Language.SPANISH: "es", Language.ENGLISH: "en"}

# Short words that only one of the two languages writes. When the statistical detector is
# unsure ("el trolley entra o me lo mandais a la bodega?": an English loanword, no accents),
# a clear lead of one language's words decides.
# fmt: off
_FUNCTION_WORDS = {
    "es": frozenset({
        "el", "la", "los", "las", "de", "del", "que", "q", "en", "y", "o", "por", "para", "mi",
        "mis", "te", "se", "lo", "le", "les", "un", "una", "unos", "es", "son", "con", "sin",
        "pero", "como", "donde", "cuando", "porque", "xq", "hay", "tengo", "puedo", "quiero",
        "esta", "estoy",
    }),
    "en": frozenset({
        "the", "an", "of", "to", "in", "is", "are", "am", "my", "i", "you", "u", "your", "ur",
        "for", "on", "it", "and", "or", "can", "do", "does", "did", "how", "what", "where",
        "when", "why", "with", "without", "have", "has", "this", "that", "there", "im",
    }),
}
# Greetings and courtesies of only one of the two languages: the detector takes "hello"
# alone for Spanish (0.61) and "hola" is barely Spanish to it (0.66).
_COURTESY_WORDS = {
    "es": frozenset({
        "hola", "buenas", "buenos", "dias", "días", "tardes", "noches", "gracias", "muchas",
        "vale", "adios", "adiós", "chao", "porfa", "ayuda", "perdon", "perdón", "claro",
        "genial",
    }),
    "en": frozenset({
        "hello", "hi", "thanks", "thank", "thx", "ty", "please", "pls", "plz", "good", "morning",
        "afternoon", "evening", "help", "yeah", "yep", "nope", "sure", "great",
    }),
}
# Words both languages write ("ok"): a message of nothing else shows no language, and a
# Spanish conversation that gets an "ok" stays Spanish.
_SHARED_WORDS = frozenset({"ok", "okay", "okey", "okis", "k", "kk", "no", "yes", "si", "lol", "xd"})
# fmt: on
_OWN_WORDS = {code: words | _COURTESY_WORDS[code] for code, words in _FUNCTION_WORDS.items()}
_FUNCTION_WORD_LEAD = 2
# A message this short is told by its own words first ("hello", "muchas gracias").
_SHORT_MESSAGE_WORDS = 3
# A message moves a conversation to the other language only when it shows it clearly: a lead
# of that language's own words, or this many words the detector is this sure of. A Spanish
# customer who writes "check-in" or "Dublin" is still answered in Spanish.
_SWITCH_MIN_WORDS = 3
_SWITCH_CONFIDENCE = 0.9
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class DetectedLanguage:
    """A language code and how sure the detector is (0.5 means a coin toss).

    `decided` is False when the text gave too little evidence and `code` is the default.
    """

    code: str
    confidence: float
    decided: bool = True


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_CODES).with_preloaded_language_models().build()


def detect_language(
    text: str, *, default: str = "en", min_confidence: float = 0.6
) -> DetectedLanguage:
    """The language of `text`; `default` when the text gives too little evidence."""
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return DetectedLanguage(default, 0.5, decided=False)
    best = values[0]
    if best.value >= min_confidence:
        return DetectedLanguage(_CODES[best.language], best.value)
    by_words = _by_function_words(text)
    if by_words is None:
        return DetectedLanguage(default, best.value, decided=False)
    confidence = next(v.value for v in values if _CODES[v.language] == by_words)
    return DetectedLanguage(by_words, confidence)


def _by_function_words(text: str) -> str | None:
    """The language whose function words lead in `text` by a clear margin, else None."""
    return _leader(_WORD.findall(text.lower()), _FUNCTION_WORD_LEAD)


def _leader(words: list[str], lead: int) -> str | None:
    """The language whose own words lead among `words` by at least `lead`, else None."""
    counts = {code: sum(w in vocabulary for w in words) for code, vocabulary in _OWN_WORDS.items()}
    (first, most), (_, second) = sorted(counts.items(), key=lambda item: -item[1])
    return first if most - second >= lead else None


# The start of a message tells its language; detecting a whole 20,000-character one would hold
# the event loop for a fifth of a second.
_DETECT_CHARS = 500


def message_language(text: str, hint: str | None, default: str) -> DetectedLanguage:
    """A message's language, detected from the start of its words.

    A short message is told by its own words first ("hello"). A command or a button has no
    words, and a message of words both languages write ("ok") shows no language: such a
    message, or one the detector cannot tell, takes the channel's `hint` (a Telegram user's
    app language), else is undecided with `default`'s code.
    """
    detected = _shown_language(text, default)
    if not detected.decided and hint:
        return DetectedLanguage(hint, detected.confidence)
    return detected


def _shown_language(text: str, default: str) -> DetectedLanguage:
    """The language the words of `text` show, else undecided with `default`'s code."""
    words = _WORD.findall(text[:_DETECT_CHARS].lower())
    if text.startswith("/") or not words or set(words) <= _SHARED_WORDS:
        return DetectedLanguage(default, 0.5, decided=False)
    if len(words) <= _SHORT_MESSAGE_WORDS and (own := _leader(words, 1)):
        return DetectedLanguage(own, 1.0)
    return detect_language(text[:_DETECT_CHARS], default=default)


def clearly_shown(text: str, detected: DetectedLanguage) -> bool:
    """Whether `text` shows `detected`'s language clearly enough to change a conversation's."""
    if not detected.decided:
        return False
    words = _WORD.findall(text[:_DETECT_CHARS].lower())
    if _leader(words, _FUNCTION_WORD_LEAD) == detected.code:
        return True
    return len(words) >= _SWITCH_MIN_WORDS and detected.confidence >= _SWITCH_CONFIDENCE


def conversation_language(
    text: str, detected: DetectedLanguage, current: str | None
) -> DetectedLanguage:
    """The language to answer `text` in, of which `detected` is the message's language.

    `current` is the conversation's language so far (None before a message decided it). A
    conversation keeps it unless the message clearly shows the other one.
    """
    if current is None or clearly_shown(text, detected):
        return detected
    return DetectedLanguage(current, 1.0)
