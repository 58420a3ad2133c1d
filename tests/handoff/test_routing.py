"""The routing file: the shipped one loads and routes; mistakes are refused with their line."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
import yaml

from handoff.calendar import BusinessCalendar
from handoff.requests import Priority
from handoff.routing import (
    Routing,
    RoutingError,
    Signals,
    configured_routing,
    default_routing_path,
    hashtags,
    live_routing,
    load_routing,
)

REPO = Path(__file__).resolve().parents[2]

# A small valid file; the validation tests break one thing in it and look for that line.
MINIMAL = """\
default_department: care
calendars:
  office:
    timezone: Europe/Madrid
    hours:
      mon-fri: "09:00-18:00"
    holidays: [2026-12-25]
  always:
    timezone: UTC
    hours: {daily: "00:00-24:00"}
departments:
  bags:
    name: Bags
    slack_channel: "#bags"
    calendar: office
    match:
      keywords: [maleta, bag]
  money:
    name: Money
    slack_channel: "#money"
    calendar: always
    match:
      keywords: [refund, bag]
  care:
    name: Care
    slack_channel: C0123ABCD
    calendar: office
topics:
  human: [bag, "medical emergency"]
priority:
  influencer_followers: 1000
sla:
  first_response: {urgent: 10, high: 20, normal: 60, low: 120}
  resolution: {urgent: 60, high: 120, normal: 480, low: 960}
"""


@pytest.fixture(scope="module")
def routing() -> Routing:
    return load_routing(default_routing_path())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.yml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `needle`."""
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[occurrence - 1]


def errors_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RoutingError) as caught:
        load_routing(write(tmp_path, text))
    return str(caught.value).splitlines()


def route(routing: Routing, text: str, language: str = "es", **signals) -> str:
    return routing.route(Signals(text=text, language=language, **signals)).department.key


# --- the shipped file ----------------------------------------------------------------------------


def test_the_shipped_file_loads_with_the_knowledge_base_departments(routing: Routing) -> None:
    assert default_routing_path() == REPO / "config" / "routing.yml"
    kb_departments = {
        line.split(":", 1)[1].strip()
        for article in (REPO / "kb" / "articles").rglob("*.md")
        for line in article.read_text(encoding="utf-8").splitlines()
        if line.startswith("department:")
    }
    assert kb_departments <= set(routing.departments)
    assert set(routing.departments) == kb_departments | {"complaints"}
    assert routing.default.key == "customer-care"
    for name in kb_departments:  # every article's department routes to its own desk
        assert routing.departments[name].kb_departments == (name,)


def test_departments_carry_channel_group_and_a_parsed_calendar(routing: Routing) -> None:
    baggage = routing.departments["baggage"]
    assert baggage.name == "Baggage"
    assert baggage.slack_channel == "#care-baggage"
    assert baggage.user_group == "S0BAGGAGE"
    assert isinstance(baggage.calendar, BusinessCalendar)
    assert baggage.calendar.timezone == "Europe/Madrid"
    assert routing.departments["complaints"].calendar_key == "around-the-clock"
    assert routing.departments["loyalty"].user_group is None


def test_an_empty_or_unknown_department_key_falls_back_to_the_default(routing: Routing) -> None:
    assert routing.department("") is routing.default
    assert routing.department(None) is routing.default
    assert routing.department("renamed-team") is routing.default
    assert routing.department("refunds").key == "refunds"


# --- routing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Se ha perdido mi MALETA en Barajas", "es", "baggage"),
        ("Mis maletas no han llegado", "es", "baggage"),
        ("My suitcase never arrived in Lisbon", "en", "baggage"),
        ("Quiero el reembolso de mi billete", "es", "refunds"),
        ("I want my money back", "en", "refunds"),
        ("Viajo con silla de ruedas", "es", "special-assistance"),
        ("Can I fly with my dog?", "en", "special-assistance"),
        ("No me han sumado las millas del Brisa Club", "es", "loyalty"),
        ("The wifi did not work", "en", "onboard"),
        ("Me han cobrado dos veces: cobro duplicado", "es", "sales"),
        ("I need an invoice for my company", "en", "sales"),
        ("Where is my boarding pass?", "en", "customer-care"),
    ],
)
def test_keywords_route_in_both_languages(
    routing: Routing, text: str, language: str, expected: str
) -> None:
    assert route(routing, text, language) == expected


