"""Tickets (incidents and service requests) and what hangs off them."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models

from frontline.core.config_cache import ConfigQuerySet
from frontline.core.models import TenantOwned, TenantQuerySet


class Category(models.Model):
    """A category, or a subcategory when it has a parent. Shared by all organisations."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    default_group = models.ForeignKey(
        "accounts.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id and self.parent else self.name


class Level(models.IntegerChoices):
    HIGH = 1, "1 - High"
    MEDIUM = 2, "2 - Medium"
    LOW = 3, "3 - Low"


class Priority(models.IntegerChoices):
    P1 = 1, "P1 - Critical"
    P2 = 2, "P2 - High"
    P3 = 3, "P3 - Moderate"
    P4 = 4, "P4 - Low"
    P5 = 5, "P5 - Planning"


class PriorityMatrixEntry(models.Model):
    """Impact x urgency -> priority. Seeded with the ITIL default; editable in admin."""

    objects: ClassVar[Any] = ConfigQuerySet.as_manager()

    impact = models.PositiveSmallIntegerField(choices=Level.choices)
    urgency = models.PositiveSmallIntegerField(choices=Level.choices)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)

    class Meta:
        ordering = ["impact", "urgency"]
        verbose_name_plural = "priority matrix"
        constraints = [
            models.UniqueConstraint(fields=["impact", "urgency"], name="priority_matrix_unique"),
        ]

    def __str__(self) -> str:
        return f"impact {self.impact} x urgency {self.urgency} -> P{self.priority}"


class TicketSequence(models.Model):
    """Counters for human-readable numbers (INC-000123, REQ-000045)."""

    name = models.CharField(max_length=10, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Ticket(TenantOwned):
    class Type(models.TextChoices):
        INCIDENT = "incident", "Incident"
        REQUEST = "request", "Service request"

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        PORTAL = "portal", "Portal"
        CHAT = "chat", "Chat"
        API = "api", "API"
        WALK_UP = "walk_up", "Walk-up"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ASSIGNED = "assigned", "Assigned"
        IN_PROGRESS = "in_progress", "In progress"
        PENDING_CUSTOMER = "pending_customer", "Pending customer"
        PENDING_VENDOR = "pending_vendor", "Pending vendor"
        PENDING_CHANGE = "pending_change", "Pending change"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class ResolutionCode(models.TextChoices):
        SOLVED_REMOTELY = "solved_remotely", "Solved (remotely)"
        SOLVED_ONSITE = "solved_onsite", "Solved (on site)"
        WORKAROUND = "workaround", "Workaround provided"
        FULFILLED = "fulfilled", "Request fulfilled"
        USER_ERROR = "user_error", "User error / training"
        NOT_REPRODUCIBLE = "not_reproducible", "Not reproducible"
        DUPLICATE = "duplicate", "Duplicate"
        CANCELLED = "cancelled", "Cancelled by requester"

    number = models.CharField(max_length=20, unique=True)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.INCIDENT)
    subject = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_tickets"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.PORTAL)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subcategory = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    affected_service = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    impact = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.LOW)
    urgency = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.LOW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P5)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    group = models.ForeignKey(
        "accounts.SupportGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
    )
    tier = models.PositiveSmallIntegerField(default=1)
    escalation_count = models.PositiveIntegerField(default=0)
    escalated_to_manager = models.BooleanField(default=False)
    was_pending_customer = models.BooleanField(default=False)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolution_code = models.CharField(max_length=20, choices=ResolutionCode.choices, blank=True)
    resolution_notes = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    first_contact_resolution = models.BooleanField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_tickets"
    )
    version = models.PositiveIntegerField(default=1)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["tenant", "status", "-created_at"], name="ticket_tenant_status_idx"
            ),
            models.Index(fields=["tenant", "-created_at"], name="ticket_tenant_created_idx"),
            models.Index(fields=["group", "status"], name="ticket_group_status_idx"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
            models.Index(fields=["requester", "-created_at"], name="ticket_requester_idx"),
            models.Index(fields=["status", "priority"], name="ticket_status_priority_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status not in {self.Status.RESOLVED, self.Status.CLOSED}

    @property
    def is_pending(self) -> bool:
        return self.status.startswith("pending_")


class Comment(TenantOwned):
    """A public reply (seen by the requester) or an internal note (agents only)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    is_internal = models.BooleanField(default=False)
    channel = models.CharField(max_length=10, choices=Ticket.Channel.choices, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_idx")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.ticket_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is random: the user's file name is kept only in the database.
    return f"attachments/{instance.tenant_id}/{uuid.uuid4().hex}"


class Attachment(TenantOwned):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_internal = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["ticket"], name="attachment_ticket_idx")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename


class Escalation(TenantOwned):
    """A handoff to another group/tier (functional) or a flag to management (hierarchical).

    Carries the triage so the next tier does not repeat it."""

    class Kind(models.TextChoices):
        FUNCTIONAL = "functional", "Functional (to another group or tier)"
        HIERARCHICAL = "hierarchical", "Hierarchical (flag to a manager)"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    from_group = models.ForeignKey(
        "accounts.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_group = models.ForeignKey(
        "accounts.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_tier = models.PositiveSmallIntegerField()
    to_tier = models.PositiveSmallIntegerField()
    symptoms = models.TextField()
    diagnosis = models.TextField(blank=True)
    steps_tried = models.JSONField(default=list)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["ticket", "-created_at"], name="escalation_ticket_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} escalation of {self.ticket_id}"


class StatusLink(TenantOwned):
    """A link sent by mail that shows a ticket's status without signing in.

    Random, bound to one ticket, expiring and revocable; only the hash is stored."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="status_links")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"status link for {self.ticket_id}"
