"""Who gets mail about what: ticket events -> OutboundMail rows (issue #4 point 7).

`notify_on_events` is subscribed to the audit trail (frontline.core.events.subscribe, in
MailConfig.ready) and runs inside the transaction of the change: the rows it writes commit or roll
back with it, and sending is enqueued with transaction.on_commit (frontline.mail.tasks.mail_send).

The rules:
- created: an acknowledgement with the ticket number to the requester, even when they opened the
  ticket themselves on the portal: it is their receipt and it starts the mail thread their replies
  continue. (This is the one exception to "never the author".)
- public reply by an agent (or the system): the requester, the assignee (when another agent
  answered on their ticket) and every watcher.
  public reply by anyone else (the requester, a colleague): the assignee and the watchers who are
  agents; unassigned and unwatched, nobody - the reply is in the group's queue, and mailing the
  whole group for every reply would drown it.
- status change, reopened, closed: the requester.
- resolved: the requester and every watcher, with the portal link where they confirm or reopen.
- never the author of the event, never an internal note or any non-public event (SECURITY 11),
  never inactive users or users without an address.
- a row is "suppressed" (kept, with the reason, never sent) when the recipient has had
  FRONTLINE_MAIL_DAILY_CAP automatic mails in 24 hours, or when what caused it came from automatic
  mail (InboundMail.is_auto; checked again at send time, when the inbound row is linked) -
  SECURITY 30.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from frontline.accounts.models import User
from frontline.core.models import AuditEvent
from frontline.mail import outbound
from frontline.mail.models import InboundMail, Mailbox, NotificationTemplate, OutboundMail
from frontline.tenants.selectors import organization_cached
from frontline.tickets import selectors as ticket_selectors
from frontline.tickets.models import Comment, Ticket

logger = logging.getLogger(__name__)

Kind = AuditEvent.Kind
Event = NotificationTemplate.Event

_MAIL_EVENT: dict[str, str] = {
    Kind.CREATED: Event.CREATED,
    Kind.COMMENTED: Event.REPLY,
    Kind.STATUS: Event.STATUS,
    Kind.REOPENED: Event.STATUS,
    Kind.CLOSED: Event.STATUS,
    Kind.RESOLVED: Event.RESOLVED,
}
_TICKET_TARGET = "tickets.ticket"
MAX_REPLY_TEXT = 20_000


# The sender of the automatic mail (out-of-office, list, bounce...) being ingested right now, set
# by the inbound engine around acting on it: every notification it causes is written suppressed
# at once (SECURITY 30) instead of being queued and suppressed by the send task.
_automatic_trigger: ContextVar[str | None] = ContextVar("mail_automatic_trigger", default=None)


@contextmanager
def automatic_mail_trigger(sender: str | None) -> Iterator[None]:
    """While active, notifications are caused by automatic mail from `sender` (None: a person)."""
    token = _automatic_trigger.set(sender)
    try:
        yield
    finally:
        _automatic_trigger.reset(token)


def notify_on_events(events: Sequence[AuditEvent]) -> None:
    """The audit-trail subscriber. Costs nothing for events that send no mail. A failure here
    is logged and rolled back to a savepoint: a notification problem never undoes the change
    that was being recorded."""
    for event in events:
        if event.target_type == _TICKET_TARGET and event.is_public and event.kind in _MAIL_EVENT:
            try:
                with transaction.atomic():
                    notify_event(event=event)
            except Exception:
                logger.exception(
                    "notifications for an event failed",
                    extra={"event_id": event.pk, "ticket_id": event.target_id},
                )


def notify_event(*, event: AuditEvent) -> list[OutboundMail]:
    """Queue the notifications of one ticket event (in the caller's transaction)."""
    mail_event = _MAIL_EVENT[event.kind]
    comment: Comment | None = None
    if event.kind == Kind.COMMENTED:
        comment = _event_comment(event)
        # SECURITY 11: a note is never mailed, whatever the event says.
        if comment is None or comment.is_internal:
            return []
        ticket: Ticket | None = comment.ticket
    else:
        ticket = _event_ticket(event)
    if ticket is None:
        return []
    if event.kind == Kind.STATUS and event.new_value == Ticket.Status.RESOLVED:
        return []  # the RESOLVED event mails it
    recipients = _recipients(event=event, ticket=ticket, comment=comment)
    if not recipients:
        return []
    sender = outbound.sender_for(tenant_id=ticket.tenant_id)
    rows = _queue(
        ticket=ticket,
        event=event,
        mail_event=mail_event,
        recipients=recipients,
        comment=comment,
        sender=sender,
    )
    for row in rows:
        if row.status == OutboundMail.Status.QUEUED:
            transaction.on_commit(_sender_of(row.pk), robust=True)
    return rows


def _people_loaded(ticket: Ticket, event: AuditEvent) -> bool:
    """Whether `ticket` is the event's and has its requester and assignee loaded (what the
    recipients and the mail need), so that it can be used without reading it again."""
    return (
        ticket.pk == event.target_id
        and Ticket.requester.is_cached(ticket)
        and (ticket.assignee_id is None or Ticket.assignee.is_cached(ticket))
    )


def _event_comment(event: AuditEvent) -> Comment | None:
    """The reply the event records: the recording service's own Comment when it came with the
    event with its ticket's requester and assignee loaded (then only its author is read), else
    the comment with its ticket in one query."""
    comment_id = (event.data or {}).get("comment_id")
    related = event.related_object
    if isinstance(related, Comment) and related.pk is not None and related.pk == comment_id:
        ticket = related.ticket if Comment.ticket.is_cached(related) else None
        if ticket is not None and _people_loaded(ticket, event):
            return related
    return (
        Comment.objects.select_related(
            "author", "ticket__requester", "ticket__assignee", "ticket__tenant"
        )
        .filter(pk=int(comment_id) if comment_id else 0, ticket_id=event.target_id)
        .first()
    )


def _event_ticket(event: AuditEvent) -> Ticket | None:
    """The ticket the event is about: the recording service's own instance when it came with the
    event and has its requester loaded (no query), else read with what the mail needs."""
    target = event.target_object
    if isinstance(target, Ticket) and _people_loaded(target, event):
        return target
    return (
        Ticket.objects.select_related("requester", "assignee", "tenant")
        .filter(pk=event.target_id)
        .first()
    )


def _sender_of(outbound_id: int) -> Callable[[], None]:
    """What on_commit runs: enqueue (or, with no broker, run) the send task for one row."""

    def mail_send_enqueue() -> None:
        from frontline.mail.tasks import mail_send

        mail_send.delay(outbound_id)

    return mail_send_enqueue


def _comment_author(comment: Comment | None, loaded: Sequence[User]) -> User | None:
    """The comment's author: usually the requester, the assignee or a watcher, already loaded
    (no query; kept on the comment for the mail's text too); else read."""
    if comment is None or comment.author_id is None:
        return None
    for user in loaded:
        if user.pk == comment.author_id:
            comment.author = user
            break
    return comment.author


def _recipients(*, event: AuditEvent, ticket: Ticket, comment: Comment | None) -> list[User]:
    requester = [ticket.requester]
    if event.kind == Kind.CREATED:
        return _usable(requester, author_id=None)
    if event.kind not in (Kind.COMMENTED, Kind.RESOLVED):
        return _usable(requester, author_id=event.actor_id)
    # Never mail a ticket to a watcher who lost access to it since they began watching.
    watchers = list(ticket_selectors.watchers_with_access(ticket))
    if event.kind == Kind.COMMENTED:
        assignee = [ticket.assignee] if ticket.assignee is not None else []
        author = _comment_author(comment, requester + assignee + watchers)
        if author is None or author.is_agent:
            return _usable(requester + assignee + watchers, author_id=event.actor_id)
        agents = [w for w in watchers if w.is_agent]
        return _usable(assignee + agents, author_id=event.actor_id)
    if event.kind == Kind.RESOLVED:
        return _usable(requester + watchers, author_id=event.actor_id)
    return _usable(requester, author_id=event.actor_id)


def _usable(users: Iterable[User], *, author_id: int | None) -> list[User]:
    seen: set[str] = set()
    chosen: list[User] = []
    for user in users:
        email = (user.email or "").strip().lower()
        if not email or not user.is_active or user.pk == author_id or email in seen:
            continue
        seen.add(email)
        chosen.append(user)
    return chosen


def _organization_name(ticket: Ticket) -> str:
    if Ticket.tenant.is_cached(ticket):
        return ticket.tenant.name
    organization = organization_cached(ticket.tenant_id)
    return organization.name if organization is not None else ""


def _link(*, ticket: Ticket, user: User) -> str:
    base = str(settings.FRONTLINE_BASE_URL).rstrip("/")
    name = "tickets:ticket-detail" if user.is_agent else "portal:ticket-detail"
    return base + reverse(name, kwargs={"ref": ticket.number})


def notification_context(
    *,
    ticket: Ticket,
    event: AuditEvent,
    recipient: User,
    comment: Comment | None,
    desk_name: str,
) -> dict[str, str]:
    """The only things a notification template sees (SECURITY 19): plain strings of the ticket's
    public fields. Never internal notes, never settings, never objects."""
    data = event.data or {}
    status_value = event.new_value if event.field == "status" else ticket.status
    author = comment.author if comment is not None else None
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": str(Ticket.Status(status_value).label)
        if status_value in Ticket.Status.values
        else str(status_value),
        "requester_name": ticket.requester.full_name,
        "recipient_name": recipient.full_name or recipient.email,
        "organization": _organization_name(ticket),
        "reply_text": comment.body[:MAX_REPLY_TEXT] if comment is not None else "",
        "reply_author": (author.full_name if author else event.actor_label) or "The service desk",
        "resolution_notes": str(data.get("resolution_notes", ""))[:MAX_REPLY_TEXT]
        if event.kind == Kind.RESOLVED
        else "",
        "reason": str(data.get("reason", ""))[:2000],
        "portal_link": _link(ticket=ticket, user=recipient),
        "reopen_days": str(settings.FRONTLINE_REOPEN_WINDOW_DAYS),
        "desk_name": desk_name,
    }


