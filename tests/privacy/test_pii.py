"""relevo.pii: goals on the labelled set (scored as bench/pii_eval.py does) and behaviours."""

from itertools import pairwise

import pytest

from bench.pii_eval import OVERALL, load, relevo_detector, score
from relevo import pii
from relevo.pii import Finding, Kind

ENTRIES = load()


@pytest.fixture(scope="module")
def counts() -> dict:
    return score(ENTRIES, relevo_detector)


def test_the_labelled_set_is_large_and_bilingual() -> None:
    assert len(ENTRIES) >= 400
    assert {entry["language"] for entry in ENTRIES} == {"es", "en"}
    assert sum(1 for entry in ENTRIES if not entry["pii"]) >= 150
    for kind in Kind:
        labelled = [p for entry in ENTRIES for p in entry["pii"] if p["kind"] == kind.value]
        assert len(labelled) >= 40, kind


def test_card_recall(counts: dict) -> None:
    assert counts["card"].recall >= 0.98


@pytest.mark.parametrize("kind", [kind.value for kind in Kind if kind is not Kind.CARD])
def test_recall_of_the_other_kinds(counts: dict, kind: str) -> None:
    assert counts[kind].recall >= 0.95


def test_overall_precision(counts: dict) -> None:
    assert counts[OVERALL].precision >= 0.95


# --------------------------------------------------------------------------------- cards


def test_a_luhn_valid_number_is_a_card_and_an_invalid_one_is_not() -> None:
    assert pii.kinds("pagué con 4111 1111 1111 1111") == {Kind.CARD}
    assert pii.kinds("pagué con 4111 1111 1111 1112") == set()
    assert pii.kinds("ref 4111111111111112") == set()


@pytest.mark.parametrize(
    "text",
    [
        "amex 3782-822463-10005",  # 4-6-5
        "visa 4222222222222",  # 13 digits
        "card 4000  0566 5566 5556 exp 03/28",  # messy spacing, then an expiry date
        "card 4000.0566.5566.5556",
    ],
)
def test_card_groupings(text: str) -> None:
    assert pii.kinds(text) == {Kind.CARD}


def test_long_numbers_that_are_not_cards() -> None:
    # An airline ticket number, a run of years, a masked card: none is a card.
    assert pii.kinds("ticket 0752345678901") == set()
    assert pii.kinds("in 2024 2025 2026 2027") == set()
    assert pii.kinds("**** **** **** 4242") == set()


# -------------------------------------------------------------------------- national ids


def test_dni_check_letter() -> None:
    assert pii.kinds("mi DNI es 12345678Z") == {Kind.NATIONAL_ID}
    assert pii.kinds("mi DNI es 12345678-Z") == {Kind.NATIONAL_ID}
    assert pii.kinds("mi DNI es 12.345.678 Z") == {Kind.NATIONAL_ID}
    assert pii.kinds("expediente 12345678A") == set()  # wrong letter: Z is right
    # A lower-case letter after a space is a word ("y" = and), not a check letter.
    assert [f.text for f in pii.find("DNI 12345678 y pasaporte")] == ["12345678"]


def test_nie_check_letter() -> None:
    assert pii.kinds("NIE X1234567L") == {Kind.NATIONAL_ID}
    assert pii.kinds("nie y-1234567-x") == {Kind.NATIONAL_ID}
    assert pii.kinds("NIE X1234567A") == set()


def test_other_ids_need_a_cue_except_the_ssn() -> None:
    assert pii.find("DNI 30.123.456")[0].text == "30.123.456"
    assert pii.kinds("pedido 30.123.456") == set()
    assert pii.kinds("my SSN is 078-05-1120") == {Kind.NATIONAL_ID}
    assert pii.kinds("value 078-05-1120") == {Kind.NATIONAL_ID}
    assert pii.kinds("value 000-05-1120") == set()  # area 000 is never issued


# ---------------------------------------------------------------- passports, codes, phones


