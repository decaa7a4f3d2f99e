"""Display helpers for the agent desk: timeline sentences, sortable headers, time zones.

Everything here works on objects the view already loaded: no tag or filter runs a query."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.contrib.humanize.templatetags.humanize import NaturalTimeFormatter
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from frontline.core.models import AuditEvent
from frontline.sla.templatetags.sla_ui import sla_due
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
    names = category_names if category_names is not None else {}
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


# --- the queue's rows ------------------------------------------------------------------------


class _Translated:
    """One of humanize's lazy strings, translated once per language and number.

    naturaltime translates its lazy strings again for every value (~six gettext look-ups
    through the language's fallback catalogues), ~1.8 ms a row of the queue on the loaded
    benchmark machine. A formatter per language holds these instead: the same strings, each
    resolved once (a plural one once per number; the numbers are small: seconds, minutes,
    hours, days...)."""

    __slots__ = ("_by_number", "_lazy", "_text")

    def __init__(self, lazy: Any) -> None:
        self._lazy = lazy
        self._text: str | None = None
        self._by_number: dict[Any, str] = {}

    def __mod__(self, params: dict[str, Any]) -> str:
        if set(params) <= {"num", "count"}:  # a plural string: its text depends on the number
            key = next(iter(params.values()), None)
            found = self._by_number.get(key)
            if found is None:
                found = self._by_number[key] = str(self._lazy % params)
            return found
        return str(self) % params

    def __str__(self) -> str:
        if self._text is None:
            self._text = str(self._lazy)
        return self._text


_natural_formatters: dict[str, type[NaturalTimeFormatter]] = {}


def natural_formatter() -> type[NaturalTimeFormatter]:
    """humanize's NaturalTimeFormatter (its very algorithm) with this language's strings."""
    language = get_language() or ""
    formatter = _natural_formatters.get(language)
    if formatter is None:
        base = NaturalTimeFormatter

        def table(strings: Mapping[str, Any]) -> dict[str, Any]:
            return {key: _Translated(value) for key, value in strings.items()}

        formatter = type(
            f"NaturalTimeFormatter_{language}",
            (base,),
            {
                "time_strings": table(base.time_strings),
                "past_substrings": table(base.past_substrings),
                "future_substrings": table(base.future_substrings),
            },
        )
        _natural_formatters[language] = formatter
    return formatter


def fast_naturaltime(value: datetime) -> str:
    """The same text as humanize's `naturaltime` filter for a datetime."""
    return str(natural_formatter().string_for(value))


_PRIORITY_LABELS = {value: str(label) for value, label in Priority.choices}
_STATUS_LABELS = {value: str(label) for value, label in Ticket.Status.choices}
_PLAIN_REF = re.compile(r"[A-Za-z0-9-]+")
_REF_MARK = "REF0MARK"


def ref_url_pattern(name: str) -> str:
    """The URL of view `name` (whose one argument is a ticket number) for ref_url."""
    return reverse(name, args=[_REF_MARK])


def ref_url(name: str, number: str, pattern: str) -> str:
    """reverse(name, args=[number]) without reversing per row: a plain number (letters, digits,
    hyphens: nothing to quote) is put into `pattern` (ref_url_pattern)."""
    if _PLAIN_REF.fullmatch(number):
        return pattern.replace(_REF_MARK, number)
    return reverse(name, args=[number])


def _text(value: Any) -> str:
    """{{ value }} of a text value: escaped; None is "None" as the template engine shows it."""
    return escape(str(value))


def _or(value: str | None, default: str) -> str:
    """{{ value|default:"…" }} (then escaped)."""
    return escape(str(value)) if value else escape(default)


@register.simple_tag
def queue_rows(tickets: Iterable[Any]) -> SafeString:
    """The queue's <tr>s, written in Python: the markup the template loop drew (a test
    compares them), every value escaped. `tickets`: Tickets with their joins, or
    selectors.QueueRow (the same attributes). Drawing 50 rows with the template engine cost more
    than the rest of the page (variable look-ups, filters, `{% url %}` per row)."""
    pattern = ref_url_pattern("tickets:ticket-detail")
    now = timezone.now()
    current = timezone.get_current_timezone()
    natural = natural_formatter()
    out: list[str] = []
    for t in tickets:
        number = _text(t.number)
        url = escape(ref_url("tickets:ticket-detail", t.number, pattern))
        tenant = _text(t.tenant.name)
        assignee = _or(t.assignee.full_name if t.assignee is not None else "", "Unassigned")
        group = _or(t.group.name if t.group is not None else "", "—")
        request_tag = '<span class="tag">Request</span>' if t.type == "request" else ""
        updated = t.updated_at.astimezone(current)
        priority = _text(t.priority)
        out.append(
            "\n          <tr>"
            f'\n            <td class="nowrap hide-sm"><a href="{url}">{number}</a></td>'
            '\n            <td class="col-subject">'
            f'\n              <a class="subject" href="{url}">{_text(t.subject)}</a>'
            '\n              <div class="row-sub">'
            f"\n                {request_tag}"
            f'\n                <span class="show-sm">{number} · {tenant} · {assignee}</span>'
            "\n              </div>"
            "\n            </td>"
            f'\n            <td class="hide-sm">{tenant}</td>'
            f'\n            <td class="hide-sm">{_text(t.requester.full_name)}</td>'
            f'\n            <td><span class="badge p{priority}" title="'
            f'{_text(_PRIORITY_LABELS.get(t.priority, t.priority))}">P{priority}</span></td>'
            f'\n            <td><span class="badge status-{_text(t.status)}">'
            f"{_text(_STATUS_LABELS.get(t.status, t.status))}</span></td>"
            f'\n            <td class="nowrap">{sla_due(t, now)}</td>'
            f'\n            <td class="hide-sm">{group}<div class="muted small">{assignee}'
            "</div></td>"
            f'\n            <td class="hide-sm nowrap"><time datetime="{updated.isoformat()}" '
            f'title="{updated.year:04d}-{updated:%m-%d %H:%M}">'
            f"{_text(natural.string_for(t.updated_at))}</time></td>"
            "\n          </tr>\n        "
        )
    return mark_safe("".join(out))  # noqa: S308 (every value escaped above)


# --- the ticket page's timeline --------------------------------------------------------------


def _local_date(value: datetime, fmt: str) -> str:
    """{{ value|date:fmt }} in the current time zone."""
    return str(dateformat.format(timezone.localtime(value), fmt))


@register.simple_tag
def timeline_entry_head(entry: Any, category_names: Mapping[int, str] | None) -> SafeString:
    """A timeline entry's <li> opening and its head line (tag, sentence, linked ticket, time),
    written in Python: the markup the template drew (a test compares them), escaped."""
    ev = entry.event
    comment = entry.comment
    internal = comment is not None and comment.is_internal
    if internal or not ev.is_public:
        css = " internal"
    elif comment is not None:
        css = " public"
    else:
        css = ""
    if internal:
        tag = '<span class="tag tag-internal">Internal note</span>'
    elif not ev.is_public:
        tag = '<span class="tag tag-internal">Agents only</span>'
    else:
        tag = ""
    number = linked_number(ev)
    link = (
        f'<a class="small" href="{escape(reverse("tickets:ticket-detail", args=[number]))}">'
        f"open {_text(number)}</a>"
        if number
        else ""
    )
    created = timezone.localtime(ev.created_at)
    return mark_safe(  # noqa: S308 (every value escaped)
        f'<li id="event-{_text(ev.pk)}" class="ev ev-{_text(ev.kind)}{css}">'
        '\n    <div class="ev-head">'
        f"\n      {tag}"
        f'\n      <span class="ev-text">{_text(event_text(ev, category_names))}</span>'
        f"\n      {link}"
        f'\n      <time class="when" datetime="{created.isoformat()}">'
        f"{_text(dateformat.format(created, 'j M Y, H:i'))}</time>"
        "\n    </div>"
    )


@register.simple_tag
def timeline_entry_notes(event: AuditEvent) -> SafeString:
    """The resolution notes and the reason of a timeline entry, as the template drew them."""
    data = event.data if isinstance(event.data, dict) else {}
    notes = data.get("resolution_notes")
    reason = data.get("reason")
    out = ""
    if event.kind == "resolved" and notes:
        out += f'<div class="ev-body">{linebreaksbr(notes, autoescape=True)}</div>'
    out += "\n    "
    if reason:
        out += f'<p class="ev-reason muted small">Reason: {_text(reason)}</p>'
    return mark_safe(out)  # noqa: S308 (every value escaped)
