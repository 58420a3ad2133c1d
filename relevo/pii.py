"""Personal data in customers' messages: find it, and redact it before it is stored or shown.

Pure and standard library only. Six kinds are detected: payment cards, national ids, passports,
e-mail addresses, phone numbers and booking codes (airline PNR, "localizador").

How each kind is recognised, and why:

- A *pattern* proposes a candidate and a *validator* confirms it whenever the kind has a check:
  card numbers pass the Luhn check and start like an issuer's range (so 13-digit ticket numbers,
  order numbers and runs of years are not cards), Spanish DNI and NIE carry a mod-23 check letter,
  US social security numbers have reserved areas. A checksum is what lets these kinds be found
  anywhere in a message at almost no cost in precision.
- Kinds without a check are found by shape when the shape is distinctive enough (an e-mail; a
  phone number in a national or international format; a Spanish passport, three letters and six
  digits; a booking code of six upper-case letters and digits, both present), and otherwise only
  when a *cue* names the value: "DNI 30.123.456", "passport 533380006", "localizador QWERTY". A
  cue names a value when it is the nearest cue before it and only a few words, and no digits,
  stand between them ("mi número de pasaporte es el ..."). The nearest cue decides, so "pasaporte
  caducado, llamadme al 612..." is a phone number, not a passport.
- Overlapping candidates are resolved by specificity: an e-mail, then checksummed values, then
  values named by a cue, then the shapes (a Luhn-valid card beats the phone number that its
  digits could also spell), and the longer candidate at equal rank.
- A placeholder left by `redact` reads as the value it replaced ("[passport]" is a passport, not
  the cue word), and nothing starts or ends against one where it could not against the value:
  so redacting redacted text changes nothing.

Precision against recall, chosen on the labelled set tests/data/pii_labelled.yml (674 Spanish
and English messages, 500 labelled values; `python bench/pii_eval.py`). There, precision is
0.996 and recall 0.984 overall (cards 0.987), where a naive "six or more letters-and-digits"
regex gets 0.61 and 0.69; on a batch written after tuning and scored before any change, 0.97
and 0.86. The validators are what keep precision near 1, the cues what recover the ids and
codes that have no checksum. The knobs, and what the set says about them:

- a cue names a value at most 5 words (40 characters) before it: 2-3 words lose passports and
  ids written "mi número de pasaporte es el ...", 8 words start naming unrelated numbers ("my
  passport is fine, the problem is the order 100234567");
- six-character codes shaped like a flight number (two characters then four digits, "IB3456",
  "U21234") are never booking codes: without this rule booking precision falls from 0.99 to
  0.78, flight numbers being everywhere in airline conversations; a booking code of that shape
  is missed even after a cue;
- an all-letter booking code ("QWERTY") needs a cue and is ignored in a shouted message, where
  every word is upper case ("MY BOOKING PLEASE"); lower-case codes need a cue too;
- toll-free and shared-cost numbers (900, 902, 0800, 1-800...) are an organisation's, not
  personal: the customer quoting a helpline is not a phone number to redact;
- a DNI whose letter is wrong is not a DNI (typos are then missed), and a lower-case check letter
  must be attached ("12345678z") because "12345678 y ..." is Spanish for "and";
- anything inside a URL other than an e-mail is ignored, as are hashtags and @handles.

Known misses and mistakes: any nine digits starting with 6-9 read as a Spanish phone (a claim
number too); an international number takes in a short number right after it ("+44 20 7946 0958
23 kg"); a card number broken across lines; a DNI written without its leading zero; ids of more
than ten digits (Brazil's CPF); a cue more than five words away; e-mails spelled out ("juan
arroba gmail punto com").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """The kinds of personal data that are detected."""

    CARD = "card"
    NATIONAL_ID = "national_id"
    PASSPORT = "passport"
    EMAIL = "email"
    PHONE = "phone"
    BOOKING = "booking"


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind, and where it is in the text it was found in."""

    kind: Kind
    start: int
    end: int
    text: str


