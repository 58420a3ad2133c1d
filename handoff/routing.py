"""The routing file: departments, business calendars, human-only topics, priority signals, SLAs.

The operator edits one YAML file (``config/routing.yml``), and Relevo reads it once at start.
A mistake there would otherwise surface hours later as a handoff posted to the wrong channel or
an SLA that never fires, so :func:`load_routing` refuses the file up front with errors that name
the file, the line and the column of the offending value, all of them at once::

    config/routing.yml line 57, column 15: departments.baggage.calendar: unknown calendar
    'madird' (known: madrid-office, around-the-clock)

How the lines are found: the text is *composed* into a YAML node tree (each node keeps its
start mark), then constructed into plain data that pydantic validates with unknown keys
forbidden. Every error has a location (a pydantic ``loc`` or one built by the cross-field
checks); :func:`_locate` walks that location down the node tree to the node it names. Checks
that pydantic cannot do are run on the validated data: calendar references, the calendars
themselves (``BusinessCalendar.from_spec``, its message re-anchored on the field it names),
SLA tables covering every priority, VIP spelling, and keys written twice (YAML keeps only the
last one silently, so duplicates are found in the node tree).

The loaded :class:`Routing` answers the questions the handoff desk asks: which department takes
a conversation (:meth:`Routing.route`), whether a topic must skip the bot
(:meth:`Routing.always_human`), whether a customer is a VIP or wrote urgent words, and how many
minutes of business time the SLA targets allow on a channel.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import logging
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from handoff.calendar import BusinessCalendar, CalendarError
from handoff.requests import Priority
from kb_index.text import fold
from relevo.errors import ConfigurationError

log = logging.getLogger(__name__)

__all__ = [
    "CHANNELS",
    "Department",
    "RouteDecision",
    "Routing",
    "RoutingError",
    "RoutingIssue",
    "Signals",
    "default_routing_path",
    "hashtags",
    "load_routing",
    "parse_routing",
]

CHANNELS = ("social", "telegram", "webchat", "cli")
"""Channel names the SLA factors and VIP ids may use."""

Loc = tuple[str | int, ...]

# --- the file's schema -------------------------------------------------------------------------

Text = Annotated[str, Field(min_length=1)]
Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
Minutes = Annotated[float, Field(gt=0)]

_SLACK_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_USER_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


class _Model(BaseModel):
    """Strict shape: unknown keys are errors, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CalendarSpec(_Model):
    """A calendar as written; ``BusinessCalendar.from_spec`` checks the times and dates."""

    timezone: str
    hours: dict[Any, Any]
    holidays: list[Any] = []