def test_the_knowledge_base_department_routes(routing: Routing) -> None:
    decision = routing.route(Signals("¿Cuándo me llega?", "es", kb_departments=("refunds",)))
    assert decision.department.key == "refunds"
    assert decision.reasons == ("knowledge base: refunds",)


def test_the_complaint_intent_routes_to_complaints(routing: Routing) -> None:
    assert route(routing, "This is unacceptable", "en", intent="complaint") == "complaints"
    decision = routing.route(
        Signals("Voy a poner una reclamación formal", "es", intent="complaint")
    )
    assert decision.department.key == "complaints"
    assert decision.score == 2
    assert decision.reasons == ("intent: complaint", "keyword: reclamacion formal")


def test_hashtags_route_from_the_text_or_from_the_channel(routing: Routing) -> None:
    assert route(routing, "Otra vez igual #LostBag") == "baggage"
    assert route(routing, "Otra vez igual", hashtags=("lostbag",)) == "baggage"
    assert route(routing, "Otra vez igual", hashtags=("#EquipajePerdido",)) == "baggage"


def test_nothing_matched_goes_to_the_default_department(routing: Routing) -> None:
    decision = routing.route(Signals("Hola, buenas tardes", "es"))
    assert decision.department.key == "customer-care"
    assert decision.score == 0
    assert decision.reasons == ("no routing signal matched: default department",)


def test_more_signals_beat_file_order(routing: Routing) -> None:
    # refunds (2 signals) beats baggage (1) although baggage comes first in the file
    decision = routing.route(
        Signals("Quiero un reembolso por mi maleta", "es", kb_departments=("refunds",))
    )
    assert decision.department.key == "refunds"
    assert decision.score == 2


def test_a_tie_goes_to_the_department_first_in_the_file(tmp_path: Path) -> None:
    signals = Signals("My bag", "en")
    first = load_routing(write(tmp_path, MINIMAL))
    decision = first.route(signals)
    assert decision.department.key == "bags"
    assert decision.reasons == ("keyword: bag", "tie with money: first in the routing file")
    swapped = MINIMAL.replace("  bags:", "  tmp:").replace("  money:", "  bags:")
    swapped = swapped.replace("  tmp:", "  money:")  # same departments, other order
    assert load_routing(write(tmp_path, swapped)).route(signals).department.key == "money"


def test_keywords_match_whole_words_only(routing: Routing, tmp_path: Path) -> None:
    assert route(routing, "The handbag shop at the airport", "en") == "customer-care"
    minimal = load_routing(write(tmp_path, MINIMAL))
    assert minimal.route(Signals("my baggage", "en")).department.key == "care"
    assert minimal.route(Signals("my bag.", "en")).department.key == "bags"


def test_hashtag_extraction_is_folded_and_needs_a_letter() -> None:
    text = "Vaya día #LostBag #Maleta_Perdida #123 C#x email#no #lostbag #Compensación"
    assert hashtags(text) == ("#lostbag", "#maleta_perdida", "#compensacion")


# --- human topics, VIPs, urgent words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Voy a hablar con mi ABOGADO", "abogado"),
        ("Mis abogados se pondrán en contacto", "abogados"),
        ("Os voy a denunciar", "denunciar"),
        ("Es una emergencia médica, por favor", "emergencia medica"),
        ("Mi padre falleció ayer y no podemos viajar", "fallecio"),
        ("Esto es discriminación", "discriminacion"),
        ("Quiero ejercer mi derecho de protección  de datos", "proteccion de datos"),
        ("My lawyer will contact you", "lawyer"),
        ("We have a MEDICAL EMERGENCY on board", "medical emergency"),
        ("Travelling after a bereavement", "bereavement"),
        ("This is discrimination", "discrimination"),
        ("A data protection request", "data protection"),
    ],
)
def test_human_topics_in_both_languages(routing: Routing, text: str, phrase: str) -> None:
    assert routing.always_human(text) == phrase