def _queue(
    *,
    ticket: Ticket,
    event: AuditEvent,
    mail_event: str,
    recipients: Sequence[User],
    comment: Comment | None,
    sender: outbound.Sender,
) -> list[OutboundMail]:
    """One OutboundMail row per recipient, written in one INSERT: queued, or suppressed (with the
    reason) when automatic mail caused the event or the recipient reached the daily cap."""
    cap = outbound.daily_cap()
    auto_sender = _automatic_trigger.get()
    addresses = [user.email.strip().lower() for user in recipients]
    # No cap query for mail that is suppressed anyway; else one for all the recipients.
    recent = outbound.sent_recently_many(addresses) if auto_sender is None else {}
    rows: list[OutboundMail] = []
    for user, address in zip(recipients, addresses, strict=True):
        context = notification_context(
            ticket=ticket, event=event, recipient=user, comment=comment, desk_name=sender.desk_name
        )
        rendered = outbound.notification_render(
            event=mail_event, tenant_id=ticket.tenant_id, context=context
        )
        status = OutboundMail.Status.QUEUED
        reason = ""
        if auto_sender is not None:
            status = OutboundMail.Status.SUPPRESSED
            reason = f"Not sent: triggered by automatic mail from {auto_sender} (RFC 3834)."
        elif recent.get(address, 0) >= cap:
            status = OutboundMail.Status.SUPPRESSED
            reason = f"Daily cap reached: {cap} automatic mails to this address in 24 hours."
        rows.append(
            OutboundMail(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                comment=comment,
                mailbox=sender.mailbox,
                event=mail_event,
                recipient=address,
                subject=rendered.subject,
                body_text=rendered.body_text,
                message_id=outbound.message_id_make(),
                status=status,
                reason=reason,
            )
        )
    # No auto_trigger_reason() query here: the inbound engine links its InboundMail row after
    # the event, so it could not see it yet; it tells us through automatic_mail_trigger()
    # instead, and the send checks the linked rows again.
    created: list[OutboundMail] = OutboundMail.objects.bulk_create(rows)
    for row in created:
        if row.status == OutboundMail.Status.SUPPRESSED:
            logger.info(
                "notification suppressed",
                extra={"outbound_id": row.pk, "ticket": ticket.number, "reason": row.reason},
            )
    return created


