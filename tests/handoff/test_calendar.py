"""Business hours: weekends, holidays, zones, shifts, DST, and add/between as inverses."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from handoff.calendar import BusinessCalendar, CalendarError

MADRID = ZoneInfo("Europe/Madrid")
MEXICO = ZoneInfo("America/Mexico_City")
UTC = dt.UTC
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: dt.tzinfo = MADRID
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


def wall(moment: dt.datetime) -> tuple[int, int, int, int, int]:
    """The local wall time, to check what a person at the desk would read on the clock."""
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute)


def utc(moment: dt.datetime) -> dt.datetime:
    """Python compares and subtracts datetimes sharing a tzinfo by wall clock: use UTC for that."""
    return moment.astimezone(UTC)


def calendar(hours: dict, timezone: str = "Europe/Madrid", **extra) -> BusinessCalendar:
    return BusinessCalendar.from_spec({"timezone": timezone, "hours": hours, **extra})


OFFICE = calendar({"mon-fri": "09:00-18:00", "sat": [], "sun": None})

# 2026-03-06 is a Friday; 2026-12-25 (Christmas) is a Friday; Madrid changes to summer time on
# Sunday 2026-03-29 (02:00 -> 03:00) and back on Sunday 2026-10-25 (03:00 -> 02:00).


# -- weekends ------------------------------------------------------------------------------------


def test_friday_afternoon_plus_two_hours_is_monday_ten() -> None:
    result = OFFICE.add(at(2026, 3, 6, 17), 2 * H)
    assert wall(result) == (2026, 3, 9, 10, 0)
    assert result.tzinfo is MADRID


def test_a_duration_that_ends_at_closing_time_ends_at_closing_time() -> None:
    assert wall(OFFICE.add(at(2026, 3, 6, 17), H)) == (2026, 3, 6, 18, 0)
    assert OFFICE.between(at(2026, 3, 6, 17), at(2026, 3, 6, 18)) == H


def test_a_weekend_start_counts_from_monday_opening() -> None:
    assert wall(OFFICE.add(at(2026, 3, 7, 12), H)) == (2026, 3, 9, 10, 0)
    assert OFFICE.between(at(2026, 3, 6, 12), at(2026, 3, 9, 12)) == 6 * H + 3 * H


def test_is_open_is_half_open_at_closing_time() -> None:
    assert OFFICE.is_open(at(2026, 3, 6, 9))
    assert OFFICE.is_open(at(2026, 3, 6, 17, 59))
    assert not OFFICE.is_open(at(2026, 3, 6, 18))
    assert not OFFICE.is_open(at(2026, 3, 6, 8, 59))
    assert not OFFICE.is_open(at(2026, 3, 7, 12))
    assert not OFFICE.is_open(at(2026, 3, 8, 12))


# -- holidays ------------------------------------------------------------------------------------


def test_christmas_on_a_friday_moves_the_deadline_to_monday() -> None:
    office = calendar({"mon-fri": "09:00-18:00"}, holidays=["2026-12-25"])
    assert not office.is_open(at(2026, 12, 25, 10))
    assert wall(office.add(at(2026, 12, 24, 17), 2 * H)) == (2026, 12, 28, 10, 0)
    assert wall(office.next_open(at(2026, 12, 24, 18))) == (2026, 12, 28, 9, 0)
    assert office.between(at(2026, 12, 24, 9), at(2026, 12, 29, 9)) == 18 * H


def test_consecutive_holidays_are_all_skipped() -> None:
    office = calendar(
        {"mon-fri": "09:00-18:00"}, holidays=["2026-12-24", "2026-12-25", "2026-12-28"]
    )
    assert wall(office.add(at(2026, 12, 23, 17), 2 * H)) == (2026, 12, 29, 10, 0)
    assert office.between(at(2026, 12, 23, 0), at(2026, 12, 30, 0)) == 18 * H


def test_holidays_as_yaml_reads_them_are_dates() -> None:
    office = calendar({"mon-fri": "09:00-18:00"}, holidays=[dt.date(2026, 12, 25)])
    assert office.holidays == frozenset({dt.date(2026, 12, 25)})
    assert not office.is_open(at(2026, 12, 25, 10))


def test_an_overnight_shift_started_the_day_before_runs_into_a_holiday() -> None:
    nights = calendar({"daily": "22:00-06:00"}, holidays=["2026-12-25"])
    assert nights.is_open(at(2026, 12, 25, 3))  # started on the 24th, a normal day
    assert not nights.is_open(at(2026, 12, 25, 23))  # would start on the holiday
    assert not nights.is_open(at(2026, 12, 26, 3))  # ...so its morning part does not run either
    assert nights.is_open(at(2026, 12, 26, 23))
    assert wall(nights.add(at(2026, 12, 25, 5), 2 * H)) == (2026, 12, 26, 23, 0)


def test_next_open_finds_an_opening_more_than_a_year_away() -> None:
    mondays_2026 = [dt.date(2026, 1, 5) + dt.timedelta(weeks=n) for n in range(52)]
    rare = calendar({"mon": "09:00-10:00"}, holidays=[d.isoformat() for d in mondays_2026])
    assert wall(rare.next_open(at(2026, 1, 1))) == (2027, 1, 4, 9, 0)


# -- time zones ----------------------------------------------------------------------------------


def test_an_input_in_utc_gives_an_answer_in_the_calendars_zone() -> None:
    mexico = calendar({"mon-fri": "09:00-18:00"}, timezone="America/Mexico_City")
    opening = mexico.next_open(at(2026, 3, 6, 14, tz=UTC))  # 08:00 in Mexico City
    assert opening.tzinfo is MEXICO
    assert wall(opening) == (2026, 3, 6, 9, 0)
    assert opening == at(2026, 3, 6, 15, tz=UTC)

    deadline = mexico.add(at(2026, 3, 6, 23, tz=UTC), 2 * H)  # Friday 17:00 local
    assert deadline.tzinfo is MEXICO
    assert wall(deadline) == (2026, 3, 9, 10, 0)
    assert deadline == at(2026, 3, 9, 16, tz=UTC)


def test_the_same_instant_in_any_zone_gives_the_same_answer() -> None:
    start = at(2026, 3, 6, 17)
    tokyo = start.astimezone(ZoneInfo("Asia/Tokyo"))
    assert OFFICE.add(tokyo, 2 * H) == OFFICE.add(start, 2 * H)
    assert OFFICE.add(tokyo, 2 * H).tzinfo is MADRID
    assert OFFICE.is_open(at(2026, 3, 6, 8, tz=UTC))  # 09:00 in Madrid (winter, UTC+1)
    assert not OFFICE.is_open(at(2026, 3, 6, 17, tz=UTC))  # 18:00 in Madrid


def test_intervals_are_clipped_and_in_the_calendars_zone() -> None:
    found = list(OFFICE.intervals(at(2026, 3, 6, 10, tz=UTC), at(2026, 3, 9, 12)))
    assert [(wall(a), wall(b)) for a, b in found] == [
        ((2026, 3, 6, 11, 0), (2026, 3, 6, 18, 0)),
        ((2026, 3, 9, 9, 0), (2026, 3, 9, 12, 0)),
    ]
    assert all(a.tzinfo is MADRID and b.tzinfo is MADRID for a, b in found)
    assert list(OFFICE.intervals(at(2026, 3, 9, 12), at(2026, 3, 9, 12))) == []
    assert list(OFFICE.intervals(at(2026, 3, 7), at(2026, 3, 8))) == []


# -- shifts --------------------------------------------------------------------------------------


def test_adjacent_shifts_are_one_open_period() -> None:
    shifts = calendar({"daily": ["07:00-15:00", "15:00-23:00"]})
    assert shifts.is_open(at(2026, 3, 6, 15))
    assert shifts.next_open(at(2026, 3, 6, 15)) == at(2026, 3, 6, 15)
    assert wall(shifts.add(at(2026, 3, 6, 14), 2 * H)) == (2026, 3, 6, 16, 0)
    found = list(shifts.intervals(at(2026, 3, 6), at(2026, 3, 7)))
    assert [(wall(a), wall(b)) for a, b in found] == [((2026, 3, 6, 7, 0), (2026, 3, 6, 23, 0))]


def test_a_gap_between_shifts_is_closed_time() -> None:
    split = calendar({"mon-fri": ["09:00-13:00", "14:00-18:00"]})
    assert not split.is_open(at(2026, 3, 6, 13, 30))
    assert wall(split.next_open(at(2026, 3, 6, 13, 30))) == (2026, 3, 6, 14, 0)
    assert wall(split.add(at(2026, 3, 6, 12, 30), H)) == (2026, 3, 6, 14, 30)
    assert split.between(at(2026, 3, 6, 9), at(2026, 3, 6, 18)) == 8 * H
    assert len(list(split.intervals(at(2026, 3, 6), at(2026, 3, 7)))) == 2


def test_an_overnight_shift_crosses_midnight() -> None:
    nights = calendar({"daily": "22:00-06:00"})
    assert nights.is_open(at(2026, 3, 6, 23)) and nights.is_open(at(2026, 3, 7, 5))
    assert not nights.is_open(at(2026, 3, 7, 6))
    assert wall(nights.add(at(2026, 3, 6, 23), 3 * H)) == (2026, 3, 7, 2, 0)
    assert nights.between(at(2026, 3, 6, 20), at(2026, 3, 7, 8)) == 8 * H
    found = list(nights.intervals(at(2026, 3, 6, 12), at(2026, 3, 7, 12)))
    assert [(wall(a), wall(b)) for a, b in found] == [((2026, 3, 6, 22, 0), (2026, 3, 7, 6, 0))]


def test_fridays_night_shift_runs_into_saturday_and_sunday_stays_closed() -> None:
    nights = calendar({"mon-fri": "22:00-06:00"})
    assert nights.is_open(at(2026, 3, 7, 5))  # Saturday morning, Friday's shift
    assert not nights.is_open(at(2026, 3, 7, 7))
    assert not nights.is_open(at(2026, 3, 8, 23))  # no shift starts on Sunday
    assert not nights.is_open(at(2026, 3, 9, 3))  # ...so Monday morning is closed
    assert wall(nights.add(at(2026, 3, 7, 5), 2 * H)) == (2026, 3, 9, 23, 0)


def test_an_overnight_shift_across_the_weekend_with_a_wrapping_day_range() -> None:
    nights = calendar({"sun-thu": "22:00-06:00"})
    assert wall(nights.add(at(2026, 3, 6, 5), 2 * H)) == (2026, 3, 8, 23, 0)  # Fri -> Sun night
    assert nights.between(at(2026, 3, 6, 0), at(2026, 3, 9, 0)) == 6 * H + 2 * H


def test_day_and_night_shifts_that_touch_are_always_open() -> None:
    round_the_clock = calendar({"daily": ["06:00-22:00", "22:00-06:00"]})
    found = list(round_the_clock.intervals(at(2026, 3, 2), at(2026, 3, 16)))
    assert found == [(at(2026, 3, 2), at(2026, 3, 16))]
    assert round_the_clock.add(at(2026, 3, 2, 21), 3 * H) == at(2026, 3, 3)


# -- daylight saving (Europe/Madrid) -------------------------------------------------------------


def test_a_day_shift_on_the_spring_change_is_still_nine_hours() -> None:
    days = calendar({"daily": "09:00-18:00"})
    assert days.between(at(2026, 3, 29), at(2026, 3, 30)) == 9 * H
    end = days.add(at(2026, 3, 29, 9), 9 * H)
    assert wall(end) == (2026, 3, 29, 18, 0) and end.utcoffset() == 2 * H


def test_a_night_interval_loses_an_hour_in_spring_and_gains_one_in_autumn() -> None:
    early = calendar({"daily": "00:00-04:00"})
    assert early.between(at(2026, 3, 29), at(2026, 3, 30)) == 3 * H
    assert early.between(at(2026, 10, 25), at(2026, 10, 26)) == 5 * H
    assert early.between(at(2026, 3, 28), at(2026, 3, 29)) == 4 * H

    spring = early.add(at(2026, 3, 29), 2 * H)  # 02:00 does not exist: 03:00 summer time
    assert wall(spring) == (2026, 3, 29, 3, 0) and spring.utcoffset() == 2 * H

    first = early.add(at(2026, 10, 25), 2 * H)  # 02:00 summer time, the first one
    second = early.add(at(2026, 10, 25), 3 * H)  # 02:00 winter time, an hour later
    assert wall(first) == wall(second) == (2026, 10, 25, 2, 0)
    assert (first.fold, first.utcoffset()) == (0, 2 * H)
    assert (second.fold, second.utcoffset()) == (1, H)
    assert early.add(at(2026, 10, 25), 5 * H) == at(2026, 10, 25, 4)


def test_an_overnight_shift_on_the_change_nights() -> None:
    nights = calendar({"daily": "22:00-06:00"})
    assert nights.between(at(2026, 3, 28, 12), at(2026, 3, 29, 12)) == 7 * H
    assert nights.between(at(2026, 10, 24, 12), at(2026, 10, 25, 12)) == 9 * H


def test_a_nonexistent_opening_time_uses_the_offset_before_the_jump() -> None:
    late = calendar({"daily": "02:30-05:00"})
    opening = late.next_open(at(2026, 3, 29))
    assert wall(opening) == (2026, 3, 29, 3, 30)  # 02:30 at UTC+1 is 03:30 summer time
    assert late.between(at(2026, 3, 29), at(2026, 3, 30)) == dt.timedelta(hours=1, minutes=30)


def test_an_ambiguous_opening_time_is_its_first_occurrence() -> None:
    late = calendar({"daily": "02:30-05:00"})
    opening = late.next_open(at(2026, 10, 25))
    assert wall(opening) == (2026, 10, 25, 2, 30) and opening.utcoffset() == 2 * H
    assert late.between(at(2026, 10, 25), at(2026, 10, 26)) == dt.timedelta(hours=3, minutes=30)


# -- add and between are inverses ----------------------------------------------------------------

INVERSE_CALENDARS = {
    "office with holidays": calendar(
        {"mon-fri": "09:00-18:00", "sat": "10:00-14:00"},
        holidays=["2026-03-27", "2026-03-30", "2026-10-23", "2026-12-25"],
    ),
    "shifts and nights": calendar(
        {
            "mon-fri": ["07:00-15:00", "15:00-21:00"],
            "fri": "22:00-06:00",
            "sun": ["00:00-04:00", "10:00-12:00"],
        },
        holidays=["2026-10-23"],
    ),
    "mexico city": calendar(
        {"mon-thu": "08:30-17:30", "fri": "08:30-24:00"}, timezone="America/Mexico_City"
    ),
}
DURATIONS = [
    dt.timedelta(0),
    dt.timedelta(seconds=1),
    M,
    59 * M,
    3 * H,
    9 * H,
    dt.timedelta(hours=27, minutes=13),
    dt.timedelta(days=5, seconds=7),
]


def starts_around(center: dt.datetime) -> list[dt.datetime]:
    first = center - dt.timedelta(days=6)
    return [first + n * dt.timedelta(minutes=97) for n in range(12 * 24 * 60 // 97)]


@pytest.mark.parametrize("name", list(INVERSE_CALENDARS))
@pytest.mark.parametrize(
    "center", [at(2026, 3, 29), at(2026, 10, 25), at(2026, 12, 25, tz=UTC)], ids=str
)
def test_between_undoes_add(name: str, center: dt.datetime) -> None:
    cal = INVERSE_CALENDARS[name]
    for start in starts_around(center):
        previous = None
        for duration in DURATIONS:
            end = cal.add(start, duration)
            assert utc(end) >= utc(start)
            assert cal.between(start, end) == duration, (start, duration, end)
            if previous is not None:
                assert utc(end) >= previous
            previous = utc(end)
        assert utc(cal.add(start, dt.timedelta(0))) == utc(cal.next_open(start))


@pytest.mark.parametrize("name", list(INVERSE_CALENDARS))
def test_add_undoes_between_when_the_end_is_open(name: str) -> None:
    cal = INVERSE_CALENDARS[name]
    start = at(2026, 3, 20, 11, 7)
    tick = dt.timedelta(microseconds=1)
    for n in range(1, 400):
        end = start + n * dt.timedelta(minutes=71)  # wall-clock steps: some land in DST gaps
        elapsed = cal.between(start, end)
        pieces = [(utc(a), utc(b)) for a, b in cal.intervals(start, end)]
        assert elapsed == sum((b - a for a, b in pieces), dt.timedelta(0)), end
        reached = cal.add(start, elapsed)
        if cal.is_open(end - tick):  # open time was still accumulating just before `end`
            assert utc(reached) == utc(end)
        elif elapsed:  # `end` is closed: the last closing time before it
            assert utc(reached) <= utc(end) and not cal.is_open(reached)


def test_adding_weeks_walks_days_not_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    original = BusinessCalendar._day_pieces

    def counting(self: BusinessCalendar, day: dt.date) -> list:
        nonlocal calls
        calls += 1
        return original(self, day)

    monkeypatch.setattr(BusinessCalendar, "_day_pieces", counting)
    six_weeks = 6 * 5 * 9 * H
    end = OFFICE.add(at(2026, 3, 2, 9), six_weeks)
    assert wall(end) == (2026, 4, 10, 18, 0)
    assert calls < 60


# -- next_open -----------------------------------------------------------------------------------


def test_next_open_is_the_instant_itself_when_open() -> None:
    moment = at(2026, 3, 6, 10, 17, tz=UTC)
    opening = OFFICE.next_open(moment)
    assert opening == moment and opening.tzinfo is MADRID


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 3, 6, 7), (2026, 3, 6, 9, 0)),  # before opening
        (at(2026, 3, 5, 18), (2026, 3, 6, 9, 0)),  # at closing time
        (at(2026, 3, 6, 20), (2026, 3, 9, 9, 0)),  # Friday evening
        (at(2026, 3, 8, 12), (2026, 3, 9, 9, 0)),  # Sunday
    ],
)
def test_next_open_when_closed(moment: dt.datetime, expected: tuple) -> None:
    assert wall(OFFICE.next_open(moment)) == expected


def test_a_calendar_that_never_opens() -> None:
    closed = calendar({"mon-fri": []})
    with pytest.raises(CalendarError, match="not open in the 400 days"):
        closed.next_open(at(2026, 3, 6))
    with pytest.raises(CalendarError):
        closed.add(at(2026, 3, 6), H)
    assert not closed.is_open(at(2026, 3, 6, 10))
    assert closed.between(at(2026, 1, 1), at(2027, 1, 1)) == dt.timedelta(0)
    assert list(closed.intervals(at(2026, 1, 1), at(2026, 2, 1))) == []


# -- "daily", "24:00" and a calendar open around the clock -----------------------------------------


def test_daily_midnight_to_24_is_always_open() -> None:
    always = calendar({"daily": "00:00-24:00"})
    assert always.weekly == (((dt.time(0), dt.time(0)),),) * 7
    assert all(always.is_open(at(2026, 3, 2) + hour * H) for hour in range(7 * 24))


def test_24_00_ends_at_the_next_midnight() -> None:
    evenings = calendar({"Monday-Friday": "18:00-24:00"})
    assert evenings.weekly[0] == ((dt.time(18), dt.time(0)),)
    assert evenings.is_open(at(2026, 3, 6, 23, 59))
    assert not evenings.is_open(at(2026, 3, 7, 0))
    assert evenings.add(at(2026, 3, 6, 23), H) == at(2026, 3, 7)
    assert wall(evenings.add(at(2026, 3, 6, 23), 2 * H)) == (2026, 3, 9, 19, 0)


def test_time_max_is_another_spelling_of_24_00() -> None:
    week = (((dt.time(18), dt.time.max),),) * 7
    assert BusinessCalendar("UTC", week).weekly[0] == ((dt.time(18), dt.time(0)),)


def test_always_open_counts_real_time_across_dst() -> None:
    always = calendar({"daily": "00:00-24:00"})
    assert always.is_open(at(2026, 3, 29, 2, 30))
    assert always.next_open(at(2026, 3, 29, 1)) == at(2026, 3, 29, 1)
    assert wall(always.add(at(2026, 3, 29), 4 * H)) == (2026, 3, 29, 5, 0)
    assert always.between(at(2026, 3, 1), at(2026, 4, 1)) == 31 * 24 * H - H
    assert (
        calendar({"daily": "00:00-24:00"}, "UTC").add(at(2026, 1, 1, tz=UTC), 1000 * H)
        == at(2026, 1, 1, tz=UTC) + 1000 * H
    )
    found = list(always.intervals(at(2026, 3, 1), at(2026, 4, 1)))
    assert found == [(at(2026, 3, 1), at(2026, 4, 1))]


# -- spec errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"timezone": "Europe/Madird", "hours": {}}, "timezone: unknown time zone 'Europe/Madird'"),
        ({"timezone": "", "hours": {}}, "timezone: expected an IANA"),
        ({"hours": {}}, "timezone: required"),
        ({"timezone": "UTC"}, "hours: required"),
        ({"timezone": "UTC", "hours": ["mon"]}, "hours: expected a mapping"),
        (
            {"timezone": "UTC", "hours": {"mon-fri": "9-18"}},
            "hours.mon-fri: '9-18' is not HH:MM-HH:MM",
        ),
        ({"timezone": "UTC", "hours": {"mon": 900}}, "hours.mon: 900 is not HH:MM-HH:MM"),
        ({"timezone": "UTC", "hours": {"mon": ["09:00-12:00", 13]}}, "hours.mon: 13 is not"),
        ({"timezone": "UTC", "hours": {"mo-fr": "09:00-18:00"}}, "hours: 'mo-fr' is not a day"),
        (
            {"timezone": "UTC", "hours": {"mon-tue-wed": "09:00-18:00"}},
            "'mon-tue-wed' is not a day",
        ),
        ({"timezone": "UTC", "hours": {"weekdays": "09:00-18:00"}}, "'weekdays' is not a day"),
        (
            {"timezone": "UTC", "hours": {"sat": "09:00-25:00"}},
            "hours.sat: '09:00-25:00' has an invalid time 25:00",
        ),
        ({"timezone": "UTC", "hours": {"sat": "09:60-12:00"}}, "has an invalid time 09:60"),
        ({"timezone": "UTC", "hours": {"sat": "24:00-06:00"}}, "starts at 24:00"),
        (
            {"timezone": "UTC", "hours": {"mon": ["09:00-12:00", "11:00-13:00"]}},
            "hours.mon: '11:00-13:00' overlaps hours.mon: '09:00-12:00' on mon",
        ),
        (
            {"timezone": "UTC", "hours": {"mon-fri": "09:00-18:00", "wed": "17:00-19:00"}},
            "hours.wed: '17:00-19:00' overlaps hours.mon-fri: '09:00-18:00' on wed",
        ),
        (
            {"timezone": "UTC", "hours": {"fri": "22:00-06:00", "sat": "05:00-12:00"}},
            "hours.sat: '05:00-12:00' overlaps hours.fri: '22:00-06:00' on sat",
        ),
        (
            {"timezone": "UTC", "hours": {"sun": "20:00-08:00", "mon": "07:00-09:00"}},
            "hours.mon: '07:00-09:00' overlaps hours.sun: '20:00-08:00' on mon",
        ),
        (
            {"timezone": "UTC", "hours": {}, "holidays": ["2026-13-01"]},
            r"holidays\[0\]: '2026-13-01'",
        ),
        (
            {"timezone": "UTC", "hours": {}, "holidays": ["2026-01-01", "25/12/2026"]},
            r"holidays\[1\]: '25/12/2026' is not a date",
        ),
        (
            {"timezone": "UTC", "hours": {}, "holidays": [dt.datetime(2026, 12, 25)]},
            "is a datetime",
        ),
        ({"timezone": "UTC", "hours": {}, "holidays": "2026-12-25"}, "holidays: expected a list"),
        ({"timezone": "UTC", "hours": {}, "holiday": ["2026-12-25"]}, "unknown field.*'holiday'"),
    ],
)
def test_spec_errors_name_the_field_and_value(spec: dict, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar.from_spec(spec)


def test_calendar_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="calendar spec: expected a mapping, got list"):
        BusinessCalendar.from_spec(["timezone", "UTC"])  # type: ignore[arg-type]


def test_touching_intervals_and_repeated_days_are_accepted() -> None:
    cal = calendar({"daily": "10:00-12:00", "mon": "12:00-13:00", "sun": "20:00-10:00"})
    assert cal.weekly[0] == ((dt.time(10), dt.time(12)), (dt.time(12), dt.time(13)))
    assert cal.between(at(2026, 3, 8, 12), at(2026, 3, 9, 14)) == 14 * H + 3 * H


def test_hand_built_calendars_are_validated_too() -> None:
    with pytest.raises(CalendarError, match="expected 7 entries"):
        BusinessCalendar("UTC", ((),) * 6)
    with pytest.raises(CalendarError, match="unknown time zone"):
        BusinessCalendar("Mars/Olympus", ((),) * 7)
    with pytest.raises(CalendarError, match="overlaps"):
        BusinessCalendar("UTC", (((dt.time(9), dt.time(12)), (dt.time(11), dt.time(13))),) * 7)
    with pytest.raises(CalendarError, match="tzinfo"):
        BusinessCalendar("UTC", (((dt.time(9, tzinfo=UTC), dt.time(12)),),) * 7)


# -- misuse --------------------------------------------------------------------------------------


def test_naive_datetimes_and_negative_durations_are_refused() -> None:
    naive = dt.datetime(2026, 3, 6, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.is_open(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.next_open(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.add(naive, H)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.between(at(2026, 3, 6), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.intervals(naive, at(2026, 3, 7))  # at the call, not on iteration
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add(at(2026, 3, 6), -H)


def test_between_is_zero_when_the_end_is_not_after_the_start() -> None:
    assert OFFICE.between(at(2026, 3, 6, 12), at(2026, 3, 6, 10)) == dt.timedelta(0)
    assert OFFICE.between(at(2026, 3, 6, 12), at(2026, 3, 6, 12)) == dt.timedelta(0)
