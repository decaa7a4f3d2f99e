"""Business-time arithmetic: pure functions, no database, no clock.

A calendar is described by a `CalendarSpec` (time zone, opening intervals per weekday, holidays,
or 24x7). `compile_calendar()` turns it into a `BusinessCalendar` that holds, for a span of whole
years, every opening interval as UTC epoch microseconds plus a running total of business time
before each one. Then

* the business position of an instant is one bisection and a subtraction, and
* adding business time is a bisection on the running totals,

so both are O(log n) and need no per-day loop: tens of thousands of due dates a second. The span
grows (a year at a time) when an instant outside it is asked for.

All wall-clock maths happens in the calendar's zone: each opening interval is built from local
dates and times and only then converted to UTC, so nights, weekends, holidays and DST changes
(a 23- or 25-hour day, an opening hour that is skipped or repeated) come out right. Business
time is real elapsed time inside opening hours.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "BusinessCalendar",
    "CalendarSpec",
    "business_add",
    "business_between",
    "compile_calendar",
    "is_open",
]

DAY_SECONDS = 86_400
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Growing the span a year at a time: this many years in a row without one opening hour (every
# day a holiday) means the calendar is never open again, rather than looping forever. A
# calendar with very few hours may legitimately need many years for a long duration.
_MAX_CLOSED_YEARS = 10


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """What a calendar is, as plain values (hashable: compiled calendars are cached by it).

    `hours` holds (weekday, start, end) with weekday 0 = Monday and start/end in seconds after
    local midnight (end may be 86,400: midnight at the end of the day)."""

    time_zone: str = "UTC"
    hours: tuple[tuple[int, int, int], ...] = ()
    holidays: frozenset[date] = frozenset()
    holiday_country: str = ""
    holiday_subdivision: str = ""
    is_24x7: bool = False

    @classmethod
    def weekly(
        cls,
        intervals: Mapping[int, Iterable[tuple[str | time, str | time]]],
        *,
        time_zone: str = "UTC",
        holidays: Iterable[date] = (),
        holiday_country: str = "",
        holiday_subdivision: str = "",
    ) -> CalendarSpec:
        """Build a spec from {weekday: [("08:00", "12:00"), ...]} ("24:00" or "00:00" as an end:
        midnight)."""
        hours = [
            (weekday, _seconds(start, end=False), _seconds(end, end=True))
            for weekday, pairs in intervals.items()
            for start, end in pairs
        ]
        return cls(
            time_zone=time_zone,
            hours=tuple(sorted(hours)),
            holidays=frozenset(holidays),
            holiday_country=holiday_country,
            holiday_subdivision=holiday_subdivision,
        )


def _seconds(value: str | time, *, end: bool) -> int:
    if isinstance(value, str):
        hh, mm = value.split(":")[:2]
        seconds = int(hh) * 3600 + int(mm) * 60
    else:
        seconds = value.hour * 3600 + value.minute * 60 + value.second
    return DAY_SECONDS if end and seconds == 0 else seconds


def _merge(pairs: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, non-overlapping intervals (admins may enter overlapping or unsorted ones)."""
    merged: list[list[int]] = []
    for start, end in sorted(pairs):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def to_us(moment: datetime) -> int:
    """Epoch microseconds of an aware datetime, as an exact integer.

    Through the C-level timestamp(): a float within 0.5 us of the true value for any year up to
    2100 (below 2**53 microseconds), so rounding recovers it exactly, at half the cost of
    timedelta arithmetic."""
    if moment.tzinfo is None:
        raise ValueError("business-time maths needs timezone-aware datetimes")
    return round(moment.timestamp() * _US)


def from_us(value: int) -> datetime:
    """The UTC datetime of exact epoch microseconds (fromtimestamp rounds to the microsecond)."""
    return datetime.fromtimestamp(value / _US, UTC)


@dataclass(frozen=True, slots=True)
class _Span:
    """The compiled intervals of local days [first, last): immutable, swapped in whole."""

    first: date
    last: date
    lo_us: int  # local midnight starting `first`, in UTC epoch microseconds
    hi_us: int  # local midnight starting `last`
    starts: list[int]
    ends: list[int]
    cum: list[int]  # business microseconds before interval i
    cum_end: list[int]  # business microseconds up to the end of interval i