_PLACEHOLDERS = {
    Kind.NATIONAL_ID: "[national id]",
    Kind.PASSPORT: "[passport]",
    Kind.EMAIL: "[e-mail]",
    Kind.PHONE: "[phone]",
    Kind.BOOKING: "[booking code]",
}


# A placeholder left by `redact`, and the kind it stands for.
_REDACTED = re.compile(
    r"\[card ••••\d{4}\]|" + "|".join(re.escape(text) for text in _PLACEHOLDERS.values())
)
_REDACTED_KINDS = {text: kind for kind, text in _PLACEHOLDERS.items()}

# A value does not start inside a word, a number, a hashtag, an @handle or a path, nor right
# after a placeholder (the "]" of "[phone]"), where it could not start before redaction ...
_START = r"(?<![\w@#/.,+\-\]])"
# ... and does not run into a word, an @, a decimal part or a placeholder.
_END = r"(?![\w@\[]|[.,/:\-][\d\[])"
# After a cue, "#" is a number sign, not a hashtag: "Passport #533380006".
_NAMED_START = r"(?<![\w@/.,+\-\]])"

# ---------------------------------------------------------------------------------- cards

# A run of digits in groups separated by a dash, a dot, or one or two spaces; the card is looked
# for inside the run, group by group, so that a card followed by an expiry date is still found.
_DIGIT_RUN = re.compile(_START + r"\d+(?:(?: {1,2}|[\-.])\d+)*(?![\w@\[])")
_CARD_GROUPINGS_15_14 = {(4, 6, 5), (4, 6, 4)}


