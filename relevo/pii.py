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
number too); a card number broken across lines; a DNI written without its leading zero; ids of
more than ten digits (Brazil's CPF); a cue more than five words away; e-mails spelled out
("juan arroba gmail punto com").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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

# A value does not start inside a word, a number, a hashtag, an @handle or a path ...
_START = r"(?<![\w@#/.,+\-])"
# ... and does not run into a word, an @ or a decimal part.
_END = r"(?![\w@]|[.,/:\-]\d)"
# After a cue, "#" is a number sign, not a hashtag: "Passport #533380006".
_NAMED_START = r"(?<![\w@/.,+\-])"

# ---------------------------------------------------------------------------------- cards

# A run of digits in groups separated by a dash, a dot, or one or two spaces; the card is looked
# for inside the run, group by group, so that a card followed by an expiry date is still found.
_DIGIT_RUN = re.compile(_START + r"\d+(?:(?: {1,2}|[\-.])\d+)*(?![\w@])")
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
        groups = [
            (m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"\d+", run[0])
        ]
        first = 0
        while first < len(groups):
            for last in range(len(groups) - 1, first - 1, -1):
                sizes = tuple(end - start for start, end in groups[first : last + 1])
                digits = re.sub(r"\D", "", text[groups[first][0] : groups[last][1]])
                if (
                    13 <= len(digits) <= 19
                    and _card_grouping(sizes)
                    and _issuer(digits)
                    and _luhn(digits)
                ):
                    yield groups[first][0], groups[last][1]
                    first = last
                    break
            first += 1


# ---------------------------------------------------------------------------- national ids

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
# A capital letter may be spaced from the number; a small one must be attached or after a dash,
# because "12345678 y" is Spanish for "12345678 and". "DNI12345678Z" is written too.
_CHECK_LETTER = r"(?:[ \-]?[A-Z]|-?[a-z])"
_DNI = re.compile(
    r"(?:" + _START + r"(?<!\d[ .])|(?<=[Dd][Nn][Ii])|(?<=[Nn][Ii][Ff]))"
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
    r"(?<![\w.+'\-])[\w.+\-]+(?:'[\w.+\-]+)*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w@])"
)

# ---------------------------------------------------------------------------------- phones

# Phones may be listed with a slash: 612345678/698765432.
_PHONE_START = r"(?<![\w@#.,+\-])(?<!\d[ .\-])"
_PHONE_END = r"(?![\w@]|[.,:\-]?\d)"
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


def _phones(text: str) -> Iterator[tuple[int, int]]:
    """Spans of phone numbers in Spanish, international, North American and trunk-0 formats."""
    for pattern in (_PHONE_ES, _PHONE_INTL, _PHONE_US, _PHONE_TRUNK):
        for match in pattern.finditer(text):
            digits = re.sub(r"\D", "", match[0])
            if (
                9 <= len(digits) <= 15
                and _phone_groups(match[0])
                and not _BUSINESS_LINE.fullmatch(digits)
            ):
                yield match.span()


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
_CUE = re.compile(
    "|".join(f"(?P<c{index}>\\b(?:{words})\\b)" for index, (_, words) in enumerate(_CUES))
    + r"|(?P<upper_id>\bID\b)",
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


def _cues(text: str) -> list[_Anchor]:
    """Every cue word in the text, and every placeholder of a redacted value, in order.

    A placeholder stands for the value it replaced, not for a cue ("[passport]" is a passport,
    not the word): so redacting twice gives what redacting once gave.
    """
    redacted = [
        _Anchor(_REDACTED_KINDS.get(m[0], Kind.CARD), m.start(), m.end(), listed=True)
        for m in _REDACTED.finditer(text)
    ]
    cues = list(redacted)
    for match in _CUE.finditer(text):
        if any(r.start <= match.start() and match.end() <= r.end for r in redacted):
            continue
        if match.lastgroup == "upper_id":
            if match[0] != "ID":
                continue  # "id" in Spanish is a verb
            kind: Kind | None = Kind.NATIONAL_ID
        else:
            kind = _CUES[int(str(match.lastgroup)[1:])][0]
        cues.append(_Anchor(kind, match.start(), match.end()))
    return sorted(cues, key=lambda cue: cue.start)


def _named_by(anchors: list[_Anchor], text: str, start: int) -> Kind | None:
    """The kind that the nearest anchor before `start` names, if it is close enough to name it.

    A cue names a value a few words after it ("mi número de pasaporte es el ..."); a value names
    the next one only through a conjunction ("my passport X and my wife's Y").
    """
    before = [anchor for anchor in anchors if anchor.end <= start]
    if not before:
        return None
    anchor = max(before, key=lambda a: a.end)
    filler = text[anchor.end : start]
    if not _FILLER.fullmatch(filler) or len(re.findall(r"\w+", filler)) > _MAX_FILLER_WORDS:
        return None
    if anchor.listed and not _CONJUNCTION.search(filler):
        return None
    return anchor.kind


def _named_after(cues: list[_Anchor], text: str, end: int) -> Kind | None:
    """The kind that a cue right after a value names: "533380006 is my passport number"."""
    after = [cue for cue in cues if cue.start >= end and not cue.listed]
    if not after:
        return None
    cue = min(after, key=lambda c: c.start)
    return cue.kind if _TRAILING_GLUE.fullmatch(text[end : cue.start]) else None


def _shouted(text: str, span: tuple[int, int], cues: list[_Anchor]) -> bool:
    """Is the message written in capitals, so that a word in capitals is not a code?

    Counts whole words of letters, leaving out the candidate, cues and placeholders.
    """
    words = [
        m[0]
        for m in re.finditer(r"\b[^\W\d_]{2,}\b", text)
        if m.span() != span and not any(c.start <= m.start() and m.end() <= c.end for c in cues)
    ]
    return sum(word.isupper() for word in words) * 2 > len(words)


def _after_cues(text: str, found: list[tuple[Kind, int, int]]) -> Iterator[tuple[Kind, int, int]]:
    """Values that only count because a cue names them: foreign ids, passports, booking codes.

    Args:
        text: the message.
        found: what the patterns found, which may head a list ("PAA123456 y el de mi hija ...").
    """
    cues = _cues(text)
    anchors = cues + [_Anchor(kind, start, end, listed=True) for kind, start, end in found]
    candidates = sorted(
        (match.start(), match.end(), kind)
        for kind, pattern in _AFTER_CUE
        for match in pattern.finditer(text)
    )
    for start, end, kind in candidates:
        named = _named_by(anchors, text, start) or _named_after(cues, text, end)
        if named is not kind:
            continue
        value = text[start:end]
        if len(value) == 6 and _FLIGHT_NUMBER.fullmatch(value.upper()):
            continue
        if value.isalpha() and (_shouted(text, (start, end), cues) or _CUE.fullmatch(value)):
            continue
        anchors.append(_Anchor(kind, start, end, listed=True))
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


def _candidates(text: str, known: list[tuple[Kind, int, int]]) -> list[tuple[int, Kind, int, int]]:
    """Every candidate finding as (rank, kind, start, end), overlapping ones included.

    Args:
        text: the message, with the values already found blanked out.
        known: the values already found, which may head a list as any finding may.
    """
    found = [
        (rank, kind, start, end) for rank, kind, detect in _DETECTORS for start, end in detect(text)
    ]
    named = _after_cues(text, known + [(kind, start, end) for _, kind, start, end in found])
    return found + [(_CUE_RANK, kind, start, end) for kind, start, end in named]


# Overwrites a value already found: not a word, a digit, a space or a sign that anything accepts.
_BLANK = "\x00"


def _blank(text: str, findings: list[Finding]) -> str:
    """`text` with each finding overwritten, its length and so every offset kept."""
    chars = list(text)
    for finding in findings:
        chars[finding.start : finding.end] = _BLANK * (finding.end - finding.start)
    return "".join(chars)


def find(text: str) -> list[Finding]:
    """Personal data in `text`: non-overlapping findings, sorted by where they start.

    A value is not looked for in the middle of a longer number, so one written right after
    another ("620 72 29 01 29369075F") only shows once its neighbour is known to be a value: the
    detectors run again with the findings blanked out until nothing new turns up. That is also
    what makes `redact` idempotent.

    Args:
        text: a customer's message, in any language (the cues are Spanish and English).

    Returns:
        The findings; where candidates overlap, the higher-ranked then the longer one is kept.
    """
    urls = [m.span() for m in _URL.finditer(text)]
    kept: list[Finding] = []
    while True:
        known = [(f.kind, f.start, f.end) for f in kept]
        candidates = _candidates(_blank(text, kept), known)
        ranked = sorted(candidates, key=lambda c: (-c[0], -(c[3] - c[2]), c[2]))
        new: list[Finding] = []
        for _, kind, start, end in ranked:
            if kind is not Kind.EMAIL and any(s < end and start < e for s, e in urls):
                continue
            if any(f.start < end and start < f.end for f in kept + new):
                continue
            new.append(Finding(kind, start, end, text[start:end]))
        if not new:
            return sorted(kept, key=lambda f: f.start)
        kept += new


def placeholder(finding: Finding) -> str:
    """What replaces a finding: its kind, and for a card its last four digits.

    PCI DSS allows showing the last four digits of a card, which is what lets an agent and the
    customer agree on which card is meant without the number being stored.
    """
    if finding.kind is Kind.CARD:
        last_four = re.sub(r"\D", "", finding.text)[-4:]
        return f"[card ••••{last_four}]"
    return _PLACEHOLDERS[finding.kind]


def redact(text: str) -> str:
    """`text` with each finding replaced by its placeholder; text without any is unchanged."""
    parts = []
    position = 0
    for finding in find(text):
        parts.append(text[position : finding.start])
        parts.append(placeholder(finding))
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


def contains_personal_data(text: str) -> bool:
    """True when `text` holds at least one finding."""
    return bool(find(text))


def kinds(text: str) -> set[Kind]:
    """The kinds of personal data in `text`."""
    return {finding.kind for finding in find(text)}
