"""Every write to SLA clocks: starting them, following the ticket through its workflow, and the
sweep that warns, breaches and escalates.

The ticket services call the `sla_on_*` hooks inside their own transaction, after they locked the
ticket row; the hooks then lock the clock row (always ticket first, then clock, here too, so the
sweep and an agent's action can never deadlock). The maths is in `clocks` and `calendar` (pure);
this module only loads, decides and saves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from frontline.accounts.models import User
from frontline.core import config_cache
from frontline.core.access import Actor
from frontline.core.errors import ValidationError
from frontline.core.events import event_record
from frontline.core.models import AuditEvent
from frontline.sla import clocks
from frontline.sla.calendar import DAY_SECONDS, BusinessCalendar, CalendarSpec, compile_calendar
from frontline.sla.models import Calendar, ClockState, SlaPolicy, TicketSla
from frontline.tickets import selectors as ticket_selectors
from frontline.tickets import services as ticket_services
from frontline.tickets.models import Escalation, Ticket

logger = logging.getLogger(__name__)

Kind = AuditEvent.Kind
S = Ticket.Status
STOPPING = frozenset({S.RESOLVED, S.CLOSED})
SWEEP_BATCH = 1000
LABELS = {"response": "first-response", "resolution": "resolution"}
ESCALATION_SYMPTOMS = "SLA resolution target breached"


def _now(now: datetime | None = None) -> datetime:
    # Whole seconds: business seconds stay integers, so pause/resume never drifts.
    return (now or timezone.now()).replace(microsecond=0)


def _system(tenant_id: int) -> Actor:
    return Actor.system(tenant_id, label="SLA")


# --- calendars and policies ------------------------------------------------------------------


def _day_seconds(value: time, *, end: bool) -> int:
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return DAY_SECONDS if end and seconds == 0 else seconds


def calendar_spec(calendar: Calendar) -> CalendarSpec:
    """The calendar as plain values (its hours and holidays should be prefetched)."""
    return CalendarSpec(
        time_zone=calendar.time_zone,
        hours=tuple(
            sorted(
                (h.weekday, _day_seconds(h.start, end=False), _day_seconds(h.end, end=True))
                for h in calendar.hours.all()
            )
        ),
        holidays=frozenset(h.date for h in calendar.holidays.all()),
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
        is_24x7=calendar.is_24x7,
    )


def calendar_compiled(calendar: Calendar) -> BusinessCalendar:
    """The compiled calendar, shared in this process while its definition is unchanged."""
    return compile_calendar(calendar_spec(calendar))


def _calendars() -> Any:
    return Calendar.objects.prefetch_related("hours", "holidays")


def _active_policies() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.filter(is_active=True))


def policy_for(*, tenant_id: int, ticket_type: str, priority: int) -> SlaPolicy | None:
    """The most specific active policy: the organisation's for this type, then the
    organisation's for any type, then the default for this type, then the default.
    (Policies are cached per process: core.config_cache; the instance is shared, read-only.)"""
    candidates = [
        p
        for p in config_cache.cached("sla.policies", _active_policies)
        if p.priority == priority
        and p.organization_id in (tenant_id, None)
        and p.ticket_type in (ticket_type, "")
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda p: (p.organization_id is None, p.ticket_type == ""))


def _calendar_load(tenant_id: int, calendar_id: int | None) -> Calendar | None:
    if calendar_id is not None:
        return _calendars().filter(pk=calendar_id).first()  # type: ignore[no-any-return]
    found: list[Calendar] = list(
        _calendars().filter(Q(contracts__organization_id=tenant_id) | Q(is_default=True)).distinct()
    )
    if not found:
        return None
    contract = [c for c in found if not c.is_default]
    return contract[0] if contract else found[0]


def calendar_for(*, tenant_id: int, policy: SlaPolicy) -> Calendar | None:
    """The policy's own calendar, else the organisation's contract calendar, else the default
    (with its hours and holidays; cached per process like the policies)."""
    # A policy's own calendar does not depend on the organisation: one entry for all of them.
    key = (
        "sla.calendar",
        None if policy.calendar_id is not None else tenant_id,
        policy.calendar_id,
    )
    return config_cache.cached(key, lambda: _calendar_load(tenant_id, policy.calendar_id))


def _clock_locked(ticket: Ticket) -> TicketSla | None:
    clock: TicketSla | None = (
        TicketSla.objects.select_for_update()
        .filter(ticket_id=ticket.pk)
        .select_related("calendar")
        .prefetch_related("calendar__hours", "calendar__holidays")
        .first()
    )
    return clock


def _save(ticket: Ticket, clock: TicketSla) -> TicketSla:
    clock.save()
    ticket.sla = clock  # keep the caller's ticket (and what it renders) current
    return clock


def _is_paused_status(clock: TicketSla, status: str) -> bool:
    return status in (clock.pause_statuses or [])


def _apply_policy(clock: TicketSla, policy: SlaPolicy, calendar: Calendar) -> None:
    clock.policy = policy
    clock.calendar = calendar
    clock.pause_statuses = list(policy.pause_statuses or [])


# --- following the ticket --------------------------------------------------------------------


def sla_start(*, ticket: Ticket, now: datetime | None = None) -> TicketSla | None:
    """Start the clocks of a new ticket (called by ticket_create). None when no policy or no
    calendar applies (then the ticket has no SLA)."""
    policy = policy_for(
        tenant_id=ticket.tenant_id, ticket_type=ticket.type, priority=ticket.priority
    )
    if policy is None:
        return None
    calendar = calendar_for(tenant_id=ticket.tenant_id, policy=policy)
    if calendar is None:
        return None
    start = _now(now or ticket.created_at)
    clock = TicketSla(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        response_target_seconds=policy.response_minutes * 60,
        resolution_target_seconds=policy.resolution_minutes * 60,
        warning_percent=policy.warning_percent,
    )
    _apply_policy(clock, policy, calendar)
    running = ticket.is_open and not _is_paused_status(clock, ticket.status)
    clocks.start(clock, calendar_compiled(calendar), start, running=running)
    # The ticket has no clock yet (both callers checked): one INSERT, without the UPDATE that
    # save() tries first for a row whose primary key (the ticket's) is already set.
    clock.save(force_insert=True)
    ticket.sla = clock  # keep the caller's ticket (and what it renders) current
    return clock


def sla_on_status_change(
    *, ticket: Ticket, old_status: str, now: datetime | None = None
) -> TicketSla | None:
    """Pause, resume, stop or reopen the clocks after the ticket went old_status -> status."""
    new_status = ticket.status
    if new_status == old_status:
        return None
    if old_status == S.RESOLVED and new_status not in STOPPING:
        return sla_on_reopen(ticket=ticket, now=now)
    clock = _clock_locked(ticket)
    if clock is None:
        return None
    now = _now(now)
    calendar = calendar_compiled(clock.calendar)
    if new_status in STOPPING:
        # Resolving answers the requester too (the ticket services stamp the first response).
        clocks.stop(clock, "response", calendar, now)
        clocks.stop(clock, "resolution", calendar, now)
    elif _is_paused_status(clock, new_status) and not _is_paused_status(clock, old_status):
        clocks.pause(clock, calendar, now)
    elif _is_paused_status(clock, old_status) and not _is_paused_status(clock, new_status):
        clocks.resume(clock, calendar, now)
    else:
        return clock
    return _save(ticket, clock)


def sla_on_reopen(*, ticket: Ticket, now: datetime | None = None) -> TicketSla | None:
    """A resolved ticket was reopened: the resolution clock carries on from where it stopped."""
    clock = _clock_locked(ticket)
    if clock is None:
        return None
    clocks.reopen(
        clock,
        calendar_compiled(clock.calendar),
        _now(now),
        running=not _is_paused_status(clock, ticket.status),
    )
    return _save(ticket, clock)


def sla_on_first_response(*, ticket: Ticket, now: datetime | None = None) -> TicketSla | None:
    """The first public reply of an agent: the response clock is met (or late)."""
    clock = _clock_locked(ticket)
    if clock is None or clocks.is_stopped(clock, "response"):
        return clock
    clocks.stop(clock, "response", calendar_compiled(clock.calendar), _now(now))
    return _save(ticket, clock)


def sla_on_priority_change(*, ticket: Ticket, now: datetime | None = None) -> TicketSla | None:
    """Priority or type changed: take the targets (and calendar) of the policy that applies
    now. Due times become what they would have been with these targets from the start."""
    clock = _clock_locked(ticket)
    if clock is None:
        return sla_start(ticket=ticket, now=now) if ticket.is_open else None
    now = _now(now)
    policy = policy_for(
        tenant_id=ticket.tenant_id, ticket_type=ticket.type, priority=ticket.priority
    )
    if policy is None:
        return clock
    calendar = calendar_for(tenant_id=ticket.tenant_id, policy=policy)
    if calendar is None:
        return clock
    old_calendar = calendar_compiled(clock.calendar)
    if calendar.pk != clock.calendar_id and clock.running_since is not None:
        # Business time used so far was measured in the old calendar; carry on in the new one.
        clock.elapsed_seconds = clocks.elapsed_at(clock, old_calendar, now)
        clock.running_since = now
    _apply_policy(clock, policy, calendar)
    new_calendar = calendar_compiled(calendar)
    clocks.retarget(
        clock,
        new_calendar,
        now,
        response_seconds=policy.response_minutes * 60,
        resolution_seconds=policy.resolution_minutes * 60,
        warning_percent=policy.warning_percent,
    )
    if ticket.is_open:
        should_pause = _is_paused_status(clock, ticket.status)
        if should_pause and clock.running_since is not None:
            clocks.pause(clock, new_calendar, now)
        elif not should_pause and clock.running_since is None:
            clocks.resume(clock, new_calendar, now)
    return _save(ticket, clock)


# --- the sweep -------------------------------------------------------------------------------


@dataclass(slots=True)
class SweepResult:
    checked: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    ticket_ids: list[int] = field(default_factory=list)

    def add(self, other: SweepResult) -> None:
        self.checked += other.checked
        self.warnings += other.warnings
        self.breaches += other.breaches
        self.escalations += other.escalations
        self.ticket_ids += other.ticket_ids


def sla_due_query(*, now: datetime, limit: int = SWEEP_BATCH) -> Any:
    """The sweep's query: ids of tickets with a warning or breach to act on, read from the
    partial index on next_check_at (an index range scan, whatever the number of open
    tickets; stopped and paused clocks are not even in the index)."""
    return (
        TicketSla.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("ticket_id", flat=True)[:limit]
    )


def sla_due_ids(*, now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    return list(sla_due_query(now=now, limit=limit))


def sla_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> SweepResult:
    """Act on every threshold crossed by `now`: warnings, breaches, escalations. Each ticket
    in its own transaction; running it twice (or in two workers at once) acts once."""
    now = _now(now)
    result = SweepResult()
    for ticket_id in sla_due_ids(now=now, limit=limit):
        result.add(sla_check_ticket(ticket_id=ticket_id, now=now))
    if result.warnings or result.breaches:
        logger.info(
            "SLA sweep acted",
            extra={
                "checked": result.checked,
                "warnings": result.warnings,
                "breaches": result.breaches,
                "escalations": result.escalations,
            },
        )
    return result


def _claim(clock: TicketSla, name: str, what: str, now: datetime) -> bool:
    """Record a crossing with a conditional UPDATE: true for exactly one caller, however many
    sweeps or workers reach this ticket at the same time."""
    conditions: dict[str, Any] = {
        f"{name}_{what}_at__isnull": True,
        f"{name}_stopped_at__isnull": True,
        "running_since__isnull": False,
    }
    values: dict[str, Any] = {f"{name}_{what}_at": now}
    if what == "warned":
        conditions[f"{name}_warn_at__lte"] = now
    else:
        conditions[f"{name}_due_at__lte"] = now
        values[f"{name}_state"] = ClockState.BREACHED
    return bool(TicketSla.objects.filter(pk=clock.pk, **conditions).update(**values))


@transaction.atomic
def sla_check_ticket(*, ticket_id: int, now: datetime | None = None) -> SweepResult:
    """Act on the crossings of one ticket's clocks due by `now`."""
    now = _now(now)
    result = SweepResult(checked=1)
    # Lock order: the ticket row, then the clock (as the ticket services do).
    ticket: Ticket | None = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    clock: TicketSla | None = (
        TicketSla.objects.filter(pk=ticket_id).select_related("policy").first()
    )
    if ticket is None or clock is None or clock.next_check_at is None:
        return result
    if clock.next_check_at > now or clock.running_since is None:
        return result
    crossings: list[tuple[str, str]] = []
    for name in clocks.CLOCKS:
        if clocks.is_stopped(clock, name):
            continue
        warn_at: datetime | None = getattr(clock, f"{name}_warn_at")
        due_at: datetime | None = getattr(clock, f"{name}_due_at")
        if getattr(clock, f"{name}_warned_at") is None and warn_at and warn_at <= now:
            if _claim(clock, name, "warned", now):
                crossings.append((name, "warning"))
        if getattr(clock, f"{name}_breached_at") is None and due_at and due_at <= now:
            if _claim(clock, name, "breached", now):
                crossings.append((name, "breach"))
    for name, what in crossings:
        if what == "warning":
            _warn(ticket, clock, name)
            result.warnings += 1
        else:
            result.escalations += _breach(ticket, clock, name)
            result.breaches += 1
    if crossings:
        result.ticket_ids.append(ticket_id)
    fresh: TicketSla = TicketSla.objects.get(pk=ticket_id)
    clocks.summarise(fresh)
    fresh.save(update_fields=["due_at", "next_check_at", "updated_at"])
    return result


