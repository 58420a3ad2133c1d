"""KPI arithmetic over the operations event stream: pure functions, no Redis, no clock.

`compute` turns a list of events (the string dicts of `relevo.events`) into `Kpis` for one
period; `timeseries` gives a few of the same figures per time bucket for the dashboard's charts.
Both take their clock from their arguments, so a report is reproducible and tests can script
every second of it.

Conventions shared by every figure:

- The period is half-open, `since <= at < until`. Events at or after `until` are ignored, so a
  report "as of" a moment never sees later events even if the caller passed them.
- Durations are measured for a cohort: the conversations or handoffs that *started* in the
  period, up to `until`. A handoff still unanswered or unresolved at `until` is not measured
  (its count shows beside the median), rather than measured short.
- Medians and 90th percentiles interpolate linearly between the closest ranks (numpy's default).
- Every ratio is `None` when its denominator is zero: no data is not 0 %.
- Filters (channel, language, department) keep the events that belong to the slice. An event
  without the field inherits it: the department of its handoff, else every channel, language and
  department its conversation was seen with (in `message_in`, `bot_reply` and `handoff` events,
  anywhere in the list). So a `claimed` or `rating` event is kept by `--department refunds` when
  its handoff went to refunds. Filter values are compared case-insensitively. Filters choose
  what is counted; what followed (replies, resolutions, breaches, a conversation's handoffs) is
  looked up among all events, so a conversation of the flights slice that was handed over to
  refunds is not counted as deflected.
- Trends compare the period with the previous one of the same length, `[since - (until - since),
  since)`: pass those events too (the CLI reads them). Without them every term counts as new.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from relevo.events import EventType

if TYPE_CHECKING:
    from relevo.settings import Settings

UNKNOWN = "unknown"
"""The label of an event that lacks the field a breakdown counts by."""
INFLUENCER_FOLLOWERS = 10_000
"""Customers with at least this many followers count as influencers."""
TOP_TERMS = 10
"""How many hashtags, keywords, departments and articles the trends list."""
FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"

_FILTERED_FIELDS = ("channel", "language", "department")
_DESCRIBING = {EventType.MESSAGE_IN, EventType.BOT_REPLY, EventType.HANDOFF}


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The slice a report covers; `None` means every value."""

    channel: str | None = None
    language: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class Costs:
    """Unit costs for the cost comparison, in the operator's currency.

    The defaults are illustrative (48 an hour for an agent, half a cent for an assistant
    message); the CLI reads the operator's own from `RELEVO_COST_AGENT_MINUTE` and
    `RELEVO_COST_BOT_MESSAGE` when the settings define them.
    """

    agent_minute: float = 0.80
    bot_message: float = 0.005
    currency: str = "EUR"

    @classmethod
    def configured(cls, settings: Settings) -> Costs:
        """The operator's: `RELEVO_COST_AGENT_MINUTE`, `..._BOT_MESSAGE`, `..._CURRENCY`."""
        return cls(settings.cost_agent_minute, settings.cost_bot_message, settings.cost_currency)


# --- outputs ---------------------------------------------------------------------------------


@dataclass
class Period:
    """What the report covers (ISO 8601, UTC)."""

    since: str
    until: str
    previous_since: str
    filters: dict[str, str | None]


@dataclass
class Volume:
    """How much arrived.

    Attributes:
        messages_in: `message_in` events in the period.
        conversations: Distinct conversations with any event in the period (active ones).
        customers: Distinct (channel, customer) pairs that wrote: ids are per channel.
        by_channel: Messages in per channel.
        by_language: Messages in per language.
        by_department: Conversations per department, from the departments of bot replies and
            handoffs in the period; a conversation can count for several.
    """

    messages_in: int
    conversations: int
    customers: int
    by_channel: dict[str, int]
    by_language: dict[str, int]
    by_department: dict[str, int]


