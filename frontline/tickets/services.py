"""Every write to a ticket. Each service checks access, validates, writes, and records audit
events in the same transaction. UI, API, commands and (later) mail intake all call these."""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from frontline.accounts.models import SupportGroup, User
from frontline.accounts.selectors import user_has_organization_access
from frontline.core import access, config_cache
from frontline.core.access import Actor
from frontline.core.errors import Conflict, NotFound, ValidationError
from frontline.core.events import event_record, event_record_changes
from frontline.core.models import AuditEvent
from frontline.sla import services as sla_services
from frontline.tenants.models import Organization
from frontline.tickets import workflow
from frontline.tickets.models import (
    Attachment,
    Category,
    Comment,
    Escalation,
    Level,
    PriorityMatrixEntry,
    StatusLink,
    Ticket,
    TicketSequence,
)

Kind = AuditEvent.Kind
S = Ticket.Status

# The ITIL default, used when the configurable matrix has no row for a combination.
DEFAULT_MATRIX: dict[tuple[int, int], int] = {
    (1, 1): 1, (1, 2): 2, (1, 3): 3,
    (2, 1): 2, (2, 2): 3, (2, 3): 4,
    (3, 1): 3, (3, 2): 4, (3, 3): 5,
}  # fmt: skip

MAX_SUBJECT = 255
MAX_TEXT = 100_000


# --- helpers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Routing:
    """The configuration a new ticket is routed with (cached: core.config_cache). Shared by the
    process's threads: read-only."""

    matrix: Mapping[tuple[int, int], int]
    categories: Mapping[int, Category]  # active ones, with their default group
    groups: Mapping[int, SupportGroup]  # active ones
    service_desk: SupportGroup | None  # the first active service-desk group (tier, name)


def _routing_load() -> _Routing:
    matrix = dict(DEFAULT_MATRIX)
    for entry in PriorityMatrixEntry.objects.all():
        matrix[(entry.impact, entry.urgency)] = entry.priority
    groups = {g.pk: g for g in SupportGroup.objects.filter(is_active=True)}  # ordered tier, name
    categories = {
        c.pk: c for c in Category.objects.filter(is_active=True).select_related("default_group")
    }
    desk = next((g for g in groups.values() if g.kind == SupportGroup.Kind.SERVICE_DESK), None)
    return _Routing(matrix=matrix, categories=categories, groups=groups, service_desk=desk)


def _routing() -> _Routing:
    return config_cache.cached("tickets.routing", _routing_load)


