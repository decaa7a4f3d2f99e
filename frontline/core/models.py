"""Base models shared by every domain app, and the append-only audit trail."""

from __future__ import annotations

from typing import Any, ClassVar, Self, TypeVar

from django.conf import settings
from django.db import models

from frontline.core.access import Actor

_M = TypeVar("_M", bound=models.Model)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantQuerySet(models.QuerySet[_M]):
    def visible_to(self, actor: Actor) -> Self:
        """Only rows of the organisations `actor` may see."""
        if actor.all_tenants:
            return self
        return self.filter(tenant_id__in=actor.tenant_ids)


class TenantOwned(TimeStamped):
    """A row that belongs to one organisation (tenant)."""

    tenant = models.ForeignKey(
        "tenants.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class AuditEventQuerySet(TenantQuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One recorded change: who, when, what, old -> new. Never updated or deleted.

    Enforced three times: no update/delete path in UI, API or admin; the model refuses a second
    save; and database triggers (see migrations) reject UPDATE (and DELETE on PostgreSQL)."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Field changed"
        STATUS = "status", "Status changed"
        ASSIGNED = "assigned", "Assigned"
        COMMENTED = "commented", "Public reply"
        NOTE = "note", "Internal note"
        ATTACHED = "attached", "Attachment added"
        ESCALATED = "escalated", "Escalated"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened"
        CLOSED = "closed", "Closed"
        LINKED = "linked", "Linked"
        MERGED = "merged", "Merged"
        WATCHER = "watcher", "Watcher"
        SECURITY = "security", "Security"
        ACCESS_DENIED = "access_denied", "Refused change"
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACH = "sla_breach", "SLA breached"
        NOTIFIED = "notified", "Notification"

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(
        "tenants.Organization", on_delete=models.DO_NOTHING, related_name="+", db_constraint=True
    )
    target_type = models.CharField(max_length=40)
    target_id = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    field = models.CharField(max_length=60, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    is_public = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[Any] = AuditEventQuerySet.as_manager()

    # Not stored: the object the recording service passed as `target` (core.events), for the
    # audit subscribers in the same transaction, so they need not read it again.
    target_object: models.Model | None = None
    related_object: models.Model | None = None  # event_record(related=...)

    class Meta:
        indexes = [
            models.Index(fields=["target_type", "target_id", "id"], name="audit_target_idx"),
            models.Index(fields=["tenant", "created_at"], name="audit_tenant_time_idx"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.target_type}#{self.target_id} {self.kind} {self.field}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise TypeError("Audit events are append-only.")
        # Always INSERT: a new instance given an existing id would otherwise make Django try an
        # UPDATE of that row first (overwriting history); now it fails on the primary key.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit events are append-only.")


class ConfigStamp(models.Model):
    """One row: a random token rewritten by every configuration change (core.config_cache)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"configuration stamp {self.token}"