def test_passports() -> None:
    assert pii.kinds("PAA123456") == {Kind.PASSPORT}
    assert pii.kinds("passport no. 533380006") == {Kind.PASSPORT}
    assert pii.kinds("533380006 is my passport number") == {Kind.PASSPORT}
    found = pii.find("my passport 533380006 and my wife's 533380007")
    assert [(f.kind, f.text) for f in found] == [
        (Kind.PASSPORT, "533380006"),
        (Kind.PASSPORT, "533380007"),
    ]


def test_booking_codes_and_flight_numbers() -> None:
    assert pii.kinds("booking X7K9PQ") == {Kind.BOOKING}
    assert pii.kinds("4RT8ZL no funciona") == {Kind.BOOKING}
    assert pii.kinds("vuelo IB3456, U21234, UX1094") == set()
    assert pii.kinds("QWERTY") == set()
    assert pii.kinds("localizador QWERTY") == {Kind.BOOKING}
    assert pii.kinds("localizador x7k9pq") == {Kind.BOOKING}
    # Shouting: every word is in capitals, so PLEASE is a word, not a code.
    assert pii.kinds("I NEED HELP WITH MY BOOKING PLEASE") == set()


@pytest.mark.parametrize(
    "phone",
    [
        "612345678",
        "+34 612 34 56 78",
        "0034 912-345-678",
        "(555) 123-4567",
        "+44 20 7946 0958",
        "07700 900123",
        "+33 6 12 34 56 78",
        "0044 7700 900123",
    ],
)
def test_phone_formats(phone: str) -> None:
    assert [(f.kind, f.text) for f in pii.find(f"llamadme al {phone} gracias")] == [
        (Kind.PHONE, phone)
    ]


def test_business_lines_are_not_personal() -> None:
    assert pii.kinds("llamé al 902 400 500") == set()
    assert pii.kinds("I called 0800 123 4567") == set()


@pytest.mark.parametrize(
    "text",
    [
        "vuelo IB 3456 el 12/03/2026 a las 14:30, 2 maletas de 23 kg",
        "flight BA 2490 2026-11-25, €120,50 and $1,299.99, 15% off",
        "MAD-BCN asiento 14C puerta B32 desde 2015, 2019 y 2026",
        "URGENTE AYUDA HELLO",
        "#UX1094 @Iberia_es @user612345678 https://t.co/X7K9PQ2",
        "https://www.example.com/manage?pnr=X7K9PQ",
    ],
)
def test_things_that_are_not_personal_data(text: str) -> None:
    assert pii.find(text) == []
    assert not pii.contains_personal_data(text)


# ------------------------------------------------------------------------------- overlaps


def test_a_card_beats_the_phone_its_digits_could_spell() -> None:
    assert [(f.kind, f.text) for f in pii.find("pago 6011 1111 1111 1117")] == [
        (Kind.CARD, "6011 1111 1111 1117")
    ]


def test_a_cue_beats_a_shape() -> None:
    # Nine digits starting with 6 look like a Spanish mobile; the cue says passport.
    assert pii.kinds("pasaporte 612345678") == {Kind.PASSPORT}
    # The nearest cue decides: a phone cue after the passport cue.
    assert pii.kinds("pasaporte caducado, llamadme al 612345678") == {Kind.PHONE}


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("customer_email='ana.lopez@example.com'", "ana.lopez@example.com"),  # a repr in a log
        ('"to": "j_smith@hotmail.co.uk",', "j_smith@hotmail.co.uk"),
        ("<pedro+iberia@outlook.es>", "pedro+iberia@outlook.es"),
        ("Email me: o'brien.k@mail.ie.", "o'brien.k@mail.ie"),
    ],
)
def test_emails_in_quotes_and_brackets(text: str, email: str) -> None:
    assert [(f.kind, f.text) for f in pii.find(text)] == [(Kind.EMAIL, email)]


def test_an_email_with_digits_is_one_email() -> None:
    assert [(f.kind, f.text) for f in pii.find("escribid a 612345678@gmail.com")] == [
        (Kind.EMAIL, "612345678@gmail.com")
    ]