def _pk(value: Any) -> int:
    """An id as given by a caller (int or digits), or 0 (no row has it) when it is neither."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def priority_for(*, impact: int, urgency: int) -> int:
    """The priority the configured matrix gives to impact x urgency."""
    if impact not in Level.values or urgency not in Level.values:
        raise ValidationError({"impact": "Impact and urgency must each be 1, 2 or 3."})
    return _routing().matrix[(impact, urgency)]


# PostgreSQL: one SEQUENCE per number prefix (migration tickets/0005).
NUMBER_SEQUENCES = {"INC": "tickets_number_inc", "REQ": "tickets_number_req"}


def _uses_sequences() -> bool:
    return connection.vendor == "postgresql"


def _next_number(ticket_type: str) -> str:
    """The next INC-/REQ- number. PostgreSQL: `nextval()` of the prefix's SEQUENCE, which never
    waits for other transactions (a counter row would be locked until the creating transaction
    commits, so creations would queue behind each other); a number taken by a transaction that
    rolls back is not reused, so numbers may have gaps. SQLite (one writer at a time anyway):
    the counter row, gapless."""
    prefix = "INC" if ticket_type == Ticket.Type.INCIDENT else "REQ"
    if _uses_sequences():
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s)", [NUMBER_SEQUENCES[prefix]])
            value = int(cursor.fetchone()[0])
        return f"{prefix}-{value:06d}"
    updated = TicketSequence.objects.filter(name=prefix).update(value=F("value") + 1)
    if not updated:
        TicketSequence.objects.get_or_create(name=prefix, defaults={"value": 0})
        TicketSequence.objects.filter(name=prefix).update(value=F("value") + 1)
    value = TicketSequence.objects.values_list("value", flat=True).get(name=prefix)
    return f"{prefix}-{value:06d}"


def number_last_issued(prefix: str) -> int:
    """The counter of `prefix` ("INC" or "REQ"): the last number handed out (0: none yet)."""
    if _uses_sequences():
        with connection.cursor() as cursor:
            sequence = NUMBER_SEQUENCES[prefix]  # a fixed name, never input
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
            last, called = cursor.fetchone()
        return int(last if called else last - 1)
    found = TicketSequence.objects.filter(name=prefix).values_list("value", flat=True).first()
    return int(found or 0)


def number_sequences_restart() -> None:
    """PostgreSQL: let each number SEQUENCE continue right after the highest number issued (in
    this transaction's view), as the counter row does after a rollback. For loads into an
    empty database (the demo), so that loading the same data gives the same numbers; not for
    a live desk (a number taken by a transaction still open elsewhere would be issued twice,
    and refused by the unique constraint). SQLite: nothing (the counter row is transactional)."""
    if not _uses_sequences():
        return
    table = Ticket._meta.db_table
    for prefix, sequence in NUMBER_SEQUENCES.items():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(%s, COALESCE(MAX(CAST(SUBSTRING(number FROM 5) AS bigint)), 0) + 1, "  # noqa: S608
                f"false) FROM {table} WHERE number LIKE %s",
                [sequence, f"{prefix}-%"],
            )


def number_counter_set(prefix: str, value: int) -> None:
    """Set the counter of `prefix` so the next number is value + 1 (bulk loads: the bench
    seed). Not for the live desk: numbers already issued above `value` would be issued again."""
    TicketSequence.objects.update_or_create(name=prefix, defaults={"value": value})
    if _uses_sequences():
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(%s, %s, false)", [NUMBER_SEQUENCES[prefix], value + 1])


def _lock(ticket: Ticket, expected_version: int | None) -> Ticket:
    """Re-read `ticket` under a row lock; refuse if someone saved it since `expected_version`.

    Returns the fresh row with its version already bumped (callers save 'version')."""
    try:
        # Scoped to the tenant the caller was authorised for: a Ticket instance whose tenant_id
        # does not match its row (built by hand, or tampered with) finds nothing.
        # With its requester and assignee (locking the ticket row only): what the notifications
        # of the change need, so they do not read the ticket again.
        fresh: Ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("requester", "assignee")
            .get(pk=ticket.pk, tenant_id=ticket.tenant_id)
        )
    except Ticket.DoesNotExist:
        raise NotFound("Ticket not found.") from None
    if expected_version is not None and fresh.version != expected_version:
        raise Conflict()
    fresh.version += 1
    return fresh


def _clean_text(value: str, field: str, *, required: bool, limit: int = MAX_TEXT) -> str:
    value = (value or "").replace("\x00", "").strip()
    if required and not value:
        raise ValidationError({field: "This field is required."})
    if len(value) > limit:
        raise ValidationError({field: f"At most {limit} characters."})
    return value


def _category(category_id: int | None, *, parent_id: int | None, field: str) -> Category | None:
    if category_id is None:
        return None
    category = _routing().categories.get(_pk(category_id))
    if category is None:
        raise ValidationError({field: "Unknown category."})
    if field == "subcategory_id" and category.parent_id != parent_id:
        raise ValidationError({field: "This subcategory does not belong to the chosen category."})
    if field == "category_id" and category.parent_id is not None:
        raise ValidationError({field: "Choose a top-level category."})
    return category


def _agent_for(
    ticket_tenant_id: int, user_id: int | None, field: str = "assignee_id"
) -> User | None:
    if user_id is None:
        return None
    agent = User.objects.filter(pk=user_id, is_active=True).first()
    if agent is None or not agent.is_agent:
        raise ValidationError({field: "Unknown agent."})
    if not user_has_organization_access(agent, ticket_tenant_id):
        raise ValidationError({field: "This agent does not serve the ticket's organisation."})
    return agent


def _group(group_id: int | None, field: str = "group_id") -> SupportGroup | None:
    if group_id is None:
        return None
    group = _routing().groups.get(_pk(group_id))
    if group is None:
        raise ValidationError({field: "Unknown group."})
    return group


def _stamp(ticket: Ticket, fields: list[str]) -> None:
    ticket.save(update_fields=[*fields, "version", "updated_at"])


def _status_event(
    actor: Actor,
    ticket: Ticket,
    old_status: str,
    *,
    kind: str = Kind.STATUS,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Record `ticket`'s move from `old_status` to its current status; nothing if it stayed."""
    if ticket.status != old_status:
        event_record(
            actor=actor,
            target=ticket,
            tenant_id=ticket.tenant_id,
            kind=kind,
            field="status",
            old=old_status,
            new=ticket.status,
            data=data,
        )


# --- create ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file to attach, independent of where it came from (upload, API, mail)."""

    name: str
    content: UploadedFile
    content_type: str = ""


@transaction.atomic
def ticket_create(
    *,
    actor: Actor,
    subject: str,
    description: str = "",
    requester_id: int | None = None,
    requester: User | None = None,
    organization_id: int | None = None,
    type: str = Ticket.Type.INCIDENT,
    channel: str | None = None,
    category_id: int | None = None,
    subcategory_id: int | None = None,
    impact: int = Level.LOW,
    urgency: int = Level.LOW,
    affected_service: str = "",
    location: str = "",
    group_id: int | None = None,
    assignee_id: int | None = None,
    files: Sequence[NewFile] = (),
) -> Ticket:
    """Open a ticket. End users open tickets for themselves only (organisation and requester come
    from their account); agents may log one for any requester of an organisation they serve.
    Agents' and system callers that already hold the requester's User may pass it as `requester`
    instead of `requester_id` (the same checks apply; it saves reading it again); for an end user
    only their own User is taken, anything else is ignored."""
    access.require(actor, "tickets.create")
    subject = _clean_text(subject, "subject", required=True, limit=MAX_SUBJECT)
    description = _clean_text(description, "description", required=False)
    if type not in Ticket.Type.values:
        raise ValidationError({"type": "Type must be 'incident' or 'request'."})
    if impact not in Level.values:
        raise ValidationError({"impact": "Impact must be 1 (high), 2 (medium) or 3 (low)."})
    if urgency not in Level.values:
        raise ValidationError({"urgency": "Urgency must be 1 (high), 2 (medium) or 3 (low)."})

    if actor.is_agent:
        if requester is not None:
            if requester_id is not None and requester_id != requester.pk:
                raise ValidationError({"requester_id": "Unknown requester."})
            if not requester.is_active:
                requester = None
        elif requester_id is None:
            raise ValidationError({"requester_id": "Choose the person who reported this."})
        else:
            requester = User.objects.filter(pk=requester_id, is_active=True).first()
        if requester is None or not actor.can_see_tenant(requester.organization_id):
            raise ValidationError({"requester_id": "Unknown requester."})
        if organization_id is not None and organization_id != requester.organization_id:
            raise ValidationError(
                {"organization_id": "The requester does not belong to this organisation."}
            )
        tenant_id = requester.organization_id
        channel = channel or Ticket.Channel.PHONE
        group = _group(group_id)
        assignee = _agent_for(tenant_id, assignee_id)
    else:
        # End users: the organisation, requester and routing are never theirs to choose. The
        # caller may hand over the actor's own User (the API's request.user, read this
        # request) to save reading it again; anyone else's is ignored.
        if requester is None or requester.pk is None or requester.pk != actor.user_id:
            requester = User.objects.get(pk=actor.user_id or 0)
        tenant_id = requester.organization_id
        channel = (
            channel
            if channel in {Ticket.Channel.PORTAL, Ticket.Channel.API}
            else (Ticket.Channel.PORTAL)
        )
        group = None
        assignee = None
    if channel not in Ticket.Channel.values:
        raise ValidationError({"channel": "Unknown channel."})
    category = _category(category_id, parent_id=None, field="category_id")
    subcategory = _category(
        subcategory_id, parent_id=category.pk if category else None, field="subcategory_id"
    )
    if group is None and subcategory is not None:
        group = subcategory.default_group
    if group is None and category is not None:
        group = category.default_group
    if group is None:
        group = _routing().service_desk
    for new_file in files:
        _attachment_check(new_file)

    # The requester's organisation when it is loaded (the API's token lookup loads it), so
    # that the caller can show the new ticket's organisation without a query.
    tenant = requester.organization if User.organization.is_cached(requester) else None
    ticket = Ticket.objects.create(
        tenant_id=tenant_id,
        number=_next_number(type),
        type=type,
        subject=subject,
        description=description,
        requester=requester,
        created_by_id=actor.user_id,
        channel=channel,
        category=category,
        subcategory=subcategory,
        impact=impact,
        urgency=urgency,
        priority=priority_for(impact=impact, urgency=urgency),
        affected_service=_clean_text(
            affected_service, "affected_service", required=False, limit=200
        ),
        location=_clean_text(location, "location", required=False, limit=200),
        group=group,
        assignee=assignee,
        tier=group.tier if group else 1,
        status=S.ASSIGNED if assignee else S.NEW,
    )
    if tenant is not None and tenant.pk == tenant_id:
        Ticket.tenant.field.set_cached_value(ticket, tenant)
    event_record(
        actor=actor,
        target=ticket,
        tenant_id=tenant_id,
        kind=Kind.CREATED,
        data={
            "number": ticket.number,
            "channel": channel,
            "priority": ticket.priority,
            "group": group.name if group else None,
            "assignee": assignee.full_name if assignee else None,
        },
    )
    sla_services.sla_start(ticket=ticket)
    for new_file in files:
        _attachment_store(actor=actor, ticket=ticket, new_file=new_file, comment=None)
    return ticket


def _require_visible(actor: Actor, *tickets: Ticket) -> None:
    """NotFound if any of `tickets` belongs to an organisation the actor may not see, before any
    other rule is consulted (so a refusal never tells whether a foreign ticket exists)."""
    for ticket in tickets:
        if not actor.can_see_tenant(ticket.tenant_id):
            raise NotFound("Ticket not found.")


# --- update fields ---------------------------------------------------------------------------

UPDATABLE_FIELDS = frozenset(
    {
        "subject",
        "description",
        "type",
        "category_id",
        "subcategory_id",
        "impact",
        "urgency",
        "affected_service",
        "location",
        "channel",
    }
)


@transaction.atomic
def ticket_update(
    *, actor: Actor, ticket: Ticket, expected_version: int | None, changes: Mapping[str, Any]
) -> Ticket:
    """Change a ticket's descriptive fields (agents). Impact/urgency recompute the priority."""
    access.require(actor, "tickets.update", ticket)
    unknown = sorted(set(changes) - UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed here."))
    ticket = _lock(ticket, expected_version)
    before = {
        "subject": ticket.subject,
        "description": ticket.description,
        "type": ticket.type,
        "category_id": ticket.category_id,
        "subcategory_id": ticket.subcategory_id,
        "impact": ticket.impact,
        "urgency": ticket.urgency,
        "priority": ticket.priority,
        "affected_service": ticket.affected_service,
        "location": ticket.location,
        "channel": ticket.channel,
    }
    changed: list[str] = []
    for name, value in changes.items():
        if name == "subject":
            value = _clean_text(value, "subject", required=True, limit=MAX_SUBJECT)
        elif name == "description":
            value = _clean_text(value, "description", required=False)
        elif name in {"affected_service", "location"}:
            value = _clean_text(value, name, required=False, limit=200)
        elif name == "type" and value not in Ticket.Type.values:
            raise ValidationError({"type": "Type must be 'incident' or 'request'."})
        elif name == "channel" and value not in Ticket.Channel.values:
            raise ValidationError({"channel": "Unknown channel."})
        elif name in {"impact", "urgency"} and value not in Level.values:
            raise ValidationError({name: "Must be 1 (high), 2 (medium) or 3 (low)."})
        elif name == "category_id":
            _category(value, parent_id=None, field="category_id")
        setattr(ticket, name, value)
        changed.append(name)
    if "subcategory_id" in changes or "category_id" in changes:
        _category(ticket.subcategory_id, parent_id=ticket.category_id, field="subcategory_id")
    if "impact" in changes or "urgency" in changes:
        ticket.priority = priority_for(impact=ticket.impact, urgency=ticket.urgency)
        changed.append("priority")
    _stamp(ticket, changed)
    if ticket.priority != before["priority"] or ticket.type != before["type"]:
        sla_services.sla_on_priority_change(ticket=ticket)
    event_record_changes(
        actor=actor,
        target=ticket,
        tenant_id=ticket.tenant_id,
        changes=[(name, before[name], getattr(ticket, name)) for name in dict.fromkeys(changed)],
    )
    return ticket


# --- assignment and status -------------------------------------------------------------------


@transaction.atomic
def ticket_assign(
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    group_id: int | None,
    assignee_id: int | None,
) -> Ticket:
    """Assign to a group and optionally one of its agents. A new ticket becomes 'assigned'."""
    access.require(actor, "tickets.assign", ticket)
    ticket = _lock(ticket, expected_version)
    if not ticket.is_open:
        raise ValidationError({"status": "A resolved or closed ticket cannot be reassigned."})
    group = _group(group_id) if group_id is not None else None
    if group is None and assignee_id is None:
        raise ValidationError({"group_id": "Choose a group or an agent."})
    assignee = _agent_for(ticket.tenant_id, assignee_id)
    if group is None:
        group = ticket.group
    if (
        assignee is not None
        and group is not None
        and not group.members.filter(pk=assignee.pk).exists()
    ):
        raise ValidationError({"assignee_id": f"{assignee.full_name} is not in {group.name}."})
    old_group, old_assignee, old_status = ticket.group, ticket.assignee, ticket.status
    ticket.group = group
    ticket.assignee = assignee
    if group is not None:
        ticket.tier = group.tier
    fields = ["group", "assignee", "tier"]
    if ticket.status == S.NEW:
        ticket.status = S.ASSIGNED
        fields.append("status")
    _stamp(ticket, fields)
    event_record(
        actor=actor,
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.ASSIGNED,
        field="assignment",
        old=_assignment_label(old_group, old_assignee),
        new=_assignment_label(group, assignee),
        data={
            "group_id": group.pk if group else None,
            "assignee_id": assignee.pk if assignee else None,
        },
    )
    _status_event(actor, ticket, old_status)
    return ticket


def _assignment_label(group: SupportGroup | None, assignee: User | None) -> str:
    """The assignment as its audit event shows it: "group / agent", either part may be absent."""
    names = [group.name if group else "", assignee.full_name if assignee else ""]
    return " / ".join(name for name in names if name)


def _reopen_window(ticket: Ticket) -> timedelta:
    days = Organization.objects.values_list("reopen_window_days", flat=True).get(
        pk=ticket.tenant_id
    )
    return timedelta(days=days if days is not None else settings.FRONTLINE_REOPEN_WINDOW_DAYS)


def ticket_within_reopen_window(ticket: Ticket, *, now: datetime | None = None) -> bool:
    """Whether a resolved ticket may still be reopened: the organisation's window, else the
    site default (FRONTLINE_REOPEN_WINDOW_DAYS)."""
    if ticket.resolved_at is None:
        return True
    return (now or timezone.now()) - ticket.resolved_at <= _reopen_window(ticket)


@transaction.atomic
def ticket_transition(
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    status: str,
    resolution_code: str = "",
    resolution_notes: str = "",
    reason: str = "",
) -> Ticket:
    """Move a ticket along the workflow (agents). Refuses illegal moves with a clear message and
    changes nothing. Resolving needs a resolution code and notes; reopening is only possible
    within the organisation's reopen window."""
    access.require(actor, "tickets.transition", ticket)
    return _transition(
        actor=actor,
        ticket=ticket,
        expected_version=expected_version,
        status=status,
        resolution_code=resolution_code,
        resolution_notes=resolution_notes,
        reason=reason,
    )


def _transition(
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    status: str,
    resolution_code: str = "",
    resolution_notes: str = "",
    reason: str = "",
) -> Ticket:
    ticket = _lock(ticket, expected_version)
    current = ticket.status
    workflow.check_transition(current, status)
    now = timezone.now()
    fields = ["status"]
    reopening = workflow.is_reopen(current, status)
    if reopening:
        if not ticket_within_reopen_window(ticket, now=now):
            raise ValidationError(
                {"status": "The reopen window has passed; please open a new ticket."}
            )
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.resolved_by = None
        ticket.resolved_tier = None
        ticket.first_contact_resolution = None
        ticket.resolution_code = ""
        fields += [
            "reopen_count",
            "resolved_at",
            "resolved_by",
            "resolved_tier",
            "first_contact_resolution",
            "resolution_code",
        ]
    if status == S.RESOLVED:
        if resolution_code not in Ticket.ResolutionCode.values:
            raise ValidationError({"resolution_code": "Choose a resolution code."})
        resolution_notes = _clean_text(resolution_notes, "resolution_notes", required=True)
        ticket.resolution_code = resolution_code
        ticket.resolution_notes = resolution_notes
        ticket.resolved_at = now
        ticket.resolved_by_id = actor.user_id
        ticket.resolved_tier = ticket.tier
        # First-contact resolution: solved at Tier 1 by the agent who took the contact, never
        # escalated and never sent back to the customer for more information.
        ticket.first_contact_resolution = (
            ticket.tier == 1
            and ticket.escalation_count == 0
            and not ticket.was_pending_customer
            and ticket.reopen_count == 0
            and ticket.created_by_id is not None
            and ticket.created_by_id == actor.user_id
        )
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            fields.append("first_response_at")
        fields += [
            "resolution_code",
            "resolution_notes",
            "resolved_at",
            "resolved_by",
            "resolved_tier",
            "first_contact_resolution",
        ]
    if status == S.PENDING_CUSTOMER:
        ticket.was_pending_customer = True
        fields.append("was_pending_customer")
    if status == S.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    if status == S.ASSIGNED and ticket.group_id is None and ticket.assignee_id is None:
        raise ValidationError({"status": "Assign the ticket to a group or an agent first."})
    ticket.status = status
    _stamp(ticket, list(dict.fromkeys(fields)))
    sla_services.sla_on_status_change(ticket=ticket, old_status=current)
    kind = {S.RESOLVED: Kind.RESOLVED, S.CLOSED: Kind.CLOSED}.get(status, Kind.STATUS)  # type: ignore[call-overload]
    if reopening:
        kind = Kind.REOPENED
    _status_event(
        actor,
        ticket,
        current,
        kind=kind,
        data={
            k: v
            for k, v in {
                "reason": reason.replace("\x00", "").strip()[:2000],
                "resolution_code": ticket.resolution_code if status == S.RESOLVED else "",
                "resolution_notes": resolution_notes if status == S.RESOLVED else "",
            }.items()
            if v
        },
    )
    return ticket


@transaction.atomic
def ticket_resolve(
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    resolution_code: str,
    resolution_notes: str,
) -> Ticket:
    return ticket_transition(
        actor=actor,
        ticket=ticket,
        expected_version=expected_version,
        status=S.RESOLVED,
        resolution_code=resolution_code,
        resolution_notes=resolution_notes,
    )


@transaction.atomic
def ticket_close(*, actor: Actor, ticket: Ticket, expected_version: int | None) -> Ticket:
    return ticket_transition(
        actor=actor, ticket=ticket, expected_version=expected_version, status=S.CLOSED
    )


def _require_requester_action(actor: Actor, ticket: Ticket) -> None:
    """What a requester may do to their resolved ticket (confirm, reopen): they must see it."""
    access.require(actor, "tickets.view", ticket)
    access.require(actor, "tickets.requester_action", ticket)


@transaction.atomic
def ticket_confirm_resolution(
    *, actor: Actor, ticket: Ticket, expected_version: int | None = None
) -> Ticket:
    """The requester confirms that a resolved ticket is solved: it is closed."""
    _require_requester_action(actor, ticket)
    if ticket.status != S.RESOLVED:
        raise ValidationError({"status": "Only a resolved ticket can be confirmed."})
    return _transition(
        actor=actor,
        ticket=ticket,
        expected_version=expected_version,
        status=S.CLOSED,
        reason="Resolution confirmed by requester",
    )


@transaction.atomic
def ticket_reopen(
    *, actor: Actor, ticket: Ticket, reason: str, expected_version: int | None = None
) -> Ticket:
    """Reopen a resolved ticket (requester or agent) within the reopen window, with a reason."""
    _require_requester_action(actor, ticket)
    reason = _clean_text(reason, "reason", required=True, limit=5000)
    if ticket.status != S.RESOLVED:
        raise ValidationError({"status": "Only a resolved ticket can be reopened."})
    target = S.ASSIGNED if (ticket.group_id or ticket.assignee_id) else S.IN_PROGRESS
    ticket = _transition(
        actor=actor, ticket=ticket, expected_version=expected_version, status=target, reason=reason
    )
    _comment_store(actor=actor, ticket=ticket, body=f"Reopened: {reason}", is_internal=False)
    return ticket


# --- escalation ------------------------------------------------------------------------------


@transaction.atomic
def ticket_escalate(
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    kind: str = Escalation.Kind.FUNCTIONAL,
    to_group_id: int | None = None,
    symptoms: str = "",
    diagnosis: str = "",
    steps_tried: Iterable[str] | str = (),
    reason: str = "",
) -> Escalation:
    """Hand a ticket to another group/tier (functional) or flag it to management (hierarchical).

    The handoff note (symptoms, and the steps already tried) is required so the next tier does
    not repeat them; it is shown at the top of the ticket."""
    access.require(actor, "tickets.escalate", ticket)
    symptoms = _clean_text(symptoms, "symptoms", required=True, limit=20_000)
    diagnosis = _clean_text(diagnosis, "diagnosis", required=False, limit=20_000)
    if isinstance(steps_tried, str):
        # A text box gives one string: one step per line (iterating it would give characters).
        steps_tried = steps_tried.splitlines()
    steps = [s.replace("\x00", "").strip()[:1000] for s in steps_tried if s and s.strip()]
    if not steps:
        raise ValidationError(
            {"steps_tried": "List the steps already tried, so the next tier does not repeat them."}
        )
    if len(steps) > 100:
        raise ValidationError({"steps_tried": "At most 100 steps."})
    if kind not in Escalation.Kind.values:
        raise ValidationError({"kind": "Kind must be 'functional' or 'hierarchical'."})
    ticket = _lock(ticket, expected_version)
    if not ticket.is_open:
        raise ValidationError({"status": "A resolved or closed ticket cannot be escalated."})
    from_group, from_tier, old_status = ticket.group, ticket.tier, ticket.status
    fields: list[str] = ["escalation_count"]
    if kind == Escalation.Kind.FUNCTIONAL:
        to_group = _group(to_group_id, "to_group_id") if to_group_id is not None else None
        if to_group is None and from_group is not None and from_group.escalates_to_id:
            to_group = from_group.escalates_to
        if to_group is None:
            raise ValidationError({"to_group_id": "Choose the group to escalate to."})
        if from_group is not None and to_group.pk == from_group.pk:
            raise ValidationError({"to_group_id": "The ticket is already with this group."})
        ticket.group = to_group
        ticket.assignee = None
        ticket.tier = to_group.tier
        ticket.status = S.ASSIGNED
        fields += ["group", "assignee", "tier", "status"]
    else:
        to_group = from_group
        ticket.escalated_to_manager = True
        fields.append("escalated_to_manager")
    ticket.escalation_count += 1
    _stamp(ticket, fields)
    if old_status != ticket.status:
        sla_services.sla_on_status_change(ticket=ticket, old_status=old_status)
    escalation = Escalation.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        kind=kind,
        from_group=from_group,
        to_group=to_group,
        from_tier=from_tier,
        to_tier=ticket.tier,
        symptoms=symptoms,
        diagnosis=diagnosis,
        steps_tried=steps,
        reason=_clean_text(reason, "reason", required=False, limit=5000),
        created_by_id=actor.user_id,
    )
    event_record(
        actor=actor,
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.ESCALATED,
        field="group" if kind == Escalation.Kind.FUNCTIONAL else "escalated_to_manager",
        old=from_group.name if from_group and kind == Escalation.Kind.FUNCTIONAL else "",
        new=to_group.name if to_group and kind == Escalation.Kind.FUNCTIONAL else "manager",
        data={
            "escalation_id": escalation.pk,
            "kind": kind,
            "from_tier": from_tier,
            "to_tier": ticket.tier,
        },
        is_public=False,
    )
    _status_event(actor, ticket, old_status)
    return escalation


# --- comments and attachments ----------------------------------------------------------------


def _comment_store(
    *, actor: Actor, ticket: Ticket, body: str, is_internal: bool, channel: str = ""
) -> Comment:
    comment = Comment.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        author_id=actor.user_id,
        body=body,
        is_internal=is_internal,
        channel=channel,
    )
    event_record(
        actor=actor,
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.NOTE if is_internal else Kind.COMMENTED,
        data={"comment_id": comment.pk},
        is_public=not is_internal,
        related=comment,
    )
    return comment