class BusinessCalendar:
    """A compiled calendar. Thread-safe: readers use an immutable snapshot of the span."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.zone = ZoneInfo(spec.time_zone)
        self.is_24x7 = spec.is_24x7
        week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for weekday, start, end in spec.hours:
            if not 0 <= weekday <= 6 or not 0 <= start < end <= DAY_SECONDS:
                raise ValueError(f"bad business hours {weekday}, {start}-{end}")
            week[weekday].append((start, end))
        self.week = tuple(_merge(day) for day in week)
        if not self.is_24x7 and not any(self.week):
            raise ValueError("a calendar needs business hours on at least one weekday, or 24x7")
        self._lock = threading.Lock()
        self._span: _Span | None = None

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.spec!r})"

    # --- building the span ------------------------------------------------------------------

    def _holidays(self, first: date, last: date) -> set[date]:
        days = {d for d in self.spec.holidays if first <= d < last}
        if self.spec.holiday_country:
            import holidays as holidays_lib

            found = holidays_lib.country_holidays(
                self.spec.holiday_country,
                subdiv=self.spec.holiday_subdivision or None,
                years=range(first.year, last.year + 1),
            )
            days.update(d for d in found if first <= d < last)
        return days

    def _local_us(self, day: date, seconds: int) -> int:
        if seconds >= DAY_SECONDS:
            day, seconds = day + timedelta(days=1), seconds - DAY_SECONDS
        hh, rest = divmod(seconds, 3600)
        local = datetime(day.year, day.month, day.day, hh, rest // 60, rest % 60, tzinfo=self.zone)
        # fold=0: an opening time inside a DST gap is read with the offset before the change
        # (02:30 on a spring-forward night is 03:30), one inside a repeated hour is its first
        # occurrence.
        return to_us(local)

    def _build(self, first: date, last: date, total: int = 0) -> _Span:
        """The intervals of local days [first, last), running totals starting at `total`."""
        closed = self._holidays(first, last)
        pairs: list[tuple[int, int]] = []
        day = first
        while day < last:
            if day not in closed:
                for start, end in self.week[day.weekday()]:
                    s_us, e_us = self._local_us(day, start), self._local_us(day, end)
                    if e_us > s_us:
                        pairs.append((s_us, e_us))
            day += timedelta(days=1)
        starts: list[int] = []
        ends: list[int] = []
        cum: list[int] = []
        cum_end: list[int] = []
        for s_us, e_us in _merge(pairs):
            starts.append(s_us)
            ends.append(e_us)
            cum.append(total)
            total += e_us - s_us
            cum_end.append(total)
        return _Span(
            first=first,
            last=last,
            lo_us=self._local_us(first, 0),
            hi_us=self._local_us(last, 0),
            starts=starts,
            ends=ends,
            cum=cum,
            cum_end=cum_end,
        )

    def _covering(self, moment_us: int) -> _Span:
        span = self._span
        if span is not None and span.lo_us <= moment_us < span.hi_us:
            return span
        # One local day either side, so an instant near a year boundary is always inside.
        local_day = from_us(moment_us).astimezone(self.zone).date()
        return self._extend(local_day - timedelta(days=1), local_day + timedelta(days=2))

    def _extend(self, first: date, last: date) -> _Span:
        with self._lock:
            span = self._span
            if span is not None and span.first <= first and last <= span.last:
                return span
            lo = min(first, span.first) if span else first
            hi = max(last, span.last) if span else last
            # Whole years: fewer rebuilds, and holidays are computed per year anyway.
            lo = date(lo.year, 1, 1)
            hi = date(hi.year + 1, 1, 1) if hi != date(hi.year, 1, 1) else hi
            if span is not None and lo == span.first:
                # Growing forward only: build the new years and append them (positions of the
                # existing intervals do not change). Days never straddle the boundary: each
                # day's intervals end by the next local midnight, where the new ones begin.
                tail = self._build(span.last, hi, span.cum_end[-1] if span.cum_end else 0)
                span = _Span(
                    first=span.first,
                    last=hi,
                    lo_us=span.lo_us,
                    hi_us=tail.hi_us,
                    starts=span.starts + tail.starts,
                    ends=span.ends + tail.ends,
                    cum=span.cum + tail.cum,
                    cum_end=span.cum_end + tail.cum_end,
                )
            else:
                span = self._build(lo, hi)
            self._span = span
            return span

    # --- the two operations -----------------------------------------------------------------

    def _position(self, span: _Span, moment_us: int) -> int:
        """Business microseconds from the start of `span` to `moment_us`."""
        i = bisect_right(span.starts, moment_us) - 1
        if i < 0:
            return 0
        return span.cum[i] + min(moment_us, span.ends[i]) - span.starts[i]

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant `seconds` of business time after `start` (in UTC). Zero: `start` itself.

        For seconds > 0 the result is always inside opening hours (an interval's closing
        instant counts as inside)."""
        if seconds < 0:
            raise ValueError("business_add needs a non-negative duration")
        if start.tzinfo is None:
            raise ValueError("business-time maths needs timezone-aware datetimes")
        if self.is_24x7:
            # In UTC: aware arithmetic in a local zone would add wall-clock time, not real time.
            return start.astimezone(UTC) + timedelta(seconds=seconds)
        amount = round(seconds * _US)
        start_us = round(start.timestamp() * _US)
        if amount == 0:
            return from_us(start_us)
        span = self._span
        if span is None or not span.lo_us <= start_us < span.hi_us:
            span = self._covering(start_us)
        # The start's business position (inlined _position: this is the hot path).
        i = bisect_right(span.starts, start_us) - 1
        position = 0 if i < 0 else span.cum[i] + min(start_us, span.ends[i]) - span.starts[i]
        target = position + amount
        closed_years = 0
        while not span.cum_end or span.cum_end[-1] < target:
            before = span.cum_end[-1] if span.cum_end else 0
            # Grow by as many years as the business time per year so far suggests (a calendar
            # with few hours may need many years for a long duration), at least one.
            years_so_far = max(1, span.last.year - span.first.year)
            per_year = before // years_so_far
            more = 1 if per_year <= 0 else min(50, 1 + (target - before) // per_year)
            span = self._extend(span.first, date(span.last.year + more, 1, 1))
            target = self._position(span, start_us) + amount
            grown = (span.cum_end[-1] if span.cum_end else 0) > before
            closed_years = 0 if grown else closed_years + 1
            if closed_years >= _MAX_CLOSED_YEARS:
                raise ValueError("the calendar has no opening hours in the years ahead")
        j = bisect_left(span.cum_end, target)
        return datetime.fromtimestamp((span.ends[j] - (span.cum_end[j] - target)) / _US, UTC)

    def add_many(self, start: datetime, amounts: Iterable[float]) -> list[datetime]:
        """`add(start, s)` for each s (a ticket's warning and due times share their start, so
        its position is found once)."""
        if start.tzinfo is None:
            raise ValueError("business-time maths needs timezone-aware datetimes")
        if self.is_24x7:
            utc_start = start.astimezone(UTC)
            return [utc_start + timedelta(seconds=s) for s in amounts]
        start_us = round(start.timestamp() * _US)
        span = self._span
        if span is None or not span.lo_us <= start_us < span.hi_us:
            span = self._covering(start_us)
        i = bisect_right(span.starts, start_us) - 1
        position = 0 if i < 0 else span.cum[i] + min(start_us, span.ends[i]) - span.starts[i]
        out: list[datetime] = []
        for seconds in amounts:
            amount = round(seconds * _US)
            target = position + amount
            if amount <= 0 or not span.cum_end or span.cum_end[-1] < target:
                out.append(self.add(start, seconds))  # rare: zero, negative or past the span
                continue
            j = bisect_left(span.cum_end, target)
            out.append(
                datetime.fromtimestamp((span.ends[j] - (span.cum_end[j] - target)) / _US, UTC)
            )
        return out

    def between(self, a: datetime, b: datetime) -> float:
        """Business seconds from `a` to `b` (negative if b is before a)."""
        if self.is_24x7:
            # Both in UTC: subtracting two datetimes of one local zone ignores a DST change.
            return (b.astimezone(UTC) - a.astimezone(UTC)).total_seconds()
        a_us, b_us = to_us(a), to_us(b)
        span = self._covering(a_us)
        if not span.lo_us <= b_us < span.hi_us:
            self._covering(b_us)
            span = self._covering(a_us)
        return (self._position(span, b_us) - self._position(span, a_us)) / _US

    def is_open(self, moment: datetime) -> bool:
        """Inside opening hours (an interval's start and end instants included)."""
        if self.is_24x7:
            return True
        moment_us = to_us(moment)
        span = self._covering(moment_us)
        i = bisect_right(span.starts, moment_us) - 1
        return i >= 0 and moment_us <= span.ends[i]


@lru_cache(maxsize=256)
def compile_calendar(spec: CalendarSpec) -> BusinessCalendar:
    """The compiled calendar for `spec`, shared by every caller in this process."""
    return BusinessCalendar(spec)


def business_add(start: datetime, seconds: float, calendar: BusinessCalendar) -> datetime:
    """`start` plus `seconds` of business time in `calendar`."""
    return calendar.add(start, seconds)


def business_between(a: datetime, b: datetime, calendar: BusinessCalendar) -> float:
    """Business seconds between `a` and `b` in `calendar`."""
    return calendar.between(a, b)


def is_open(moment: datetime, calendar: BusinessCalendar) -> bool:
    return calendar.is_open(moment)
