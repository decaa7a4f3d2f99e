"""Writing the audit trail. Called by services inside their transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import models

from frontline.core.access import Actor
from frontline.core.models import AuditEvent

EventSubscriber = Callable[[Sequence[AuditEvent]], None]
_subscribers: list[EventSubscriber] = []


def subscribe(callback: EventSubscriber) -> None:
    """Call `callback` with the events of every event_record / event_record_changes, inside the
    caller's transaction (so whatever it writes commits or rolls back with the change). Apps
    register in AppConfig.ready(); registering the same callback twice is a no-op. A subscriber
    must be cheap for events it ignores, and an exception it raises aborts the caller's change."""
    if callback not in _subscribers:
        _subscribers.append(callback)


def unsubscribe(callback: EventSubscriber) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


def _publish(events: Sequence[AuditEvent]) -> None:
    if events:
        for callback in tuple(_subscribers):
            callback(events)


def _target_type(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


def event_record(
    *,
    actor: Actor,
    target: models.Model,
    tenant_id: int,
    kind: str,
    field: str = "",
    old: Any = None,
    new: Any = None,
    data: Mapping[str, Any] | None = None,
    is_public: bool = True,
    related: models.Model | None = None,
) -> AuditEvent:
    """Append one event about `target`. `related`: an object the event is about besides the
    target (the comment of a reply), handed to the subscribers with it, not stored."""
    event: AuditEvent = AuditEvent.objects.create(
        tenant_id=tenant_id,
        target_type=_target_type(target),
        target_id=target.pk,
        actor_id=actor.user_id,
        actor_label=actor.label,
        kind=kind,
        field=field,
        old_value=_text(old),
        new_value=_text(new),
        data=dict(data or {}),
        is_public=is_public,
    )
    event.target_object = target
    event.related_object = related
    _publish((event,))
    return event


def event_record_changes(
    *,
    actor: Actor,
    target: models.Model,
    tenant_id: int,
    changes: Iterable[tuple[str, Any, Any]],
    kind: str = AuditEvent.Kind.CHANGED,
    is_public: bool = True,
) -> list[AuditEvent]:
    """Append one event per (field, old, new) whose values differ."""
    rows = [
        AuditEvent(
            tenant_id=tenant_id,
            target_type=_target_type(target),
            target_id=target.pk,
            actor_id=actor.user_id,
            actor_label=actor.label,
            kind=kind,
            field=name,
            old_value=_text(old),
            new_value=_text(new),
            is_public=is_public,
        )
        for name, old, new in changes
        if _text(old) != _text(new)
    ]
    created: list[AuditEvent] = AuditEvent.objects.bulk_create(rows)
    for event in created:
        event.target_object = target
    _publish(created)
    return created


def event_list_for(*, target_type: str, target_id: int) -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(target_type=target_type, target_id=target_id).select_related(
        "actor"
    )