def test_ordinary_questions_are_not_human_topics(routing: Routing) -> None:
    assert routing.always_human("¿Cuánto equipaje de mano puedo llevar?") is None
    assert routing.always_human("What is the baggage allowance?") is None


def test_human_topics_do_not_match_inside_words(tmp_path: Path) -> None:
    routing = load_routing(write(tmp_path, MINIMAL))
    assert routing.always_human("my baggage is late") is None
    assert routing.always_human("a new handbag") is None
    assert routing.always_human("my bag is late") == "bag"
    assert routing.always_human("a medical\n  Emergency") == "medical emergency"
    assert routing.always_human("paramedical emergency") is None


def test_vip_by_handle_or_channel_id(routing: Routing) -> None:
    assert routing.is_vip("@laura_travels")
    assert routing.is_vip("@Laura_Travels")
    assert routing.is_vip("telegram:12345")
    assert routing.is_vip("12345", channel="telegram")
    assert not routing.is_vip("12345")
    assert not routing.is_vip("12345", channel="webchat")
    assert not routing.is_vip("@someone_else")


def test_urgent_keywords_of_every_language_whatever_the_message_language(
    routing: Routing,
) -> None:
    assert routing.urgent_keywords("Es URGENTE, necesito ayuda ahora  mismo") == [
        "urgente",
        "ahora mismo",
    ]
    assert routing.urgent_keywords("Please help asap, es urgente") == ["urgente", "asap"]
    assert routing.urgent_keywords("An urgently needed answer") == ["urgently"]
    assert routing.urgent_keywords("Nada que ver") == []
    assert routing.influencer_followers == 10000


# --- SLA -----------------------------------------------------------------------------------------


def test_sla_minutes_with_the_social_factor(routing: Routing) -> None:
    assert routing.sla_minutes(Priority.URGENT, "telegram") == (15, 240)
    assert routing.sla_minutes(Priority.URGENT, "social") == (7.5, 120)
    assert routing.sla_minutes(Priority.NORMAL, "webchat") == (120, 1440)
    assert routing.sla_minutes("low", "social") == (240, 1440)
    assert routing.warn_before == 0.2
    assert routing.follow_up_hours == 24


# --- validation: each error names its line -------------------------------------------------------


def test_unknown_calendar_names_its_line(tmp_path: Path) -> None:
    bad = MINIMAL.replace("calendar: office", "calendar: offcie", 1)
    path = write(tmp_path, bad)
    with pytest.raises(RoutingError) as caught:
        load_routing(path)
    assert str(caught.value) == (
        f"{path} line {line_of(bad, 'offcie')}, column 15: departments.bags.calendar: "
        "unknown calendar 'offcie' (known: office, always)"
    )
    assert isinstance(caught.value, ValueError)
    assert caught.value.issues[0].line == 15


def test_a_misspelt_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    bad = MINIMAL.replace('slack_channel: "#money"', 'slack_chanel: "#money"')
    [error] = errors_of(tmp_path, bad)  # one mistake, one line: no "slack_channel missing"
    assert f"line {line_of(bad, 'slack_chanel')}, column 5: " in error
    assert "departments.money.slack_chanel: unknown key 'slack_chanel'" in error
    assert "did you mean 'slack_channel'?" in error


def test_a_bad_calendar_time_wraps_the_calendar_error_with_its_line(tmp_path: Path) -> None:
    bad = MINIMAL.replace('mon-fri: "09:00-18:00"', 'mon-fri: "9-18"')
    [error] = errors_of(tmp_path, bad)
    assert error.endswith(
        f"line {line_of(bad, '9-18')}, column 16: "
        "calendars.office.hours.mon-fri: '9-18' is not HH:MM-HH:MM"
    )