def _luhn(digits: str) -> bool:
    """The Luhn checksum of card numbers: a mistyped digit, or a random number, fails it."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _issuer(digits: str) -> bool:
    """Does the number start like a card scheme's range (Visa, Mastercard, Amex, UATP...)?

    Rules out Luhn-valid accidents of other long numbers: airline ticket numbers (13 digits,
    starting with the airline's 3-digit code such as 075), order ids, runs of years.
    """
    if len(digits) == 13:
        return digits[0] == "4"
    if digits[0] == "1":
        return len(digits) == 15  # UATP, the airlines' own card
    return (
        digits[0] in "456"
        or digits[:2] in {"30", "34", "35", "36", "37", "38", "39"}
        or 2221 <= int(digits[:4]) <= 2720
    )


def _card_grouping(sizes: tuple[int, ...]) -> bool:
    """Is this how card numbers are written: one block, blocks of four, or Amex/Diners 4-6-x?"""
    if len(sizes) == 1:
        return True
    if sizes in _CARD_GROUPINGS_15_14:
        return True
    return len(sizes) >= 3 and all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _cards(text: str) -> Iterator[tuple[int, int]]:
    """Spans of Luhn-valid card numbers, the longest card first at each group of a digit run."""
    for run in _DIGIT_RUN.finditer(text):
        groups = [(run.start() + m.start(), m.group()) for m in re.finditer(r"\d+", run[0])]
        sizes = [len(group) for _, group in groups]
        first = 0
        while first < len(groups):
            # Grow the card group by group up to 19 digits, the most a card has; try longest first.
            last, total = first, sizes[first]
            while last + 1 < len(groups) and total + sizes[last + 1] <= 19:
                last += 1
                total += sizes[last]
            for end in range(last, first - 1, -1):
                if 13 <= total <= 19 and _card_grouping(tuple(sizes[first : end + 1])):
                    digits = "".join(group for _, group in groups[first : end + 1])
                    if _issuer(digits) and _luhn(digits):
                        yield groups[first][0], groups[end][0] + sizes[end]
                        first = end
                        break
                total -= sizes[end]
            first += 1


# ---------------------------------------------------------------------------- national ids

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
# A capital letter may be spaced from the number; a small one must be attached or after a dash,
# because "12345678 y" is Spanish for "12345678 and". "DNI12345678Z" is written too.
_CHECK_LETTER = r"(?:[ \-]?[A-Z]|-?[a-z])"
_DNI = re.compile(
    r"(?:" + _START + r"|(?<=[Dd][Nn][Ii])|(?<=[Nn][Ii][Ff]))"
    r"(\d{2}[ .]?\d{3}[ .]?\d{3})(" + _CHECK_LETTER + r")" + _END
)
_NIE = re.compile(_START + r"([XYZxyz])[ \-]?(\d{7})(" + _CHECK_LETTER + r")" + _END)
_SSN = re.compile(_START + r"(\d{3})-(\d{2})-(\d{4})" + _END)
# After a cue: Argentine, Colombian, Peruvian... ids, 7 to 10 digits, plain or with dots, and
# maybe a check character after a dash (Chile's RUT: 12.345.678-5, 9.876.543-K).
_ID_AFTER_CUE = re.compile(
    _NAMED_START + r"(?:\d{1,3}(?:\.\d{3}){2,3}|\d{7,10})(?:-[\dKk])?" + _END
)


def _check_letter(number: int, letter: str) -> bool:
    """The DNI/NIE control letter: the number modulo 23 indexes a fixed table."""
    return _DNI_LETTERS[number % 23] == letter.strip(" -").upper()


def _dnis(text: str) -> Iterator[tuple[int, int]]:
    """Spans of Spanish DNI numbers with the right check letter."""
    for match in _DNI.finditer(text):
        if _check_letter(int(re.sub(r"\D", "", match[1])), match[2]):
            yield match.span()


def _nies(text: str) -> Iterator[tuple[int, int]]:
    """Spans of NIE numbers (foreigners in Spain): X, Y, Z stand for 0, 1, 2 in the check."""
    for match in _NIE.finditer(text):
        number = int(str("XYZ".index(match[1].upper())) + match[2])
        if _check_letter(number, match[3]):
            yield match.span()


def _ssns(text: str) -> Iterator[tuple[int, int]]:
    """Spans of US social security numbers, whose area 000, 666 and 9xx are never issued."""
    for match in _SSN.finditer(text):
        area, group, serial = match[1], match[2], match[3]
        if area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000":
            yield match.span()


# ------------------------------------------------------------------------------- passports

_SPANISH_PASSPORT = re.compile(_START + r"[A-Z]{3}\d{6}" + _END)
_PASSPORT_AFTER_CUE = re.compile(_NAMED_START + r"(?=[A-Za-z]*\d)[A-Za-z0-9]{6,9}" + _END)

# ---------------------------------------------------------------------------------- e-mail

_EMAIL = re.compile(
    r"(?<![\w.+\-\]])[\w.+\-]+(?:'[\w.+\-]+)*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w@\[])"
)

# ---------------------------------------------------------------------------------- phones

# Phones may be listed with a slash: 612345678/698765432.
_PHONE_START = r"(?<![\w@#.,+\-\]])"
_PHONE_END = r"(?![\w@\[]|[.,:\-]?[\d\[])"
# Spanish: optional +34/0034, nine digits starting 6, 7, 8 or 9, grouped as people write them.
_PHONE_ES = re.compile(
    _PHONE_START
    + r"(?:(?:\+|00) ?34[ .\-]?|\((?:\+|00)?34\) ?)?[6789](?:[ .\-]?\d){8}"
    + _PHONE_END
)
# International: +country code (or 00 and the code), then groups; one short group (area, mobile
# prefix, the UK's "(0)") allowed.
_PHONE_INTL = re.compile(
    _PHONE_START
    + r"(?:\+|00(?=[1-9]))\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?)(?:[ .\-]?\d{2,8}){1,5}"
    + _PHONE_END
)
# North American: (555) 123-4567, 555-123-4567, 1-800-555-0199, 212.555.0147.
_PHONE_US = re.compile(
    _PHONE_START + r"(?:1[ .\-])?(?:\(\d{3}\) ?|\d{3}[ .\-])\d{3}[ .\-]\d{4}" + _PHONE_END
)
# National formats with a trunk 0: UK 07700 900123, 020 7946 0958; France 06 12 34 56 78.
_PHONE_TRUNK = re.compile(_PHONE_START + r"0\d(?:[ .\-]?\d){8,9}" + _PHONE_END)


def _phone_groups(span: str) -> bool:
    """Groups of two digits or more, as people write them; "6 1 2 3 4..." is not a phone.

    After a country code, one group may have a single digit: +33 6 12 34 56 78, +54 9 11 ...
    """
    groups = re.findall(r"\d+", span)
    international = re.match(r"\(?(?:\+|00)", span) is not None
    following = groups[2:] if international else groups[1:]
    return all(len(group) >= 2 for group in following) and len(groups[-1]) >= 2


# Toll-free and shared-cost lines belong to organisations, never to a person: Spanish 80x/90x,
# UK 08xx/09xx, North American 800, 888, 877... (the digits of the number, country code first).
_BUSINESS_LINE = re.compile(
    r"(?:00)?(?:34)?[89]0\d{7}|(?:(?:00)?440?|0)[89]\d{8,9}|1?8(?:00|33|44|55|66|77|88)\d{7}"
)


def _overlapping(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Matches of `pattern` at every position, overlapping ones too.

    Digits are shared by neighbouring numbers ("... 8801 89 447 66 38"): a match that turns
    out not to be a phone must not hide the phone starting inside it.
    """
    match = pattern.search(text)
    while match:
        yield match
        match = pattern.search(text, match.start() + 1)


def _phone(span: str) -> bool:
    """Is this a personal phone number: 9 to 15 digits, grouped as phones are, not a hotline?"""
    digits = re.sub(r"\D", "", span)
    return 9 <= len(digits) <= 15 and _phone_groups(span) and not _BUSINESS_LINE.fullmatch(digits)


def _phones(text: str) -> Iterator[tuple[int, int]]:
    """Spans of phone numbers in Spanish, international, North American and trunk-0 formats.

    An international number has no fixed length, so its pattern may run on into a number that
    follows ("+44 20 7946 0958 4111 1111..."): each prefix that ends before a space and is a
    phone number is a candidate too, and the resolution of overlaps chooses.
    """
    for pattern in (_PHONE_ES, _PHONE_INTL, _PHONE_US, _PHONE_TRUNK):
        for match in _overlapping(pattern, text):
            cuts = [match.start() + m.start() for m in re.finditer(r" (?=\d)", match[0])]
            ends = [match.end(), *reversed(cuts)]
            for end in ends:
                if _phone(text[match.start() : end]):
                    yield match.start(), end


# ---------------------------------------------------------------------------- booking codes

# Two characters then four digits is a flight number (IB3456, U21234, 3K1234), not a booking.
_FLIGHT_NUMBER = re.compile(r"[A-Z0-9]{2}\d{4}")
_BOOKING = re.compile(_START + r"(?=[A-Z]*\d)(?=\d*[A-Z])[A-Z0-9]{6}" + _END)
_BOOKING_AFTER_CUE = re.compile(
    _NAMED_START + r"(?:(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{6}|[A-Z]{6})" + _END
)


def _bookings(text: str) -> Iterator[tuple[int, int]]:
    """Spans of upper-case six-character codes mixing letters and digits."""
    for match in _BOOKING.finditer(text):
        if not _FLIGHT_NUMBER.fullmatch(match[0]):
            yield match.span()


# ------------------------------------------------------------------------------------ cues

# Cue words, and the kind of value that they name. Phone cues name nothing here (phones have
# their own patterns) but, being nearer, they stop an earlier cue from naming a phone number.
# Some phrases containing a cue name something else: a promo code, a zip code, an error code.
_CUES: list[tuple[Kind | None, str]] = [
    (None, r"promo(?:tional)? code|c[óo]digo (?:promocional|de descuento|postal|de error)"),
    (None, r"zip code|post ?code|error code|discount code|voucher|cup[óo]n|coupon"),
    (
        Kind.NATIONAL_ID,
        r"dni|nie|nif|documento|c[ée]dula|identidad|identity|ssn|social security|"
        r"national id|national insurance|id number|id no|id card|rut",
    ),
    (Kind.PASSPORT, r"pasaportes?|passports?"),
    (
        Kind.BOOKING,
        r"localizador|reservas?|bookings?|reference|referencia|ref|c[óo]digo|code|pnr|"
        r"confirmation|confirmaci[óo]n",
    ),
    (
        Kind.PHONE,
        r"tel|tlf|telf|tel[ée]fono|m[óo]vil|movil|mobile|cell|phone|whatsapp|fijo|sms|"
        r"llam\w*|call|ring|text",
    ),
]
# A cue may be glued to the number it names ("DNI39.842.132-Z"), not to more letters.
_CUE = re.compile(
    "|".join(
        f"(?P<c{index}>\\b(?:{words})(?![^\\W\\d_]))" for index, (_, words) in enumerate(_CUES)
    )
    + r"|(?P<upper_id>\bID(?![^\W\d_]))",
    re.IGNORECASE,
)
# What may stand between a cue and the value it names: a few words, no digits, no new sentence.
_FILLER = re.compile(r"[^\d\n!?;]{0,40}")
_MAX_FILLER_WORDS = 5
# What may stand between a value and a cue that follows it: a copula and a possessive at most.
_GLUE_SIGNS = r"[\s(),:<>←=\-]*"
_TRAILING_GLUE = re.compile(
    _GLUE_SIGNS
    + r"(?:(?:is|es|was|era|my|mi|the|el|la|su|his|her|their|new|nuevo|nueva)\b"
    + _GLUE_SIGNS
    + r"){0,3}",
    re.IGNORECASE,
)
_CONJUNCTION = re.compile(r"\b(?:y|e|o|and|or)\b|[,/&+]", re.IGNORECASE)
# What a cue may name, by kind.
_AFTER_CUE = [
    (Kind.NATIONAL_ID, _ID_AFTER_CUE),
    (Kind.PASSPORT, _PASSPORT_AFTER_CUE),
    (Kind.BOOKING, _BOOKING_AFTER_CUE),
]


@dataclass(frozen=True)
class _Anchor:
    """What can name a value that follows: a cue word, or a value of a list ("X and Y")."""

    kind: Kind | None
    start: int
    end: int
    listed: bool = False


def _mask(length: int, spans: Iterable[tuple[int, int]]) -> bytearray:
    """One byte per character of a text, set where one of `spans` covers it."""
    mask = bytearray(length)
    for start, end in spans:
        mask[start:end] = b"\x01" * (end - start)
    return mask


def _cues(text: str) -> list[_Anchor]:
    """Every cue word in the text, and every placeholder of a redacted value, in order.

    A placeholder stands for the value it replaced, not for a cue ("[passport]" is a passport,
    not the word): so redacting twice gives what redacting once gave.
    """
    redacted = [
        _Anchor(_REDACTED_KINDS.get(m[0], Kind.CARD), m.start(), m.end(), listed=True)
        for m in _REDACTED.finditer(text)
    ]
    inside = _mask(len(text), ((r.start, r.end) for r in redacted))
    cues = list(redacted)
    for match in _CUE.finditer(text):
        if inside[match.start()]:
            continue
        if match.lastgroup == "upper_id":
            if match[0] != "ID":
                continue  # "id" in Spanish is a verb
            kind: Kind | None = Kind.NATIONAL_ID
        else:
            kind = _CUES[int(str(match.lastgroup)[1:])][0]
        cues.append(_Anchor(kind, match.start(), match.end()))
    return sorted(cues, key=lambda cue: cue.start)


class _Anchors:
    """Cues and values by where they end, so that the nearest before a position is a bisect away."""

    def __init__(self, anchors: Iterable[_Anchor]) -> None:
        self._anchors = sorted(anchors, key=lambda anchor: anchor.end)
        self._ends = [anchor.end for anchor in self._anchors]

    def add(self, anchor: _Anchor) -> None:
        """Add a value just accepted: it may head a list too."""
        index = bisect.bisect_right(self._ends, anchor.end)
        self._anchors.insert(index, anchor)
        self._ends.insert(index, anchor.end)

    def before(self, position: int) -> _Anchor | None:
        """The anchor that ends last at or before `position`, if any."""
        index = bisect.bisect_right(self._ends, position)
        return self._anchors[index - 1] if index else None


def _named_by(anchors: _Anchors, text: str, start: int) -> Kind | None:
    """The kind that the nearest anchor before `start` names, if it is close enough to name it.

    A cue names a value a few words after it ("mi número de pasaporte es el ..."); a value names
    the next one only through a conjunction ("my passport X and my wife's Y").
    """
    anchor = anchors.before(start)
    if anchor is None:
        return None
    filler = text[anchor.end : start]
    if not _FILLER.fullmatch(filler) or len(re.findall(r"\w+", filler)) > _MAX_FILLER_WORDS:
        return None
    if anchor.listed and not _CONJUNCTION.search(filler):
        return None
    return anchor.kind


def _named_after(cues: list[_Anchor], starts: list[int], text: str, end: int) -> Kind | None:
    """The kind that a cue right after a value names: "533380006 is my passport number".

    Args:
        cues: the cue words (not placeholders), in order.
        starts: where each of them starts.
        text: the message.
        end: where the value ends.
    """
    index = bisect.bisect_left(starts, end)
    if index == len(cues):
        return None
    cue = cues[index]
    return cue.kind if _TRAILING_GLUE.fullmatch(text[end : cue.start]) else None


_WORD = re.compile(r"\b[^\W\d_]{2,}\b")


# How many words either side of a candidate code tell whether its line is shouted.
_AROUND = 8


def _shouted(text: str, start: int, end: int, covered: bytearray) -> bool:
    """Are the words around a candidate code in capitals, so that the candidate is a word too?

    Up to 8 words of letters either side, on its line, count: not cues, not values found, not
    other would-be codes, none of which would count once redacted either.
    """
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    reach = 50 * _AROUND  # characters: enough for the words, not the whole of a long line
    before = _WORD.finditer(text, max(line_start, start - reach), start)
    after = _WORD.finditer(text, end, min(line_end, end + reach))
    words = [m[0] for m in before if not covered[m.start()]][-_AROUND:]
    words += [m[0] for m in after if not covered[m.start()]][:_AROUND]
    return sum(word.isupper() for word in words) * 2 > len(words)


def _after_cues(
    text: str, found: list[tuple[Kind, int, int]], checked: bytearray
) -> Iterator[tuple[Kind, int, int]]:
    """Values that only count because a cue names them: foreign ids, passports, booking codes.

    Args:
        text: the message.
        found: what the patterns found, which may head a list ("PAA123456 y el de mi hija ...").
        checked: where a value with a checksum is, which no cue renames ("passport 12345678Z").
    """
    cues = _cues(text)
    words = [cue for cue in cues if not cue.listed]
    starts = [cue.start for cue in words]
    listed = [_Anchor(kind, start, end, listed=True) for kind, start, end in found]
    anchors = _Anchors([*cues, *listed])
    candidates = sorted(
        (match.start(), match.end(), kind)
        for kind, pattern in _AFTER_CUE
        for match in pattern.finditer(text)
    )
    # What is not a plain word when telling shouting: cues, values, and would-be codes.
    covered = _mask(
        len(text),
        [(a.start, a.end) for a in [*cues, *listed]]
        + [(start, end) for start, end, _ in candidates if text[start:end].isalpha()],
    )
    for start, end, kind in candidates:
        if any(checked[start:end]):
            continue
        named = _named_by(anchors, text, start) or _named_after(words, starts, text, end)
        if named is not kind:
            continue
        value = text[start:end]
        if len(value) == 6 and _FLIGHT_NUMBER.fullmatch(value.upper()):
            continue
        if value.isalpha() and (_CUE.fullmatch(value) or _shouted(text, start, end, covered)):
            continue
        anchors.add(_Anchor(kind, start, end, listed=True))
        yield kind, start, end


# ------------------------------------------------------------------------------- resolution

_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)