class MatchSpec(_Model):
    """The signals that route a conversation to a department."""

    departments: list[Text] = []
    intents: list[Text] = []
    keywords: list[Text] = []
    hashtags: list[Text] = []

    @field_validator("departments", "intents", "keywords", "hashtags", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """`keywords:` with nothing after it reads as null; treat it as an empty list."""
        return [] if value is None else value


class DepartmentSpec(_Model):
    """One team of the desk."""

    name: Text
    slack_channel: str
    user_group: str | None = None
    calendar: Text
    match: MatchSpec = MatchSpec()

    @field_validator("slack_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        """The desk posts cards here: a bad name would only fail at the first post, not at start."""
        if not value:
            raise PydanticCustomError(
                "slack_channel", "empty; write a channel name ('#care-desk') or id ('C0123ABCD')"
            )
        if re.search(r"\s", value) or not (value.startswith("#") or _SLACK_ID.match(value)):
            raise PydanticCustomError(
                "slack_channel",
                f"{value!r} is neither a channel name ('#care-desk') nor an id ('C0123ABCD')",
            )
        return value

    @field_validator("user_group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        """Slack mentions a group by id (<!subteam^S…>); its @handle would print as plain text."""
        if value is None or _USER_GROUP_ID.match(value):
            return value
        raise PydanticCustomError(
            "user_group",
            f"{value!r} is not a Slack user group id (an id such as 'S0123ABCD', not an @handle)",
        )


class TopicsSpec(_Model):
    """What the bot answers itself (informational) and what always goes to a person."""

    bot: list[Text] = []
    human: list[Text] = []

    @field_validator("bot", "human", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """An empty YAML value reads as null; treat it as an empty list."""
        return [] if value is None else value


class PrioritySpec(_Model):
    """Who and which words raise the priority."""

    vip: list[Text] = []
    urgent_keywords: dict[Language, list[Text]] = {}
    influencer_followers: Annotated[StrictInt, Field(ge=1)]


class SlaSpec(_Model):
    """Targets in minutes of business time, per priority."""

    first_response: dict[Priority, Minutes]
    resolution: dict[Priority, Minutes]
    channel_factor: dict[str, Annotated[float, Field(gt=0)]] = {}
    warn_before: Annotated[float, Field(gt=0, lt=1)] = 0.2


class FollowUpSpec(_Model):
    """When the customer is asked whether the problem was solved."""

    after_business_hours: Annotated[float, Field(ge=0)] = 24


class RoutingSpec(_Model):
    """The whole file."""

    default_department: Key
    calendars: Annotated[dict[Key, CalendarSpec], Field(min_length=1)]
    departments: Annotated[dict[Key, DepartmentSpec], Field(min_length=1)]
    topics: TopicsSpec = TopicsSpec()
    priority: PrioritySpec
    sla: SlaSpec
    follow_up: FollowUpSpec = FollowUpSpec()


# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingIssue:
    """One problem of the file, where it is (1-based line and column) and what is wrong."""

    line: int
    column: int
    where: str
    message: str

    def describe(self, source: str) -> str:
        """One line for the operator: ``file line L, column C: where: message``."""
        where = f"{self.where}: " if self.where else ""
        return f"{source} line {self.line}, column {self.column}: {where}{self.message}"


class RoutingError(ConfigurationError, ValueError):
    """The routing file is invalid; the message has one line per problem, each naming its line.

    Attributes:
        source: The file as shown in the message.
        issues: The problems, in file order.
    """

    def __init__(self, source: str, issues: Sequence[RoutingIssue]) -> None:
        self.source = source
        self.issues = tuple(sorted(issues, key=lambda issue: (issue.line, issue.column)))
        super().__init__("\n".join(issue.describe(source) for issue in self.issues))


# --- the loaded routing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Signals:
    """What a conversation offers for routing.

    Attributes:
        text: The customer's messages, joined.
        language: ``es`` or ``en``. Not used for scoring (keyword lists are bilingual and
            customers mix languages); kept so that reasons and future rules can use it.
        intent: The NLU intent of the last message, if known.
        kb_departments: ``department`` of the top knowledge-base hits, best first.
        hashtags: Hashtags of the post, if the channel gives them apart from the text; the
            hashtags written in ``text`` count as well (see :func:`hashtags`).
    """

    text: str
    language: str
    intent: str | None = None
    kb_departments: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Phrases:
    """Keywords or phrases matched on folded text, whole words only, in file order."""

    written: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...] = field(repr=False)

    @classmethod
    def of(cls, phrases: Iterable[str]) -> _Phrases:
        written = tuple(dict.fromkeys(phrases))
        return cls(written, tuple(_phrase_pattern(phrase) for phrase in written))

    def find(self, folded: str) -> list[str]:
        """What matched in already-folded text, phrase by phrase in file order, without repeats.

        The words found are returned (single-spaced), not the phrase as written, so that
        ``maleta*`` reports "maletas" and an agent reads what the customer wrote.
        """
        found = (pattern.search(folded) for pattern in self.patterns)
        return list(dict.fromkeys(" ".join(match.group().split()) for match in found if match))


@dataclass(frozen=True)
class Department:
    """A team of the desk, with its calendar and what routes conversations to it.

    Attributes:
        key: The key in the routing file; what handoff records store.
        name: Shown on the desk's cards.
        slack_channel: Channel name or id where the desk posts the department's cards.
        user_group: Slack user group id mentioned on SLA breaches, or None.
        calendar: The department's business hours.
        calendar_key: The calendar's key in the routing file.
    """

    key: str
    name: str
    slack_channel: str
    user_group: str | None
    calendar: BusinessCalendar
    calendar_key: str
    kb_departments: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    keywords: _Phrases = field(default_factory=lambda: _Phrases.of(()))
    hashtags: tuple[str, ...] = ()

    def matches(self, signals: Signals, folded: str, tags: Iterable[str]) -> list[str]:
        """One reason per signal that points here; the count is the department's score."""
        reasons = []
        kb = {fold(name) for name in signals.kb_departments}
        reasons += [f"knowledge base: {name}" for name in self.kb_departments if name in kb]
        if signals.intent and fold(signals.intent) in self.intents:
            reasons.append(f"intent: {signals.intent}")
        reasons += [f"keyword: {word}" for word in self.keywords.find(folded)]
        found = set(tags)
        reasons += [f"hashtag: {tag}" for tag in self.hashtags if tag in found]
        return reasons


@dataclass(frozen=True)
class RouteDecision:
    """The chosen department, its score and why (one reason per matched signal)."""

    department: Department
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Routing:
    """The validated routing file, ready to answer the desk's questions.

    Attributes:
        source: The file it was read from.
        default_key: Key of the department that takes what nothing else matches.
        departments: By key, in file order (the order breaks ties).
        calendars: The parsed calendars by key.
        bot_topics: What the bot answers by itself (informational only).
        human_topics: Phrases that always go to a person, as written.
        vip: Normalised VIP names: ``@handle`` lower case, or ``channel:id``.
        urgent: Urgent keywords by language, as written.
        influencer_followers: Followers from which a social author's reach adds priority.
        first_response: Minutes of business time per priority, before the channel factor.
        resolution: Minutes of business time per priority, before the channel factor.
        channel_factor: Multiplier of both targets per channel (1 when not listed).
        warn_before: Fraction of a target left when the desk is warned (0 < x < 1).
        follow_up_hours: Business hours after resolution for the follow-up; 0 means none.
    """

    source: str
    default_key: str
    departments: Mapping[str, Department]
    calendars: Mapping[str, BusinessCalendar]
    bot_topics: tuple[str, ...]
    human_topics: tuple[str, ...]
    vip: frozenset[str]
    urgent: Mapping[str, tuple[str, ...]]
    influencer_followers: int
    first_response: Mapping[Priority, float]
    resolution: Mapping[Priority, float]
    channel_factor: Mapping[str, float]
    warn_before: float
    follow_up_hours: float
    _human: _Phrases = field(repr=False, compare=False, default_factory=lambda: _Phrases.of(()))
    _urgent: _Phrases = field(repr=False, compare=False, default_factory=lambda: _Phrases.of(()))

    @property
    def default(self) -> Department:
        """The department that takes what no other matches."""
        return self.departments[self.default_key]

    def department(self, key: str | None) -> Department:
        """A department by key; the default one for an empty or unknown key.

        Handoff records store the key; records made before departments existed, or after a
        department was renamed in the file, still need a calendar and a channel.
        """
        return self.departments.get(key or "", self.default)

    def route(self, signals: Signals) -> RouteDecision:
        """Choose the department of a conversation, and say why.

        Each department scores one point per distinct signal that matches it: a knowledge-base
        department among the top hits (once, however many hits share it), the intent, each
        keyword or phrase found in the folded text, each hashtag (from ``signals.hashtags`` and
        from the text). The highest score wins; a tie goes to the department written first in
        the file, so the operator controls it by ordering the file. With no point anywhere the
        default department takes it.
        """
        folded = fold(signals.text)
        tags = {_hashtag(tag) for tag in signals.hashtags} | set(hashtags(signals.text))
        best: tuple[Department, list[str]] | None = None
        tied: list[Department] = []
        for department in self.departments.values():
            reasons = department.matches(signals, folded, tags)
            if not reasons:
                continue
            if best is None or len(reasons) > len(best[1]):
                best, tied = (department, reasons), []
            elif len(reasons) == len(best[1]):
                tied.append(department)
        if best is None:
            return RouteDecision(
                self.default, 0, ("no routing signal matched: default department",)
            )
        department, reasons = best
        if tied:
            others = ", ".join(other.key for other in tied)
            reasons = [*reasons, f"tie with {others}: first in the routing file"]
        return RouteDecision(department, len(best[1]), tuple(reasons))

    def always_human(self, text: str) -> str | None:
        """The first human-only topic found in the text (file order), else None.

        Matching is on folded text and whole words, so "abogado" matches "ABOGADO" but "bag"
        would not match "baggage". The words found are returned, folded: "abogados" for the
        topic ``abogado*``, "emergencia medica" for "Emergencia  Médica".
        """
        found = self._human.find(fold(text))
        return found[0] if found else None

    def is_vip(self, handle_or_id: str, channel: str | None = None) -> bool:
        """Whether a customer is on the VIP list.

        Args:
            handle_or_id: ``@handle`` (case ignored), or ``channel:id``; with ``channel`` a bare
                id or handle is also tried as ``channel:id``.
            channel: The customer's channel, if ``handle_or_id`` is a bare id.
        """
        name = _vip_name(handle_or_id)
        if name in self.vip:
            return True
        if channel and not name.startswith("@") and ":" not in name:
            return f"{channel.strip().lower()}:{name}" in self.vip
        return False

    def urgent_keywords(self, text: str) -> list[str]:
        """The urgent keywords found (folded, file order), every language checked.

        Customers mix languages, and a Spanish "urgente" in an English conversation is still
        urgent, so the message's language does not narrow the lists.
        """
        return self._urgent.find(fold(text))

    def sla_minutes(self, priority: Priority | str, channel: str) -> tuple[float, float]:
        """First-response and resolution targets in minutes of business time on a channel."""
        level = Priority(priority)
        factor = self.channel_factor.get(str(channel).lower(), 1.0)
        return self.first_response[level] * factor, self.resolution[level] * factor


def hashtags(text: str) -> tuple[str, ...]:
    """The hashtags of a text, folded and with their ``#``, in order, without repeats.

    A hashtag needs a letter ("#123" is a number, not a tag) and starts after a non-word
    character, so "C#" or an URL fragment inside a word do not count.
    """
    found = _HASHTAG.findall(fold(text))
    return tuple(dict.fromkeys(f"#{tag}" for tag in found))


_HASHTAG = re.compile(r"(?<![\w#&])#(\w*[^\W\d_]\w*)")


def _hashtag(tag: str) -> str:
    """A hashtag as the file or a channel writes it, in the folded ``#tag`` form."""
    return "#" + fold(tag.strip()).lstrip("#")


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole words of a folded phrase, any spacing between them; a final ``*`` is any ending."""
    folded = fold(phrase).strip()
    wildcard = folded.endswith("*")
    words = folded.rstrip("*").split()
    body = r"\s+".join(re.escape(word) for word in words)
    ending = r"\w*" if wildcard else ""
    return re.compile(rf"(?<!\w){body}{ending}(?!\w)")


def _vip_name(name: str) -> str:
    """``@Laura_Travels`` and ``laura_travels `` both compare as written in lower case."""
    return name.strip().lower()


def default_routing_path() -> Path:
    """The repository's ``config/routing.yml``, found from this package, not the working dir."""
    return Path(__file__).resolve().parents[1] / "config" / "routing.yml"


# --- loading -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _read(path: Path, mtime: float) -> Routing | RoutingError:
    """One version of the file, or why it cannot be used (kept: a broken version is read once)."""
    try:
        return load_routing(path)
    except RoutingError as exc:
        log.error("routing file refused", extra={"path": str(path), "problems": str(exc)})
        return exc


def _version(path: Path) -> Routing | RoutingError:
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        return RoutingError(
            str(path), [RoutingIssue(0, 0, "", f"cannot read the routing file: {exc}")]
        )
    return _read(path, mtime)


def configured_routing(path: Path | None) -> Routing:
    """The routing file the settings name (the shipped one when None), read once per change.

    Raises RoutingError, naming each problem's line, when the file cannot be used.
    """
    found = _version(path or default_routing_path())
    if isinstance(found, RoutingError):
        raise found.with_traceback(None)
    return found


_last_good: dict[Path, Routing] = {}


def live_routing(path: Path | None) -> Routing:
    """Like `configured_routing`, for a running service: a broken edit keeps the last good file.

    An editor saving half a file, or a typo, would otherwise stop every answer and every handoff
    until it is mended. The refusal is logged once per version; `relevo doctor` and the start-up
    checks still refuse a broken file outright.
    """
    chosen = path or default_routing_path()
    found = _version(chosen)
    if isinstance(found, Routing):
        _last_good[chosen] = found
        return found
    if chosen not in _last_good:
        raise found.with_traceback(None)
    return _last_good[chosen]


def load_routing(path: Path) -> Routing:
    """Read and validate the routing file.

    Args:
        path: The YAML file; shown in errors as given (relative paths stay relative).

    Returns:
        The routing.

    Raises:
        RoutingError: With one line per problem, each naming the file, line and column.
        OSError: If the file cannot be read.
    """
    return parse_routing(Path(path).read_text(encoding="utf-8"), str(path))


def parse_routing(text: str, source: str = "<routing>") -> Routing:
    """Validate routing YAML given as text (what :func:`load_routing` does after reading).

    Args:
        text: The YAML.
        source: How errors name the file.

    Raises:
        RoutingError: As for :func:`load_routing`.
    """
    root, data = _compose(text, source)
    issues = list(_duplicate_keys(root))
    try:
        spec = RoutingSpec.model_validate(data)
    except ValidationError as error:
        errors = _without_misspelt_missing(error.errors(include_url=False))
        issues += [_pydantic_issue(root, e) for e in errors]
        raise RoutingError(source, issues) from None
    calendars, calendar_issues = _calendars(spec)
    issues += [_issue(root, loc, message) for loc, message in calendar_issues]
    issues += [_issue(root, loc, message) for loc, message in _cross_checks(spec)]
    if issues:
        raise RoutingError(source, issues)
    return _build(spec, calendars, source)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as written.

    PyYAML turns ``2027-02-30`` into a bare ValueError with no line; kept as a string, the date
    reaches ``BusinessCalendar.from_spec``, whose error names the field, and so gets a line.
    """


def _date_as_written(loader: _Loader, node: yaml.Node) -> Any:
    """The scalar's text: the timestamp resolver only ever tags scalars."""
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _date_as_written)


def _compose(text: str, source: str) -> tuple[yaml.Node, Any]:
    """The node tree (for lines) and the data it constructs (for pydantic), from one parse."""
    try:
        loader = _Loader(text)
    except yaml.YAMLError as error:  # a character YAML does not allow
        raise RoutingError(source, [RoutingIssue(1, 1, "", f"YAML error: {error}")]) from None
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        raise RoutingError(source, [_yaml_issue(error)]) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise RoutingError(source, [RoutingIssue(1, 1, "", f"YAML error: {reason}")]) from None
    finally:
        loader.dispose()
    if root is None:
        raise RoutingError(source, [RoutingIssue(1, 1, "", "the file is empty")])
    return root, data


def _yaml_issue(error: yaml.MarkedYAMLError) -> RoutingIssue:
    """A syntax error at the problem's mark, with the context (e.g. the unclosed bracket)."""
    mark = error.problem_mark or error.context_mark
    message = f"YAML syntax error: {error.problem or error.context}"
    if error.context and error.context_mark and error.problem:
        message += f" ({error.context} on line {error.context_mark.line + 1})"
    if mark is None:
        return RoutingIssue(1, 1, "", message)
    return RoutingIssue(mark.line + 1, mark.column + 1, "", message)


def _calendars(spec: RoutingSpec) -> tuple[dict[str, BusinessCalendar], list[tuple[Loc, str]]]:
    """Parse each calendar; a CalendarError's field path is kept so the line can be found."""
    calendars: dict[str, BusinessCalendar] = {}
    issues: list[tuple[Loc, str]] = []
    for key, calendar in spec.calendars.items():
        try:
            calendars[key] = BusinessCalendar.from_spec(calendar.model_dump())
        except CalendarError as error:
            field_loc, message = _split_calendar_error(str(error))
            issues.append((("calendars", key, *field_loc), message))
    return calendars, issues


_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w-]*(?:\[\d+\])?(?:\.[^\s.:\[]+(?:\[\d+\])?)*): (.*)$")


