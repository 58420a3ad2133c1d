"""The parsers and text functions behind the doors, fuzzed directly (pure: no Redis, no app).

Each test states what may go wrong (the documented rejections: a ValidationError for a social
event, anything `Update.de_json` raises, for the webhook answers 400 then, a CalendarError, a
RoutingError) and checks properties of what comes out; any other exception fails. The Slack
desk's parsing of `block_actions` and message events lives inside Bolt listeners (closures of
`SlackDesk._register`, no pure function): test_http_fuzz.py drives them through signed requests.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError
from telegram import Bot, Update

from bot.after_resolution import parse_rating
from bot.channels.social import SocialEvent, addressed_to_brand, to_inbound
from bot.channels.telegram_updates import received
from bot.inbound import Channel, Kind
from bot.trends import STOPWORDS, keywords
from bot.trends import hashtags as trend_hashtags
from handoff.calendar import BusinessCalendar, CalendarError
from handoff.routing import RoutingError, hashtags, parse_routing
from kb_index.text import fold, tokens
from relevo.pii import Kind as PiiKind
from relevo.pii import contains_personal_data, find, kinds, redact
from relevo.settings import Settings
from tests.fuzz.conftest import TELEGRAM_BOT, TELEGRAM_TOKEN, fuzz_settings
from tests.fuzz.strategies import (
    FRAGMENTS,
    any_char,
    dumps,
    encodable_text,
    hostile_text,
    json_values,
    mutated,
    social_events,
    telegram_updates,
    zone_names,
)

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]

# --- social events ----------------------------------------------------------------------------

brand_settings = st.builds(
    lambda handle, listen, author: Settings(  # type: ignore[call-arg]
        _env_file=None,
        social_brand_handle=handle,
        social_listen=listen,
        social_brand_author_id=author,
    ),
    st.one_of(st.sampled_from(["brisaair", "@BrisaAir", "a.b", "x*"]), encodable_text),
    st.lists(
        st.one_of(st.sampled_from(["#brisaair", "brisa air", "(", "\\"]), encodable_text),
        max_size=3,
    ),
    st.one_of(st.none(), st.just("p1"), encodable_text),
)


@fuzz_settings(200)
@given(raw=st.one_of(mutated(social_events), json_values))
def test_social_events_parse_or_are_refused(raw: Any) -> None:
    try:
        event = SocialEvent.model_validate_json(dumps(raw))
    except ValidationError:
        return  # 422 at the door
    reason = addressed_to_brand(event, SETTINGS)
    assert reason is None or reason in ("mention", "reply") or reason.startswith("listening:")
    inbound = to_inbound(event, SETTINGS)
    assert inbound.channel is Channel.SOCIAL and inbound.public
    assert inbound.conversation_id == (
        f"social:{event.network}:"
        f"{event.thread_id or (event.in_reply_to.post_id if event.in_reply_to else event.post_id)}"
        f":{event.author.id}"
    )
    assert inbound.message_id == f"{event.network}:{event.post_id}"
    assert inbound.text == " ".join(inbound.text.split())
    assert inbound.route["reply_to"] == event.post_id


@fuzz_settings(60)
@given(raw=social_events, settings=brand_settings)
def test_any_brand_settings_read_any_post(raw: Any, settings: Settings) -> None:
    try:
        event = SocialEvent.model_validate_json(dumps(raw))
    except ValidationError:
        return
    addressed_to_brand(event, settings)
    to_inbound(event, settings)


# --- Telegram updates -------------------------------------------------------------------------

BOT = Bot(TELEGRAM_TOKEN)  # never initialised: no network
USERNAMES = st.one_of(st.just(TELEGRAM_BOT["username"]), st.just(""), encodable_text)


def _update(raw: Any) -> Update | None:
    """What the webhook makes of a body: `Update.de_json`, whose failures it answers with 400."""
    try:
        return Update.de_json(raw, BOT)
    except Exception:  # the webhook's documented rejection (400 unreadable update)
        return None


def _check_received(update: Update, username: str) -> None:
    got = received(update, username)
    if got is None:
        return
    inbound = got.inbound
    assert inbound.channel is Channel.TELEGRAM
    assert inbound.conversation_id.startswith("tg:")
    assert isinstance(inbound.text, str) and isinstance(inbound.route["chat_id"], int)
    if inbound.kind is Kind.UNSUPPORTED:
        assert not inbound.text and inbound.route["attachment"]
    if got.invitation is not None:
        assert inbound.text == "/greet" and got.invitation.strip() == got.invitation


@fuzz_settings(200)
@given(raw=telegram_updates, username=USERNAMES)
@example(
    raw={
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1,
            "chat": {"id": -5, "type": "group"},
            "from": {"id": 5, "is_bot": False, "first_name": "A"},
            "text": "/start@BrisaFuzzBot tok",
        },
    },
    username="BrisaFuzzBot",
)
def test_telegram_updates_become_customer_messages(raw: dict[str, Any], username: str) -> None:
    """Updates shaped as Telegram sends them (the Bot API's types), with values drawn."""
    update = _update(raw)
    if update is not None:
        _check_received(update, username)


@fuzz_settings(150)
@given(raw=st.one_of(mutated(telegram_updates), json_values), username=USERNAMES)
def test_telegram_webhook_bodies_of_any_shape(raw: Any, username: str) -> None:
    """Anything at all: refused by `de_json` (400), or read without an exception."""
    update = _update(raw)
    if update is not None:
        _check_received(update, username)


# --- personal data ----------------------------------------------------------------------------


def _luhn_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
cards = st.builds(
    lambda prefix, body, sep: sep.join(
        re.findall(".{1,4}", prefix + body + _luhn_digit(prefix + body))
    ),
    st.sampled_from(["4", "51", "37", "6011"]),
    st.from_regex(r"\A\d{10,14}\Z"),
    st.sampled_from(["", " ", "-", "  ", "."]),
)
dnis = st.integers(0, 99_999_999).map(lambda n: f"{n:08d}{_DNI_LETTERS[n % 23]}")
phones = st.builds(
    lambda lead, rest, plus: f"{plus}{lead}{rest}",
    st.sampled_from(["6", "7", "9", "8"]),
    st.from_regex(r"\A\d{2}[ .-]?\d{3}[ .-]?\d{3}\Z"),
    st.sampled_from(["", "+34 ", "+44 ", "0034 "]),
)
emails = st.from_regex(r"\A[a-z0-9._-]{1,10}@[a-z0-9-]{1,10}\.[a-z]{2,4}\Z")
bookings = st.from_regex(r"\A[A-Z0-9]{6}\Z")
pii_pieces = st.one_of(
    st.sampled_from(FRAGMENTS),
    cards,
    dnis,
    phones,
    emails,
    bookings,
    st.text(max_size=8),
    st.text(alphabet=any_char, max_size=4),
)
pii_text = st.builds(
    lambda pieces, seps: "".join(p + s for p, s in zip(pieces, seps, strict=False)),
    st.lists(pii_pieces, max_size=8),
    st.lists(
        st.sampled_from([" ", "", ".", ",", "\n", "-", "/", ":", "#", "@", "[", "] "]),
        min_size=8,
        max_size=8,
    ),
)


@fuzz_settings(300)
@given(text=st.one_of(pii_text, hostile_text))
def test_personal_data_findings_are_exact_and_redaction_is_idempotent(text: str) -> None:
    found = find(text)
    end = 0
    for finding in found:
        assert end <= finding.start < finding.end <= len(text), found
        assert text[finding.start : finding.end] == finding.text
        assert isinstance(finding.kind, PiiKind)
        end = finding.end
    assert contains_personal_data(text) == bool(found)
    assert kinds(text) == {f.kind for f in found}
    once = redact(text)
    if not found:
        assert once == text
    assert redact(once) == once, (text, once)


# --- small text functions -----------------------------------------------------------------------


@fuzz_settings(150)
@given(
    text=st.one_of(
        hostile_text,
        st.builds(
            lambda pre, n, mid, suf: f"{pre}{n}{mid}{suf}",
            st.sampled_from(["", " ", "/rate", "/rate ", "\t"]),
            st.integers(-1, 7),
            st.sampled_from(["", "/5", " / 5", "/ 5 "]),
            st.sampled_from(["", "⭐", "★★", " ", "\n", "x"]),
        ),
        st.text(alphabet="⭐★ ", max_size=8),
    )
)
@example(text=" 4 ")
@example(text="/rate 5")
@example(text="3/5 ⭐")
@example(text="⭐⭐")
def test_ratings(text: str) -> None:
    rating = parse_rating(text)
    assert rating is None or 1 <= rating <= 5
    digits = re.fullmatch(r"\s*(?:/rate\s*)?([1-5])\s*(?:/\s*5)?\s*(?:⭐|★)*\s*", text)
    if digits:
        assert rating == int(digits.group(1))
    stars = text.strip()
    if stars and set(stars) <= {"⭐", "★"} and len(stars) <= 5:
        assert rating == len(stars)


@fuzz_settings(150)
@given(text=hostile_text)
@example(text="#LostBag #lostbag #123 C#x a#b #Maleta_Perdida &#35;")
def test_hashtags_and_keywords(text: str) -> None:
    tags = hashtags(text)
    assert len(set(tags)) == len(tags)
    for tag in tags:
        assert tag.startswith("#") and len(tag) > 1
        assert any(c.isalpha() for c in tag[1:]), tag
    trend_tags = trend_hashtags(text)
    assert len(set(trend_tags)) == len(trend_tags)
    assert all(t.startswith("#") and len(t) > 1 for t in trend_tags)
    words = keywords(text)
    assert len(words) <= 8 and len(set(words)) == len(words)
    for word in words:
        assert re.fullmatch(r"[a-z]{4,}", word), word
        assert word not in STOPWORDS


@fuzz_settings(150)
@given(text=st.one_of(hostile_text, st.text(alphabet=any_char, max_size=60)))
@example(text="Compensación ÁRBOL Ñandú İstanbul ǅ ﬁ ㎁")
def test_fold_and_tokens(text: str) -> None:
    folded = fold(text)
    assert not any(unicodedata.combining(c) for c in folded)
    if text.isascii():
        assert folded == text.lower()
    words = tokens(text)
    for word in words:
        assert re.fullmatch(r"[a-z0-9]+", word) and (len(word) > 1 or word.isdigit())
    assert tokens(" ".join(words)) == words


# --- calendars ----------------------------------------------------------------------------------

day_keys = st.one_of(
    st.sampled_from(
        ["mon", "tue", "sun", "Monday", " fri ", "mon-fri", "fri-mon", "sat-sun", "daily", "DAILY"]
    ),
    st.sampled_from(["mon-", "-fri", "mon-tue-wed", "funday", "", "lunes", "mon–fri"]),
    st.integers(-1, 8),
    st.none(),
    st.booleans(),
    st.text(max_size=8),
)
interval_texts = st.one_of(
    st.sampled_from(
        [
            "09:00-18:00",
            "00:00-24:00",
            "22:00-06:00",
            "09:00-09:00",
            "24:00-01:00",
            "9:00-18:00",
            "25:00-26:00",
            "09:60-10:00",
            " 08:00 - 12:30 ",
            "08:00-12:30\n",
            "٠٩:٠٠-١٨:٠٠",
            "9-18",
        ]
    ),
    st.builds(
        lambda a, b, c, d: f"{a:02d}:{b:02d}-{c:02d}:{d:02d}",
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 25),
        st.integers(0, 61),
    ),
    st.text(max_size=12),
)
interval_values = st.one_of(
    interval_texts,
    st.lists(st.one_of(interval_texts, json_values), max_size=4),
    st.none(),
    json_values,
)
holiday_values = st.one_of(
    st.lists(
        st.one_of(
            st.dates().map(str),
            st.dates(),
            st.datetimes(),
            st.sampled_from(["2026-02-30", "2026-13-01", "26-12-25", "2026-12-25T00:00"]),
            json_values,
        ),
        max_size=4,
    ),
    json_values,
)
calendar_specs = st.one_of(
    st.fixed_dictionaries(
        {
            "timezone": st.one_of(zone_names, json_values),
            "hours": st.one_of(st.dictionaries(day_keys, interval_values, max_size=5), json_values),
        },
        optional={"holidays": holiday_values, "holiday": json_values},
    ),
    json_values,
    st.lists(st.tuples(st.text(max_size=5), json_values)),
)
MOMENT = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # Europe's spring-forward night


