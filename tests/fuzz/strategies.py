"""Hypothesis strategies for the fuzz tests: hostile text, JSON of any shape, and payloads shaped
like the ones each door expects (social events, Telegram updates, Slack events and interactions)
with random mutations, so that the parsers behind signatures and schemas are reached too.
"""

from __future__ import annotations

import json
import zoneinfo
from typing import Any
from urllib.parse import quote, quote_from_bytes

from hypothesis import strategies as st

# --- text ------------------------------------------------------------------------------------

# Words that steer the code: mentions, commands, hashtags, cues of personal data, placeholders.
FRAGMENTS = (
    "@brisaair",
    "@BrisaAir:",
    "#brisaair",
    "brisa air",
    "Brisa Air",
    "@BrisaFuzzBot",
    "/start",
    "/start abc123",
    "/agent",
    "/agent@BrisaFuzzBot",
    "/help@otherbot",
    "/rate 4",
    "4/5",
    "⭐⭐⭐",
    "★",
    "hola",
    "maleta",
    "refund",
    "#lostbag",
    "urgente",
    "DNI",
    "12345678Z",
    "X1234567L",
    "pasaporte",
    "passport #533380006",
    "localizador",
    "QWERTY",
    "AB12CD",
    "IB3456",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111 12/29",
    "+34 612 345 678",
    "612345678",
    "1-800-555-0100",
    "juan@example.com",
    "[phone]",
    "[card ••••1111]",
    "[booking code]",
    "[e-mail]",
    "https://brisa.example/x?y=1",
    "note:",
    "\u200b",
    "\u0301",
    "İ",
    "ß",
    "ﬁ",
    "㎁",
    "\ufeff",
    "\x00",
    "\r\n",
)

# Any code point, lone surrogates included (JSON can carry them as \ud800 escapes).
any_char = st.characters(codec=None, categories=None)
surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
plain_text = st.text(max_size=40)
hostile_text = st.one_of(
    plain_text,
    st.text(alphabet=any_char, max_size=40),
    st.lists(
        st.one_of(st.sampled_from(FRAGMENTS), plain_text, st.text(alphabet=surrogate, max_size=2)),
        max_size=8,
    ).map(" ".join),
)
# Text without lone surrogates: what can be UTF-8 encoded (URLs, form fields).
encodable_text = st.one_of(
    plain_text,
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), plain_text), max_size=8).map(" ".join),
)


def big_text(max_chars: int) -> st.SearchStrategy[str]:
    """A long string built by repetition (Hypothesis draws small, the app gets big)."""
    return st.builds(
        lambda piece, times: (piece * times)[:max_chars],
        st.sampled_from(["a", "é", "😡", "ab ", "@brisaair ", "4111 1111 1111 1111 "]),
        st.integers(min_value=1, max_value=max_chars),
    )


# --- JSON ------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=5)
    ),
    max_leaves=20,
)


def dumps(value: Any) -> bytes:
    """JSON as a client sends it (lone surrogates as \\ud800 escapes)."""
    return json.dumps(value, ensure_ascii=True).encode()


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """A value of `base`, sometimes with a node replaced, removed or added at random."""
    value = draw(base)
    if not draw(st.integers(0, 3)):
        return value  # a quarter of the time: as drawn
    return _mutate(draw, value, depth=0)


def _mutate(draw: st.DrawFn, value: Any, depth: int) -> Any:
    choice = draw(st.integers(0, 9))
    if choice == 0 or depth > 6:
        return draw(json_values)
    if isinstance(value, dict) and value:
        out = dict(value)
        key = draw(st.sampled_from(sorted(out)))
        if choice == 1:
            del out[key]
        elif choice == 2:
            out[draw(hostile_text)] = draw(json_values)
        else:
            out[key] = _mutate(draw, out[key], depth + 1)
        return out
    if isinstance(value, list) and value:
        out_list = list(value)
        index = draw(st.integers(0, len(out_list) - 1))
        if choice == 1:
            del out_list[index]
        else:
            out_list[index] = _mutate(draw, out_list[index], depth + 1)
        return out_list
    return draw(json_values) if choice < 5 else value