def _split_calendar_error(message: str) -> tuple[Loc, str]:
    """``"hours.mon-fri: '9-18' is not HH:MM-HH:MM"`` -> (("hours", "mon-fri"), the rest)."""
    match = _FIELD_PREFIX.match(message)
    if match is None:
        return (), message
    loc: list[str | int] = []
    for part in match.group(1).split("."):
        name, _, index = part.partition("[")
        loc.append(name)
        if index:
            loc.append(int(index.rstrip("]")))
    return tuple(loc), match.group(2)


def _cross_checks(spec: RoutingSpec) -> Iterator[tuple[Loc, str]]:
    """What the schema cannot say: references between sections and consistent SLA tables."""
    departments = list(spec.departments)
    if spec.default_department not in spec.departments:
        yield (
            ("default_department",),
            f"unknown department {spec.default_department!r} (known: {', '.join(departments)})",
        )
    known = ", ".join(spec.calendars)
    for key, department in spec.departments.items():
        if department.calendar not in spec.calendars:
            yield (
                ("departments", key, "calendar"),
                f"unknown calendar {department.calendar!r} (known: {known})",
            )
        yield from _phrase_checks(("departments", key, "match", "keywords"), department.match)
    yield from _sla_checks(spec.sla)
    yield from _vip_checks(spec.priority.vip)
    for index, phrase in enumerate(spec.topics.human):
        yield from _phrase_check(("topics", "human", index), phrase)
    for language, words in spec.priority.urgent_keywords.items():
        for index, word in enumerate(words):
            yield from _phrase_check(("priority", "urgent_keywords", language, index), word)


