"""The portal's "My tickets" rows, written in Python (benchmark issue #3)."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from django import template
from django.utils import dateformat, timezone
from django.utils.safestring import SafeString, mark_safe

from frontline.tickets.models import Ticket
from frontline.tickets.templatetags.tickets_ui import natural_formatter, ref_url, ref_url_pattern

register = template.Library()

# What portal/_status.html says of each status, in the requester's words.
STATUS_TEXT = {
    "new": "Received",
    "assigned": "With our support team",
    "in_progress": "Being worked on",
    "pending_customer": "Waiting for your reply",
    "pending_vendor": "Waiting for a supplier",
    "pending_change": "Waiting for a planned change",
    "resolved": "Resolved",
    "closed": "Closed",
}


@register.simple_tag
def portal_rows(tickets: Iterable[Ticket], scope: str) -> SafeString:
    """The <tr>s of portal/ticket_list.html: the markup its template loop drew (a test compares
    them), every value escaped. The loop (an include and two `{% url %}` per row, naturaltime)
    cost more than the rest of the page."""
    pattern = ref_url_pattern("portal:ticket-detail")
    natural = natural_formatter()
    current = timezone.get_current_timezone()
    out: list[str] = []
    for ticket in tickets:
        number = escape(str(ticket.number))
        url = escape(ref_url("portal:ticket-detail", ticket.number, pattern))
        requester = (
            f'\n      <td class="col-requester">{escape(str(ticket.requester.full_name))}</td>'
            if scope == "org"
            else "\n      "
        )
        subject = escape(str(ticket.subject))
        status = escape(str(ticket.status))
        updated = ticket.updated_at.astimezone(current)
        out.append(
            "\n    <tr>"
            f'\n      <td class="col-number"><a href="{url}">{number}</a></td>'
            f'\n      <td class="col-subject"><a href="{url}">{subject}</a></td>'
            f"{requester}"
            f'\n      <td class="col-status"><span class="badge status-{status}">'
            f"{escape(STATUS_TEXT[ticket.status]) if ticket.status in STATUS_TEXT else status}"
            "</span>\n</td>"
            f'\n      <td class="col-updated"><time datetime="{updated.isoformat()}" '
            f'title="{escape(dateformat.format(updated, "j M Y, H:i"))}">'
            f"{escape(str(natural.string_for(ticket.updated_at)))}</time></td>"
            "\n    </tr>\n    "
        )
    return mark_safe("".join(out))  # noqa: S308 (every value escaped above)
