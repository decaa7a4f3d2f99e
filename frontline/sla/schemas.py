"""The SLA clocks as the API shows them, inside a ticket (tickets.api.TicketOut.sla)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from frontline.api.schemas import OneOf
from frontline.core.access import Actor
from frontline.sla import clocks
from frontline.sla.models import ClockState, TicketSla
from frontline.sla.selectors import clock_of
from frontline.tickets.models import Ticket

ClockStateName = Annotated[str, OneOf(ClockState.values)]


class SlaClockOut(Schema):
    state: ClockStateName = Field(description="running, paused, met or breached.")
    due_at: datetime | None = Field(description="Null while paused (the due time moves).")
    warning_at: datetime | None = Field(description="When the warning fires; null for end users.")
    breached_at: datetime | None = Field(description="When the breach was recorded.")
    stopped_at: datetime | None = Field(description="When the clock stopped (met, or met late).")
    target_seconds: int = Field(description="The target, in business seconds.")
    elapsed_seconds: int = Field(
        description="Business seconds used: final once stopped; otherwise up to `running_since` "
        "(while running, business time since then adds to it)."
    )


class TicketSlaOut(Schema):
    """The ticket's SLA clocks (business time in the calendar's zone)."""

    policy: str = Field(description="The SLA policy the targets come from.")
    calendar: str
    running_since: datetime | None = Field(description="Null while paused or stopped.")
    paused_at: datetime | None
    response: SlaClockOut
    resolution: SlaClockOut


def _clock_data(clock: TicketSla, name: str, *, agent: bool) -> dict[str, Any]:
    stopped = clocks.is_stopped(clock, name)
    frozen: int | None = getattr(clock, f"{name}_elapsed_seconds")
    return {
        "state": getattr(clock, f"{name}_state"),
        "due_at": getattr(clock, f"{name}_due_at"),
        "warning_at": getattr(clock, f"{name}_warn_at") if agent else None,
        "breached_at": getattr(clock, f"{name}_breached_at"),
        "stopped_at": getattr(clock, f"{name}_stopped_at"),
        "target_seconds": clocks.target_of(clock, name),
        "elapsed_seconds": frozen if stopped and frozen is not None else clock.elapsed_seconds,
    }


def ticket_sla_data(ticket: Ticket, actor: Actor) -> dict[str, Any] | None:
    """TicketSlaOut's data for a ticket the caller may see (what `.model_dump()` gives), as a
    plain dict: lists use it without building two schemas per row (tickets.api.ticket_data)."""
    clock = clock_of(ticket)
    if clock is None:
        return None
    agent = actor.is_agent
    return {
        "policy": clock.policy.name if clock.policy_id and clock.policy else "",
        "calendar": clock.calendar.name,
        "running_since": clock.running_since,
        "paused_at": clock.paused_at,
        "response": _clock_data(clock, "response", agent=agent),
        "resolution": _clock_data(clock, "resolution", agent=agent),
    }


def ticket_sla_out(ticket: Ticket, actor: Actor) -> TicketSlaOut | None:
    """The clocks of a ticket the caller may see (select_related by the ticket selectors)."""
    data = ticket_sla_data(ticket, actor)
    return TicketSlaOut(**data) if data is not None else None