def test_a_bad_holiday_and_an_unknown_time_zone_name_their_lines(tmp_path: Path) -> None:
    bad = MINIMAL.replace("[2026-12-25]", "[2026-02-30]").replace("UTC", "Mars/Olympus")
    errors = errors_of(tmp_path, bad)
    assert len(errors) == 2
    assert (
        f"line {line_of(bad, '2026-02-30')}, column 16: calendars.office.holidays[0]:"
        in (errors[0])
    )
    assert f"line {line_of(bad, 'Mars')}, column 15: calendars.always.timezone:" in errors[1]
    assert "unknown time zone 'Mars/Olympus'" in errors[1]


def test_a_missing_priority_in_an_sla_table(tmp_path: Path) -> None:
    bad = MINIMAL.replace("normal: 480, low: 960", "normal: 480")
    [error] = errors_of(tmp_path, bad)
    assert f"line {line_of(bad, 'resolution:')}, column 3: sla.resolution: " in error
    assert "missing priority 'low'" in error


def test_an_unknown_priority_in_an_sla_table(tmp_path: Path) -> None:
    bad = MINIMAL.replace("{urgent: 10,", "{urgnet: 10,")
    errors = errors_of(tmp_path, bad)
    assert f"line {line_of(bad, 'urgnet')}, column 20: sla.first_response.urgnet: " in errors[0]
    assert "'urgent'" in errors[0]


def test_a_duplicate_department_key(tmp_path: Path) -> None:
    bad = MINIMAL.replace("  money:", "  bags:")
    [error] = errors_of(tmp_path, bad)
    first, second = line_of(bad, "  bags:"), line_of(bad, "  bags:", 2)
    assert error.endswith(
        f"line {second}, column 3: departments.bags: duplicate key 'bags' "
        f"(first on line {first}); YAML keeps only the last one"
    )


def test_a_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    bad = MINIMAL.replace("name: Money", "name: Money: and more")
    [error] = errors_of(tmp_path, bad)
    assert f"line {line_of(bad, 'and more')}, column 16: " in error
    assert "YAML syntax error: mapping values are not allowed here" in error


def test_a_flow_mapping_without_colon_is_a_calendar_error_at_its_line(tmp_path: Path) -> None:
    bad = MINIMAL.replace("{daily: ", "{daily ")  # valid YAML: a key "daily ..." without value
    [error] = errors_of(tmp_path, bad)
    assert f"line {line_of(bad, '{daily ')}, column 5: calendars.always.hours: " in error
    assert "is not a day or day range" in error


def test_an_empty_file(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "# nothing yet\n") == [
        f"{tmp_path / 'routing.yml'} line 1, column 1: the file is empty"
    ]