# --- HTTP pieces -------------------------------------------------------------------------------

HEADER_NAMES = (
    "content-type",
    "cookie",
    "origin",
    "accept",
    "x-relevo-console",
    "x-relevo-timestamp",
    "x-relevo-signature",
    "x-telegram-bot-api-secret-token",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "x-slack-retry-num",
    "x-slack-retry-reason",
    "x-forwarded-for",
    "accept-language",
    "content-encoding",
)
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
    "application/vnd.api+json",
    "application/",
    "/",
    ";",
    "",
)
# Header values are bytes on the wire: latin-1 text, without CR, LF or NUL.
header_bytes = st.one_of(
    st.sampled_from([b"1", b"0", b"", b" ", b"v1=", b"v0=", b"\xe9", b"caf\xe9", b"\xff" * 3]),
    st.binary(max_size=60).map(
        lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")
    ),
    encodable_text.map(
        lambda t: t.encode("utf-8").replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")
    ),
)


def path_segment(known: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """A path segment, percent-encoded: a known one, or any text or bytes."""
    return st.one_of(
        *([st.sampled_from(known)] if known else []),
        encodable_text.map(lambda s: quote(s, safe="")),
        st.binary(max_size=12).map(lambda b: quote_from_bytes(b, safe="")),
        st.sampled_from(["..", ".", "%2e%2e", "%2F", "a/b", "", "%00", "%ED%A0%80"]),
    )


def query_value(known: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """A query value, already percent-encoded (invalid UTF-8 included)."""
    return st.one_of(
        *([st.sampled_from(known).map(lambda s: quote(s, safe=""))] if known else []),
        encodable_text.map(lambda s: quote(s, safe="")),
        st.binary(max_size=12).map(lambda b: quote_from_bytes(b, safe="")),
        big_text(1200).map(lambda s: quote(s, safe="")),
        st.sampled_from(["", "%", "%zz", "%ED%A0%80", "+", "&", "="]),
    )


@st.composite
def query_string(draw: st.DrawFn, params: dict[str, tuple[str, ...]]) -> str:
    """`a=1&b=2`: known parameters with interesting values, unknown ones, repeats."""
    names = st.one_of(
        *([st.sampled_from(sorted(params))] if params else []),
        encodable_text.map(lambda s: quote(s, safe="")),
    )
    pairs = draw(st.lists(st.tuples(names, st.booleans()), max_size=5))
    parts = []
    for name, bare in pairs:
        if bare and not draw(st.integers(0, 4)):
            parts.append(name)  # `?flag` without a value
        else:
            parts.append(f"{name}={draw(query_value(params.get(name, ())))}")
    return "&".join(parts)


@st.composite
def bodies(draw: st.DrawFn, shaped: st.SearchStrategy[Any] | None = None) -> tuple[bytes, str]:
    """A body and its content type: shaped JSON, any JSON, form, bytes, or a big one."""
    kind = draw(st.integers(0, 6))
    if kind <= 1 and shaped is not None:
        body = dumps(draw(mutated(shaped)))
        return body, draw(st.sampled_from(["application/json", "application/json", "text/plain"]))
    if kind <= 2:
        return dumps(draw(json_values)), "application/json"
    if kind == 3:
        fields = draw(st.dictionaries(encodable_text, encodable_text, max_size=4))
        form = "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items())
        return form.encode(), "application/x-www-form-urlencoded"
    if kind == 4:
        return draw(st.binary(max_size=200)), draw(st.sampled_from(CONTENT_TYPES))
    if kind == 5:
        return draw(big_text(70_000)).encode(), draw(st.sampled_from(CONTENT_TYPES))
    return b"", draw(st.sampled_from(CONTENT_TYPES))


@st.composite
def headers(draw: st.DrawFn, fixed: dict[str, bytes] | None = None) -> list[tuple[bytes, bytes]]:
    """Random headers among those the app reads, then the `fixed` ones."""
    drawn = draw(st.dictionaries(st.sampled_from(HEADER_NAMES), header_bytes, max_size=4))
    out = {k.encode(): v for k, v in drawn.items()}
    for name, value in (fixed or {}).items():
        out[name.encode()] = value
    return list(out.items())


# --- shaped payloads ---------------------------------------------------------------------------

ids = st.one_of(
    st.from_regex(r"\A[\w.:@/-]{1,20}\Z"),
    st.sampled_from(["p1", "t1", "u1", "x" * 201, "", "a b", "../x"]),
    hostile_text,
)
counts = st.one_of(st.integers(-5, 10**6), st.integers(), st.floats(), st.text(max_size=5))

social_events = st.fixed_dictionaries(
    {
        "post_id": ids,
        "author": st.fixed_dictionaries(
            {
                "id": ids,
                "handle": st.one_of(
                    st.sampled_from(["@ana", "brisaair", "@BrisaAir"]), hostile_text
                ),
            },
            optional={"name": hostile_text, "followers": counts, "verified": st.booleans()},
        ),
        "text": st.one_of(hostile_text, big_text(21_000)),
    },
    optional={
        "network": st.one_of(st.sampled_from(["x", "instagram", "social"]), hostile_text),
        "type": st.one_of(st.sampled_from(["mention", "reply", "post"]), hostile_text),
        "thread_id": ids,
        "in_reply_to": st.fixed_dictionaries(
            {"post_id": ids},
            optional={
                "author_id": ids,
                "author_handle": st.one_of(st.just("brisaair"), hostile_text),
                "text": hostile_text,
            },
        ),
        "url": st.one_of(st.just("https://x.example/p/1"), hostile_text),
        "metrics": st.fixed_dictionaries(
            {}, optional={"likes": counts, "replies": counts, "reposts": counts}
        ),
    },
)

tg_ints = st.one_of(st.integers(-(10**13), 10**13), st.integers())
tg_users = st.fixed_dictionaries(
    {"id": tg_ints, "is_bot": st.booleans(), "first_name": hostile_text},
    optional={
        "username": st.one_of(st.just("BrisaFuzzBot"), hostile_text),
        "last_name": hostile_text,
        "language_code": st.one_of(
            st.sampled_from(["es", "en", "es-ES", "EN", "", "x"]), hostile_text
        ),
    },
)
tg_chats = st.fixed_dictionaries(
    {
        "id": tg_ints,
        "type": st.one_of(
            st.sampled_from(["private", "group", "supergroup", "channel"]), hostile_text
        ),
    },
    optional={"title": hostile_text, "username": hostile_text},
)
tg_keyboard = st.fixed_dictionaries(
    {
        "inline_keyboard": st.lists(
            st.lists(
                st.fixed_dictionaries(
                    {"text": hostile_text}, optional={"callback_data": hostile_text}
                ),
                max_size=3,
            ),
            max_size=3,
        )
    }
)
tg_text = st.one_of(
    st.sampled_from(["/start", "/start tok", "/agent", "/help", "/x@BrisaFuzzBot", "/x@other"]),
    hostile_text,
)
_tg_message_fields = {
    "from": tg_users,
    "text": tg_text,
    "caption": hostile_text,
    "sticker": st.fixed_dictionaries(
        {
            "file_id": st.text(max_size=5),
            "file_unique_id": st.text(max_size=5),
            "type": st.just("regular"),
            "width": st.integers(0, 512),
            "height": st.integers(0, 512),
            "is_animated": st.booleans(),
            "is_video": st.booleans(),
        }
    ),
    "photo": st.lists(
        st.fixed_dictionaries(
            {
                "file_id": st.text(max_size=5),
                "file_unique_id": st.text(max_size=5),
                "width": st.integers(0, 99),
                "height": st.integers(0, 99),
            }
        ),
        max_size=2,
    ),
    "entities": st.lists(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["bot_command", "mention", "bold"]),
                "offset": st.integers(-2, 50),
                "length": st.integers(-2, 50),
            }
        ),
        max_size=2,
    ),
    "reply_markup": tg_keyboard,
}
tg_inner_messages = st.fixed_dictionaries(
    {"message_id": tg_ints, "date": tg_ints, "chat": tg_chats},
    optional={"from": tg_users, "text": tg_text},
)
tg_messages = st.fixed_dictionaries(
    {"message_id": tg_ints, "date": tg_ints, "chat": tg_chats},
    optional={**_tg_message_fields, "reply_to_message": tg_inner_messages},
)
tg_callbacks = st.fixed_dictionaries(
    {"id": hostile_text, "from": tg_users, "chat_instance": hostile_text},
    optional={"message": tg_messages, "data": tg_text},
)
telegram_updates = st.fixed_dictionaries(
    {"update_id": tg_ints},
    optional={
        "message": tg_messages,
        "edited_message": tg_messages,
        "channel_post": tg_messages,
        "callback_query": tg_callbacks,
    },
)

