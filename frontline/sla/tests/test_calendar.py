"""Business-time arithmetic (calendar.py): properties with hypothesis, fixed cases by hand.

Fixed cases are written in local wall time and checked in UTC too, so a wrong offset across a
DST change cannot hide behind a local-time comparison."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from frontline.sla.calendar import (
    BusinessCalendar,
    CalendarSpec,
    business_add,
    business_between,
    compile_calendar,
    is_open,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = 3600
WEEKDAYS = range(5)


def weekdays(*intervals, tz="UTC", days=WEEKDAYS, **kwargs) -> BusinessCalendar:
    return compile_calendar(
        CalendarSpec.weekly({d: list(intervals) for d in days}, time_zone=tz, **kwargs)
    )


def always() -> BusinessCalendar:
    return compile_calendar(CalendarSpec(is_24x7=True))


def local(tz, year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


# --- fixed cases -----------------------------------------------------------------------------


def test_berlin_weekend_with_the_spring_dst_change():
    # Fri 27 Mar 2026 17:00 CET: 1 h left on Friday; clocks go forward on Sun 29 Mar; the
    # second hour is Monday 08:00-09:00 CEST (UTC+2).
    cal = weekdays(("08:00", "18:00"), tz="Europe/Berlin")
    due = business_add(local(BERLIN, 2026, 3, 27, 17), 2 * H, cal)
    assert due == local(BERLIN, 2026, 3, 30, 9)
    assert due == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert business_between(local(BERLIN, 2026, 3, 27, 17), due, cal) == 2 * H


def test_berlin_weekend_with_the_autumn_dst_change():
    cal = weekdays(("08:00", "18:00"), tz="Europe/Berlin")
    due = business_add(local(BERLIN, 2026, 10, 23, 17), 2 * H, cal)
    assert due == datetime(2026, 10, 26, 8, tzinfo=UTC)  # Mon 09:00 CET (UTC+1)


def test_berlin_night_hours_on_the_23_and_25_hour_days():
    # Open every day 00:00-06:00 local. On Sun 29 Mar 2026 02:00-03:00 does not exist, so
    # that day's opening is 5 real hours; on Sun 25 Oct 02:00-03:00 happens twice: 7 hours.
    cal = weekdays(("00:00", "06:00"), tz="Europe/Berlin", days=range(7))
    spring = local(BERLIN, 2026, 3, 29, 0)
    assert business_between(spring, local(BERLIN, 2026, 3, 29, 6), cal) == 5 * H
    assert business_add(spring, 6 * H, cal) == local(BERLIN, 2026, 3, 30, 1)
    autumn = local(BERLIN, 2026, 10, 25, 0)
    assert business_between(autumn, local(BERLIN, 2026, 10, 25, 6), cal) == 7 * H
    assert business_add(autumn, 7 * H, cal) == local(BERLIN, 2026, 10, 25, 6)
    assert business_add(autumn, 7 * H, cal) == datetime(2026, 10, 25, 5, tzinfo=UTC)


def test_new_york_weekends_across_both_dst_changes():
    cal = weekdays(("09:00", "17:00"), tz="America/New_York")
    # Sun 8 Mar 2026: EST (UTC-5) -> EDT (UTC-4).
    due = business_add(local(NEW_YORK, 2026, 3, 6, 16), 2 * H, cal)
    assert due == datetime(2026, 3, 9, 14, tzinfo=UTC)  # Mon 10:00 EDT
    # Sun 1 Nov 2026: EDT -> EST.
    due = business_add(local(NEW_YORK, 2026, 10, 30, 16), 2 * H, cal)
    assert due == datetime(2026, 11, 2, 15, tzinfo=UTC)  # Mon 10:00 EST


def test_24x7_counts_real_hours_across_dst():
    cal = always()
    start = local(NEW_YORK, 2026, 10, 31, 12)
    assert business_between(start, local(NEW_YORK, 2026, 11, 1, 12), cal) == 25 * H
    assert business_add(local(BERLIN, 2026, 3, 28, 12), 24 * H, cal) == local(
        BERLIN, 2026, 3, 29, 13
    )
    # Open all day every day (not flagged 24x7) gives the same real-time answer.
    daily = weekdays(("00:00", "24:00"), tz="America/New_York", days=range(7))
    day_start = local(NEW_YORK, 2026, 3, 8, 0)
    assert business_between(day_start, local(NEW_YORK, 2026, 3, 9, 0), daily) == 23 * H


def test_public_holidays_from_the_holidays_package():
    # Good Friday 3 Apr and Easter Monday 6 Apr 2026 are German public holidays.
    cal = weekdays(("08:00", "18:00"), tz="Europe/Berlin", holiday_country="DE")
    due = business_add(local(BERLIN, 2026, 4, 2, 17), 2 * H, cal)
    assert due == local(BERLIN, 2026, 4, 7, 9)
    # Thanksgiving, Thu 26 Nov 2026, in New York; the Friday after is a working day.
    us = weekdays(("09:00", "17:00"), tz="America/New_York", holiday_country="US")
    assert business_add(local(NEW_YORK, 2026, 11, 25, 16), 2 * H, us) == local(
        NEW_YORK, 2026, 11, 27, 10
    )


def test_subdivision_holidays():
    # Epiphany (6 Jan) is a holiday in Bavaria, not in Berlin.
    bavaria = weekdays(("08:00", "18:00"), tz="Europe/Berlin", holiday_country="DE",
                       holiday_subdivision="BY")  # fmt: skip
    berlin = weekdays(("08:00", "18:00"), tz="Europe/Berlin", holiday_country="DE",
                      holiday_subdivision="BE")  # fmt: skip
    start = local(BERLIN, 2027, 1, 5, 17)  # Tuesday
    assert business_add(start, 2 * H, bavaria) == local(BERLIN, 2027, 1, 7, 9)
    assert business_add(start, 2 * H, berlin) == local(BERLIN, 2027, 1, 6, 9)


def test_custom_holiday():
    cal = weekdays(("08:00", "18:00"), holidays=[date(2026, 6, 10)])
    start = datetime(2026, 6, 9, 17, tzinfo=UTC)  # Tuesday
    assert business_add(start, 2 * H, cal) == datetime(2026, 6, 11, 9, tzinfo=UTC)
    assert business_between(start, datetime(2026, 6, 11, 9, tzinfo=UTC), cal) == 2 * H


def test_weekend():
    cal = weekdays(("08:00", "18:00"))
    friday = datetime(2026, 6, 12, 17, 30, tzinfo=UTC)
    assert business_add(friday, H, cal) == datetime(2026, 6, 15, 8, 30, tzinfo=UTC)
    saturday = datetime(2026, 6, 13, 10, tzinfo=UTC)
    assert business_add(saturday, 30 * 60, cal) == datetime(2026, 6, 15, 8, 30, tzinfo=UTC)
    assert business_between(friday, datetime(2026, 6, 15, 8, 30, tzinfo=UTC), cal) == H
    assert business_between(saturday, datetime(2026, 6, 14, 23, tzinfo=UTC), cal) == 0


def test_multi_interval_day():
    cal = weekdays(("08:00", "12:00"), ("13:00", "17:00"))
    monday = datetime(2026, 6, 8, tzinfo=UTC)
    assert business_add(monday + timedelta(hours=11), 2 * H, cal) == monday + timedelta(hours=14)
    assert business_add(monday + timedelta(hours=12, minutes=30), H, cal) == monday + timedelta(
        hours=14
    )
    assert (
        business_between(monday + timedelta(hours=11.5), monday + timedelta(hours=13.5), cal) == H
    )
    # The closing instant is a valid due time: 16:00 + 1 h is 17:00 today, not 08:00 tomorrow.
    assert business_add(monday + timedelta(hours=16), H, cal) == monday + timedelta(hours=17)
    assert business_add(monday + timedelta(hours=16), 2 * H, cal) == monday + timedelta(
        days=1, hours=9
    )


def test_overlapping_intervals_are_merged_and_adding_zero_is_the_start():
    cal = weekdays(("08:00", "12:00"), ("11:00", "13:00"))
    monday = datetime(2026, 6, 8, tzinfo=UTC)
    assert business_between(monday, monday + timedelta(days=1), cal) == 5 * H
    assert business_add(monday + timedelta(hours=20), 0, cal) == monday + timedelta(hours=20)


def test_year_boundaries_and_far_dates():
    cal = weekdays(("08:00", "18:00"))
    new_year_eve = datetime(2026, 12, 31, 17, tzinfo=UTC)  # Thursday
    assert business_add(new_year_eve, 2 * H, cal) == datetime(2027, 1, 1, 9, tzinfo=UTC)
    # 500 business days (10 h each) from Mon 5 Jan 2026 08:00: 100 whole weeks, ending at the
    # close of the 500th day, Fri 3 Dec 2027 (the span grows a year at a time to get there).
    assert business_add(datetime(2026, 1, 5, 8, tzinfo=UTC), 500 * 10 * H, cal) == datetime(
        2027, 12, 3, 18, tzinfo=UTC
    )


def test_bad_calendars_and_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="business hours"):
        BusinessCalendar(CalendarSpec())
    cal = weekdays(("08:00", "18:00"))
    with pytest.raises(ValueError, match="timezone-aware"):
        business_add(datetime(2026, 1, 1), H, cal)  # noqa: DTZ001
    with pytest.raises(ValueError, match="non-negative"):
        business_add(datetime(2026, 1, 1, tzinfo=UTC), -1, cal)
    every_day_closed = weekdays(
        ("08:00", "18:00"), holidays=[date(2026, 1, 1) + timedelta(days=n) for n in range(8000)]
    )
    with pytest.raises(ValueError, match="no opening hours"):
        business_add(datetime(2026, 1, 1, tzinfo=UTC), H, every_day_closed)


# --- properties ------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Sao_Paulo",
]
MINUTE = 60


@st.composite
def calendars(draw, boundaries=None) -> BusinessCalendar:
    """Random weekly hours (0-3 intervals a day, at least one somewhere), zone and holidays."""
    points = (
        boundaries
        if boundaries is not None
        else st.integers(0, 24 * 4).map(lambda q: q * 15 * MINUTE)
    )
    week: dict[int, list[tuple[str, str]]] = {}
    for day in range(7):
        cuts = sorted(draw(st.lists(points, min_size=0, max_size=6, unique=True)))
        pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
        week[day] = [(_hhmm(a), _hhmm(b)) for a, b in pairs if b > a]
    assume(any(week.values()))
    holidays = draw(
        st.lists(st.dates(date(2025, 1, 1), date(2031, 12, 31)), max_size=20, unique=True)
    )
    zone = draw(st.sampled_from(ZONES))
    return compile_calendar(CalendarSpec.weekly(week, time_zone=zone, holidays=holidays))


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"


instants = st.datetimes(
    min_value=datetime(2025, 6, 1), max_value=datetime(2031, 6, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
durations = st.integers(min_value=1, max_value=90 * 24 * 3600)

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(calendars(), instants, durations)
def test_adding_business_time_never_lands_in_closed_hours(cal, start, seconds):
    due = business_add(start, seconds, cal)
    assert is_open(due, cal)
    assert due > start


@PROPERTY
@given(calendars(), instants, durations, durations)
def test_adding_is_monotonic_in_the_duration(cal, start, a, b):
    small, large = sorted((a, b))
    assert business_add(start, small, cal) <= business_add(start, large, cal)


@PROPERTY
@given(calendars(), instants, instants, durations)
def test_adding_is_monotonic_in_the_start(cal, one, two, seconds):
    early, late = sorted((one, two))
    assert business_add(early, seconds, cal) <= business_add(late, seconds, cal)


@PROPERTY
@given(calendars(), instants, durations)
def test_adding_then_measuring_returns_the_same_duration(cal, start, seconds):
    assert business_between(start, business_add(start, seconds, cal), cal) == seconds


@PROPERTY
@given(calendars(), instants, instants, instants)
def test_measuring_is_additive(cal, a, b, c):
    a, b, c = sorted((a, b, c))
    ab, bc = business_between(a, b, cal), business_between(b, c, cal)
    assert ab >= 0 and bc >= 0
    assert ab + bc == business_between(a, c, cal)
    assert business_between(c, a, cal) == -(ab + bc)


# Hours that start and end outside 01:00-04:00, where no zone here changes its clocks, so a
# brute-force walk over real minutes (checking each minute's local wall time) must agree.
whole_hours = st.sampled_from([0, 4, 5, 6, 7, 8, 9, 12, 13, 17, 18, 20, 22, 24]).map(
    lambda h: h * 3600
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calendars(boundaries=whole_hours),
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ).map(lambda d: d.replace(second=0, microsecond=0)),
    st.integers(min_value=1, max_value=6 * 24 * 60),
)
def test_measuring_agrees_with_a_minute_by_minute_walk(cal, start, minutes):
    zone = cal.zone
    week = cal.week
    closed = set(cal.spec.holidays)
    count = 0
    for n in range(minutes):
        wall = (start + timedelta(minutes=n)).astimezone(zone)
        seconds = wall.hour * 3600 + wall.minute * 60
        if wall.date() in closed:
            continue
        if any(s <= seconds < e for s, e in week[wall.weekday()]):
            count += 1
    end = start + timedelta(minutes=minutes)
    assert business_between(start, end, cal) == count * 60
