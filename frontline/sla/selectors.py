"""Reads of SLA clocks, scoped through the ticket the caller was authorised for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import prefetch_related_objects
from django.utils import timezone

from frontline.core import access
from frontline.core.access import Actor
from frontline.sla import clocks
from frontline.sla.models import Calendar, ClockState, TicketSla
from frontline.sla.services import calendar_compiled
from frontline.tickets.models import Ticket

LABELS = {"response": "First response", "resolution": "Resolution"}


def clock_of(ticket: Ticket) -> TicketSla | None:
    """The ticket's clock row if it has one (no query when the selector select_related it)."""
    try:
        clock: TicketSla = ticket.sla
    except ObjectDoesNotExist:
        return None
    return clock


def display_status(clock: TicketSla | None, now: datetime) -> str:
    """What the queue shows for a ticket: ok, warning, breached, paused, met, missed or none."""
    if clock is None:
        return "none"
    for name in clocks.CLOCKS:
        if clocks.is_stopped(clock, name):
            continue
        due_at: datetime | None = getattr(clock, f"{name}_due_at")
        warn_at: datetime | None = getattr(clock, f"{name}_warn_at")
        if getattr(clock, f"{name}_state") == ClockState.BREACHED or (due_at and now >= due_at):
            return "breached"
        if clock.running_since is None:
            return "paused"
        if getattr(clock, f"{name}_warned_at") or (warn_at and now >= warn_at):
            return "warning"
        return "ok"
    return (
        "missed" if ClockState.BREACHED in {clock.response_state, clock.resolution_state} else "met"
    )


@dataclass(frozen=True, slots=True)
class ClockView:
    name: str
    label: str
    state: str
    status: str  # ok, warning, breached, paused, met
    target_seconds: int
    elapsed_seconds: int
    remaining_seconds: int  # business seconds left (negative: over target)
    due_at: datetime | None
    warn_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None


@dataclass(frozen=True, slots=True)
class TicketClocks:
    clock: TicketSla
    policy_name: str
    calendar_name: str
    paused_at: datetime | None
    response: ClockView
    resolution: ClockView
    now: datetime

    @property
    def items(self) -> list[ClockView]:
        return [self.response, self.resolution]


def ticket_clocks(
    *, actor: Actor, ticket: Ticket, now: datetime | None = None
) -> TicketClocks | None:
    """Both clocks of `ticket` with live business time used and left (for the ticket page)."""
    access.require(actor, "tickets.view", ticket)
    clock = clock_of(ticket)
    if clock is None:
        return None
    now = now or timezone.now()
    # The calendar came with the ticket (select_related); its hours and holidays: 2 queries.
    calendar_row: Calendar = clock.calendar
    prefetch_related_objects([calendar_row], "hours", "holidays")
    calendar = calendar_compiled(calendar_row)
    views: dict[str, ClockView] = {}
    for name in clocks.CLOCKS:
        target = clocks.target_of(clock, name)
        used = clocks.clock_elapsed(clock, name, calendar, now)
        state = str(getattr(clock, f"{name}_state"))
        stopped = clocks.is_stopped(clock, name)
        due_at: datetime | None = getattr(clock, f"{name}_due_at")
        warn_at: datetime | None = getattr(clock, f"{name}_warn_at")
        if stopped:
            status = "met" if state == ClockState.MET else "breached"
        elif state == ClockState.BREACHED or (due_at and now >= due_at) or used >= target:
            status = "breached"
        elif clock.running_since is None:
            status = "paused"
        elif warn_at and now >= warn_at:
            status = "warning"
        else:
            status = "ok"
        views[name] = ClockView(
            name=name,
            label=LABELS[name],
            state=state,
            status=status,
            target_seconds=target,
            elapsed_seconds=used,
            remaining_seconds=target - used,
            due_at=due_at,
            warn_at=warn_at,
            breached_at=getattr(clock, f"{name}_breached_at"),
            stopped_at=getattr(clock, f"{name}_stopped_at"),
        )
    return TicketClocks(
        clock=clock,
        policy_name=clock.policy.name if clock.policy_id and clock.policy else "",
        calendar_name=calendar_row.name,
        paused_at=clock.paused_at,
        response=views["response"],
        resolution=views["resolution"],
        now=now,
    )
