"""Which ticket a message belongs to. Always within one organisation's tickets (SECURITY 8, 9).

Order (RFC 5322 threading first, the subject only as a fallback): In-Reply-To and References
against the Message-IDs we received (InboundMail) and sent (OutboundMail) for that organisation;
then a ticket number `[INC-000123]` / `[REQ-000123]` in the subject, again only among that
organisation's tickets."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from frontline.mail.models import InboundMail, Mailbox, OutboundMail
from frontline.tickets.models import Ticket

TICKET_NUMBER = re.compile(r"\[\s*((?:INC|REQ)-\d{1,12})\s*\]", re.IGNORECASE)
MAX_REFERENCES = 50
_MSGID = re.compile(r"<([^<>\s@]{1,400}@[^<>\s]{1,400})>")


@dataclass(frozen=True, slots=True)
class ThreadMatch:
    ticket: Ticket
    via: str  # "in-reply-to", "references" or "subject"


def subject_numbers(subject: str) -> list[str]:
    return [m.upper() for m in TICKET_NUMBER.findall(subject or "")]


def msgids_in(text: str) -> list[str]:
    """Every <local@domain> Message-ID-looking token in `text` (for bounces)."""
    return [f"<{m}>" for m in _MSGID.findall(text or "")][:200]


def _by_message_ids(
    *, message_ids: Sequence[str], tenant_ids: Collection[int], mailbox: Mailbox | None
) -> Ticket | None:
    if not message_ids or not tenant_ids:
        return None
    ids = list(dict.fromkeys(message_ids))[-MAX_REFERENCES:]
    outbound = (
        OutboundMail.objects.filter(tenant_id__in=tenant_ids, message_id__in=ids)
        .select_related("ticket")
        .only("message_id", "ticket")
    )
    inbound = (
        InboundMail.objects.filter(
            tenant_id__in=tenant_ids, message_id__in=ids, ticket__isnull=False
        )
        .select_related("ticket")
        .only("message_id", "ticket")
    )
    found: dict[str, Ticket] = {}
    rows: list[InboundMail | OutboundMail] = [*inbound, *outbound]
    for row in rows:
        # The ticket must be of the same organisation as the row that names it.
        if row.ticket is not None and row.ticket.tenant_id in tenant_ids:
            found.setdefault(row.message_id, row.ticket)
    # The most recent reference (last in the list) wins.
    for mid in reversed(ids):
        if mid in found:
            return found[mid]
    return None


def thread_find(
    *,
    tenant_ids: Collection[int],
    in_reply_to: Sequence[str],
    references: Sequence[str],
    subject: str,
    mailbox: Mailbox | None = None,
) -> ThreadMatch | None:
    """The ticket this message continues, among the tickets of `tenant_ids` only."""
    ticket = _by_message_ids(message_ids=in_reply_to, tenant_ids=tenant_ids, mailbox=mailbox)
    if ticket is not None:
        return ThreadMatch(ticket=ticket, via="in-reply-to")
    ticket = _by_message_ids(message_ids=references, tenant_ids=tenant_ids, mailbox=mailbox)
    if ticket is not None:
        return ThreadMatch(ticket=ticket, via="references")
    numbers = subject_numbers(subject)
    if numbers and tenant_ids:
        for number in numbers:
            ticket = Ticket.objects.filter(number=number, tenant_id__in=tenant_ids).first()
            if ticket is not None:
                return ThreadMatch(ticket=ticket, via="subject")
    return None


def outbound_find(
    *, tenant_ids: Collection[int] | None, message_ids: Sequence[str]
) -> Ticket | None:
    """The ticket of one of our outbound messages (bounces); `tenant_ids` None: any tenant,
    because a bounce comes from a mail server, not from a person of the organisation."""
    if not message_ids:
        return None
    rows = OutboundMail.objects.filter(message_id__in=list(message_ids)[:MAX_REFERENCES])
    if tenant_ids is not None:
        rows = rows.filter(tenant_id__in=tenant_ids)
    row = rows.select_related("ticket").first()
    return row.ticket if row is not None else None