# --- the polite bounce ---------------------------------------------------------------------


def bounce_unknown_sender(*, inbound: InboundMail) -> bool:
    """Tell the sender of a rejected message, once, politely, that it was not accepted. Sent at
    once through Django's mail backend (there is no ticket for an OutboundMail row); never to
    automatic mail, to an empty or our own address, nor past the daily cap. Returns whether a
    mail was sent; every decision is logged."""
    sender_address = (inbound.sender or "").strip()
    log = {"inbound_id": inbound.pk, "mailbox_id": inbound.mailbox_id}
    if inbound.is_auto or not sender_address or "@" not in sender_address:
        logger.info("no bounce: automatic mail or no sender", extra=log)
        return False
    own = Mailbox.objects.filter(address__iexact=sender_address).exists() or (
        sender_address.rpartition("@")[2].lower() == outbound.mail_domain().lower()
    )
    if own:
        logger.info("no bounce: the sender is one of our own addresses", extra=log)
        return False
    since = timezone.now() - timedelta(hours=24)
    bounced = (
        InboundMail.objects.filter(
            sender__iexact=sender_address,
            outcome=InboundMail.Outcome.REJECTED,
            is_auto=False,
            received_at__gte=since,
        )
        .exclude(pk=inbound.pk)
        .count()
    )
    cap = outbound.daily_cap()
    if bounced + outbound.sent_recently(recipient=sender_address) >= cap:
        logger.warning("no bounce: daily cap reached for this sender", extra=log)
        return False
    mailbox = inbound.mailbox
    sender = outbound.sender_for(tenant_id=mailbox.organization_id, mailbox=mailbox)
    rendered = outbound.notification_render(
        event=Event.BOUNCE,
        tenant_id=mailbox.organization_id,
        context={
            "subject": inbound.subject[:300],
            "mailbox_address": mailbox.address,
            "desk_name": sender.desk_name,
        },
    )
    headers = {"Message-ID": outbound.message_id_make(), **outbound.LOOP_HEADERS}
    # RFC 3834: a response to a message is "auto-replied" and names what it answers.
    headers["Auto-Submitted"] = "auto-replied"
    original = outbound.header_text(inbound.message_id, limit=998)
    if original:
        headers["In-Reply-To"] = original
        headers["References"] = original
    message = EmailMessage(
        subject=rendered.subject,
        body=rendered.body_text,
        from_email=sender.from_email,
        to=[sender_address],
        reply_to=[sender.reply_to],
        headers=headers,
    )
    message.send(fail_silently=False)
    logger.info("bounce sent to a rejected sender", extra=log)
    return True