@transaction.atomic
def comment_add(
    *,
    actor: Actor,
    ticket: Ticket,
    body: str,
    is_internal: bool = False,
    files: Sequence[NewFile] = (),
    channel: str = "",
) -> Comment:
    """Add a public reply or (agents only) an internal note, with optional attachments.

    A requester's reply to a ticket pending on them puts it back in progress; an agent's first
    public reply records the first response."""
    access.require(actor, "tickets.comment", ticket)
    if is_internal:
        access.require(actor, "tickets.note", ticket)
    body = _clean_text(body, "body", required=not files)
    if not body and files:
        body = "(attachment)"
    for new_file in files:
        _attachment_check(new_file)
    # Lock first so the closed check sees the committed status, not the caller's copy.
    locked = _lock(ticket, None)
    if locked.status == S.CLOSED:
        raise ValidationError({"body": "This ticket is closed; please open a new ticket."})
    comment = _comment_store(
        actor=actor, ticket=locked, body=body, is_internal=is_internal, channel=channel
    )
    for new_file in files:
        _attachment_store(actor=actor, ticket=locked, new_file=new_file, comment=comment)
    fields: list[str] = []
    if actor.is_agent and not is_internal and locked.first_response_at is None:
        locked.first_response_at = timezone.now()
        fields.append("first_response_at")
    if not actor.is_agent and locked.status == S.PENDING_CUSTOMER:
        locked.status = S.IN_PROGRESS if locked.assignee_id else S.ASSIGNED
        fields.append("status")
        _status_event(actor, locked, S.PENDING_CUSTOMER, data={"reason": "Requester replied"})
    if "first_response_at" in fields:
        sla_services.sla_on_first_response(ticket=locked)
    if "status" in fields:
        sla_services.sla_on_status_change(ticket=locked, old_status=S.PENDING_CUSTOMER)
        _stamp(locked, fields)
    else:
        # A reply (and the first-response stamp, which no form edits) changes nothing a person
        # could be editing, so the version stays: an agent editing the ticket meanwhile must
        # not get a false conflict. updated_at still moves, so the queue shows the activity.
        locked.version -= 1
        locked.save(update_fields=[*fields, "updated_at"])
    ticket.version = locked.version
    ticket.status = locked.status
    return comment


