"""REST API for tickets, their comments, attachments, workflow and timeline (mounted at
/api/v1/tickets by frontline.api). Each operation parses input, calls one service or selector
(after looking the ticket up through `selectors.ticket_get`, which scopes it to the caller) and
shapes the answer; the services enforce every rule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.params import P, PathEx
from pydantic import field_validator

from frontline.accounts.models import User
from frontline.api.auth import request_actor
from frontline.api.pagination import keyset_page, page_out
from frontline.api.responses import schema_data_response
from frontline.api.schemas import (
    GroupRefOut,
    InSchema,
    ListQuery,
    OneOf,
    OrganizationRefOut,
    PersonOut,
    PersonRefOut,
    errors,
    group_ref,
    omittable,
    person_ref,
)
from frontline.core.access import Actor
from frontline.core.errors import ValidationError
from frontline.sla.schemas import TicketSlaOut, ticket_sla_data
from frontline.tickets import selectors, services
from frontline.tickets.downloads import attachment_response
from frontline.tickets.models import (
    Attachment,
    Comment,
    Escalation,
    Level,
    Priority,
    Ticket,
)

router = Router(tags=["tickets"])

# The models' choices, listed as enums in the OpenAPI schema.
TicketType = Annotated[str, OneOf(Ticket.Type.values)]
ChannelName = Annotated[str, OneOf(Ticket.Channel.values)]
StatusName = Annotated[str, OneOf(Ticket.Status.values)]
ResolutionCode = Annotated[str, OneOf(Ticket.ResolutionCode.values)]
EscalationKind = Annotated[str, OneOf(Escalation.Kind.values)]
LevelValue = Annotated[int, OneOf(Level.values)]
PriorityValue = Annotated[int, OneOf(Priority.values)]
StatusFilter = Annotated[str, OneOf([*Ticket.Status.values, "open"])]
QueueName = Annotated[str, OneOf(selectors.QUEUES)]
# Keyset pagination needs non-null sort keys of the ticket itself: no SLA "due" sort here
# (the desk queue has it; API clients get each ticket's clocks in `sla`).
SortName = Annotated[str, OneOf([s for s in selectors.SORTS if s.lstrip("-") != "due"])]

Ref = PathEx[str, P(description="Ticket id (123) or number (INC-000123).")]
VERSION_DOC = (
    "The `version` you last read; if someone changed the ticket since, the request is refused "
    "with 409 and nothing changes. Omit to skip the check."
)


# --- output ----------------------------------------------------------------------------------


class CategoryRefOut(Schema):
    id: int
    name: str


class TicketOut(Schema):
    """A ticket. For end users the desk's internal measures (tier, escalations, first-contact
    resolution) are null; internal notes and escalation handoffs never appear anywhere."""

    id: int
    number: str = Field(examples=["INC-000123"])
    type: TicketType
    subject: str
    description: str
    status: StatusName
    priority: PriorityValue
    impact: LevelValue
    urgency: LevelValue
    channel: ChannelName
    organization: OrganizationRefOut
    requester: PersonOut
    group: GroupRefOut | None
    assignee: PersonRefOut | None
    category: CategoryRefOut | None
    subcategory: CategoryRefOut | None
    affected_service: str
    location: str
    tier: int | None = Field(description="Support tier now working the ticket; null for end users.")
    escalation_count: int | None = Field(description="Null for end users.")
    resolution_code: ResolutionCode | None
    resolution_notes: str
    resolved_at: datetime | None
    resolved_tier: int | None = Field(description="Null for end users.")
    first_contact_resolution: bool | None = Field(description="Null for end users.")
    closed_at: datetime | None
    reopen_count: int
    sla: TicketSlaOut | None = Field(
        description="First-response and resolution clocks; null when no SLA policy applies."
    )
    version: int = Field(description="Send back as `version` to detect concurrent edits.")
    created_at: datetime
    updated_at: datetime


class TicketPageOut(Schema):
    items: list[TicketOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


class AttachmentOut(Schema):
    uid: str
    filename: str
    content_type: str
    size: int
    is_internal: bool
    comment_id: int | None
    uploaded_by_id: int | None
    download_url: str
    created_at: datetime


class AttachmentPageOut(Schema):
    items: list[AttachmentOut]
    next_cursor: str | None


class CommentOut(Schema):
    id: int
    body: str
    is_internal: bool = Field(description="An internal note; never shown to end users.")
    author: PersonRefOut | None
    channel: str
    created_at: datetime


class CommentCreatedOut(CommentOut):
    ticket_version: int = Field(description="The ticket's version after this comment.")


class CommentPageOut(Schema):
    items: list[CommentOut]
    next_cursor: str | None


class EscalationOut(Schema):
    id: int
    kind: EscalationKind
    from_group: GroupRefOut | None
    to_group: GroupRefOut | None
    from_tier: int
    to_tier: int
    symptoms: str
    diagnosis: str
    steps_tried: list[str]
    reason: str
    created_by: PersonRefOut | None
    created_at: datetime


class EscalationPageOut(Schema):
    items: list[EscalationOut]
    next_cursor: str | None


class EscalationResultOut(Schema):
    escalation: EscalationOut
    ticket: TicketOut


class TimelineEventOut(Schema):
    id: int
    kind: str = Field(description="created, changed, status, assigned, commented, note, …")
    field: str
    old_value: str
    new_value: str
    actor: PersonRefOut | None
    actor_label: str
    is_public: bool
    created_at: datetime
    comment: CommentOut | None
    attachments: list[AttachmentOut]
    escalation: EscalationOut | None


class TimelineOut(Schema):
    items: list[TimelineEventOut]


def _ref(obj: Any, **fields: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, **fields} if obj is not None else None


def ticket_data(ticket: Ticket, actor: Actor) -> dict[str, Any]:
    """A ticket as `actor` may see it, as TicketOut's data (what `TicketOut.model_dump()`
    gives): end users do not get the desk's internal measures. Lists return these dicts
    without building a TicketOut per row (ninja's validation of ~10 nested schemas per ticket
    was half of a 50-ticket page: benchmark issue #3); ticket_out validates the very same dict,
    and a test checks that both give the same JSON."""
    agent = actor.is_agent
    requester = ticket.requester
    group = ticket.group
    assignee = ticket.assignee
    category = ticket.category
    subcategory = ticket.subcategory
    sla = ticket_sla_data(ticket, actor)
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "type": ticket.type,
        "subject": ticket.subject,
        "description": ticket.description,
        "status": ticket.status,
        "priority": ticket.priority,
        "impact": ticket.impact,
        "urgency": ticket.urgency,
        "channel": ticket.channel,
        "organization": {"id": ticket.tenant.pk, "name": ticket.tenant.name},
        "requester": {"id": requester.pk, "name": requester.full_name, "email": requester.email},
        "group": _ref(group, name=group.name, tier=group.tier) if group else None,
        "assignee": _ref(assignee, name=assignee.full_name) if assignee else None,
        "category": _ref(category, name=category.name) if category else None,
        "subcategory": _ref(subcategory, name=subcategory.name) if subcategory else None,
        "affected_service": ticket.affected_service,
        "location": ticket.location,
        "tier": ticket.tier if agent else None,
        "escalation_count": ticket.escalation_count if agent else None,
        "resolution_code": ticket.resolution_code or None,
        "resolution_notes": ticket.resolution_notes,
        "resolved_at": ticket.resolved_at,
        "resolved_tier": ticket.resolved_tier if agent else None,
        "first_contact_resolution": ticket.first_contact_resolution if agent else None,
        "closed_at": ticket.closed_at,
        "reopen_count": ticket.reopen_count,
        "sla": sla,
        "version": ticket.version,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def ticket_out(ticket: Ticket, actor: Actor) -> TicketOut:
    """A ticket as `actor` may see it (ticket_data, validated)."""
    return TicketOut(**ticket_data(ticket, actor))


def _attachment_out(attachment: Attachment, ticket: Ticket) -> AttachmentOut:
    return AttachmentOut(
        uid=str(attachment.uid),
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        is_internal=attachment.is_internal,
        comment_id=attachment.comment_id,
        uploaded_by_id=attachment.uploaded_by_id,
        # Files are only ever served through the view that checks the ticket (SECURITY 2).
        download_url=reverse(
            "tickets:attachment-download", kwargs={"ref": ticket.number, "uid": attachment.uid}
        ),
        created_at=attachment.created_at,
    )


def _comment_data(comment: Comment) -> dict[str, Any]:
    """CommentOut's data (as ticket_data is TicketOut's)."""
    author = comment.author
    return {
        "id": comment.pk,
        "body": comment.body,
        "is_internal": comment.is_internal,
        "author": {"id": author.pk, "name": author.full_name} if author is not None else None,
        "channel": comment.channel,
        "created_at": comment.created_at,
    }


def _comment_out(comment: Comment) -> CommentOut:
    return CommentOut(**_comment_data(comment))


def _escalation_out(escalation: Escalation) -> EscalationOut:
    return EscalationOut(
        id=escalation.pk,
        kind=escalation.kind,
        from_group=group_ref(escalation.from_group),
        to_group=group_ref(escalation.to_group),
        from_tier=escalation.from_tier,
        to_tier=escalation.to_tier,
        symptoms=escalation.symptoms,
        diagnosis=escalation.diagnosis,
        steps_tried=[str(step) for step in escalation.steps_tried],
        reason=escalation.reason,
        created_by=person_ref(escalation.created_by),
        created_at=escalation.created_at,
    )


# --- input -----------------------------------------------------------------------------------

AGENT_ONLY_CREATE_FIELDS = ("requester_id", "organization_id", "group_id", "assignee_id")


class TicketCreateIn(InSchema):
    subject: str
    description: str = ""
    type: TicketType = "incident"
    channel: ChannelName = Field(
        "api", description="How the request reached the desk (agents logging a call: 'phone')."
    )
    category_id: int | None = None
    subcategory_id: int | None = None
    impact: LevelValue = 3
    urgency: LevelValue = 3
    affected_service: str = ""
    location: str = ""
    requester_id: int | None = Field(None, description="Agents only (required for agents).")
    organization_id: int | None = Field(
        None, description="Agents only: checked against the requester's organisation."
    )
    group_id: int | None = Field(None, description="Agents only.")
    assignee_id: int | None = Field(None, description="Agents only.")


class TicketUpdateIn(InSchema):
    """The descriptive fields of a ticket (services.UPDATABLE_FIELDS); send only what changes."""

    subject: str = omittable()
    description: str = omittable()
    type: TicketType = omittable()
    category_id: int | None = omittable("Null clears it.")
    subcategory_id: int | None = omittable("Null clears it.")
    impact: LevelValue = omittable()
    urgency: LevelValue = omittable()
    affected_service: str = omittable()
    location: str = omittable()
    channel: ChannelName = omittable()
    version: int = Field(description=VERSION_DOC.replace(" Omit to skip the check.", ""))

    @field_validator(
        "subject",
        "description",
        "type",
        "impact",
        "urgency",
        "affected_service",
        "location",
        "channel",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("This field cannot be null.")
        return value


class CommentIn(InSchema):
    body: str
    is_internal: bool = Field(False, description="Agents only: an internal note.")


class AssignIn(InSchema):
    group_id: int | None = None
    assignee_id: int | None = None
    version: int | None = Field(None, description=VERSION_DOC)


class EscalateIn(InSchema):
    """The handoff note travels with the ticket so the next tier does not repeat the triage."""

    kind: EscalationKind = "functional"
    to_group_id: int | None = Field(
        None, description="Functional: the group to hand to (default: the group's next tier)."
    )
    symptoms: str
    diagnosis: str = ""
    steps_tried: list[str] = Field(description="The steps already tried (at least one).")
    reason: str = ""
    version: int | None = Field(None, description=VERSION_DOC)


class TransitionIn(InSchema):
    status: StatusName
    resolution_code: ResolutionCode | None = Field(None, description="Required to resolve.")
    resolution_notes: str = Field("", description="Required to resolve.")
    reason: str = ""
    version: int | None = Field(None, description=VERSION_DOC)


class ResolveIn(InSchema):
    resolution_code: ResolutionCode
    resolution_notes: str
    version: int | None = Field(None, description=VERSION_DOC)


class VersionIn(InSchema):
    version: int | None = Field(None, description=VERSION_DOC)


# The body of close/confirm may be left out entirely.
OptionalVersion = VersionIn | None


class ReopenIn(InSchema):
    reason: str
    version: int | None = Field(None, description=VERSION_DOC)


class TicketListQuery(ListQuery):
    queue: QueueName | None = None
    status: StatusFilter | None = None
    priority: int | None = Field(None, ge=1, le=5)
    type: TicketType | None = None
    organization: int | None = Field(None, description="Organisation id.")
    group: int | None = Field(None, description="Support group id.")
    assignee: int | None = Field(None, description="Agent id.")
    requester: int | None = Field(None, description="Requester id.")
    channel: ChannelName | None = None
    category: int | None = Field(None, description="Category or subcategory id.")
    q: str | None = Field(None, max_length=200, description="Words, or a number (INC-000123).")
    sort: SortName | None = Field(None, description="Default: -created (newest first).")


# --- operations ------------------------------------------------------------------------------


def _actor_and_ticket(request: HttpRequest, ref: str) -> tuple[Actor, Ticket]:
    """The caller, and the ticket `ref` as they may see it (selectors.ticket_get: 404 if not)."""
    actor = request_actor(request)
    return actor, selectors.ticket_get(actor=actor, ref=ref)


def _loaded_user(request: HttpRequest) -> User | None:
    """The User that Bearer authentication read for this request (with its organisation), or
    None (a browser session's user is a lazy object: the services read what they need)."""
    user = getattr(request, "user", None)
    return user if type(user) is User else None


@router.get(
    "",
    response={200: TicketPageOut, **errors(401, 422)},
    summary="List and search tickets",
)
def ticket_list(request: HttpRequest, query: Query[TicketListQuery]) -> HttpResponse:
    actor = request_actor(request)
    params = query.model_dump(exclude={"limit", "cursor"}, exclude_none=True)
    filters = selectors.TicketFilters.from_params(params)
    tickets = selectors.ticket_list(actor=actor, filters=filters)
    page = keyset_page(
        selectors.ticket_rows(tickets, selectors.API_ROW), limit=query.limit, cursor=query.cursor
    )
    # TicketPageOut's data, rendered as ninja renders a response, without a schema per ticket
    # (ticket_data).
    data = {"items": [ticket_data(t, actor) for t in page.items], "next_cursor": page.next_cursor}
    return schema_data_response(request, data)


@router.post(
    "",
    response={201: TicketOut, **errors(401, 403, 422)},
    summary="Open a ticket",
)
def ticket_create(request: HttpRequest, payload: TicketCreateIn) -> HttpResponse:
    """End users open tickets for themselves (requester and organisation come from their
    account); the agent-only fields are refused with 422 for them. Agents give `requester_id`."""
    actor = request_actor(request)
    if not actor.is_agent:
        sent = [name for name in AGENT_ONLY_CREATE_FIELDS if getattr(payload, name) is not None]
        if sent:
            raise ValidationError(dict.fromkeys(sent, "Only agents may set this field."))
    # The signed-in user (with their organisation, loaded by the token lookup) is the requester
    # of an end user's ticket; agents name theirs with requester_id.
    own = _loaded_user(request) if not actor.is_agent else None
    ticket = services.ticket_create(actor=actor, requester=own, **payload.model_dump())
    # TicketOut's data, rendered without validating it again (ticket_data).
    return schema_data_response(request, ticket_data(ticket, actor), status=201)


@router.get(
    "/{ref}",
    response={200: TicketOut, **errors(401, 404)},
    summary="One ticket",
)
def ticket_detail(request: HttpRequest, ref: Ref) -> TicketOut:
    actor, ticket = _actor_and_ticket(request, ref)
    return ticket_out(ticket, actor)


@router.patch(
    "/{ref}",
    response={200: TicketOut, **errors(401, 403, 404, 409, 422)},
    summary="Change a ticket's descriptive fields (agents)",
)
def ticket_update(request: HttpRequest, ref: Ref, payload: TicketUpdateIn) -> TicketOut:
    actor = request_actor(request)
    changes = payload.model_dump(exclude_unset=True, exclude={"version"})
    if not changes:
        raise ValidationError({"__all__": "Send at least one field to change."})
    ticket = selectors.ticket_get(actor=actor, ref=ref)
    ticket = services.ticket_update(
        actor=actor, ticket=ticket, expected_version=payload.version, changes=changes
    )
    return ticket_out(ticket, actor)


@router.post(
    "/{ref}/comments",
    response={201: CommentCreatedOut, **errors(401, 403, 404, 422)},
    summary="Add a public reply or (agents) an internal note",
)
def comment_create(request: HttpRequest, ref: Ref, payload: CommentIn) -> HttpResponse:
    actor = request_actor(request)
    # comment_add locks and reads the ticket itself: only its visibility is checked here.
    ticket = selectors.ticket_get_for_change(actor=actor, ref=ref)
    comment = services.comment_add(
        actor=actor,
        ticket=ticket,
        body=payload.body,
        is_internal=payload.is_internal,
        channel=Ticket.Channel.API,
    )
    user = _loaded_user(request)
    if user is not None and comment.author_id == user.pk:
        # The author is the signed-in user, already loaded: no query to name them.
        Comment.author.field.set_cached_value(comment, user)
    data = {**_comment_data(comment), "ticket_version": ticket.version}
    # CommentCreatedOut's data, rendered without validating it again (as ticket_data).
    return schema_data_response(request, data, status=201)


@router.get(
    "/{ref}/comments",
    response={200: CommentPageOut, **errors(401, 404, 422)},
    summary="Comments, oldest first (end users never see internal notes)",
)
def comment_list(request: HttpRequest, ref: Ref, query: Query[ListQuery]) -> CommentPageOut:
    actor, ticket = _actor_and_ticket(request, ref)
    comments = selectors.comment_list(actor=actor, ticket=ticket)
    return page_out(CommentPageOut, comments, query, _comment_out)


@router.post(
    "/{ref}/attachments",
    response={201: AttachmentOut, **errors(401, 403, 404, 422)},
    summary="Upload a file (multipart/form-data, field `file`)",
)
def attachment_create(
    request: HttpRequest, ref: Ref, file: File[UploadedFile]
) -> Status[AttachmentOut]:
    """Files larger than the configured limit (FRONTLINE_MAX_ATTACHMENT_BYTES) get 422."""
    actor, ticket = _actor_and_ticket(request, ref)
    attachment = services.attachment_add(
        actor=actor,
        ticket=ticket,
        new_file=services.NewFile(
            name=file.name or "attachment", content=file, content_type=file.content_type or ""
        ),
    )
    return Status(201, _attachment_out(attachment, ticket))


@router.get(
    "/{ref}/attachments/{uid}/download",
    response={200: None, **errors(401, 404)},
    summary="Download an attachment (always as a file; HTML and SVG as application/octet-stream)",
)
def attachment_download(request: HttpRequest, ref: Ref, uid: str) -> HttpResponseBase:
    actor, ticket = _actor_and_ticket(request, ref)
    return attachment_response(selectors.attachment_get(actor=actor, ticket=ticket, uid=uid))


@router.get(
    "/{ref}/attachments",
    response={200: AttachmentPageOut, **errors(401, 404, 422)},
    summary="Attachments, oldest first, with their download URLs",
)
def attachment_list(request: HttpRequest, ref: Ref, query: Query[ListQuery]) -> AttachmentPageOut:
    actor, ticket = _actor_and_ticket(request, ref)
    attachments = selectors.attachment_list(actor=actor, ticket=ticket)
    return page_out(AttachmentPageOut, attachments, query, lambda a: _attachment_out(a, ticket))


@router.post(
    "/{ref}/assign",
    response={200: TicketOut, **errors(401, 403, 404, 409, 422)},
    summary="Assign to a group and/or an agent (agents)",
)
def ticket_assign(request: HttpRequest, ref: Ref, payload: AssignIn) -> TicketOut:
    actor, ticket = _actor_and_ticket(request, ref)
    ticket = services.ticket_assign(
        actor=actor,
        ticket=ticket,
        expected_version=payload.version,
        group_id=payload.group_id,
        assignee_id=payload.assignee_id,
    )
    return ticket_out(ticket, actor)


@router.post(
    "/{ref}/escalate",
    response={201: EscalationResultOut, **errors(401, 403, 404, 409, 422)},
    summary="Escalate to another group/tier or flag to management (agents)",
)
def ticket_escalate(
    request: HttpRequest, ref: Ref, payload: EscalateIn
) -> Status[EscalationResultOut]:
    actor, ticket = _actor_and_ticket(request, ref)
    escalation = services.ticket_escalate(
        actor=actor,
        ticket=ticket,
        expected_version=payload.version,
        kind=payload.kind,
        to_group_id=payload.to_group_id,
        symptoms=payload.symptoms,
        diagnosis=payload.diagnosis,
        steps_tried=payload.steps_tried,
        reason=payload.reason,
    )
    return Status(
        201,
        EscalationResultOut(
            escalation=_escalation_out(escalation), ticket=ticket_out(escalation.ticket, actor)
        ),
    )


@router.post(
    "/{ref}/transition",
    response={200: TicketOut, **errors(401, 403, 404, 409, 422)},
    summary="Move a ticket along the workflow (agents)",
)
def ticket_transition(request: HttpRequest, ref: Ref, payload: TransitionIn) -> TicketOut:
    actor, ticket = _actor_and_ticket(request, ref)
    ticket = services.ticket_transition(
        actor=actor,
        ticket=ticket,
        expected_version=payload.version,
        status=payload.status,
        resolution_code=payload.resolution_code or "",
        resolution_notes=payload.resolution_notes,
        reason=payload.reason,
    )
    return ticket_out(ticket, actor)


@router.post(
    "/{ref}/resolve",
    response={200: TicketOut, **errors(401, 403, 404, 409, 422)},
    summary="Resolve (agents)",
)
def ticket_resolve(request: HttpRequest, ref: Ref, payload: ResolveIn) -> TicketOut:
    actor, ticket = _actor_and_ticket(request, ref)
    ticket = services.ticket_resolve(
        actor=actor,
        ticket=ticket,
        expected_version=payload.version,
        resolution_code=payload.resolution_code,
        resolution_notes=payload.resolution_notes,
    )
    return ticket_out(ticket, actor)


@router.post(
    "/{ref}/close",
    response={200: TicketOut, **errors(401, 403, 404, 409, 422)},
    summary="Close a resolved ticket (agents)",
)
def ticket_close(request: HttpRequest, ref: Ref, payload: OptionalVersion = None) -> TicketOut:
    actor, ticket = _actor_and_ticket(request, ref)
    ticket = services.ticket_close(
        actor=actor, ticket=ticket, expected_version=payload.version if payload else None
    )
    return ticket_out(ticket, actor)


@router.post(
    "/{ref}/reopen",
    response={200: TicketOut, **errors(401, 403, 404, 409, 422)},
    summary="Reopen a resolved ticket within the reopen window (requester or agent)",
)
def ticket_reopen(request: HttpRequest, ref: Ref, payload: ReopenIn) -> TicketOut:
    actor, ticket = _actor_and_ticket(request, ref)
    ticket = services.ticket_reopen(
        actor=actor, ticket=ticket, reason=payload.reason, expected_version=payload.version
    )
    return ticket_out(ticket, actor)


@router.post(
    "/{ref}/confirm",
    response={200: TicketOut, **errors(401, 403, 404, 409, 422)},
    summary="Confirm the resolution: the ticket is closed (requester or agent)",
)
def ticket_confirm(request: HttpRequest, ref: Ref, payload: OptionalVersion = None) -> TicketOut:
    actor, ticket = _actor_and_ticket(request, ref)
    ticket = services.ticket_confirm_resolution(
        actor=actor, ticket=ticket, expected_version=payload.version if payload else None
    )
    return ticket_out(ticket, actor)


@router.get(
    "/{ref}/timeline",
    response={200: TimelineOut, **errors(401, 404)},
    summary="Everything that happened to the ticket, oldest first (end users: public events)",
)
def ticket_timeline(request: HttpRequest, ref: Ref) -> TimelineOut:
    actor, ticket = _actor_and_ticket(request, ref)
    entries = selectors.ticket_timeline(actor=actor, ticket=ticket)
    return TimelineOut(
        items=[
            TimelineEventOut(
                id=entry.event.pk,
                kind=entry.event.kind,
                field=entry.event.field,
                old_value=entry.event.old_value,
                new_value=entry.event.new_value,
                actor=person_ref(entry.event.actor),
                actor_label=entry.event.actor_label,
                is_public=entry.event.is_public,
                created_at=entry.event.created_at,
                comment=_comment_out(entry.comment) if entry.comment is not None else None,
                attachments=[_attachment_out(a, ticket) for a in entry.attachments],
                escalation=(
                    _escalation_out(entry.escalation) if entry.escalation is not None else None
                ),
            )
            for entry in entries
        ]
    )


@router.get(
    "/{ref}/escalations",
    response={200: EscalationPageOut, **errors(401, 404, 422)},
    summary="Escalations with their handoff notes, newest first (agents; empty for end users)",
)
def escalation_list(request: HttpRequest, ref: Ref, query: Query[ListQuery]) -> EscalationPageOut:
    actor, ticket = _actor_and_ticket(request, ref)
    escalations = selectors.escalation_list(actor=actor, ticket=ticket)
    return page_out(EscalationPageOut, escalations, query, _escalation_out)