# What Slack sends: UTF-8 JSON (no lone surrogates), from people of the workspace (the emulator's).
slack_users = st.sampled_from(["U1", "U2", "U3"])
slack_ts = st.one_of(
    st.sampled_from(["1732600000.000150", "1.0", "0"]), st.from_regex(r"\A\d{1,10}\.\d{6}\Z")
)
slack_text = st.one_of(encodable_text, st.sampled_from(["note: ok", "note:", "hola", ""]))


@st.composite
def slack_card_clicks(
    draw: st.DrawFn, handoffs: tuple[str, ...], card_ts: tuple[str, ...]
) -> dict[str, Any]:
    """A click on one of the desk's cards as Slack sends it: the card's elements (handoff/cards.py:
    buttons valued with the handoff id, the reassign users_select in the `handoff:<id>` block),
    in the desk channel, with the handoff, user and message drawn."""
    from tests.emulators.slack_requests import block_action

    action = draw(st.sampled_from(["claim", "return", "resolve", "history", "reveal", "reassign"]))
    handoff = draw(st.one_of(st.sampled_from(handoffs), st.from_regex(r"\A[0-9a-f]{1,32}\Z")))
    block = f"{'lookup' if action in ('history', 'reveal') else 'handoff'}:{handoff}"
    reassign = action == "reassign"
    return block_action(
        action,
        None if reassign else handoff,
        user=draw(slack_users),
        channel="C1",
        message_ts=draw(st.one_of(st.sampled_from(card_ts), slack_ts)),
        selected_user=draw(slack_users) if reassign else None,
        block_id=block,
    )