def _attachment_check(new_file: NewFile) -> int:
    """The file's size, or ValidationError if it is over the limit (checked before any write)."""
    limit = settings.FRONTLINE_MAX_ATTACHMENT_BYTES
    size = new_file.content.size or 0
    if size > limit:
        raise ValidationError(
            {
                "file": f"{_safe_filename(new_file.name)} is {size:,} bytes; "
                f"the limit is {limit:,} bytes."
            }
        )
    return size


def _attachment_store(
    *, actor: Actor, ticket: Ticket, new_file: NewFile, comment: Comment | None
) -> Attachment:
    size = _attachment_check(new_file)
    name = _safe_filename(new_file.name)
    content_type = (
        new_file.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    )[:100]
    attachment = Attachment(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        comment=comment,
        filename=name,
        content_type=content_type,
        size=size,
        uploaded_by_id=actor.user_id,
        is_internal=bool(comment and comment.is_internal),
    )
    attachment.file.save(name, new_file.content, save=False)
    attachment.save()
    # A file whose transaction rolls back stays unreferenced in storage; no row points to it,
    # so nobody can reach it (a storage sweep can remove such orphans).
    event_record(
        actor=actor,
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.ATTACHED,
        new=name,
        data={"attachment_id": attachment.pk, "size": size},
        is_public=not attachment.is_internal,
    )
    return attachment