def _phrase_checks(loc: Loc, match: MatchSpec) -> Iterator[tuple[Loc, str]]:
    for index, phrase in enumerate(match.keywords):
        yield from _phrase_check((*loc, index), phrase)
    for index, tag in enumerate(match.hashtags):
        if not re.fullmatch(r"#?\w+", fold(tag)):
            yield (*loc[:-1], "hashtags", index), f"{tag!r} is not a hashtag (#word)"


def _phrase_check(loc: Loc, phrase: str) -> Iterator[tuple[Loc, str]]:
    """A phrase must have a word to match, and ``*`` only at its end."""
    core = fold(phrase).strip()
    if "*" in core.rstrip("*") or core.endswith("**"):
        yield loc, f"{phrase!r}: '*' may only end a keyword (any ending)"
    elif not re.search(r"\w", core):
        yield loc, f"{phrase!r} has no word to match"


def _sla_checks(sla: SlaSpec) -> Iterator[tuple[Loc, str]]:
    """Every priority has targets; urgency never lengthens them; answers come before fixes."""
    order = sorted(Priority, key=lambda level: -level.rank)  # urgent first
    names = ", ".join(level.value for level in order)
    for table in ("first_response", "resolution"):
        targets: Mapping[Priority, float] = getattr(sla, table)
        for level in order:
            if level not in targets:
                yield (
                    ("sla", table),
                    f"missing priority {level.value!r} (every priority needs a target: {names})",
                )
        present = [level for level in order if level in targets]
        for higher, lower in itertools.pairwise(present):
            if targets[higher] > targets[lower]:
                yield (
                    ("sla", table, higher.value),
                    f"{targets[higher]:g} minutes is longer than {lower.value} "
                    f"({targets[lower]:g}); a higher priority must not wait longer",
                )
    for level in order:
        first, resolution = sla.first_response.get(level), sla.resolution.get(level)
        if first is not None and resolution is not None and first > resolution:
            yield (
                ("sla", "resolution", level.value),
                f"{resolution:g} minutes is shorter than the first response ({first:g})",
            )
    for channel in sla.channel_factor:
        if channel not in CHANNELS:
            yield (
                ("sla", "channel_factor", channel),
                f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})",
            )