@fuzz_settings(200)
@given(spec=calendar_specs, offset=st.integers(-(10**6), 10**6), minutes=st.integers(0, 20_000))
@example(spec={"timezone": "America", "hours": {"mon": "09:00-18:00"}}, offset=0, minutes=0)
@example(spec={"timezone": "UTC", "hours": {"mon": ["09:00-18:00", 9]}}, offset=0, minutes=0)
def test_calendar_specs_build_or_raise_calendar_error(spec: Any, offset: int, minutes: int) -> None:
    try:
        calendar = BusinessCalendar.from_spec(spec)
    except CalendarError:
        return
    at = MOMENT + dt.timedelta(minutes=offset)
    calendar.is_open(at)
    try:
        opens = calendar.next_open(at)
        done = calendar.add(at, dt.timedelta(minutes=minutes))
    except CalendarError:  # never open: documented
        assert not any(calendar.weekly)
        return
    assert opens >= at and done >= opens
    assert calendar.between(at, done) == dt.timedelta(minutes=minutes)
    list(calendar.intervals(at, at + dt.timedelta(days=8)))


# --- the routing file ---------------------------------------------------------------------------

ROUTING = """\
default_department: care
calendars:
  office:
    timezone: Europe/Madrid
    hours:
      mon-fri: "08:00-20:00"
      sat: ["09:00-14:00"]
    holidays: [2026-12-25, "2027-01-01"]
  always:
    timezone: UTC
    hours: {daily: "00:00-24:00"}
departments:
  baggage:
    name: Baggage
    slack_channel: "#care-baggage"
    user_group: S0BAGGAGE
    calendar: office
    match:
      departments: [baggage]
      intents: [complaint]
      keywords: [maleta*, "hand luggage", bag]
      hashtags: ["#lostbag", lostluggage]
  care:
    name: Customer care
    slack_channel: C0123ABCD
    calendar: always
topics:
  bot: [baggage]
  human: [abogado*, "data protection"]
priority:
  vip: ["@laura_travels", "telegram:12345"]
  urgent_keywords: {es: [urgente], en: [urgent, "right now"]}
  influencer_followers: 10000
sla:
  first_response: {urgent: 15, high: 30, normal: 120, low: 480}
  resolution: {urgent: 240, high: 480, normal: 1440, low: 2880}
  channel_factor: {social: 0.5}
  warn_before: 0.2
follow_up:
  after_business_hours: 24
"""
ROUTING_DATA = yaml.safe_load(ROUTING)
yaml_scalars = st.one_of(
    st.sampled_from(
        [
            "",
            "~",
            "null",
            "[]",
            "{}",
            "0",
            "-1",
            "1e309",
            ".nan",
            "yes",
            "2027-02-30",
            "'#x'",
            "*a",
            "&a x",
            "!!python/object:os.system x",
            "[[[[",
            '"\\ud800"',
            "'",
            "\t",
        ]
    ),
    encodable_text,
)