def _safe_filename(name: str) -> str:
    """Keep a readable file name for display: no path, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*\x00')
    base = base.strip(" .") or "attachment"
    return base[:200]


@transaction.atomic
def attachment_add(*, actor: Actor, ticket: Ticket, new_file: NewFile) -> Attachment:
    access.require(actor, "tickets.attach", ticket)
    _attachment_check(new_file)
    status = Ticket.objects.filter(pk=ticket.pk).values_list("status", flat=True).first()
    if status == S.CLOSED:
        raise ValidationError({"file": "This ticket is closed."})
    return _attachment_store(actor=actor, ticket=ticket, new_file=new_file, comment=None)


# --- links, merge, watchers ------------------------------------------------------------------


@transaction.atomic
def ticket_link_parent(
    *, actor: Actor, ticket: Ticket, parent: Ticket | None, expected_version: int | None = None
) -> Ticket:
    """Make `ticket` a child of `parent` (or clear it). Both must be of the same organisation."""
    _require_visible(actor, ticket, *([parent] if parent is not None else []))
    access.require(actor, "tickets.link", ticket)
    if parent is not None:
        access.require(actor, "tickets.link", parent)
        if parent.tenant_id != ticket.tenant_id:
            raise ValidationError(
                {"parent": "Tickets of different organisations cannot be linked."}
            )
        if parent.pk == ticket.pk:
            raise ValidationError({"parent": "A ticket cannot be its own parent."})
        ancestor: Ticket | None = parent
        seen = 0
        while ancestor is not None and seen < 50:
            if ancestor.parent_id == ticket.pk:
                raise ValidationError({"parent": "That would make a loop of parents."})
            ancestor = ancestor.parent
            seen += 1
    ticket = _lock(ticket, expected_version)
    old = ticket.parent.number if ticket.parent else ""
    ticket.parent = parent
    _stamp(ticket, ["parent"])
    event_record(
        actor=actor,
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.LINKED,
        field="parent",
        old=old,
        new=parent.number if parent else "",
    )
    if parent is not None:
        event_record(
            actor=actor,
            target=parent,
            tenant_id=parent.tenant_id,
            kind=Kind.LINKED,
            field="child",
            new=ticket.number,
        )
    return ticket


@transaction.atomic
def ticket_merge(
    *, actor: Actor, source: Ticket, target: Ticket, expected_version: int | None = None
) -> Ticket:
    """Merge duplicate `source` into `target`: source is closed as a duplicate pointing at
    target; its requester and watchers follow the target. Nothing is deleted."""
    _require_visible(actor, source, target)
    access.require(actor, "tickets.merge", source)
    access.require(actor, "tickets.merge", target)
    if source.tenant_id != target.tenant_id:
        raise ValidationError({"target": "Tickets of different organisations cannot be merged."})
    if source.pk == target.pk:
        raise ValidationError({"target": "A ticket cannot be merged into itself."})
    # Lock both rows in id order (two opposite merges must not deadlock), then decide on the
    # committed state of both rather than on the callers' copies.
    if source.pk < target.pk:
        source = _lock(source, expected_version)
        locked_target = _lock(target, None)
    else:
        locked_target = _lock(target, None)
        source = _lock(source, expected_version)
    if locked_target.status == S.CLOSED:
        raise ValidationError({"target": "Cannot merge into a closed ticket."})
    if locked_target.duplicate_of_id is not None:
        raise ValidationError({"target": "That ticket is itself a duplicate."})
    if source.status == S.CLOSED:
        raise ValidationError({"source": "A closed ticket cannot be merged."})
    target = locked_target
    now = timezone.now()
    old_status = source.status
    source.duplicate_of = target
    source.status = S.CLOSED
    source.resolution_code = Ticket.ResolutionCode.DUPLICATE
    source.resolution_notes = f"Duplicate of {target.number}"
    source.resolved_at = source.resolved_at or now
    source.closed_at = now
    _stamp(
        source,
        [
            "duplicate_of",
            "status",
            "resolution_code",
            "resolution_notes",
            "resolved_at",
            "closed_at",
        ],
    )
    sla_services.sla_on_status_change(ticket=source, old_status=old_status)
    event_record(
        actor=actor,
        target=source,
        tenant_id=source.tenant_id,
        kind=Kind.MERGED,
        field="duplicate_of",
        new=target.number,
        data={"into": target.number},
    )
    _status_event(actor, source, old_status, kind=Kind.CLOSED)
    followers = {source.requester_id, *source.watchers.values_list("pk", flat=True)}
    followers.discard(locked_target.requester_id)
    if followers:
        locked_target.watchers.add(*followers)
    _stamp(locked_target, [])
    event_record(
        actor=actor,
        target=locked_target,
        tenant_id=locked_target.tenant_id,
        kind=Kind.MERGED,
        field="merged",
        new=source.number,
        data={"from": source.number},
    )
    return locked_target


@transaction.atomic
def watcher_add(*, actor: Actor, ticket: Ticket, user_id: int) -> None:
    access.require(actor, "tickets.watch", ticket)
    user = User.objects.filter(pk=user_id, is_active=True).first()
    # Watchers are notified of every change: an agent who does not serve the organisation
    # must not receive its tickets by mail any more than they may open them.
    if user is None or not user_has_organization_access(user, ticket.tenant_id):
        raise ValidationError({"user_id": "Watchers must belong to the ticket's organisation."})
    if ticket.watchers.filter(pk=user.pk).exists():
        return
    ticket.watchers.add(user)
    _watcher_event(actor, ticket, user, added=True)


@transaction.atomic
def watcher_remove(*, actor: Actor, ticket: Ticket, user_id: int) -> None:
    access.require(actor, "tickets.watch", ticket)
    user = ticket.watchers.filter(pk=user_id).first()
    if user is None:
        return
    ticket.watchers.remove(user)
    _watcher_event(actor, ticket, user, added=False)


def _watcher_event(actor: Actor, ticket: Ticket, user: User, *, added: bool) -> None:
    event_record(
        actor=actor,
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.WATCHER,
        field="watchers",
        old=None if added else user.full_name,
        new=user.full_name if added else None,
        data={"added" if added else "removed": user.pk},
    )


# --- status links (sent by mail) -------------------------------------------------------------


def status_link_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def status_link_create(*, actor: Actor, ticket: Ticket, days: int | None = None) -> str:
    """A random, ticket-bound, expiring link token; only its hash is stored. Returns the token."""
    access.require(actor, "tickets.status_link", ticket)
    raw = secrets.token_urlsafe(32)
    link = StatusLink.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        token_hash=status_link_hash(raw),
        expires_at=timezone.now()
        + timedelta(days=days if days is not None else settings.FRONTLINE_STATUS_LINK_DAYS),
    )
    _security_event(actor, ticket, {"status_link": link.pk})
    return raw


@transaction.atomic
def status_link_revoke_all(*, actor: Actor, ticket: Ticket) -> int:
    access.require(actor, "tickets.status_link", ticket)
    count = StatusLink.objects.filter(ticket=ticket, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _security_event(actor, ticket, {"status_links_revoked": count})
    return int(count)


def _security_event(actor: Actor, ticket: Ticket, data: Mapping[str, Any]) -> None:
    """Status links give access without signing in: their creation and revocation are audited,
    internally (never on the customer's timeline)."""
    event_record(
        actor=actor,
        target=ticket,
        tenant_id=ticket.tenant_id,
        kind=Kind.SECURITY,
        data=data,
        is_public=False,
    )