def _vip_checks(vip: Sequence[str]) -> Iterator[tuple[Loc, str]]:
    """``@handle`` or ``channel:id``: a bare name would silently never match anyone."""
    for index, name in enumerate(vip):
        channel, colon, ident = name.partition(":")
        if name.startswith("@") and len(name) > 1 and not re.search(r"\s", name):
            continue
        if colon and channel in CHANNELS and ident.strip():
            continue
        yield (
            ("priority", "vip", index),
            f"{name!r} is neither '@handle' nor 'channel:id' (channels: {', '.join(CHANNELS)})",
        )


def _build(spec: RoutingSpec, calendars: Mapping[str, BusinessCalendar], source: str) -> Routing:
    """The runtime object: folded match lists, compiled phrases, read-only mappings."""
    departments = {
        key: Department(
            key=key,
            name=department.name,
            slack_channel=department.slack_channel,
            user_group=department.user_group,
            calendar=calendars[department.calendar],
            calendar_key=department.calendar,
            kb_departments=tuple(fold(name) for name in department.match.departments),
            intents=tuple(fold(name) for name in department.match.intents),
            keywords=_Phrases.of(department.match.keywords),
            hashtags=tuple(_hashtag(tag) for tag in department.match.hashtags),
        )
        for key, department in spec.departments.items()
    }
    urgent = {lang: tuple(words) for lang, words in spec.priority.urgent_keywords.items()}
    factors = {channel: float(f) for channel, f in spec.sla.channel_factor.items()}
    return Routing(
        source=source,
        default_key=spec.default_department,
        departments=types.MappingProxyType(departments),
        calendars=types.MappingProxyType(dict(calendars)),
        bot_topics=tuple(spec.topics.bot),
        human_topics=tuple(spec.topics.human),
        vip=frozenset(_vip_name(name) for name in spec.priority.vip),
        urgent=types.MappingProxyType(urgent),
        influencer_followers=spec.priority.influencer_followers,
        first_response=types.MappingProxyType(dict(spec.sla.first_response)),
        resolution=types.MappingProxyType(dict(spec.sla.resolution)),
        channel_factor=types.MappingProxyType(factors),
        warn_before=spec.sla.warn_before,
        follow_up_hours=spec.follow_up.after_business_hours,
        _human=_Phrases.of(spec.topics.human),
        _urgent=_Phrases.of(word for words in urgent.values() for word in words),
    )


