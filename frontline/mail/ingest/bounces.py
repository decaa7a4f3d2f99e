"""Automatic mail, loops and delivery reports: recognising them (RFC 3834, RFC 2076) and noting
a bounce on the ticket whose notification it reports."""

from __future__ import annotations

import re

from frontline.core.access import Actor
from frontline.core.events import event_record
from frontline.core.models import AuditEvent
from frontline.mail import threading
from frontline.mail.ingest.senders import MAX_DESCRIPTION
from frontline.mail.models import Mailbox
from frontline.mail.parsing import ParsedMail
from frontline.tickets import services as ticket_services
from frontline.tickets.models import Comment, Ticket

AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster"})


def auto_detect(parsed: ParsedMail) -> tuple[bool, str]:
    """(is_auto, why): auto-replies, bounces, lists and loops (RFC 3834, RFC 2076)."""
    h = parsed.header
    auto_submitted = h("auto-submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True, f"auto: Auto-Submitted: {auto_submitted[:60]}"
    if "x-auto-response-suppress" in parsed.headers:
        return True, "auto: X-Auto-Response-Suppress"
    precedence = h("precedence").lower().strip()
    if precedence in AUTO_PRECEDENCE:
        return True, f"auto: Precedence: {precedence}"
    return_path = parsed.headers.get("return-path")
    if return_path and return_path[0].strip() in {"<>", ""}:
        return True, "auto: empty Return-Path"
    if "list-id" in parsed.headers:
        return True, "auto: List-Id"
    if "frontline" in [v.strip().lower() for v in parsed.headers.get("x-loop", [])]:
        return True, "auto: X-Loop: frontline"
    if parsed.sender.split("@", 1)[0].lower() in SYSTEM_SENDERS:
        return True, "auto: system sender"
    if parsed.report_type or parsed.looks_like_bounce:
        return True, f"auto: report {parsed.report_type or 'bounce'}"
    return False, ""


def _is_own_loop(parsed: ParsedMail) -> bool:
    return "frontline" in [v.strip().lower() for v in parsed.headers.get("x-loop", [])]


def _bounce_ticket(parsed: ParsedMail, mailbox: Mailbox) -> Ticket | None:
    tenant_ids = [mailbox.organization_id] if mailbox.organization_id else None
    ids: list[str] = []
    for name in ("message-id", "in-reply-to", "references"):
        for value in parsed.report_headers.get(name, []):
            ids += threading.msgids_in(value)
    for value in (parsed.report_text, parsed.body_text):
        ids += threading.msgids_in(value)
    ids += parsed.in_reply_to + parsed.references
    ticket = threading.outbound_find(tenant_ids=tenant_ids, message_ids=ids)
    if ticket is not None:
        return ticket
    if tenant_ids is None:
        # A shared mailbox serves every organisation: a ticket number alone (anyone can type
        # one) must not put a note on another organisation's ticket; our Message-IDs can't be
        # guessed, numbers can.
        return None
    subjects = [parsed.subject, *parsed.report_headers.get("subject", [])]
    numbers = [n for s in subjects for n in threading.subject_numbers(s)]
    if not numbers:
        return None
    return Ticket.objects.filter(number__in=numbers, tenant_id__in=tenant_ids).first()


def _record_bounce(parsed: ParsedMail, *, ticket: Ticket) -> Comment | None:
    kind = {
        "disposition-notification": "Read receipt",
        "feedback-report": "Abuse/feedback report",
    }.get(parsed.report_type, "Delivery report")
    status = re.findall(
        r"(?im)^(final-recipient|action|status|diagnostic-code):\s*(.{0,300})$",
        parsed.report_text,
    )
    details = "\n".join(f"{k}: {v.strip()}" for k, v in status[:12])
    body = f"{kind} reported by {parsed.sender or 'a mail server'}: {parsed.subject}".strip()
    if details:
        body += "\n\n" + details
    elif parsed.body_text:
        body += "\n\n" + parsed.body_text[:2000]
    actor = Actor.system(ticket.tenant_id, label="mail")
    if ticket.status == Ticket.Status.CLOSED:
        event_record(
            actor=actor,
            target=ticket,
            tenant_id=ticket.tenant_id,
            kind=AuditEvent.Kind.NOTIFIED,
            data={"bounce": body[:4000]},
            is_public=False,
        )
        return None
    return ticket_services.comment_add(
        actor=actor, ticket=ticket, body=body[:MAX_DESCRIPTION], is_internal=True
    )
