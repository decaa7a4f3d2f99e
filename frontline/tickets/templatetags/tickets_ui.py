"""Display helpers for the agent desk: timeline sentences, sortable headers, time zones.

Everything here works on objects the view already loaded: no tag or filter runs a query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from frontline.core.models import AuditEvent
from frontline.tickets.models import Escalation, Level, Priority, Ticket

register = template.Library()

Kind = AuditEvent.Kind

# Sortable columns: clicking cycles through these selectors.SORTS keys, first one first.
SORT_CYCLES: dict[str, tuple[str, ...]] = {
    "number": ("-number", "number"),
    "subject": ("subject",),
    "priority": ("priority", "-priority"),
    "status": ("status",),
    "updated": ("-updated", "updated"),
    "created": ("-created", "created"),
    "due": ("due", "-due"),
}

FIELD_LABELS = {
    "subject": "the subject",
    "description": "the description",
    "type": "the type",
    "category_id": "the category",
    "subcategory_id": "the subcategory",
    "impact": "impact",
    "urgency": "urgency",
    "priority": "priority",
    "affected_service": "the affected service",
    "location": "the location",
    "channel": "the channel",
    "status": "status",
}
_LABELS: dict[str, dict[str, str]] = {
    "status": {str(v): str(label) for v, label in Ticket.Status.choices},
    "type": {str(v): str(label) for v, label in Ticket.Type.choices},
    "channel": {str(v): str(label) for v, label in Ticket.Channel.choices},
    "impact": {str(v): str(label) for v, label in Level.choices},
    "urgency": {str(v): str(label) for v, label in Level.choices},
    "priority": {str(v): str(label) for v, label in Priority.choices},
    "resolution_code": {str(v): str(label) for v, label in Ticket.ResolutionCode.choices},
}


def _value(field: str, raw: Any, category_names: Mapping[int, str]) -> str:
    text = "" if raw is None else str(raw)
    if not text:
        return ""
    if field in _LABELS:
        return _LABELS[field].get(text, text)
    if field in {"category_id", "subcategory_id"}:
        return category_names.get(int(text), f"#{text}") if text.isdigit() else text
    return text


def _who(event: AuditEvent) -> str:
    if event.actor_label:
        return event.actor_label
    if event.actor_id and event.actor is not None:
        return event.actor.full_name
    return "System"


@register.filter
def event_text(event: AuditEvent, category_names: Mapping[int, str] | None = None) -> str:
    """One plain sentence for a timeline entry, e.g. "Tess Tier-One changed status from New to
    Assigned". Plain text: the template escapes it."""
    names = category_names or {}
    who = _who(event)
    field = event.field
    old = _value(field, event.old_value, names)
    new = _value(field, event.new_value, names)
    data = event.data or {}
    kind = event.kind
    if kind == Kind.CREATED:
        channel = _LABELS["channel"].get(str(data.get("channel", "")), "")
        return f"{who} created the ticket" + (f" (by {channel.lower()})" if channel else "")
    if kind in {Kind.CHANGED, Kind.STATUS}:
        label = FIELD_LABELS.get(field, field.replace("_", " "))
        if field == "description":
            return f"{who} edited the description"
        if old and new:
            return f"{who} changed {label} from {old} to {new}"
        if new:
            return f"{who} set {label} to {new}"
        return f"{who} cleared {label} (was {old})" if old else f"{who} changed {label}"
    if kind == Kind.ASSIGNED:
        target = new or "nobody"
        return f"{who} assigned the ticket to {target}" + (f" (was {old})" if old else "")
    if kind == Kind.COMMENTED:
        return f"{who} replied"
    if kind == Kind.NOTE:
        return f"{who} added an internal note"
    if kind == Kind.ATTACHED:
        return f"{who} attached {event.new_value}"
    if kind == Kind.ESCALATED:
        if data.get("kind") == Escalation.Kind.HIERARCHICAL:
            return f"{who} escalated the ticket to management"
        tiers = f" (tier {data.get('from_tier')} → {data.get('to_tier')})" if data else ""
        return f"{who} escalated the ticket from {old or 'no group'} to {new}{tiers}"
    if kind == Kind.RESOLVED:
        code = _LABELS["resolution_code"].get(str(data.get("resolution_code", "")), "")
        return f"{who} resolved the ticket" + (f": {code}" if code else "")
    if kind == Kind.REOPENED:
        return f"{who} reopened the ticket" + (f" (now {new})" if new else "")
    if kind == Kind.CLOSED:
        return f"{who} closed the ticket"
    if kind == Kind.LINKED:
        if field == "child":
            return f"{who} linked {event.new_value} as a child ticket"
        if event.new_value:
            return f"{who} made this ticket a child of {event.new_value}"
        return f"{who} removed the parent link to {event.old_value}"
    if kind == Kind.MERGED:
        if field == "merged":
            return f"{who} merged {event.new_value} into this ticket"
        return f"{who} merged this ticket into {event.new_value}"
    if kind == Kind.WATCHER:
        if event.new_value:
            return f"{who} added {event.new_value} as a watcher"
        return f"{who} removed {event.old_value} from the watchers"
    if kind == Kind.SECURITY:
        if "status_links_revoked" in data:
            return f"{who} revoked the ticket's status links"
        return f"{who} created a status link for the requester"
    if kind == Kind.ACCESS_DENIED:
        return f"A change by {who} was refused"
    if kind in {Kind.SLA_WARNING, Kind.SLA_BREACH}:
        return f"{who}: {data.get('reason') or event.get_kind_display()}"
    if kind == Kind.NOTIFIED:
        reason = data.get("reason")
        return f"{who} notified {event.new_value or 'nobody'}" + (f": {reason}" if reason else "")
    return f"{who}: {event.get_kind_display()}"


@register.filter
def linked_number(event: AuditEvent) -> str:
    """The other ticket a link or merge event names (for a link to it), or ''."""
    if event.kind in {Kind.LINKED, Kind.MERGED}:
        return event.new_value or event.old_value
    return ""


@register.filter
def label_for(value: Any, field: str) -> str:
    """The human label of a choice value stored as text (e.g. in an event's data)."""
    return _LABELS.get(field, {}).get(str(value), str(value))


@register.filter
def viewer_tz(name: str) -> str:
    """The user's time zone if it is a real one, else UTC (a bad value must not break pages)."""
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return str(name)


@register.simple_tag(takes_context=True)
def sort_header(
    context: template.Context, column: str, label: str, css_class: str = ""
) -> SafeString:
    """A <th> whose link re-sorts the queue by `column`, keeping the other filters."""
    cycle = SORT_CYCLES[column]
    current = context["filters"].sort
    if current in cycle:
        following = cycle[(cycle.index(current) + 1) % len(cycle)]
        direction = "descending" if current.startswith("-") else "ascending"
        arrow = "▼" if current.startswith("-") else "▲"
    else:
        following, direction, arrow = cycle[0], "none", ""
    params = context["request"].GET.copy()
    params["sort"] = following
    params.pop("page", None)
    url = f"{reverse('tickets:queue')}?{params.urlencode()}"
    return format_html(
        '<th class="{}" aria-sort="{}"><a href="{}" hx-get="{}">{}'
        '<span class="sort-arrow" aria-hidden="true">{}</span></a></th>',
        css_class,
        direction,
        url,
        url,
        label,
        arrow,
    )