# --- from an error location to a line ---------------------------------------------------------


def _locate(root: yaml.Node, loc: Loc) -> tuple[yaml.Node | None, yaml.Node, int]:
    """Walk ``loc`` down the node tree as far as it goes.

    Returns:
        The key node of the last mapping step (None at the root or after a list index), the
        node reached, and how many parts of ``loc`` were resolved.
    """
    key_node: yaml.Node | None = None
    node = root
    for depth, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            found = None
            for key, value in node.value:  # the last duplicate wins, as in the loaded data
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    found = key, value
            if found is None:
                return key_node, node, depth
            key_node, node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return key_node, node, depth
            key_node, node = None, node.value[part]
        else:
            return key_node, node, depth
    return key_node, node, len(loc)


def _mark(root: yaml.Node, loc: Loc, *, at_key: bool = False) -> yaml.Mark:
    """Where to point: a scalar value itself, otherwise the key that introduces the section.

    A key is the better anchor for a section (a block mapping starts on the next line), for an
    unknown key, and for what is missing inside a section.
    """
    key_node, node, depth = _locate(root, loc)
    complete = depth == len(loc)
    if key_node is not None and (at_key or not complete or not isinstance(node, yaml.ScalarNode)):
        return key_node.start_mark
    return node.start_mark


def _where(loc: Loc) -> str:
    """A location as the operator reads it: ``departments.baggage.match.keywords[2]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not re.fullmatch(r"[\w-]*\[.*\]", part):  # pydantic's "[key]", "list[str]" tags
            text += f".{part}" if text else part
    return text


def _issue(root: yaml.Node, loc: Loc, message: str, *, at_key: bool = False) -> RoutingIssue:
    mark = _mark(root, loc, at_key=at_key)
    return RoutingIssue(mark.line + 1, mark.column + 1, _where(loc), message)


def _pydantic_issue(root: yaml.Node, error: Mapping[str, Any]) -> RoutingIssue:
    """A pydantic error in the operator's words, at the line of what it is about."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return _issue(root, loc, _unknown_key(loc), at_key=True)
    if kind == "missing":
        _, _, depth = _locate(root, loc)
        message = "needs a value" if depth == len(loc) else "missing (required)"
        return _issue(root, loc, message)
    value = error.get("input")
    if kind == "model_type":
        keys = ", ".join(_allowed_keys(loc))
        return _issue(root, loc, f"expected a mapping with keys {keys}, got {_kind(value)}")
    message = str(error["msg"])
    message = message[:1].lower() + message[1:]
    scalar = isinstance(value, str | int | float | bool) or value is None
    if scalar and repr(value) not in message:
        message += f", got {value!r}"
    return _issue(root, loc, message)


