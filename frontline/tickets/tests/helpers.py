"""Helpers for the service-layer tests: open tickets and walk them through the workflow using
the services themselves, and take snapshots to prove that a refused call changed nothing."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from frontline.core.models import AuditEvent
from frontline.tickets import services
from frontline.tickets.models import Attachment, Comment, Escalation, Ticket

S = Ticket.Status
RESOLVE = {"resolution_code": Ticket.ResolutionCode.SOLVED_REMOTELY, "resolution_notes": "Fixed."}


def open_ticket(desk: Any, *, by: Any = None, requester: Any = None, **kwargs: Any) -> Ticket:
    """A ticket logged through ticket_create (by default: agent1 for Alice of organisation A)."""
    by = by or desk.agent1
    kwargs.setdefault("subject", "Outlook crashes on start")
    if by.is_agent:
        kwargs.setdefault("requester_id", (requester or desk.user_a).pk)
    return services.ticket_create(actor=desk.actor(by), **kwargs)


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def transition(desk: Any, ticket: Ticket, status: str, *, by: Any = None, **kwargs: Any) -> Ticket:
    ticket = fresh(ticket)
    if status == S.RESOLVED:
        for key, value in RESOLVE.items():
            kwargs.setdefault(key, value)
    return services.ticket_transition(
        actor=desk.actor(by or desk.agent1),
        ticket=ticket,
        expected_version=ticket.version,
        status=status,
        **kwargs,
    )


def drive_to(desk: Any, ticket: Ticket, status: str) -> Ticket:
    """Bring a new ticket to `status` the way agents would, through the services."""
    ticket = fresh(ticket)
    assert ticket.status == S.NEW
    if status == S.NEW:
        return ticket
    if status == S.ASSIGNED:
        ticket = services.ticket_assign(
            actor=desk.actor(desk.agent1),
            ticket=ticket,
            expected_version=ticket.version,
            group_id=desk.tier1.pk,
            assignee_id=desk.agent1.pk,
        )
    elif status == S.CLOSED:
        ticket = transition(desk, transition(desk, ticket, S.RESOLVED), S.CLOSED)
    else:
        ticket = transition(desk, ticket, status)
    ticket = fresh(ticket)
    assert ticket.status == status
    return ticket


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    """Every column of the ticket, plus its watchers: compare before/after a refused call."""
    row: dict[str, Any] = dict(Ticket.objects.filter(pk=ticket.pk).values().get())
    row["watchers"] = sorted(
        Ticket.watchers.through.objects.filter(ticket_id=ticket.pk).values_list(
            "user_id", flat=True
        )
    )
    return row


def db_state(*tickets: Ticket) -> dict[str, Any]:
    """A snapshot of `tickets` and of every table a ticket service writes to."""
    return {
        "tickets": [ticket_row(t) for t in tickets],
        "ticket_count": Ticket.objects.count(),
        "events": AuditEvent.objects.count(),
        "comments": Comment.objects.count(),
        "attachments": Attachment.objects.count(),
        "escalations": Escalation.objects.count(),
    }


def events_of(ticket: Ticket) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(target_type="tickets.ticket", target_id=ticket.pk).order_by("id")
    )


def upload(name: str = "screenshot.png", size: int = 64, content: bytes | None = None) -> Any:
    data = content if content is not None else b"x" * size
    return services.NewFile(name=name, content=SimpleUploadedFile("upload", data))


def escalate(desk: Any, ticket: Ticket, *, by: Any = None, **kwargs: Any) -> Any:
    ticket = fresh(ticket)
    kwargs.setdefault("symptoms", "Outlook closes two seconds after start.")
    kwargs.setdefault("diagnosis", "Crash in an add-in.")
    kwargs.setdefault("steps_tried", ["Restarted Outlook", "Ran Office repair"])
    return services.ticket_escalate(
        actor=desk.actor(by or desk.agent1),
        ticket=ticket,
        expected_version=ticket.version,
        **kwargs,
    )