@dataclass
class Durations:
    """A distribution of durations in seconds; `count` is how many were measured."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass
class ResponseTimes:
    """How fast customers heard back, and how fast people closed handoffs.

    Attributes:
        bot_first_response: Per conversation with a message in the period, from its first
            `message_in` in the period to the first `bot_reply` at or after it.
        human_first_response: Per handoff opened in the period, from the `handoff` event to
            its first `agent_reply` marked `first="1"` (the earliest reply if none is marked).
        human_resolution: Per handoff opened in the period, from `handoff` to its first
            `resolved` (a reopened handoff's later resolutions are not counted again).
    """

    bot_first_response: Durations
    human_first_response: Durations
    human_resolution: Durations


@dataclass
class Deflection:
    """How much the assistant settled on its own.

    Being involved is not settling: a declined question, a request to rephrase or an offer the
    customer left without picking leaves them without an answer, so those are counted apart and
    never priced as savings.

    Attributes:
        conversations: Active conversations (as in `Volume`).
        bot_conversations: Conversations with a `bot_reply` in the period, whatever its
            decision (bot involvement).
        handed_off: Of those, the ones with a `handoff` from the period's start to its end.
        deflected: Settled by the bot: not handed off, with an `answer` reply in the period (a
            direct answer or a picked article), and the last `feedback` not a "no".
        deflection_rate: `deflected / bot_conversations`.
        not_settled: Neither handed off nor settled: `bot_conversations - handed_off -
            deflected`; the customer left without an answer that helped.
        not_settled_by_outcome: Those per the bot's most helpful reply: `answered_then_no`,
            `link` (the likeliest article's link on a public post, which has no buttons to
            pick from), `suggest` (offered articles, none picked), `private`, `notice`, `rephrase`,
            `decline`, `other`.
        bot_answered: Conversations with a `bot_reply` whose decision is `answer`.
        bot_answered_resolved: Of those, the resolved ones: without a handoff, when the last
            `feedback` in the period is not negative (no feedback counts as settled); with a
            handoff, when the conversation has a `resolved` event in the period.
        bot_answer_resolution_rate: `bot_answered_resolved / bot_answered`.
        bot_involvement_resolution: `bot_answered_resolved / conversations`, which equals
            involvement (`bot_answered / conversations`) × resolution (the rate above).
    """

    conversations: int
    bot_conversations: int
    handed_off: int
    deflected: int
    deflection_rate: float | None
    not_settled: int
    not_settled_by_outcome: dict[str, int]
    bot_answered: int
    bot_answered_resolved: int
    bot_answer_resolution_rate: float | None
    bot_involvement_resolution: float | None


@dataclass
class Escalations:
    """Why and where conversations went to people: handoffs opened in the period.

    Attributes:
        handoffs: Distinct handoff ids with a `handoff` event in the period.
        by_reason: Per reason (asked_for_person, low_confidence, complaint...).
        by_priority: Per priority (low, normal, high, urgent).
        by_department: Per department the handoff was routed to.
    """

    handoffs: int
    by_reason: dict[str, int]
    by_priority: dict[str, int]
    by_department: dict[str, int]


@dataclass
class Sla:
    """Service-level compliance of the handoffs opened in the period.

    Each handoff's target is judged by the SLA monitor's verdicts, its due time (the `handoff`
    event's `<target>_due`, when it has one) and what the desk did: breached when an
    `sla_breach` for the target was recorded before `until`, or when the due time passed before
    the desk closed the target; met when the desk closed the target first (a person's reply,
    the resolution or a return to the bot for the first response; the resolution or a return
    for the resolution); otherwise not yet due. Compliance counts only the handoffs with a
    verdict, so a backlog still inside its time does not read as compliant.

    A handoff closed into the customer's other open handoff (`merged`, when they followed a
    second invitation into a private chat) is not judged: its case is judged in the one it
    joined, and the public one had no person's reply nor resolution of its own to wait for.

    Attributes:
        handoffs: Handoffs opened in the period and judged (not merged).
        first_response_met: Of those, answered before any first-response breach.
        first_response_breaches: With an `sla_breach` target=first_response.
        first_response_not_yet_due: Neither: still waiting, within their time.
        first_response_compliance: `met / (met + breaches)`.
        resolution_met, resolution_breaches, resolution_not_yet_due, resolution_compliance:
            The same for the resolution target.
        warnings: Per target, the handoffs that got an `sla_warning`.
        merged: Handoffs opened in the period and closed into another one, not judged.
    """

    handoffs: int
    first_response_met: int
    first_response_breaches: int
    first_response_not_yet_due: int
    first_response_compliance: float | None
    resolution_met: int
    resolution_breaches: int
    resolution_not_yet_due: int
    resolution_compliance: float | None
    warnings: dict[str, int]
    merged: int


@dataclass
class Satisfaction:
    """What customers said about the service (events in the period).

    Attributes:
        ratings: Valid `rating` events (1 to 5).
        average: Their mean.
        csat: The share of 4 and 5.
        distribution: Ratings per score, "1" to "5" (string keys survive JSON).
        feedback: `feedback` events (was the assistant's answer helpful).
        helpful: Those with helpful="1".
        helpful_share: `helpful / feedback`.
    """

    ratings: int
    average: float | None
    csat: float | None
    distribution: dict[str, int]
    feedback: int
    helpful: int
    helpful_share: float | None


@dataclass
class CostSummary:
    """The cost of a conversation settled by the assistant versus one handled by a person.

    Attributes:
        agent_minute: The unit cost used for an agent minute.
        bot_message: The unit cost used for an assistant message.
        bot_replies: Every `bot_reply` in the period.
        bot_cost_total: `bot_replies × bot_message`.
        bot_conversations: Deflected conversations (settled by the assistant).
        bot_conversation_replies: Bot replies in those conversations.
        bot_cost_per_conversation: `bot_conversation_replies × bot_message / bot_conversations`.
        human_conversations: Distinct conversations of the handoffs opened in the period and
            resolved before `until`.
        handling_minutes: Their handling time, from the first `claimed` to the first
            `resolved` (the queue wait is nobody's work; without a claim, from the handoff).
        human_cost_total: `handling_minutes × agent_minute`.
        human_cost_per_conversation: `human_cost_total / human_conversations`.
        human_to_bot_ratio: How many times dearer a person's conversation is.
        estimated_savings: `bot_conversations × (human per conversation − bot per
            conversation)`: what the deflected conversations would have cost with people.
    """

    agent_minute: float
    bot_message: float
    currency: str
    bot_replies: int
    bot_cost_total: float
    bot_conversations: int
    bot_conversation_replies: int
    bot_cost_per_conversation: float | None
    human_conversations: int
    handling_minutes: float
    human_cost_total: float
    human_cost_per_conversation: float | None
    human_to_bot_ratio: float | None
    estimated_savings: float | None


@dataclass
class Reach:
    """The audience of the customers served: who could see how a complaint was handled.

    Attributes:
        customers: Distinct (channel, customer) pairs that wrote in the period.
        customers_with_followers: Those whose messages carried a follower count.
        total_followers: The sum of their counts (each customer's latest in the period).
        median_followers: The median of their counts.
        influencers: Customers with at least `influencer_threshold` followers.
        influencer_threshold: 10,000.
        public_conversations: Conversations with a public message (public="1").
        public_share: `public_conversations / conversations with a message in the period`.
    """

    customers: int
    customers_with_followers: int
    total_followers: int
    median_followers: float | None
    influencers: int
    influencer_threshold: int
    public_conversations: int
    public_share: float | None


@dataclass
class Term:
    """A hashtag, keyword, department or article with its count now and in the previous period.

    Attributes:
        term: The hashtag, keyword, department or article id.
        count: Messages mentioning it (once per message), or conversations for departments,
            or `answer` replies for articles, in the period.
        previous: The same in the previous period of equal length.
        change: `count - previous`.
        growth: `change / previous`; `None` when the term is new.
    """

    term: str
    count: int
    previous: int
    change: int
    growth: float | None


@dataclass
class Trends:
    """What customers talk about, and what is rising.

    Attributes:
        previous_messages_in: Messages in the previous period: 0 means nothing to compare.
        hashtags: The 10 most frequent hashtags of `message_in` events.
        keywords: The 10 most frequent keywords.
        departments: The 10 departments with most conversations.
        articles: The 10 articles the assistant answered with most.
        trending_hashtags: Up to 10 hashtags that rose most (by count, `change > 0`).
        trending_keywords: Up to 10 keywords that rose most.
    """

    previous_messages_in: int
    hashtags: list[Term]
    keywords: list[Term]
    departments: list[Term]
    articles: list[Term]
    trending_hashtags: list[Term]
    trending_keywords: list[Term]


@dataclass
class Delivery:
    """Whether replies reached customers.

    Attributes:
        delivered: `delivered` events in the period.
        failed: `delivery_failed` events in the period.
        failure_rate: `failed / (delivered + failed)`.
        failed_by_channel: Failures per channel.
    """

    delivered: int
    failed: int
    failure_rate: float | None
    failed_by_channel: dict[str, int]


@dataclass
class Kpis:
    """Every figure of a report; `dataclasses.asdict` gives plain JSON-ready data."""

    period: Period
    volume: Volume
    response_times: ResponseTimes
    deflection: Deflection
    escalations: Escalations
    sla: Sla
    satisfaction: Satisfaction
    cost: CostSummary
    reach: Reach
    trends: Trends
    delivery: Delivery


# --- events as values ------------------------------------------------------------------------


class _Event:
    """One parsed event; slots and plain attributes because reports read millions of fields."""

    __slots__ = ("at", "conversation", "data", "handoff", "kind")

    def __init__(self, at: dt.datetime, kind: str, data: Mapping[str, str]) -> None:
        self.at = at
        self.kind = kind
        self.data = data
        self.conversation = data.get("conversation", "")
        self.handoff = data.get("handoff", "")

    def get(self, name: str) -> str:
        return self.data.get(name, "")


def _utc(moment: dt.datetime) -> dt.datetime:
    """A naive datetime is taken as UTC, so callers cannot shift a report by their time zone."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _parse(events: Iterable[Mapping[str, str]]) -> list[_Event]:
    """Events with a readable `at` and `type`, oldest first; malformed entries are skipped."""
    parsed = []
    for raw in events:
        kind, at = raw.get("type", ""), raw.get("at", "")
        try:
            moment = _utc(dt.datetime.fromisoformat(at))
        except ValueError:
            continue
        if kind:
            parsed.append(_Event(moment, kind, raw))
    parsed.sort(key=lambda e: e.at)
    return parsed


# --- attribution and filters -----------------------------------------------------------------


@dataclass
class _Index:
    """Where events without a channel, language or department belong."""

    conversation: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: {name: defaultdict(set) for name in _FILTERED_FIELDS}
    )
    handoff_department: dict[str, str] = field(default_factory=dict)
    handoff_conversation: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, events: Iterable[_Event]) -> _Index:
        index = cls()
        for event in events:
            handoff = event.handoff
            if handoff and event.conversation:
                index.handoff_conversation.setdefault(handoff, event.conversation)
            if event.kind == EventType.HANDOFF and handoff and event.get("department"):
                index.handoff_department[handoff] = event.get("department")
            if event.kind in _DESCRIBING and event.conversation:
                for name in _FILTERED_FIELDS:
                    if event.get(name):
                        index.conversation[name][event.conversation].add(event.get(name).lower())
        return index

    def values(self, event: _Event, name: str) -> set[str]:
        """The values of `name` an event belongs to: its own, its handoff's, its conversation's."""
        own = event.get(name)
        if own:
            return {own.lower()}
        handoff = event.handoff
        if name == "department" and handoff in self.handoff_department:
            return {self.handoff_department[handoff].lower()}
        conversation = event.conversation or self.handoff_conversation.get(handoff, "")
        return self.conversation[name].get(conversation, set())

    def matches(self, event: _Event, wanted: Mapping[str, str]) -> bool:
        """Whether the event belongs to every wanted value (field -> folded value)."""
        return all(value in self.values(event, name) for name, value in wanted.items())


def _wanted(filters: Filters) -> dict[str, str]:
    """The filters in force, folded for comparison."""
    chosen = {name: getattr(filters, name) for name in _FILTERED_FIELDS}
    return {name: value.strip().lower() for name, value in chosen.items() if value}


class _Events:
    """Filtered events sorted by time, sliced by period with a binary search."""

    def __init__(self, events: list[_Event]) -> None:
        self.events = events
        self._times = [e.at for e in events]

    def between(self, start: dt.datetime, end: dt.datetime) -> list[_Event]:
        lo = bisect.bisect_left(self._times, start)
        hi = bisect.bisect_left(self._times, end)
        return self.events[lo:hi]


# --- the timeline: when things happened after a start ----------------------------------------


def _first_in(times: Sequence[dt.datetime], start: dt.datetime) -> dt.datetime | None:
    """The first of sorted `times` at or after `start`."""
    position = bisect.bisect_left(times, start)
    return times[position] if position < len(times) else None


def _any_in(times: Sequence[dt.datetime], start: dt.datetime, end: dt.datetime) -> bool:
    found = _first_in(times, start)
    return found is not None and found < end


class _Timeline:
    """Per conversation and per handoff, the times of what followed, up to the horizon.

    Built once from every event before the horizon (the report's `until`), so that a handoff
    opened in one dashboard bucket is still measured when its reply falls in the next. It is not
    filtered: filters choose what is counted, while what followed is looked up everywhere (a
    conversation of the baggage slice that was handed over to refunds was not deflected).
    """

    def __init__(self, events: Iterable[_Event]) -> None:
        self.bot_replies: dict[str, list[dt.datetime]] = defaultdict(list)
        self.conversation_handoffs: dict[str, list[dt.datetime]] = defaultdict(list)
        self.conversation_resolved: dict[str, list[dt.datetime]] = defaultdict(list)
        self.feedback: dict[str, list[tuple[dt.datetime, bool]]] = defaultdict(list)
        self.first_replies: dict[str, list[dt.datetime]] = defaultdict(list)
        self.agent_replies: dict[str, list[dt.datetime]] = defaultdict(list)
        self.claims: dict[str, list[dt.datetime]] = defaultdict(list)
        self.resolutions: dict[str, list[dt.datetime]] = defaultdict(list)
        self.returns: dict[str, list[dt.datetime]] = defaultdict(list)
        self.merges: dict[str, list[dt.datetime]] = defaultdict(list)
        self.breaches: dict[tuple[str, str], list[dt.datetime]] = defaultdict(list)
        self.warnings: dict[tuple[str, str], list[dt.datetime]] = defaultdict(list)
        for event in events:
            self._add(event)

    def _add(self, event: _Event) -> None:
        conversation, handoff, kind = event.conversation, event.handoff, event.kind
        if kind == EventType.BOT_REPLY:
            self.bot_replies[conversation].append(event.at)
        elif kind == EventType.HANDOFF:
            self.conversation_handoffs[conversation].append(event.at)
        elif kind == EventType.FEEDBACK:
            self.feedback[conversation].append((event.at, event.get("helpful") == "1"))
        elif kind == EventType.AGENT_REPLY:
            self.agent_replies[handoff].append(event.at)
            if event.get("first") == "1":
                self.first_replies[handoff].append(event.at)
        elif kind == EventType.CLAIMED:
            self.claims[handoff].append(event.at)
        elif kind == EventType.RESOLVED:
            self.resolutions[handoff].append(event.at)
            self.conversation_resolved[conversation].append(event.at)
        elif kind == EventType.RETURNED:
            self.returns[handoff].append(event.at)
        elif kind == EventType.MERGED:
            self.merges[handoff].append(event.at)
        elif kind == EventType.SLA_BREACH:
            self.breaches[(handoff, event.get("target"))].append(event.at)
        elif kind == EventType.SLA_WARNING:
            self.warnings[(handoff, event.get("target"))].append(event.at)

    def first_agent_reply(self, handoff: str, start: dt.datetime) -> dt.datetime | None:
        """The reply flagged first, or the earliest one if no reply carries the flag."""
        return _first_in(self.first_replies[handoff], start) or _first_in(
            self.agent_replies[handoff], start
        )

    def last_feedback_negative(
        self, conversation: str, start: dt.datetime, end: dt.datetime
    ) -> bool:
        answers = [helpful for at, helpful in self.feedback[conversation] if start <= at < end]
        return bool(answers) and not answers[-1]


# --- small arithmetic ------------------------------------------------------------------------


def ratio(numerator: float, denominator: float) -> float | None:
    """`numerator / denominator`, or `None` when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def quantile(values: Sequence[float], q: float) -> float | None:
    """The `q` quantile with linear interpolation between closest ranks; `None` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _durations(seconds: Sequence[float]) -> Durations:
    return Durations(len(seconds), quantile(seconds, 0.5), quantile(seconds, 0.9))


def _ranked(counter: Mapping[str, int]) -> dict[str, int]:
    """Most frequent first, then by name, so reports are stable."""
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _label(event: _Event, name: str) -> str:
    return event.get(name) or UNKNOWN


def _of_kind(events: Iterable[_Event], kind: EventType) -> list[_Event]:
    return [e for e in events if e.kind == kind]


def _cohort(window: Iterable[_Event]) -> dict[str, _Event]:
    """The handoffs opened in the period: each handoff id's first `handoff` event."""
    cohort: dict[str, _Event] = {}
    for event in _of_kind(window, EventType.HANDOFF):
        key = event.handoff or f"{event.conversation}@{event.at.isoformat()}"
        cohort.setdefault(key, event)
    return cohort


def _judged(cohort: Mapping[str, _Event], timeline: _Timeline) -> dict[str, _Event]:
    """The cohort without the handoffs closed into another: the one each joined is judged."""
    return {h: opened for h, opened in cohort.items() if not timeline.merges.get(h)}


# --- sections --------------------------------------------------------------------------------


def _conversation_departments(window: Iterable[_Event]) -> dict[str, set[str]]:
    """Department -> conversations that a bot reply or a handoff placed there."""
    departments: dict[str, set[str]] = defaultdict(set)
    for event in window:
        if event.kind in (EventType.BOT_REPLY, EventType.HANDOFF) and event.get("department"):
            departments[event.get("department")].add(event.conversation)
    return departments


def _volume(window: list[_Event]) -> Volume:
    messages = _of_kind(window, EventType.MESSAGE_IN)
    departments = _conversation_departments(window)
    return Volume(
        messages_in=len(messages),
        conversations=len({e.conversation for e in window if e.conversation}),
        customers=len(
            {(e.get("channel"), e.get("customer")) for e in messages if e.get("customer")}
        ),
        by_channel=_ranked(Counter(_label(e, "channel") for e in messages)),
        by_language=_ranked(Counter(_label(e, "language") for e in messages)),
        by_department=_ranked({name: len(convs) for name, convs in departments.items()}),
    )


def _bot_first_responses(window: list[_Event], timeline: _Timeline) -> list[float]:
    """Seconds from each conversation's first message in the period to the bot's next reply."""
    first_message: dict[str, dt.datetime] = {}
    for event in _of_kind(window, EventType.MESSAGE_IN):
        first_message.setdefault(event.conversation, event.at)
    seconds = []
    for conversation, start in first_message.items():
        reply = _first_in(timeline.bot_replies[conversation], start)
        if reply is not None:
            seconds.append((reply - start).total_seconds())
    return seconds


def _after_handoff(
    cohort: Mapping[str, _Event], moment: dt.datetime | None, handoff: str
) -> float | None:
    return None if moment is None else (moment - cohort[handoff].at).total_seconds()


def _response_times(
    window: list[_Event], cohort: Mapping[str, _Event], timeline: _Timeline
) -> ResponseTimes:
    first, resolution = [], []
    for handoff, opened in cohort.items():
        replied = _after_handoff(cohort, timeline.first_agent_reply(handoff, opened.at), handoff)
        resolved = _after_handoff(
            cohort, _first_in(timeline.resolutions[handoff], opened.at), handoff
        )
        if replied is not None:
            first.append(replied)
        if resolved is not None:
            resolution.append(resolved)
    return ResponseTimes(
        bot_first_response=_durations(_bot_first_responses(window, timeline)),
        human_first_response=_durations(first),
        human_resolution=_durations(resolution),
    )


# The bot's replies from most to least helpful: what a conversation it did not settle got.
_OUTCOMES = ("answer", "link", "private", "notice", "suggest", "rephrase", "decline", "other")
PUBLIC_LINK = "link"
"""An offer on a public post: one article's link, with no buttons to pick it (QA s22 D20)."""
ANSWERED_THEN_NO = "answered_then_no"
"""A conversation answered by the bot whose last feedback was "no"."""


@dataclass
class _BotOutcome:
    """Conversation sets behind deflection and cost, and the best reply of each."""

    involved: set[str]
    handed_off: set[str]
    answered: set[str]
    answered_resolved: set[str]
    best_reply: dict[str, str]

    @property
    def deflected(self) -> set[str]:
        """Settled by the bot: answered, not handed off, not followed by a "no"."""
        return self.answered_resolved - self.handed_off

    @property
    def not_settled(self) -> set[str]:
        return self.involved - self.handed_off - self.deflected

    def not_settled_by_outcome(self) -> dict[str, int]:
        outcomes = Counter(
            ANSWERED_THEN_NO if self.best_reply[c] == "answer" else self.best_reply[c]
            for c in self.not_settled
        )
        return _ranked(outcomes)


def _best_replies(replies: Iterable[_Event]) -> dict[str, str]:
    """Per conversation, the most helpful decision among its bot replies (`other` if none)."""
    rank = {decision: position for position, decision in enumerate(_OUTCOMES)}
    best: dict[str, str] = {}
    for event in replies:
        decision = event.get("decision") if event.get("decision") in rank else "other"
        if decision == "suggest" and event.get("public") == "1":
            decision = PUBLIC_LINK
        current = best.get(event.conversation)
        if current is None or rank[decision] < rank[current]:
            best[event.conversation] = decision
    return best


def _bot_outcome(
    window: list[_Event], timeline: _Timeline, since: dt.datetime, horizon: dt.datetime
) -> _BotOutcome:
    replies = _of_kind(window, EventType.BOT_REPLY)
    involved = {e.conversation for e in replies}
    handed_off = {c for c in involved if _any_in(timeline.conversation_handoffs[c], since, horizon)}
    answered = {e.conversation for e in replies if e.get("decision") == "answer"}

    def resolved(conversation: str) -> bool:
        if conversation not in handed_off:
            return not timeline.last_feedback_negative(conversation, since, horizon)
        return _any_in(timeline.conversation_resolved[conversation], since, horizon)

    return _BotOutcome(
        involved,
        handed_off,
        answered,
        {c for c in answered if resolved(c)},
        _best_replies(replies),
    )


def _deflection(conversations: int, outcome: _BotOutcome) -> Deflection:
    return Deflection(
        conversations=conversations,
        bot_conversations=len(outcome.involved),
        handed_off=len(outcome.handed_off),
        deflected=len(outcome.deflected),
        deflection_rate=ratio(len(outcome.deflected), len(outcome.involved)),
        not_settled=len(outcome.not_settled),
        not_settled_by_outcome=outcome.not_settled_by_outcome(),
        bot_answered=len(outcome.answered),
        bot_answered_resolved=len(outcome.answered_resolved),
        bot_answer_resolution_rate=ratio(len(outcome.answered_resolved), len(outcome.answered)),
        bot_involvement_resolution=ratio(len(outcome.answered_resolved), conversations),
    )


def _escalations(cohort: Mapping[str, _Event]) -> Escalations:
    opened = list(cohort.values())
    return Escalations(
        handoffs=len(opened),
        by_reason=_ranked(Counter(_label(e, "reason") for e in opened)),
        by_priority=_ranked(Counter(_label(e, "priority") for e in opened)),
        by_department=_ranked(Counter(_label(e, "department") for e in opened)),
    )


@dataclass(frozen=True)
class _Verdicts:
    """How one SLA target went for the cohort: met, breached, the rest not yet due."""

    met: int
    breached: int
    not_yet_due: int

    @property
    def compliance(self) -> float | None:
        return ratio(self.met, self.met + self.breached)


def _verdicts(
    cohort: Mapping[str, _Event],
    timeline: _Timeline,
    target: str,
    closings: Sequence[Mapping[str, list[dt.datetime]]],
    until: dt.datetime,
) -> _Verdicts:
    """How `target` went: breached, met (one of `closings` came first) or not yet due.

    Breached when the monitor said so, or when the due time passed before the desk closed the
    target (a breach the monitor missed while no gateway ran). The `handoff` event carries the
    target's due time (`<target>_due`); events recorded before it did not, and for those the
    monitor's word and the closings decide alone.
    """
    met = breached = 0
    for handoff, opened in cohort.items():
        closed = min(
            (t for t in (_first_in(times.get(handoff, []), opened.at) for times in closings) if t),
            default=None,
        )
        due = _due(opened, target)
        late = due is not None and min(closed or until, until) > due
        if late or timeline.breaches.get((handoff, target)):
            breached += 1
        elif closed is not None:
            met += 1
    return _Verdicts(met, breached, len(cohort) - met - breached)


def _due(opened: _Event, target: str) -> dt.datetime | None:
    """The due time of `target` that the `handoff` event recorded, if it did."""
    try:
        return _utc(dt.datetime.fromisoformat(opened.get(f"{target}_due")))
    except ValueError:
        return None


def _sla(cohort: Mapping[str, _Event], timeline: _Timeline, until: dt.datetime) -> Sla:
    judged = _judged(cohort, timeline)
    closed = (timeline.resolutions, timeline.returns)
    replied = (timeline.agent_replies, *closed)
    first = _verdicts(judged, timeline, FIRST_RESPONSE, replied, until)
    resolution = _verdicts(judged, timeline, RESOLUTION, closed, until)
    targets = sorted({target for h, target in timeline.warnings if h in judged})
    warnings = {t: sum(1 for h in judged if timeline.warnings.get((h, t))) for t in targets}
    return Sla(
        handoffs=len(judged),
        first_response_met=first.met,
        first_response_breaches=first.breached,
        first_response_not_yet_due=first.not_yet_due,
        first_response_compliance=first.compliance,
        resolution_met=resolution.met,
        resolution_breaches=resolution.breached,
        resolution_not_yet_due=resolution.not_yet_due,
        resolution_compliance=resolution.compliance,
        warnings=_ranked(warnings),
        merged=len(cohort) - len(judged),
    )


def _satisfaction(window: list[_Event]) -> Satisfaction:
    ratings = [
        int(e.get("rating"))
        for e in _of_kind(window, EventType.RATING)
        if e.get("rating") in {"1", "2", "3", "4", "5"}
    ]
    feedback = _of_kind(window, EventType.FEEDBACK)
    helpful = sum(1 for e in feedback if e.get("helpful") == "1")
    return Satisfaction(
        ratings=len(ratings),
        average=statistics.fmean(ratings) if ratings else None,
        csat=ratio(sum(1 for r in ratings if r >= 4), len(ratings)),
        distribution={str(score): ratings.count(score) for score in range(1, 6)},
        feedback=len(feedback),
        helpful=helpful,
        helpful_share=ratio(helpful, len(feedback)),
    )


def _handling_minutes(cohort: Mapping[str, _Event], timeline: _Timeline) -> tuple[float, set[str]]:
    """Agent minutes of the resolved handoffs, from the first claim (or the handoff) on."""
    minutes, conversations = 0.0, set()
    for handoff, opened in cohort.items():
        resolved = _first_in(timeline.resolutions[handoff], opened.at)
        if resolved is None:
            continue
        claimed = _first_in(timeline.claims[handoff], opened.at)
        start = claimed if claimed is not None and claimed <= resolved else opened.at
        minutes += (resolved - start).total_seconds() / 60
        conversations.add(opened.conversation)
    return minutes, conversations


def _cost(
    window: list[_Event],
    outcome: _BotOutcome,
    cohort: Mapping[str, _Event],
    timeline: _Timeline,
    costs: Costs,
) -> CostSummary:
    replies = _of_kind(window, EventType.BOT_REPLY)
    deflected = outcome.deflected
    deflected_replies = sum(1 for e in replies if e.conversation in deflected)
    bot_per = ratio(deflected_replies * costs.bot_message, len(deflected))
    minutes, people = _handling_minutes(cohort, timeline)
    human_per = ratio(minutes * costs.agent_minute, len(people))
    times, savings = None, None
    if bot_per is not None and human_per is not None:
        times = ratio(human_per, bot_per)
        savings = len(deflected) * (human_per - bot_per)
    return CostSummary(
        agent_minute=costs.agent_minute,
        bot_message=costs.bot_message,
        currency=costs.currency,
        bot_replies=len(replies),
        bot_cost_total=len(replies) * costs.bot_message,
        bot_conversations=len(deflected),
        bot_conversation_replies=deflected_replies,
        bot_cost_per_conversation=bot_per,
        human_conversations=len(people),
        handling_minutes=minutes,
        human_cost_total=minutes * costs.agent_minute,
        human_cost_per_conversation=human_per,
        human_to_bot_ratio=times,
        estimated_savings=savings,
    )


def _followers(event: _Event) -> int | None:
    try:
        return max(0, int(event.get("followers")))
    except ValueError:
        return None


def _reach(window: list[_Event]) -> Reach:
    messages = _of_kind(window, EventType.MESSAGE_IN)
    latest: dict[tuple[str, str], int] = {}
    customers: set[tuple[str, str]] = set()
    for event in messages:
        who = (event.get("channel"), event.get("customer"))
        if not who[1]:
            continue
        customers.add(who)
        followers = _followers(event)
        if followers is not None:
            latest[who] = followers  # the latest count wins: audiences change
    conversations = {e.conversation for e in messages}
    public = {e.conversation for e in messages if e.get("public") == "1"}
    counts = list(latest.values())
    return Reach(
        customers=len(customers),
        customers_with_followers=len(counts),
        total_followers=sum(counts),
        median_followers=quantile(counts, 0.5),
        influencers=sum(1 for c in counts if c >= INFLUENCER_FOLLOWERS),
        influencer_threshold=INFLUENCER_FOLLOWERS,
        public_conversations=len(public),
        public_share=ratio(len(public), len(conversations)),
    )


def _terms(messages: Iterable[_Event], name: str) -> Counter[str]:
    """How many messages mention each term (once per message)."""
    return Counter(term for e in messages for term in set(e.get(name).split()))


def _compare(now: Counter[str], before: Counter[str]) -> list[Term]:
    return [
        Term(
            term,
            now[term],
            before[term],
            now[term] - before[term],
            ratio(now[term] - before[term], before[term]),
        )
        for term in now
    ]


def _top(terms: list[Term]) -> list[Term]:
    return sorted(terms, key=lambda t: (-t.count, t.term))[:TOP_TERMS]


def _rising(terms: list[Term]) -> list[Term]:
    rising = [t for t in terms if t.change > 0]
    return sorted(rising, key=lambda t: (-t.change, -t.count, t.term))[:TOP_TERMS]


def _articles(window: Iterable[_Event]) -> Counter[str]:
    return Counter(
        e.get("article")
        for e in _of_kind(window, EventType.BOT_REPLY)
        if e.get("decision") == "answer" and e.get("article")
    )


def _trends(window: list[_Event], previous: list[_Event]) -> Trends:
    now_messages = _of_kind(window, EventType.MESSAGE_IN)
    before_messages = _of_kind(previous, EventType.MESSAGE_IN)
    hashtags = _compare(_terms(now_messages, "hashtags"), _terms(before_messages, "hashtags"))
    keywords = _compare(_terms(now_messages, "keywords"), _terms(before_messages, "keywords"))

    def departments(events: list[_Event]) -> Counter[str]:
        return Counter({d: len(c) for d, c in _conversation_departments(events).items()})

    return Trends(
        previous_messages_in=len(before_messages),
        hashtags=_top(hashtags),
        keywords=_top(keywords),
        departments=_top(_compare(departments(window), departments(previous))),
        articles=_top(_compare(_articles(window), _articles(previous))),
        trending_hashtags=_rising(hashtags),
        trending_keywords=_rising(keywords),
    )


def _delivery(window: list[_Event]) -> Delivery:
    delivered = len(_of_kind(window, EventType.DELIVERED))
    failures = _of_kind(window, EventType.DELIVERY_FAILED)
    return Delivery(
        delivered=delivered,
        failed=len(failures),
        failure_rate=ratio(len(failures), delivered + len(failures)),
        failed_by_channel=_ranked(Counter(_label(e, "channel") for e in failures)),
    )


# --- the public functions --------------------------------------------------------------------


def _prepare(
    events: Iterable[Mapping[str, str]], until: dt.datetime, filters: Filters
) -> tuple[_Events, _Timeline]:
    parsed = [e for e in _parse(events) if e.at < until]
    wanted = _wanted(filters)
    if wanted:
        index = _Index.build(parsed)
        selected = [e for e in parsed if index.matches(e, wanted)]
    else:
        selected = parsed
    return _Events(selected), _Timeline(parsed)


def compute(
    events: Iterable[Mapping[str, str]],
    since: dt.datetime,
    until: dt.datetime,
    filters: Filters | None = None,
    costs: Costs | None = None,
) -> Kpis:
    """Every KPI of the period `[since, until)` (see the module docstring for conventions).

    Args:
        events: Stream events as string dicts, in any order. Include the previous period of the
            same length for trends, and earlier events if you have them for attribution.
        since: Start of the period (naive means UTC).
        until: End of the period, excluded; later events are ignored.
        filters: The slice to report on (default: everything).
        costs: Unit costs for the cost comparison (default: `Costs()`).

    Raises:
        ValueError: `until` is not after `since`.
    """
    since, until = _utc(since), _utc(until)
    if until <= since:
        raise ValueError("the end of a report must come after its start")
    filters, costs = filters or Filters(), costs or Costs()
    selected, timeline = _prepare(events, until, filters)
    previous_since = since - (until - since)
    window = selected.between(since, until)
    cohort = _cohort(window)
    volume = _volume(window)
    outcome = _bot_outcome(window, timeline, since, until)
    return Kpis(
        period=Period(
            since=since.isoformat(),
            until=until.isoformat(),
            previous_since=previous_since.isoformat(),
            filters={name: getattr(filters, name) for name in _FILTERED_FIELDS},
        ),
        volume=volume,
        response_times=_response_times(window, cohort, timeline),
        deflection=_deflection(volume.conversations, outcome),
        escalations=_escalations(cohort),
        sla=_sla(cohort, timeline, until),
        satisfaction=_satisfaction(window),
        cost=_cost(window, outcome, cohort, timeline, costs),
        reach=_reach(window),
        trends=_trends(window, selected.between(previous_since, since)),
        delivery=_delivery(window),
    )


def timeseries(
    events: Iterable[Mapping[str, str]],
    since: dt.datetime,
    until: dt.datetime,
    bucket: dt.timedelta,
    filters: Filters | None = None,
) -> list[dict[str, object]]:
    """A few KPIs per bucket of `[since, until)`, oldest first, for the dashboard's charts.

    Each bucket has `start`, `end` (ISO), `messages_in`, `handoffs` (opened in it),
    `deflection_rate`, `bot_first_response_median`, `human_first_response_median` (seconds)
    and `csat`, defined as in `compute` with the bucket as the period, except that what follows
    is looked up until `until`: a handoff opened in one bucket and answered in the next is
    measured in the first, and a bot conversation handed over later is not deflected. The last
    bucket ends at `until` and may be shorter.

    Raises:
        ValueError: The bucket is not positive, or `until` is not after `since`.
    """
    since, until = _utc(since), _utc(until)
    if bucket <= dt.timedelta(0):
        raise ValueError("a time bucket must be longer than zero")
    if until <= since:
        raise ValueError("the end of a report must come after its start")
    selected, timeline = _prepare(events, until, filters or Filters())
    rows: list[dict[str, object]] = []
    start = since
    while start < until:
        end = min(start + bucket, until)
        rows.append(_bucket(selected.between(start, end), timeline, start, end, until))
        start = end
    return rows


def _bucket(
    window: list[_Event],
    timeline: _Timeline,
    start: dt.datetime,
    end: dt.datetime,
    horizon: dt.datetime,
) -> dict[str, object]:
    cohort = _cohort(window)
    times = _response_times(window, cohort, timeline)
    outcome = _bot_outcome(window, timeline, start, horizon)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "messages_in": len(_of_kind(window, EventType.MESSAGE_IN)),
        "handoffs": len(cohort),
        "deflection_rate": ratio(len(outcome.deflected), len(outcome.involved)),
        "bot_first_response_median": times.bot_first_response.median_seconds,
        "human_first_response_median": times.human_first_response.median_seconds,
        "csat": _satisfaction(window).csat,
    }