# --- warnings, breaches, notifications -------------------------------------------------------


def _people(*users: User | None) -> list[User]:
    seen: dict[int, User] = {}
    for user in users:
        if user is not None and user.is_active and user.pk not in seen:
            seen[user.pk] = user
    return list(seen.values())


def _notify(ticket: Ticket, recipients: list[User], *, reason: str, about: str) -> None:
    """A notification: recorded on the ticket's timeline (agents only) and logged. Delivery by
    mail comes with the outbound channel (a later issue); this is its record."""
    event_record(
        actor=_system(ticket.tenant_id),
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.NOTIFIED,
        field=about,
        new=", ".join(u.full_name for u in recipients) or "nobody",
        data={"recipient_ids": [u.pk for u in recipients], "reason": reason},
        is_public=False,
    )
    logger.info(
        "SLA notification",
        extra={
            "ticket": ticket.number,
            "about": about,
            "recipient_ids": [u.pk for u in recipients],
        },
    )


def _due_text(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _due_human(moment: datetime | None) -> str:
    # Stored in the event once for every reader: in UTC, and saying so.
    return f"{moment.astimezone(UTC):%d %b %Y %H:%M} UTC" if moment else "unknown"


def _warn(ticket: Ticket, clock: TicketSla, name: str) -> None:
    due_at = getattr(clock, f"{name}_due_at")
    reason = f"{clock.warning_percent}% of the {LABELS[name]} target used"
    event_record(
        actor=_system(ticket.tenant_id),
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.SLA_WARNING,
        field=name,
        new=_due_text(due_at),
        data={"clock": name, "due_at": _due_text(due_at), "reason": reason},
        is_public=False,
    )
    group = ticket.group
    _notify(
        ticket,
        _people(ticket.assignee, group.team_lead if group else None),
        reason=f"{reason}; due {_due_human(due_at)}",
        about="sla_warning",
    )


def _steps_from_history(ticket: Ticket) -> list[str]:
    """What was already tried, for the handoff note: the steps of earlier escalations and the
    internal notes, newest last; "None recorded" when there are none."""
    actor = _system(ticket.tenant_id)
    steps: list[str] = []
    for escalation in reversed(list(ticket_selectors.escalation_list(actor=actor, ticket=ticket))):
        steps += [str(s) for s in escalation.steps_tried if str(s).strip()]
    for comment in ticket_selectors.comment_list(actor=actor, ticket=ticket):
        if comment.is_internal:
            first_line = comment.body.strip().splitlines()[0] if comment.body.strip() else ""
            if first_line:
                steps.append(f"Note: {first_line[:300]}")
    unique = list(dict.fromkeys(steps))[-20:]
    return unique or ["None recorded"]


def _breach(ticket: Ticket, clock: TicketSla, name: str) -> int:
    """Record the breach and act on it; returns the number of escalations made (0 or 1).

    First response: the assignee, the team lead and the manager are told. Resolution: the
    policy's action (functional escalation to the breach group or next tier, falling back to a
    management flag when there is no tier to go to; hierarchical: a management flag)."""
    due_at = getattr(clock, f"{name}_due_at")
    policy = clock.policy
    action = SlaPolicy.BreachAction.NONE
    if name == "resolution" and policy is not None:
        action = SlaPolicy.BreachAction(policy.breach_action)
    reason = f"The {LABELS[name]} target was breached (due {_due_human(due_at)})"
    event_record(
        actor=_system(ticket.tenant_id),
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.SLA_BREACH,
        field=name,
        new=_due_text(due_at),
        data={"clock": name, "due_at": _due_text(due_at), "reason": reason, "action": action},
        is_public=False,
    )
    group = ticket.group
    lead = group.team_lead if group else None
    manager = group.manager if group else None
    if action == SlaPolicy.BreachAction.NONE:
        _notify(ticket, _people(ticket.assignee, lead, manager), reason=reason, about="sla_breach")
        return 0
    escalation = _escalate(ticket, policy, action, reason)
    if escalation is None:
        _notify(
            ticket,
            _people(ticket.assignee, lead, manager),
            reason=f"{reason}; it could not be escalated",
            about="sla_breach",
        )
        return 0
    if escalation.kind == Escalation.Kind.FUNCTIONAL and escalation.to_group is not None:
        to_group = escalation.to_group
        recipients = _people(to_group.team_lead)
        about = "sla_escalation"
    else:
        recipients = _people(manager)
        about = "sla_manager"
    _notify(ticket, recipients, reason=reason, about=about)
    return 1


def _escalate(
    ticket: Ticket, policy: SlaPolicy | None, action: str, reason: str
) -> Escalation | None:
    actor = _system(ticket.tenant_id)
    note: dict[str, Any] = {
        "symptoms": ESCALATION_SYMPTOMS,
        "steps_tried": _steps_from_history(ticket),
        "reason": reason,
    }
    kinds = [Escalation.Kind.HIERARCHICAL]
    if action == SlaPolicy.BreachAction.FUNCTIONAL:
        kinds.insert(0, Escalation.Kind.FUNCTIONAL)
    for kind in kinds:
        to_group_id = policy.breach_group_id if policy and kind == "functional" else None
        try:
            # A savepoint: a refused escalation (no next tier) must not undo the breach record.
            with transaction.atomic():
                return ticket_services.ticket_escalate(
                    actor=actor,
                    ticket=ticket,
                    expected_version=None,
                    kind=kind,
                    to_group_id=to_group_id,
                    **note,
                )
        except ValidationError as exc:
            logger.info(
                "SLA escalation refused",
                extra={"ticket": ticket.number, "kind": kind, "errors": exc.errors},
            )
    return None
