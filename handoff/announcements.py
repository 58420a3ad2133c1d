"""Incident notices: what the operator announces, the assistant says first and the desk shows.

An operator publishes a notice ("Flight BA123 Madrid–London delayed 3 h", "Our app is down")
with the keywords that reveal a customer is asking about it. The action server answers a
matching message with the notice before anything else, and the desk shows the notices related to
a handoff on its card, so agents know about the incident before they reply.

Notices live in one Redis hash, id -> JSON, because there are only ever a handful at a time: each
reader takes them all in one `HGETALL` and filters locally, and an expired notice is removed by
whoever reads it first, so nothing has to run in the background to clean up.

Keywords are matched on folded text (lower case, no accents) as whole words or phrases, in both
languages whatever the language of the message, since customers mix them ("mi vuelo BA123
delayed?"). Words are also split where letters meet digits, so a flight number matches however
it is written: BA123, BA 123, ba-123. A keyword ending in `*` matches words that begin with it
("retras*": retraso, retrasado, retrasos).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import redis
import redis.asyncio as aioredis

from kb_index.text import fold
from relevo.keys import ANNOUNCEMENTS

log = logging.getLogger(__name__)

LANGUAGES = ("es", "en")
MAX_TEXT_CHARS = 1000
"""The languages a notice can be written in, in fallback order."""

_WORD = re.compile(r"[^\W_]+")
_PART = re.compile(r"\d+|[^\W\d_]+")


def utc_now() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _aware(now: dt.datetime | None) -> dt.datetime:
    """`now`, or the current time; naive datetimes are refused since stored times are UTC."""
    if now is None:
        return utc_now()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware, e.g. dt.datetime.now(dt.UTC)")
    return now


@dataclass(frozen=True)
class Announcement:
    """One incident notice as the operator published it.

    Attributes:
        id: Short random id, typed by the operator to withdraw it.
        texts: Language ("es", "en") -> what the assistant says; at least one.
        keywords: The words or phrases that reveal a customer asks about it, as typed.
        created_at: ISO time in UTC; the newest notice wins a tie.
        expires_at: ISO time in UTC after which it is no longer said, or None for never.
        created_by: Who published it, for the list and the logs.
    """

    id: str
    texts: dict[str, str] = field(hash=False)
    keywords: tuple[str, ...]
    created_at: str
    expires_at: str | None
    created_by: str

    def to_json(self) -> str:
        """The stored form, readable in `redis-cli` (non-ASCII kept as is)."""
        return json.dumps(
            {
                "id": self.id,
                "texts": self.texts,
                "keywords": list(self.keywords),
                "created_at": self.created_at,
                "expires_at": self.expires_at,
                "created_by": self.created_by,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Announcement:
        """Read the stored form back.

        Raises:
            ValueError: When `raw` is not an announcement (bad JSON, fields or times).
        """
        data = json.loads(raw)
        try:
            announcement = cls(
                id=str(data["id"]),
                texts={str(k): str(v) for k, v in data["texts"].items()},
                keywords=tuple(str(k) for k in data["keywords"]),
                created_at=str(data["created_at"]),
                expires_at=None if data.get("expires_at") is None else str(data["expires_at"]),
                created_by=str(data.get("created_by", "")),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an announcement: {exc!r}") from exc
        for moment in (announcement.created_at, announcement.expires_at):
            # checked here, since a bad or naive time would break the sorting and expiry later
            if moment is not None and dt.datetime.fromisoformat(moment).tzinfo is None:
                raise ValueError(f"not an announcement: time {moment!r} has no time zone")
        return announcement

    @property
    def created(self) -> dt.datetime:
        """`created_at` as a datetime."""
        return dt.datetime.fromisoformat(self.created_at)

    @property
    def expires(self) -> dt.datetime | None:
        """`expires_at` as a datetime, or None when it never expires."""
        return None if self.expires_at is None else dt.datetime.fromisoformat(self.expires_at)

    def expired(self, now: dt.datetime) -> bool:
        """Whether the notice must no longer be said at `now` (aware)."""
        expires = self.expires
        return expires is not None and expires <= now

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages it is written in, in `LANGUAGES` order."""
        known = [language for language in LANGUAGES if self.texts.get(language)]
        return (*known, *sorted(k for k in self.texts if k not in LANGUAGES and self.texts[k]))

    def text_for(self, language: str) -> str:
        """The text in `language`, or in the other language when it was not written in it.

        A notice written only in English is still better than none for a Spanish customer:
        the incident matters more than the language.
        """
        if self.texts.get(language):
            return self.texts[language]
        written = self.languages
        return self.texts[written[0]] if written else ""


