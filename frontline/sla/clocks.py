"""The SLA clock rules, as pure functions on a TicketSla instance: no database, no clock.

Both clocks of a ticket (first response, resolution) consume one business-time counter:
`elapsed_seconds` accrued before `running_since`. While the counter runs, a clock's due time is

    due = business_add(running_since, target - elapsed_seconds)

and its warning time the same with `target * warning_percent / 100`. Pausing folds the running
time into `elapsed_seconds`; resuming sets `running_since` again, which moves the due times by
exactly the business time spent paused. A clock stops for good when it is met (first response;
resolution) and is then `met` or `breached`. The callers (services) save the instance.
"""

from __future__ import annotations

from datetime import datetime

from frontline.sla.calendar import BusinessCalendar
from frontline.sla.models import ClockState, TicketSla

CLOCKS = ("response", "resolution")


def _get(clock: TicketSla, name: str, attr: str) -> object:
    return getattr(clock, f"{name}_{attr}")


def _set(clock: TicketSla, name: str, attr: str, value: object) -> None:
    setattr(clock, f"{name}_{attr}", value)


def is_stopped(clock: TicketSla, name: str) -> bool:
    return _get(clock, name, "stopped_at") is not None


def elapsed_at(clock: TicketSla, calendar: BusinessCalendar, now: datetime) -> int:
    """Business seconds the counter has run up to `now`."""
    if clock.running_since is None:
        return clock.elapsed_seconds
    return clock.elapsed_seconds + max(0, round(calendar.between(clock.running_since, now)))


def clock_elapsed(clock: TicketSla, name: str, calendar: BusinessCalendar, now: datetime) -> int:
    """Business seconds one clock has consumed (frozen once it stopped)."""
    frozen = _get(clock, name, "elapsed_seconds")
    if is_stopped(clock, name) and isinstance(frozen, int):
        return frozen
    return elapsed_at(clock, calendar, now)


def target_of(clock: TicketSla, name: str) -> int:
    if name == "response":
        return clock.response_target_seconds
    return clock.resolution_target_seconds


def _warn_after(clock: TicketSla, target: int) -> int:
    return target * clock.warning_percent // 100


def schedule(clock: TicketSla, calendar: BusinessCalendar) -> None:
    """Recompute the warning and due times of the clocks still open, then the states, the due
    time the queue shows and the sweep's `next_check_at`."""
    since = clock.running_since
    for name in CLOCKS:
        if is_stopped(clock, name):
            continue
        target = target_of(clock, name)
        breached = _get(clock, name, "breached_at") is not None
        if since is None:
            # Paused: no due time until the clock runs again (a breached clock keeps its due
            # time: that is when it was breached).
            if not breached:
                _set(clock, name, "due_at", None)
            _set(clock, name, "warn_at", None)
            _set(clock, name, "state", ClockState.BREACHED if breached else ClockState.PAUSED)
            continue
        due_at, warn_at = _get(clock, name, "due_at"), _get(clock, name, "warn_at")
        remaining = target - clock.elapsed_seconds
        warn_remaining = _warn_after(clock, target) - clock.elapsed_seconds
        # Targets already used up before `running_since` (a lowered priority target while
        # paused): due at once, so the next sweep acts.
        new_due, new_warn = calendar.add_many(since, [max(0, remaining), max(0, warn_remaining)])
        if not (breached and remaining <= 0 and due_at is not None):
            _set(clock, name, "due_at", new_due)
        if not (warn_remaining <= 0 and warn_at is not None):
            _set(clock, name, "warn_at", new_warn)
        _set(clock, name, "state", ClockState.BREACHED if breached else ClockState.RUNNING)
    summarise(clock)


def summarise(clock: TicketSla) -> None:
    due_at = None
    for name in CLOCKS:
        if not is_stopped(clock, name):
            due_at = _get(clock, name, "due_at")
            break
    clock.due_at = due_at  # type: ignore[assignment]
    checks: list[datetime] = []
    if clock.running_since is not None:
        for name in CLOCKS:
            if is_stopped(clock, name):
                continue
            warn_at, due = _get(clock, name, "warn_at"), _get(clock, name, "due_at")
            if _get(clock, name, "warned_at") is None and isinstance(warn_at, datetime):
                checks.append(warn_at)
            if _get(clock, name, "breached_at") is None and isinstance(due, datetime):
                checks.append(due)
    clock.next_check_at = min(checks) if checks else None


def start(
    clock: TicketSla,
    calendar: BusinessCalendar,
    now: datetime,
    *,
    running: bool = True,
) -> None:
    """A new clock: nothing elapsed, running from `now` unless the ticket opens paused."""
    clock.started_at = now
    clock.elapsed_seconds = 0
    clock.running_since = now if running else None
    clock.paused_at = None if running else now
    schedule(clock, calendar)


def pause(clock: TicketSla, calendar: BusinessCalendar, now: datetime) -> None:
    if clock.running_since is None:
        return
    clock.elapsed_seconds = elapsed_at(clock, calendar, now)
    clock.running_since = None
    clock.paused_at = now
    schedule(clock, calendar)


def resume(clock: TicketSla, calendar: BusinessCalendar, now: datetime) -> None:
    if clock.running_since is not None or all(is_stopped(clock, n) for n in CLOCKS):
        return
    clock.running_since = now
    clock.paused_at = None
    schedule(clock, calendar)


def stop(clock: TicketSla, name: str, calendar: BusinessCalendar, now: datetime) -> None:
    """Clock `name` is met now: `met` if within its target, `breached` if late."""
    if is_stopped(clock, name):
        return
    used = elapsed_at(clock, calendar, now)
    target = target_of(clock, name)
    late = _get(clock, name, "breached_at") is not None or used > target
    _set(clock, name, "stopped_at", now)
    _set(clock, name, "elapsed_seconds", used)
    _set(clock, name, "state", ClockState.BREACHED if late else ClockState.MET)
    if name == "resolution":
        # Nothing left to measure: fold the counter so a reopen carries on from here.
        clock.elapsed_seconds = used
        clock.running_since = None
        clock.paused_at = None
    summarise(clock)


def reopen(clock: TicketSla, calendar: BusinessCalendar, now: datetime, *, running: bool) -> None:
    """The resolution clock carries on from the business time it had used when resolved (the
    time spent resolved does not count); a met first response stays met."""
    clock.resolution_stopped_at = None
    clock.resolution_elapsed_seconds = None
    clock.running_since = now if running else None
    clock.paused_at = None if running else now
    schedule(clock, calendar)


def retarget(
    clock: TicketSla,
    calendar: BusinessCalendar,
    now: datetime,
    *,
    response_seconds: int,
    resolution_seconds: int,
    warning_percent: int,
) -> None:
    """New targets (priority or type changed): due times as if the ticket had had them from
    the start, pauses included. A threshold that moves back into the future is a new crossing:
    its warning or breach may be acted on again."""
    used = elapsed_at(clock, calendar, now)
    clock.response_target_seconds = response_seconds
    clock.resolution_target_seconds = resolution_seconds
    clock.warning_percent = warning_percent
    for name in CLOCKS:
        if is_stopped(clock, name):
            continue
        target = target_of(clock, name)
        if used < _warn_after(clock, target):
            _set(clock, name, "warned_at", None)
            _set(clock, name, "warn_at", None)
        if used < target:
            _set(clock, name, "breached_at", None)
            _set(clock, name, "due_at", None)
    schedule(clock, calendar)