@st.composite
def slack_messages(draw: st.DrawFn, card_ts: tuple[str, ...]) -> dict[str, Any]:
    """A message as a person (or a bot) posts it in Slack: in a card's thread or not. The keyword
    arguments of `SlackEmulator.add_message`, which stores it and returns its event."""
    fields: dict[str, Any] = {}
    if draw(st.integers(0, 3)) == 0:
        fields["bot_id"] = "BBOT"
    if draw(st.integers(0, 3)) == 0:
        fields["subtype"] = draw(st.sampled_from(["bot_message", "message_changed"]))
    return {
        "channel": draw(st.sampled_from(["C1", "C2"])),
        "text": draw(slack_text),
        "user": draw(slack_users),
        "thread_ts": draw(st.one_of(st.none(), st.sampled_from(card_ts), slack_ts)),
        **fields,
    }


# --- calendars and routing -----------------------------------------------------------------------

_ZONES = sorted(zoneinfo.available_timezones())
# Real zones, and names zoneinfo trips over: directories of the database, relative paths...
zone_names = st.one_of(
    st.sampled_from(_ZONES),
    st.sampled_from(sorted({z.rsplit("/", 1)[0] for z in _ZONES if "/" in z})),
    st.sampled_from(["", ".", "..", "/", "Europe/", "/etc/passwd", "a\x00b", "UTC ", "utc"]),
    st.text(max_size=15),
)