def test_findings_are_sorted_and_do_not_overlap() -> None:
    for entry in ENTRIES:
        found = pii.find(entry["text"])
        assert found == sorted(found, key=lambda f: f.start)
        for before, after in pairwise(found):
            assert before.end <= after.start


# ------------------------------------------------------------------ offsets and redaction


def test_a_value_right_after_another_number_is_found() -> None:
    found = pii.find("620 72 29 01 29369075F")
    assert [(f.kind, f.text) for f in found] == [
        (Kind.PHONE, "620 72 29 01"),
        (Kind.NATIONAL_ID, "29369075F"),
    ]


def test_offsets_point_into_the_original_text() -> None:
    text = "Hola, soy Ana (DNI 12345678Z), escribidme a ana.garcia@gmail.com o al 612 345 678"
    found = pii.find(text)
    assert [(f.kind, f.text) for f in found] == [
        (Kind.NATIONAL_ID, "12345678Z"),
        (Kind.EMAIL, "ana.garcia@gmail.com"),
        (Kind.PHONE, "612 345 678"),
    ]
    assert found[0] == Finding(Kind.NATIONAL_ID, 19, 28, "12345678Z")
    for entry in ENTRIES:
        for finding in pii.find(entry["text"]):
            assert entry["text"][finding.start : finding.end] == finding.text


def test_redact_keeps_the_last_four_digits_of_a_card_and_nothing_else() -> None:
    redacted = pii.redact("tarjeta 4242-4242-4242-4242, caduca 08/27")
    assert redacted == "tarjeta [card ••••4242], caduca 08/27"
    assert "4242-4242" not in redacted


def test_redact_replaces_each_kind_with_its_placeholder() -> None:
    text = (
        "DNI 12345678Z, passport PAA123456, ana@example.com, +44 20 7946 0958, booking X7K9PQ, "
        "card 5555 5555 5555 4444"
    )
    assert pii.redact(text) == (
        "DNI [national id], passport [passport], [e-mail], [phone], booking [booking code], "
        "card [card ••••4444]"
    )


def test_redact_leaves_text_without_personal_data_unchanged() -> None:
    for text in [
        "",
        "mi vuelo IB3456 sale a las 14:30 de la puerta B32",
        "URGENTE: me cobrasteis €120,50 por 2 maletas de 23 kg",
        "HELLO? flight BA 2490 on 2026-11-25, seat 14C",
    ]:
        assert pii.redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "PAA123456 533380006",  # a placeholder's word ("[passport]") is not a cue
        "DNI 12345678Z 30123456",
        "localizador X7K9PQ y QWERTY",
        "620 72 29 01 29369075F",  # a value right after another number
        "07700 900123 +44 161 496 0000",
    ],
)
def test_redact_is_idempotent_on_neighbouring_values(text: str) -> None:
    once = pii.redact(text)
    assert pii.redact(once) == once


def test_redact_is_idempotent() -> None:
    texts = [entry["text"] for entry in ENTRIES]
    # Each message, and each joined to the next: values end up side by side.
    for text in texts + [a + " " + b for a, b in pairwise(texts)]:
        once = pii.redact(text)
        assert pii.redact(once) == once
        assert pii.find(once) == []


def test_placeholder_and_helpers() -> None:
    assert pii.placeholder(Finding(Kind.CARD, 0, 19, "4111 1111 1111 1111")) == "[card ••••1111]"
    assert pii.placeholder(Finding(Kind.EMAIL, 0, 5, "a@b.co")) == "[e-mail]"
    assert pii.contains_personal_data("localizador X7K9PQ")
    assert pii.kinds("X7K9PQ y ana@example.com") == {Kind.BOOKING, Kind.EMAIL}


def test_the_brands_own_published_phone_is_kept_however_it_is_spaced() -> None:
    said = "Call us on +34 910 000 123, or I call you on 612 345 678"
    assert pii.redact(said, keep=("+34-910-000-123", None)) == (
        "Call us on +34 910 000 123, or I call you on [phone]"
    )
    assert pii.redact(said) == "Call us on [phone], or I call you on [phone]"