# Rank of a detector when candidates overlap: the more specific evidence wins.
_DETECTORS: list[tuple[int, Kind, Callable[[str], Iterator[tuple[int, int]]]]] = [
    (6, Kind.EMAIL, lambda text: (m.span() for m in _EMAIL.finditer(text))),
    (5, Kind.CARD, _cards),
    (5, Kind.NATIONAL_ID, _dnis),
    (5, Kind.NATIONAL_ID, _nies),
    (3, Kind.NATIONAL_ID, _ssns),
    (3, Kind.PASSPORT, lambda text: (m.span() for m in _SPANISH_PASSPORT.finditer(text))),
    (2, Kind.PHONE, _phones),
    (1, Kind.BOOKING, _bookings),
]
_CUE_RANK = 4


def _resolve(text: str, candidates: list[tuple[int, Kind, int, int]]) -> list[Finding]:
    """The candidates that win where they overlap: higher rank, then longer, then earlier."""
    in_url = _mask(len(text), (m.span() for m in _URL.finditer(text)))
    taken = bytearray(len(text))
    kept: list[Finding] = []
    for _, kind, start, end in sorted(candidates, key=lambda c: (-c[0], c[2] - c[3], c[2])):
        if any(taken[start:end]) or (kind is not Kind.EMAIL and any(in_url[start:end])):
            continue
        taken[start:end] = b"\x01" * (end - start)
        kept.append(Finding(kind, start, end, text[start:end]))
    return sorted(kept, key=lambda finding: finding.start)