# --- matching (pure) ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tokens:
    """A text cut into parts, remembering which parts begin and end a word."""

    parts: tuple[str, ...]
    starts: frozenset[int]
    ends: frozenset[int]


def _tokenise(text: str) -> _Tokens:
    """Folded words, split where letters meet digits ("BA123" -> "ba", "123")."""
    parts: list[str] = []
    starts: set[int] = set()
    ends: set[int] = set()
    for word in _WORD.findall(fold(text)):
        starts.add(len(parts))
        parts.extend(_PART.findall(word))
        ends.add(len(parts) - 1)
    return _Tokens(tuple(parts), frozenset(starts), frozenset(ends))


@dataclass(frozen=True)
class _Pattern:
    parts: tuple[str, ...]
    prefix: bool


@functools.lru_cache(maxsize=1024)
def _pattern(keyword: str) -> _Pattern:
    """How a keyword is matched; raises ValueError when there is nothing to match in it."""
    stripped = keyword.strip()
    prefix = stripped.endswith("*")
    body = stripped.rstrip("*")
    if "*" in body:
        raise ValueError(f"keyword {keyword!r}: `*` is only allowed at the end (retras*)")
    parts = _tokenise(body).parts
    if not parts:
        raise ValueError(f"keyword {keyword!r} has no letters or digits")
    return _Pattern(parts, prefix)


def normalise_keyword(keyword: str) -> str:
    """The form two keywords are the same in ("BA 123" and "ba123" -> "ba 123").

    Raises:
        ValueError: When the keyword has nothing to match (no letters or digits, a `*` inside).
    """
    pattern = _pattern(keyword)
    return " ".join(pattern.parts) + ("*" if pattern.prefix else "")


def _occurs(pattern: _Pattern, tokens: _Tokens) -> bool:
    size = len(pattern.parts)
    last = size - 1
    for start in tokens.starts:
        end = start + last
        if end >= len(tokens.parts) or end not in tokens.ends:
            continue
        window = tokens.parts[start : end + 1]
        if window[:last] != pattern.parts[:last]:
            continue
        if window[last] == pattern.parts[last] or (
            pattern.prefix and window[last].startswith(pattern.parts[last])
        ):
            return True
    return False


def _matched(announcement: Announcement, tokens: _Tokens) -> list[str]:
    found = []
    for keyword in announcement.keywords:
        try:
            pattern = _pattern(keyword)
        except ValueError:
            continue  # stored by something other than `publish`; never matches
        if _occurs(pattern, tokens):
            found.append(keyword)
    return found


def matches(announcement: Announcement, text: str) -> list[str]:
    """The keywords of `announcement` found in `text`, in the announcement's order.

    Whole words and phrases only ("app" is not found in "apple"; "BA123" not in "BA1234"),
    after folding case and accents, in any language.
    """
    return _matched(announcement, _tokenise(text))


def related(announcements: Iterable[Announcement], text: str) -> list[Announcement]:
    """The announcements `text` is about, the best first (most keywords found, then newest).

    For cards: every related notice is worth showing to the agent, not only the best one.
    """
    tokens = _tokenise(text)
    scored = []
    for announcement in announcements:
        found = _matched(announcement, tokens)
        if found:
            scored.append((len(found), announcement.created, announcement))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [announcement for _, _, announcement in scored]


# --- the store --------------------------------------------------------------------------------


def _parse_all(raw: Mapping[str | bytes, str | bytes]) -> list[Announcement]:
    found = []
    for key, value in raw.items():
        try:
            found.append(Announcement.from_json(value))
        except ValueError:
            log.warning("skipping an unreadable announcement", extra={"id": str(key)})
    return found


def _split_expired(
    announcements: list[Announcement], now: dt.datetime
) -> tuple[list[Announcement], list[str]]:
    live = [a for a in announcements if not a.expired(now)]
    gone = [a.id for a in announcements if a.expired(now)]
    live.sort(key=lambda a: a.created, reverse=True)
    return live, gone


def _clean_texts(texts: Mapping[str, str | None]) -> dict[str, str]:
    unknown = sorted(set(texts) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"unknown language(s) {', '.join(unknown)}: use {' or '.join(LANGUAGES)}")
    cleaned = {k: v.strip() for k, v in texts.items() if v is not None and v.strip()}
    if not cleaned:
        raise ValueError("an announcement needs a text in at least one language (es or en)")
    long = [k for k, v in cleaned.items() if len(v) > MAX_TEXT_CHARS]
    if long:
        raise ValueError(
            f"the {', '.join(long)} text is too long: keep a notice under {MAX_TEXT_CHARS} "
            "characters (it is said first, before any answer)"
        )
    return cleaned