@st.composite
def routing_texts(draw: st.DrawFn) -> str:
    """The sample file with a line deleted, repeated, re-indented, or a value replaced."""
    lines = ROUTING.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        operation = draw(st.integers(0, 5))
        if operation == 0:
            del lines[index]
        elif operation == 1:
            lines.insert(index, line)
        elif operation == 2:
            lines[index] = " " * draw(st.integers(0, 6)) + line.lstrip()
        elif operation == 3 and ":" in line:
            key = line.split(":", 1)[0]
            lines[index] = f"{key}: {draw(yaml_scalars)}"
        else:
            lines[index] = draw(yaml_scalars)
        if not lines:
            break
    return "\n".join(lines) + "\n"


routing_documents = st.one_of(
    routing_texts(),
    mutated(st.just(ROUTING_DATA)).map(lambda data: yaml.safe_dump(data, allow_unicode=False)),
    st.text(max_size=200),
    st.integers(1, 1500).map(lambda depth: "a: " + "[" * depth + "]" * depth),
)


@fuzz_settings(100)
@given(text=routing_documents)
@example(text="default_department: care\x1f\n")
@example(text="a: " + "[" * 1300 + "]" * 1300)
@example(text=ROUTING)
@example(text="a: !!python/object/apply:os.system ['true']\n")
@example(text="calendars: {x: {timezone: America, hours: {mon: '09:00-18:00'}}}\n")
def test_routing_files_load_or_raise_routing_error(text: str) -> None:
    try:
        routing = parse_routing(text, "fuzz.yml")
    except RoutingError as error:
        assert str(error)
        return
    assert routing.departments


def test_the_sample_routing_file_is_valid() -> None:
    """The base of the mutations parses: otherwise every mutation is only an error path."""
    routing = parse_routing(ROUTING)
    assert set(routing.departments) == {"baggage", "care"}


@pytest.mark.parametrize("text", ["", "\ufeff", "#", "- a"])
def test_degenerate_routing_files(text: str) -> None:
    with pytest.raises(RoutingError):
        parse_routing(text)