def test_several_errors_are_reported_together_in_file_order(tmp_path: Path) -> None:
    bad = (
        MINIMAL.replace("default_department: care", "default_department: desk")
        .replace("calendar: always", "calendar: night")
        .replace("{urgent: 60, high: 120", "{urgent: 200, high: 120")
    )
    errors = errors_of(tmp_path, bad)
    lines = [int(re.search(r" line (\d+),", error).group(1)) for error in errors]
    assert lines == [1, line_of(bad, "calendar: night"), line_of(bad, "urgent: 200")]
    assert "default_department: unknown department 'desk'" in errors[0]
    assert "departments.money.calendar: unknown calendar 'night'" in errors[1]
    assert "sla.resolution.urgent: 200 minutes is longer than high (120)" in errors[2]


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ('slack_channel: "#bags"', 'slack_channel: ""', "departments.bags.slack_channel", "empty"),
        ('slack_channel: "#bags"', "slack_channel: care bags", "slack_channel", "neither"),
        ("calendar: office\n    match", "user_group: '@bags'\n    calendar: office\n    match",
         "departments.bags.user_group", "not a Slack user group id"),
        ("influencer_followers: 1000", "influencer_followers: lots",
         "priority.influencer_followers", "valid integer"),
        ("  resolution:", "  warn_before: 1.5\n  resolution:", "sla.warn_before", "less than 1"),
        ("  resolution:", "  channel_factor: {social: 0}\n  resolution:",
         "sla.channel_factor.social", "greater than 0"),
        ("  resolution:", "  channel_factor: {socail: 0.5}\n  resolution:",
         "sla.channel_factor.socail", "unknown channel 'socail'"),
        ("  influencer_followers: 1000", "  vip: [laura]\n  influencer_followers: 1000",
         "priority.vip[0]", "neither '@handle' nor 'channel:id'"),
        ("[maleta, bag]", "[maleta, 'ba*g']", "departments.bags.match.keywords[1]", "'*' may"),
        ("low: 120}", "low: 120, extra: 1}", "sla.first_response.extra", "input should be"),
    ],
)  # fmt: skip
def test_field_checks_name_the_line(
    tmp_path: Path, old: str, new: str, where: str, message: str
) -> None:
    assert old in MINIMAL
    bad = MINIMAL.replace(old, new, 1)
    [error] = errors_of(tmp_path, bad)
    changed = new.splitlines()[0].strip()
    assert f" line {line_of(bad, changed)}, " in error
    assert f": {where}: " in error or f".{where}: " in error
    assert message in error


def test_what_customers_are_told_about_hours_matches_the_desk_calendar() -> None:
    """The contact article, which answers questions on opening hours, quotes the calendar."""
    shipped = yaml.safe_load(default_routing_path().read_text(encoding="utf-8"))
    calendar_name = shipped["departments"]["customer-care"]["calendar"]
    times = {
        moment
        for span in shipped["calendars"][calendar_name]["hours"].values()
        for moment in span.split("-")
    }
    told = [
        (REPO / "kb" / "articles" / lang / "contact-hours.md").read_text(encoding="utf-8")
        for lang in ("en", "es")
    ]
    assert len(told) == 2 and times
    for text in told:
        assert all(t in text for t in times), (sorted(times), text[:200])


def test_the_shipped_file_with_a_typo_names_its_real_path_and_line(tmp_path: Path) -> None:
    text = default_routing_path().read_text(encoding="utf-8")
    bad = text.replace("calendar: madrid-office", "calendar: madird", 1)
    [error] = errors_of(tmp_path, bad)
    assert error == (
        f"{tmp_path / 'routing.yml'} line {line_of(bad, 'calendar: madird')}, column 15: "
        "departments.baggage.calendar: unknown calendar 'madird' "
        "(known: madrid-office, around-the-clock)"
    )


# --- edits while running ---------------------------------------------------------------------


def test_a_broken_edit_keeps_the_last_good_file_while_running_and_is_refused_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, MINIMAL)
    good = live_routing(path)
    half_saved = MINIMAL[: len(MINIMAL) // 2] + "\n  - [unclosed"
    path.write_text(half_saved, encoding="utf-8")
    os.utime(path, (1_000_000, 1_000_000))  # a new version, whatever the clock's resolution
    with caplog.at_level(logging.ERROR, logger="handoff.routing"):
        assert live_routing(path) is good
        assert live_routing(path) is good
    assert [r.getMessage() for r in caplog.records] == ["routing file refused"]  # once a version
    with pytest.raises(RoutingError):
        configured_routing(path)
    fixed = MINIMAL.replace("  bags:", "  luggage:")
    path.write_text(fixed, encoding="utf-8")
    os.utime(path, (2_000_000, 2_000_000))
    assert "luggage" in live_routing(path).departments


def test_a_file_broken_from_the_start_is_refused_while_running_too(tmp_path: Path) -> None:
    path = write(tmp_path, "departments: [")
    with pytest.raises(RoutingError):
        live_routing(path)