def _kind(value: Any) -> str:
    """What YAML made of a value, in YAML's words."""
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{value!r}"


def _without_misspelt_missing(errors: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Drop "missing 'slack_channel'" when the same mapping has the typo 'slack_chanel'.

    One mistake, one line: the unknown-key error already suggests the right name.
    """
    errors = list(errors)
    suggested = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            loc = tuple(error["loc"])
            for name in difflib.get_close_matches(str(loc[-1]), _allowed_keys(loc[:-1]), n=1):
                suggested.add((*loc[:-1], name))
    return [
        error
        for error in errors
        if not (error["type"] == "missing" and tuple(error["loc"]) in suggested)
    ]


def _unknown_key(loc: Loc) -> str:
    """Name the key, suggest the closest allowed one: typos are the usual cause."""
    allowed = _allowed_keys(loc[:-1])
    key = str(loc[-1])
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    if allowed:
        message += f"; expected one of: {', '.join(allowed)}"
    return message


def _allowed_keys(loc: Loc) -> list[str]:
    """The field names of the model that ``loc`` leads to in the schema."""
    annotation: Any = RoutingSpec
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(part))
            if info is None:
                return []
            annotation = info.annotation
        elif typing.get_origin(annotation) in (dict, list):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional[...] to reach a model, dict or list."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation
        else:
            return annotation


def _duplicate_keys(root: yaml.Node) -> Iterator[RoutingIssue]:
    """Keys written twice in one mapping; YAML would keep the last one without a word."""
    seen: set[int] = set()

    def walk(node: yaml.Node, loc: Loc) -> Iterator[RoutingIssue]:
        if id(node) in seen:  # an alias: already checked where it was defined
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    earlier = first.setdefault((key.tag, key.value), key)
                    if earlier is not key:
                        line = earlier.start_mark.line + 1
                        mark = key.start_mark
                        yield RoutingIssue(
                            mark.line + 1,
                            mark.column + 1,
                            _where((*loc, name)),
                            f"duplicate key {name!r} (first on line {line}); YAML keeps only "
                            "the last one",
                        )
                yield from walk(value, (*loc, name))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                yield from walk(item, (*loc, index))

    return walk(root, ())
