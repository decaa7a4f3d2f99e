"""Showing SLA clocks: the queue's Due cell, durations, the portal's target. No queries: they
read the clock the selectors select_related with the ticket."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from frontline.sla.models import TicketSla
from frontline.sla.selectors import clock_of, display_status
from frontline.tickets.models import Ticket

register = template.Library()

STATUS_TEXT = {
    "ok": "On track",
    "warning": "Due soon",
    "breached": "Overdue",
    "paused": "Paused",
    "met": "Met",
    "missed": "Missed",
}


@register.filter
def duration(seconds: int | float | None) -> str:
    """45 min, 3 h 20 min, 2 d 4 h (wall or business seconds; sign ignored)."""
    if seconds is None:
        return ""
    total = abs(int(seconds)) // 60
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@register.filter
def business_hours(seconds: int | float | None) -> str:
    """Business time in hours and minutes (a "day" of business time means nothing fixed):
    80 h, 3 h 30 min, 45 min."""
    if seconds is None:
        return ""
    hours, minutes = divmod(abs(int(seconds)) // 60, 60)
    if hours:
        return f"{hours:,} h {minutes} min" if minutes else f"{hours:,} h"
    return f"{minutes} min"


@register.filter
def sla_clock(ticket: Ticket) -> TicketSla | None:
    return clock_of(ticket)


def _due_of(clock: TicketSla) -> datetime | None:
    return clock.due_at


@register.simple_tag
def sla_due(ticket: Ticket, now: datetime | None = None) -> SafeString:
    """The queue's Due cell: time left (or overdue) with a class for its colour."""
    clock = clock_of(ticket)
    now = now or timezone.now()
    status = display_status(clock, now)
    if clock is None or status == "none":
        return format_html('<span class="sla sla-none">{}</span>', "—")
    due_at = _due_of(clock)
    if status in {"met", "missed"}:
        text = STATUS_TEXT[status]
    elif status == "paused" and due_at is None:
        text = "Paused"
    elif due_at is None:
        text = STATUS_TEXT[status]
    elif due_at <= now:
        text = f"{duration((now - due_at).total_seconds())} overdue"
    else:
        text = f"in {duration((due_at - now).total_seconds())}"
    title = (
        f"{STATUS_TEXT[status]} · due {timezone.localtime(due_at):%d %b %Y %H:%M}"
        if due_at
        else STATUS_TEXT[status]
    )
    return format_html(
        '<span class="sla sla-{}" title="{}"><span class="sla-dot" aria-hidden="true"></span>{}'
        '<span class="visually-hidden"> ({})</span></span>',
        status,
        title,
        text,
        STATUS_TEXT[status],
    )
