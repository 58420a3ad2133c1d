"""What a customer says after a person resolved their case: a rating, or only thanks. Pure.

A rating may come bare ("4", "4/5", stars) or among a few words ("un 4, la verdad", "5/5 thank
you Laura!!"); thanks ("gracias!!", "ok perfecto", "👍") get a "you're welcome" and leave the
case closed. Anything else, or any doubt, goes to the person: a message wrongly taken for a
rating or for thanks would be lost to them.
"""

from __future__ import annotations

import re

from kb_index.text import fold

_RATING = re.compile(r"^\s*(?:/rate\s*)?([1-5])\s*(?:/\s*5)?\s*(?:⭐|★)*\s*$")


def _words(spaced: str) -> frozenset[str]:
    """A set of words written one after another."""
    return frozenset(spaced.split())


SHORT_WORDS = 8  # the words of a message a rating or a thanks may come in
_TOKEN = re.compile(r"[^\W_]+(?:['’.,:][^\W_]+)*|\S")  # "5pm", "4,5", "i'd" stay one token
_STARS = frozenset("⭐★")
_DIGITS = frozenset("12345")
_IGNORED = frozenset("\ufe0f\u200d") | {chr(c) for c in range(0x1F3FB, 0x1F400)}  # emoji parts
_AMOUNT = frozenset("€$£¥%#°+-/")  # next to a digit: a price, a share, a number, not a rating
_OUT_OF = (("/", "5"), ("de", "5"), ("sobre", "5"), ("of", "5"), ("out", "of", "5"))
_BEFORE_RATING = _words(
    "un una le te os doy damos pongo daria nota valoracion puntuacion a an give gave i'd rate "
    "rating score ok okay vale pues bueno yes si say diria"
)
_AFTER_RATING = _words(
    "gracias thanks thank thx ty from para for estrellas estrella stars star puntos points"
)
_THANKS = _words(
    "gracias grax thanks thank thx ty tysm cheers ok okay okey vale perfecto perfecta perfect "
    "genial great estupendo estupenda excelente excellent awesome cool nice lovely brilliant "
    "wonderful fantastic guay chevere buenisimo fenomenal entendido understood noted listo "
    "acuerdo bien good agradecido agradecida agradezco appreciated appreciate"
)
_THANKS_FILLERS = _words(
    "muchas muchisimas mil muy super por todo tu su vuestra ayuda a ti usted de nuevo te lo "
    "os un saludo saludos abrazo buen buena dia buenas tardes noches chao adios hasta luego "
    "pronto bueno si y you so much very lot lots many again for the help your all everything "
    "it that's got sounds yes yeah yep really and bye goodbye have day guys team"
)
_THANKS_EMOJI = frozenset("👍👌🙏😊🙂☺😀😃😁🥰😍🤗❤💙💚💜🧡💛👏✅💪🎉✨")
_NOT_A_NAME = _words("but pero however although aunque still todavia aun no not")
_PUNCTUATION = frozenset(".,;:!¡…~-")
_LETTERS_REPEATED = re.compile(r"(\w)\1{2,}")


def parse_rating(text: str) -> int | None:
    """A 1-5 rating, bare ("4", "4/5", "/rate 4", stars) or among a few words, else None.

    A short message carries one when it holds exactly one: a digit standing alone ("le doy un
    5", "un 4, la verdad"), "N/5", "N de 5", "N out of 5", or one to five stars. Any other
    number in it ("tengo 2 maletas y 1 mochila", "5pm", "vuelo 1234", "5 €"), a digit beside a
    word that is not about rating ("my booking 4 bags") or a question make it none: a message
    wrongly taken for a rating is lost to the person, so doubt leaves it to them.
    """
    match = _RATING.match(text)
    if match:
        return int(match.group(1))
    stars = text.strip()
    if stars and set(stars) <= _STARS and len(stars) <= 5:
        return len(stars)
    return _rating_in_words(text)


def _tokens(text: str) -> list[str]:
    """Words, numbers and single signs, folded, without emoji modifiers."""
    return [t for t in _TOKEN.findall(fold(text)) if t not in _IGNORED]


def _rating_in_words(text: str) -> int | None:
    """The one rating a short message carries among other words (see `parse_rating`)."""
    if len(text.split()) > SHORT_WORDS or "?" in text or "¿" in text:
        return None
    tokens = _tokens(text)
    found: set[int] = set()
    at = 0
    while at < len(tokens):
        if tokens[at] in _STARS:
            end = _past_stars(tokens, at)
            found.add(end - at)
        elif any(c.isdigit() for c in tokens[at]):
            rating, end = _digit_rating(tokens, at)
            if rating is None:
                return None
            found.add(rating)
        else:
            end = at + 1
        at = end
    return found.pop() if len(found) == 1 and found <= {1, 2, 3, 4, 5} else None


def _past_stars(tokens: list[str], at: int) -> int:
    """Where the run of stars that starts at `at` ends."""
    while at < len(tokens) and tokens[at] in _STARS:
        at += 1
    return at


def _digit_rating(tokens: list[str], at: int) -> tuple[int | None, int]:
    """The rating the number at `at` gives (None: a number that is not one), and its end."""
    digit = tokens[at]
    end = at + 1
    out_of = next((o for o in _OUT_OF if tuple(tokens[end : end + len(o)]) == o), ())
    end = _past_stars(tokens, end + len(out_of))  # "5/5 ⭐⭐⭐⭐⭐": the stars repeat it
    before = tokens[at - 1] if at else ""
    after = tokens[end] if end < len(tokens) else ""
    if digit not in _DIGITS or before in _AMOUNT or after in _AMOUNT:
        return None, end
    if not out_of and not _fits(before, _BEFORE_RATING):
        return None, end
    if out_of[:1] != ("/",) and not _fits(after, _AFTER_RATING):
        return None, end  # "4 bags", "4 de 5 maletas"; "4/5 service" is clear enough
    return int(digit), end


def _fits(token: str, words: frozenset[str]) -> bool:
    """Nothing, a sign or emoji, or one of `words` beside a rating."""
    return not token or not token[0].isalnum() or token in words


def is_closing(text: str) -> bool:
    """Only thanks or an acknowledgement: "gracias!!", "thanks a lot", "ok perfecto", "👍".

    Filler words ("muchas", "a lot") count only beside a word of thanks, and so may one name
    ("gracias Laura"). A question, a number, "but" or any other word is more than thanks: the
    person should read it.
    """
    if len(text.split()) > SHORT_WORDS or "?" in text or "¿" in text:
        return False
    thanked, named = False, False
    for token in _TOKEN.findall(text):
        word = _LETTERS_REPEATED.sub(r"\1", fold(token))  # "graciaaas"
        if word in _THANKS or token in _THANKS_EMOJI:
            thanked = True
        elif word in _THANKS_FILLERS or token in _PUNCTUATION or token in _IGNORED:
            continue
        elif token.isalpha() and token[0].isupper() and word not in _NOT_A_NAME and not named:
            named = True
        else:
            return False
    return thanked
