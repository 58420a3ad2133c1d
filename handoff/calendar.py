"""Business hours of a department: when the desk is open, and business-time arithmetic.

The model is deliberately small, so that a YAML spec reads like the sign on the door:

* **Weekly local intervals.** For each weekday (Monday=0) a tuple of ``(start, end)`` wall-clock
  times in the calendar's IANA time zone. An interval whose ``end <= start`` is *overnight*: it
  ends at ``end`` on the next day (``22:00-06:00`` on Friday runs into Saturday morning). "24:00"
  is therefore stored as ``dt.time(0)``: ``09:00-24:00`` is an overnight interval ending at the
  next midnight, and ``00:00-24:00`` (stored as ``(00:00, 00:00)``) is the whole day;
  ``dt.time.max`` is accepted as another spelling of 24:00 and normalised to ``dt.time(0)``.
  A consequence of the rule: ``09:00-09:00`` means 24 hours, from 09:00 to 09:00 the next day.
* **Continuity.** Intervals that touch (shifts ``07:00-15:00`` and ``15:00-23:00``, or Friday's
  overnight interval ending at 06:00 and Saturday's starting at 06:00) form one open period: a
  shift change does not close the desk, and :meth:`BusinessCalendar.intervals` reports them as one.
  Intervals must not overlap, within a day or across midnight; that is a spec error.
* **Holidays** are local dates closed all day. An interval belongs to the date on which it
  *starts*: on a holiday no interval starts, but an overnight interval that started the evening
  before (a normal day) runs to its end, since the night shift is already at work. Conversely an
  overnight interval that would start on the holiday does not run at all, not even its part after
  midnight.
* **Daylight saving.** Intervals are wall-clock times; durations are real elapsed time. All
  arithmetic is done in UTC, so a 09:00-18:00 day on the night clocks go forward is 9 hours and a
  00:00-04:00 interval on that night is 3 real hours (5 on the night they go back). A local time
  that does not exist or occurs twice is resolved with ``fold=0``, zoneinfo's default: a
  non-existent time (02:30 when clocks jump from 02:00 to 03:00) is read with the offset in force
  before the jump, i.e. it lands one hour later (03:30 summer time); an ambiguous one (02:30 when
  clocks go back) is its first occurrence (summer time). If this makes an interval end before it
  starts (one starting inside the gap and ending just after it), the interval is empty that day.

Inputs may be aware datetimes in any zone (naive ones are refused: a deadline must not depend on
the server's zone); outputs are aware datetimes in the calendar's zone. Beware that Python compares
and subtracts two datetimes with the *same* tzinfo by wall clock (ignoring the offset and fold), so
compare or subtract results against a UTC ``now``, or convert both to UTC first.

Searches walk day by day over the intervals, never minute by minute, so adding several weeks of
business time costs a few dozen steps.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BusinessCalendar", "CalendarError"]

_UTC = dt.UTC
_DAY = dt.timedelta(days=1)
_MIDNIGHT = dt.time(0)
# After this many consecutive days without an open interval, an unbounded search gives up: more
# than a year, so that yearly holidays never look like a closed desk.
_HORIZON_DAYS = 400

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_SPEC_FIELDS = ("timezone", "hours", "holidays")
_INTERVAL_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Interval = tuple[dt.time, dt.time]
Week = tuple[tuple[Interval, ...], ...]


class CalendarError(ValueError):
    """A calendar spec is invalid, or a calendar is never open when an answer needs it to be."""


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours of one department: a time zone, weekly hours and holidays.

    Attributes:
        timezone: IANA name, e.g. ``"Europe/Madrid"``; the zone of the wall-clock intervals, of
            the holiday dates and of every datetime returned.
        weekly: Seven entries, Monday first; each a tuple of ``(start, end)`` local times, sorted
            by start. ``end <= start`` means the interval ends on the next day (so 24:00 is
            ``dt.time(0)``); see the module docstring.
        holidays: Local dates on which no interval starts.
    """

    timezone: str
    weekly: Week
    holidays: frozenset[dt.date] = frozenset()

    def __post_init__(self) -> None:
        """Validate and normalise, so that a hand-built calendar obeys the same rules as a spec."""
        _zone(self.timezone, "timezone")
        if isinstance(self.weekly, str | bytes) or not isinstance(self.weekly, Sequence):
            raise CalendarError("weekly: expected 7 entries (Monday first)")
        if len(self.weekly) != 7:
            raise CalendarError(
                f"weekly: expected 7 entries (Monday first), got {len(self.weekly)}"
            )
        week: list[tuple[Interval, ...]] = []
        labelled: list[list[tuple[dt.time, dt.time, str]]] = []
        for index, day in enumerate(self.weekly):
            field = f"weekly[{index}] ({_DAY_NAMES[index]})"
            if isinstance(day, str | bytes) or not isinstance(day, Sequence):
                raise CalendarError(f"{field}: expected a sequence of (start, end) pairs")
            intervals: list[Interval] = []
            for pair in day:
                if (
                    not isinstance(pair, Sequence)
                    or len(pair) != 2
                    or not all(isinstance(t, dt.time) for t in pair)
                ):
                    raise CalendarError(f"{field}: {pair!r} is not a (start, end) pair of times")
                start, end = pair
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise CalendarError(
                        f"{field}: {pair!r} has a tzinfo; times are local to {self.timezone}"
                    )
                if start == dt.time.max:
                    raise CalendarError(f"{field}: an interval cannot start at 24:00")
                if end == dt.time.max:
                    end = _MIDNIGHT
                intervals.append((start, end))
            intervals.sort()
            week.append(tuple(intervals))
            labelled.append([(s, e, f"{field}: {_fmt(s, e)!r}") for s, e in intervals])
        _check_overlaps(labelled)
        holidays = frozenset(self.holidays)
        for holiday in holidays:
            if not isinstance(holiday, dt.date) or isinstance(holiday, dt.datetime):
                raise CalendarError(f"holidays: {holiday!r} is not a date")
        object.__setattr__(self, "weekly", tuple(week))
        object.__setattr__(self, "holidays", holidays)

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> BusinessCalendar:
        """Build a calendar from its YAML form, with errors that name the offending field.

        Example spec::

            timezone: Europe/Madrid
            hours:
              mon-fri: "09:00-18:00"          # a day range (wrapping ranges like fri-mon work)
              sat: ["10:00-14:00"]            # a list of shifts: ["07:00-15:00", "15:00-23:00"]
              sun: []                         # closed (so is a day left out, or an empty value)
            holidays: [2026-12-25, "2027-01-01"]

        Day keys are ``mon``..``sun`` (or full names), ranges ``mon-fri`` and ``daily``; a day may
        appear under several keys, its intervals are then combined. "24:00" is allowed as an end.
        Unknown top-level fields are refused, so that a typo (``holiday:``) is not silently ignored.

        Args:
            spec: The mapping read from YAML: ``timezone`` and ``hours`` required, ``holidays``
                optional (ISO strings or ``date`` objects, as YAML reads unquoted dates).

        Returns:
            The calendar.

        Raises:
            CalendarError: For an unknown time zone, a bad day name, a bad time or interval,
                overlapping intervals, a bad date or an unknown field; the message names the field
                and value, e.g. ``hours.mon-fri: '9-18' is not HH:MM-HH:MM``.
        """
        if not isinstance(spec, Mapping):
            raise CalendarError(f"calendar spec: expected a mapping, got {type(spec).__name__}")
        unknown = [str(key) for key in spec if key not in _SPEC_FIELDS]
        if unknown:
            raise CalendarError(
                f"calendar spec: unknown field(s) {', '.join(map(repr, unknown))}; "
                f"expected {', '.join(_SPEC_FIELDS)}"
            )
        if "timezone" not in spec:
            raise CalendarError("timezone: required (an IANA name such as 'Europe/Madrid')")
        timezone = spec["timezone"]
        _zone(timezone, "timezone")
        if "hours" not in spec:
            raise CalendarError("hours: required (e.g. {'mon-fri': '09:00-18:00'})")
        hours = spec["hours"]
        if not isinstance(hours, Mapping):
            raise CalendarError(f"hours: expected a mapping of days to intervals, got {hours!r}")

        labelled: list[list[tuple[dt.time, dt.time, str]]] = [[] for _ in range(7)]
        for key, value in hours.items():
            field = f"hours.{key}"
            days = _parse_days(key)
            for text in _interval_texts(value, field):
                start, end = _parse_interval(text, field)
                for day in days:
                    labelled[day].append((start, end, f"{field}: {text!r}"))
        _check_overlaps(labelled)

        holidays = _parse_holidays(spec.get("holidays"))
        weekly = tuple(tuple((s, e) for s, e, _ in day) for day in labelled)
        return cls(timezone=timezone, weekly=weekly, holidays=holidays)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The calendar's time zone (zoneinfo caches instances, so this is cheap)."""
        return zoneinfo.ZoneInfo(self.timezone)

    # -- queries --------------------------------------------------------------------------------

    def is_open(self, at: dt.datetime) -> bool:
        """Whether the desk is open at an instant (intervals are half-open: closed at ``end``).

        Raises:
            ValueError: If ``at`` is naive.
        """
        now = _utc(at, "at")
        for start, _end in self._pieces(now, now + dt.timedelta(microseconds=1)):
            return start <= now  # the first piece ending after `now` is the only candidate
        return False

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """When the desk is next open: ``at`` itself if open now, else the next opening.

        Returns:
            An aware datetime in the calendar's zone (the same instant as ``at`` when open).

        Raises:
            ValueError: If ``at`` is naive.
            CalendarError: If the calendar is not open within about 400 days.
        """
        now = _utc(at, "at")
        start, _end = next(self._pieces(now, None))  # unbounded: yields or raises CalendarError
        return max(start, now).astimezone(self.zone)

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """Business-time addition: the instant when ``duration`` of open time has elapsed.

        Closed time does not count, so with Mon-Fri 09:00-18:00, Friday 17:00 + 2h is Monday
        10:00. When the duration runs out exactly at a closing time the result is that closing
        time (Friday 17:00 + 1h is Friday 18:00, not Monday 09:00), which keeps ``add`` and
        :meth:`between` inverse to each other. A zero duration gives :meth:`next_open`.

        Args:
            start: Aware datetime, any zone.
            duration: Non-negative open time to consume.

        Returns:
            An aware datetime in the calendar's zone.

        Raises:
            ValueError: If ``start`` is naive or ``duration`` negative.
            CalendarError: If the calendar stops opening (about 400 days without an interval).
        """
        now = _utc(start, "start")
        if duration < dt.timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        remaining = duration
        for piece_start, piece_end in self._pieces(now, None):
            begin = max(piece_start, now)
            available = piece_end - begin
            if remaining <= available:
                return (begin + remaining).astimezone(self.zone)
            remaining -= available
        raise AssertionError("unreachable: an unbounded search yields or raises")

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Open time elapsed from ``start`` to ``end`` (zero if ``end <= start``).

        Raises:
            ValueError: If either datetime is naive.
        """
        low, high = _utc(start, "start"), _utc(end, "end")
        total = dt.timedelta(0)
        if high <= low:
            return total
        for piece_start, piece_end in self._pieces(low, high):
            total += min(piece_end, high) - max(piece_start, low)
        return total

    def intervals(
        self, start: dt.datetime, end: dt.datetime
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The open periods clipped to ``[start, end)``, touching intervals joined into one.

        Returns:
            An iterator of ``(opens, closes)`` aware datetimes in the calendar's zone, in order.
            To measure one, convert to UTC first: Python subtracts two datetimes that share a
            tzinfo by wall clock, so ``closes - opens`` is an hour off across a DST change.

        Raises:
            ValueError: If either datetime is naive (raised at the call, not on iteration).
        """
        low, high = _utc(start, "start"), _utc(end, "end")
        return self._joined(low, high)

    # -- internals ------------------------------------------------------------------------------

    def _joined(
        self, low: dt.datetime, high: dt.datetime
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Clip and join the pieces of ``[low, high)``; bounded, so joining always terminates."""
        if high <= low:
            return
        zone = self.zone
        pending: tuple[dt.datetime, dt.datetime] | None = None
        for piece_start, piece_end in self._pieces(low, high):
            piece = (max(piece_start, low), min(piece_end, high))
            if pending is not None and piece[0] <= pending[1]:
                pending = (pending[0], max(pending[1], piece[1]))
                continue
            if pending is not None:
                yield pending[0].astimezone(zone), pending[1].astimezone(zone)
            pending = piece
        if pending is not None:
            yield pending[0].astimezone(zone), pending[1].astimezone(zone)

    def _pieces(
        self, after: dt.datetime, until: dt.datetime | None
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Open pieces in UTC, ascending and non-overlapping, ending after ``after``.

        Pieces are the concrete weekly intervals; touching ones are not joined here, because an
        always-open calendar would then never yield (callers that sum or search do not care).
        With ``until`` only pieces starting before it are yielded and the walk stops at the first
        day that cannot open before it; without, it raises CalendarError after ``_HORIZON_DAYS``
        consecutive days with nothing open.
        """
        # Start two local days early: an overnight interval of the day before may still be
        # running, and a DST jump can shift a wall time by an hour across midnight.
        day = after.astimezone(self.zone).date() - 2 * _DAY
        last_end: dt.datetime | None = None
        idle_days = 0
        while True:
            if until is not None and self._local(day, _MIDNIGHT) >= until:
                return
            found = False
            for piece_start, end in self._day_pieces(day):
                # Clipping to the previous end only matters in exotic zones whose DST jump sits
                # at midnight; it keeps the pieces ordered and never counts time twice.
                start = piece_start if last_end is None else max(piece_start, last_end)
                if end <= start:
                    continue
                last_end = end
                if until is not None and start >= until:
                    continue  # the last day's pieces that open after the bound
                if end > after:
                    found = True
                    yield start, end
            idle_days = 0 if found else idle_days + 1
            if until is None and idle_days > _HORIZON_DAYS:
                since = max(day - (idle_days - 1) * _DAY, after.astimezone(self.zone).date())
                raise CalendarError(
                    f"calendar {self.timezone!r} is not open in the {_HORIZON_DAYS} days "
                    f"from {since.isoformat()}"
                )
            day += _DAY

    def _day_pieces(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The intervals starting on a local date, as UTC instants (none on a holiday)."""
        if day in self.holidays:
            return []
        pieces = []
        for start, end in self.weekly[day.weekday()]:
            end_day = day if end > start else day + _DAY
            pieces.append((self._local(day, start), self._local(end_day, end)))
        pieces.sort()
        return pieces

    def _local(self, day: dt.date, time: dt.time) -> dt.datetime:
        """A local wall time as a UTC instant; fold=0 for non-existent or repeated times."""
        return dt.datetime.combine(day, time.replace(fold=0), tzinfo=self.zone).astimezone(_UTC)


# -- helpers ------------------------------------------------------------------------------------


def _zone(name: Any, field: str) -> zoneinfo.ZoneInfo:
    """Load a zone, turning zoneinfo's assorted exceptions into one clear CalendarError."""
    if not isinstance(name, str) or not name:
        raise CalendarError(f"{field}: expected an IANA time zone name, got {name!r}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise CalendarError(f"{field}: unknown time zone {name!r}") from error


def _utc(at: dt.datetime, name: str) -> dt.datetime:
    """An aware datetime as UTC; naive ones are refused rather than guessed."""
    if not isinstance(at, dt.datetime):
        raise TypeError(f"{name} must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.tzinfo.utcoffset(at) is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(_UTC)


def _day_index(name: str) -> int | None:
    name = name.strip().lower()
    if name in _DAY_NAMES:
        return _DAY_NAMES.index(name)
    if name in _FULL_DAY_NAMES:
        return _FULL_DAY_NAMES.index(name)
    return None


def _parse_days(key: Any) -> list[int]:
    """Weekday indexes of an ``hours`` key: a day, a range (may wrap: fri-mon) or ``daily``."""
    problem = (
        f"hours: {key!r} is not a day or day range (use mon..sun, a range such as 'mon-fri', "
        "or 'daily')"
    )
    if not isinstance(key, str):
        raise CalendarError(problem)
    if key.strip().lower() == "daily":
        return list(range(7))
    parts = key.split("-")
    if len(parts) == 1:
        index = _day_index(parts[0])
        if index is None:
            raise CalendarError(problem)
        return [index]
    if len(parts) == 2:
        first, last = _day_index(parts[0]), _day_index(parts[1])
        if first is None or last is None:
            raise CalendarError(problem)
        return [(first + offset) % 7 for offset in range((last - first) % 7 + 1)]
    raise CalendarError(problem)


def _interval_texts(value: Any, field: str) -> list[str]:
    """The interval strings of an ``hours`` value: one string, a list, or nothing (closed)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        for item in value:
            if not isinstance(item, str):
                raise CalendarError(f"{field}: {item!r} is not HH:MM-HH:MM")
        return list(value)
    raise CalendarError(f"{field}: {value!r} is not HH:MM-HH:MM or a list of them")


def _parse_interval(text: str, field: str) -> Interval:
    """``"HH:MM-HH:MM"`` to a pair of times; "24:00" only as an end, stored as ``time(0)``."""
    match = _INTERVAL_RE.match(text)
    if match is None:
        raise CalendarError(f"{field}: {text!r} is not HH:MM-HH:MM")
    start_h, start_m, end_h, end_m = (int(group) for group in match.groups())
    start = _parse_time(start_h, start_m, field, text, end=False)
    end = _parse_time(end_h, end_m, field, text, end=True)
    return start, end


def _parse_time(hours: int, minutes: int, field: str, text: str, *, end: bool) -> dt.time:
    if (hours, minutes) == (24, 0):
        if not end:
            raise CalendarError(f"{field}: {text!r} starts at 24:00; use 00:00")
        return _MIDNIGHT
    if hours > 23 or minutes > 59:
        raise CalendarError(f"{field}: {text!r} has an invalid time {hours:02d}:{minutes:02d}")
    return dt.time(hours, minutes)


def _parse_holidays(value: Any) -> frozenset[dt.date]:
    if value is None:
        return frozenset()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise CalendarError(f"holidays: expected a list of YYYY-MM-DD dates, got {value!r}")
    days = set()
    for index, item in enumerate(value):
        if isinstance(item, dt.datetime):
            raise CalendarError(f"holidays[{index}]: {item!r} is a datetime, not a date")
        if isinstance(item, dt.date):
            days.add(item)
            continue
        if not isinstance(item, str) or not _DATE_RE.match(item.strip()):
            raise CalendarError(f"holidays[{index}]: {item!r} is not a date (YYYY-MM-DD)")
        try:
            days.add(dt.date.fromisoformat(item.strip()))
        except ValueError as error:
            raise CalendarError(f"holidays[{index}]: {item!r} is not a valid date") from error
    return frozenset(days)


def _fmt(start: dt.time, end: dt.time) -> str:
    stop = "24:00" if end == _MIDNIGHT else end.strftime("%H:%M")
    return f"{start.strftime('%H:%M')}-{stop}"


def _minutes(time: dt.time) -> float:
    return time.hour * 60 + time.minute + (time.second + time.microsecond / 1e6) / 60


def _check_overlaps(week: list[list[tuple[dt.time, dt.time, str]]]) -> None:
    """Refuse overlapping intervals, within a day and from an overnight spill into the next day.

    Wall-clock minutes on a two-day axis are enough: overlap is a property of the spec, not of
    any particular week, so DST is irrelevant here. Touching intervals are fine (shift changes).
    """
    for index, day in enumerate(week):
        spans = []
        for start, end, label in day:
            low = _minutes(start)
            high = _minutes(end) + (0 if end > start else 24 * 60)
            spans.append((low, high, label))
        # The previous day's overnight intervals, shifted onto this day's axis.
        for start, end, label in week[index - 1]:
            if end <= start and end != _MIDNIGHT:
                spans.append((-24 * 60 + _minutes(start), _minutes(end), label))
        spans.sort()
        for first, second in itertools.pairwise(spans):
            (_, first_high, first_label), (second_low, _, second_label) = first, second
            if second_low < first_high:
                raise CalendarError(f"{second_label} overlaps {first_label} on {_DAY_NAMES[index]}")