def _clean_keywords(keywords: Iterable[str]) -> tuple[str, ...]:
    kept: dict[str, str] = {}
    for keyword in keywords:
        kept.setdefault(normalise_keyword(keyword), keyword.strip())
    if not kept:
        raise ValueError("an announcement needs at least one keyword, or it would never be said")
    return tuple(kept.values())


class Announcements:
    """The active notices in Redis, for the CLI and the action server (sync client)."""

    def __init__(self, client: redis.Redis, *, max_age: float = 0.0) -> None:
        """Wrap a sync client; `relevo.redis_conn.connect` gives one with decoded responses.

        With `max_age` > 0 the notices read are reused for that many seconds (the action server:
        one Redis round trip a second instead of one per customer message).
        """
        self.client = client
        self._max_age = max_age
        self._read: tuple[float, list[Announcement]] | None = None  # (monotonic time, notices)

    def publish(
        self,
        texts: Mapping[str, str | None],
        keywords: Sequence[str],
        expires_in: dt.timedelta | None,
        created_by: str,
        *,
        now: dt.datetime | None = None,
    ) -> Announcement:
        """Store a new notice; it is said from the next message on (within a second).

        Args:
            texts: Language -> text; languages without a text (None or blank) are left out.
            keywords: Words or phrases; duplicates after folding are dropped.
            expires_in: How long it is said, or None until it is withdrawn.
            created_by: Who publishes it.
            now: The publication time (tests); the current time when omitted.

        Raises:
            ValueError: No text, an unknown language, no usable keyword, or a non-positive
                `expires_in`; the message says which.
        """
        moment = _aware(now)
        cleaned_texts = _clean_texts(texts)
        cleaned_keywords = _clean_keywords(keywords)
        if expires_in is not None and expires_in <= dt.timedelta(0):
            raise ValueError("expires_in must be positive (or None to keep it until withdrawn)")
        while True:
            announcement = Announcement(
                id=secrets.token_hex(4),
                texts=cleaned_texts,
                keywords=cleaned_keywords,
                created_at=_iso(moment),
                expires_at=None if expires_in is None else _iso(moment + expires_in),
                created_by=created_by,
            )
            if self.client.hsetnx(ANNOUNCEMENTS, announcement.id, announcement.to_json()):
                self._read = None
                log.info(
                    "announcement published",
                    extra={"id": announcement.id, "keywords": list(cleaned_keywords)},
                )
                return announcement

    def withdraw(self, announcement_id: str) -> bool:
        """Stop saying a notice; False when there is no such notice (or it already expired)."""
        removed = bool(self.client.hdel(ANNOUNCEMENTS, announcement_id))
        self._read = None
        if removed:
            log.info("announcement withdrawn", extra={"id": announcement_id})
        return removed

    def active(self, now: dt.datetime | None = None) -> list[Announcement]:
        """The notices in force at `now`, newest first; expired ones are removed on the way."""
        moment = _aware(now)
        if self._read is not None and time.monotonic() - self._read[0] < self._max_age:
            return [a for a in self._read[1] if not a.expired(moment)]
        live, gone = _split_expired(_parse_all(self.client.hgetall(ANNOUNCEMENTS)), moment)
        if gone:
            self.client.hdel(ANNOUNCEMENTS, *gone)
        if self._max_age > 0:
            self._read = (time.monotonic(), live)
        return live

    def match(
        self, text: str, language: str, now: dt.datetime | None = None
    ) -> Announcement | None:
        """The notice to say before answering `text`, or None.

        The language of the message does not restrict matching (keywords of both languages are
        tried, since customers mix them); say the result with `text_for(language)`.
        """
        del language  # accepted for the caller's convenience; see above
        best = related(self.active(now), text)
        return best[0] if best else None


async def active_async(
    client: aioredis.Redis, now: dt.datetime | None = None
) -> list[Announcement]:
    """`Announcements.active` for the asyncio side (the desk): newest first, expired removed."""
    live, gone = _split_expired(_parse_all(await client.hgetall(ANNOUNCEMENTS)), _aware(now))
    if gone:
        await client.hdel(ANNOUNCEMENTS, *gone)
    return live