def find(text: str) -> list[Finding]:
    """Personal data in `text`: non-overlapping findings, sorted by where they start.

    The patterns' findings come first, and may head a list that cues name the rest of; then all
    candidates are resolved together, a value named by a cue outranking a mere shape.

    Args:
        text: a customer's message, in any language (the cues are Spanish and English).

    Returns:
        The findings; where candidates overlap, the higher-ranked then the longer one is kept.
    """
    found = [
        (rank, kind, start, end) for rank, kind, detect in _DETECTORS for start, end in detect(text)
    ]
    patterns = [(f.kind, f.start, f.end) for f in _resolve(text, found)]
    checked = _mask(len(text), ((start, end) for rank, _, start, end in found if rank > _CUE_RANK))
    named = [
        (_CUE_RANK, kind, start, end) for kind, start, end in _after_cues(text, patterns, checked)
    ]
    return _resolve(text, found + named)


def placeholder(finding: Finding) -> str:
    """What replaces a finding: its kind, and for a card its last four digits.

    PCI DSS allows showing the last four digits of a card, which is what lets an agent and the
    customer agree on which card is meant without the number being stored.
    """
    if finding.kind is Kind.CARD:
        last_four = re.sub(r"\D", "", finding.text)[-4:]
        return f"[card ••••{last_four}]"
    return _PLACEHOLDERS[finding.kind]


def redact(text: str, *, keep: Iterable[str | None] = ()) -> str:
    """`text` with each finding replaced by its placeholder; text without any is unchanged.

    `keep`: the brand's own published contacts (its care phone), which are nobody's personal
    data: a finding that spells one of them, whatever its spacing, stays as written.
    """
    kept = {_spelling(value) for value in keep if value}
    parts = []
    position = 0
    for finding in find(text):
        if _spelling(finding.text) in kept:
            continue
        parts.append(text[position : finding.start])
        parts.append(placeholder(finding))
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


def _spelling(value: str) -> str:
    """A value without spaces, dots, dashes and brackets, in lower case: how it is compared."""
    return re.sub(r"[\s.()\-]", "", value).lower()


def contains_personal_data(text: str) -> bool:
    """True when `text` holds at least one finding."""
    return bool(find(text))


def kinds(text: str) -> set[Kind]:
    """The kinds of personal data in `text`."""
    return {finding.kind for finding in find(text)}
