"""Building and sending outbound mail: notifications (OutboundMail rows) and the polite bounce.

Every message we send says it is automatic (`Auto-Submitted`, `X-Auto-Response-Suppress`) and
carries `X-Loop: frontline`, so well-behaved auto-responders stay quiet and our own mail that
comes back is recognised (SECURITY 30). Header values made from user data (subjects, names) are
folded onto one line first (SECURITY 18); Django's BadHeaderError is the second line of defence and
is treated as a permanent failure. Threading follows RFC 5322 section 3.6.4: In-Reply-To names the
message that started the ticket's thread, References the recent chain (bounded).

A notification that ended as failed (the relay refused it, or was down through every retry) keeps
its text; an administrator sends it again with `outbound_resend` once the cause is fixed.
"""

from __future__ import annotations

import logging
import smtplib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.cache import cache
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from frontline.core import config_cache
from frontline.core.access import Actor
from frontline.core.errors import NotFound, PermissionDenied, ValidationError
from frontline.core.events import event_record
from frontline.core.models import AuditEvent
from frontline.mail.models import InboundMail, Mailbox, NotificationTemplate, OutboundMail
from frontline.mail.sandbox import default_render, sandbox_render

logger = logging.getLogger(__name__)

LOOP_HEADERS = {
    "X-Loop": "frontline",
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "All",
}
# Bounded so a long-running thread does not grow a header without limit (RFC 5322 allows it; some
# servers reject lines over 998 characters and headers over a few KB).
MAX_REFERENCES = 10
MAX_SUBJECT = 250
SEND_LOCK_SECONDS = 300
_EVENT_LABELS: dict[str, str] = {
    NotificationTemplate.Event.CREATED: "acknowledgement",
    NotificationTemplate.Event.REPLY: "reply",
    NotificationTemplate.Event.STATUS: "status",
    NotificationTemplate.Event.RESOLVED: "resolution",
}


class TransientSendError(Exception):
    """Sending failed in a way a later attempt may fix (server down, timeout, 4xx)."""


def header_text(value: str, *, limit: int = MAX_SUBJECT) -> str:
    """One line of text for a header: CR, LF and every other control or line/paragraph separator
    becomes a space, runs of space collapse (SECURITY 18)."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch for ch in value or ""
    )
    return " ".join(cleaned.split())[:limit]


def mail_domain() -> str:
    """The right-hand side of our Message-IDs: FRONTLINE_MAIL_DOMAIN, else DEFAULT_FROM_EMAIL's."""
    configured = str(getattr(settings, "FRONTLINE_MAIL_DOMAIN", "") or "").strip()
    if configured:
        return configured
    address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1]
    return address.rpartition("@")[2] or "frontline.local"


def message_id_make() -> str:
    return make_msgid(domain=mail_domain())


def daily_cap() -> int:
    return int(getattr(settings, "FRONTLINE_MAIL_DAILY_CAP", 40))


def sent_recently(*, recipient: str) -> int:
    """Automatic mails queued, sent or failed to `recipient` in the last 24 hours (all tenants:
    the cap protects the mailbox at the other end, whoever writes to it)."""
    address = recipient.strip().lower()
    return sent_recently_many([address]).get(address, 0)


def sent_recently_many(recipients: Sequence[str]) -> dict[str, int]:
    """sent_recently() for several (lower-case) addresses at once: {address: count}. Rows store
    addresses in lower case, so the (recipient, created_at) index serves this."""
    if not recipients:
        return {}
    since = timezone.now() - timedelta(hours=24)
    counts = (
        OutboundMail.objects.filter(recipient__in=set(recipients), created_at__gte=since)
        .exclude(status=OutboundMail.Status.SUPPRESSED)
        .order_by()
        .values_list("recipient")
        .annotate(n=Count("pk"))
    )
    return {recipient: int(n) for recipient, n in counts}


# --- identity ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sender:
    from_email: str
    reply_to: str
    mailbox: Mailbox | None
    desk_name: str


def _org_mailbox(tenant_id: int) -> Mailbox | None:
    return Mailbox.objects.filter(organization_id=tenant_id, is_active=True).order_by("pk").first()


def sender_for(*, tenant_id: int | None, mailbox: Mailbox | None = None) -> Sender:
    """Who a mail about tenant `tenant_id` comes from: its organisation's (first active) mailbox,
    else DEFAULT_FROM_EMAIL."""
    if mailbox is None and tenant_id is not None:
        mailbox = config_cache.cached(("mail.sender", tenant_id), lambda: _org_mailbox(tenant_id))
    if mailbox is None:
        name, address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))
        name = header_text(name, limit=100)
        return Sender(
            from_email=formataddr((name, address)) if name else address,
            reply_to=address,
            mailbox=None,
            desk_name=name or "Service desk",
        )
    address = mailbox.from_address or mailbox.address
    name = header_text(mailbox.from_name, limit=100)
    return Sender(
        from_email=formataddr((name, address)) if name else address,
        reply_to=mailbox.reply_to or address,
        mailbox=mailbox,
        desk_name=name or header_text(mailbox.name, limit=100) or "Service desk",
    )


# --- templates -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body_text: str


def _template_row(*, event: str, tenant_id: int | None) -> NotificationTemplate | None:
    """The organisation's own template, else the installation default (cached per process:
    core.config_cache)."""
    return config_cache.cached(
        ("mail.template", event, tenant_id), lambda: _template_row_load(event, tenant_id)
    )


def _template_row_load(event: str, tenant_id: int | None) -> NotificationTemplate | None:
    scope = Q(organization__isnull=True)
    if tenant_id is not None:
        scope |= Q(organization_id=tenant_id)
    rows = list(
        NotificationTemplate.objects.filter(scope, event=event, is_active=True).order_by("pk")
    )
    own = [r for r in rows if tenant_id is not None and r.organization_id == tenant_id]
    default = [r for r in rows if r.organization_id is None]
    chosen = own or default
    return chosen[0] if chosen else None


def notification_render(*, event: str, tenant_id: int | None, context: dict[str, str]) -> Rendered:
    """Subject and text of notification `event`: the organisation's template, else the installation
    default row, else the shipped file; edited templates run in the sandbox, and one that fails
    falls back to the shipped file with a warning in the log."""
    row = _template_row(event=event, tenant_id=tenant_id)
    subject = body = None
    if row is not None:
        try:
            subject = sandbox_render(row.subject, context)
            body = sandbox_render(row.body, context)
        except Exception as exc:  # SandboxError, or a filter failing on odd input
            logger.warning(
                "notification template %s fails, using the default",
                row.pk,
                extra={"template_id": row.pk, "event": event, "error": str(exc)[:300]},
            )
            subject = body = None
    if subject is None or body is None:
        subject = default_render(f"mail/notify/{event}_subject.txt", context)
        body = default_render(f"mail/notify/{event}.txt", context)
    subject = header_text(subject)
    number = context.get("number", "")
    # The [INC-000123] tag is how replies find their ticket when a client drops In-Reply-To.
    if number and f"[{number}]" not in subject:
        subject = header_text(f"[{number}] {subject}")
    return Rendered(subject=subject or f"[{number}]", body_text=body.strip() + "\n")


def html_alternative(*, subject: str, number: str, ticket_subject: str, body_text: str) -> str:
    """The HTML part: the text, escaped (autoescape) with its links made clickable (SECURITY 14)."""
    return render_to_string(
        "mail/notify_layout.html",
        {
            "subject": subject,
            "number": number,
            "ticket_subject": ticket_subject,
            "body_text": body_text,
        },
    )


# --- threading -----------------------------------------------------------------------------


def thread_headers(*, outbound: OutboundMail) -> tuple[str, str]:
    """(In-Reply-To, References) for `outbound`: the thread starts at the mail that opened the
    ticket, or else our first outbound mail of the ticket; References adds the most recent
    messages of the ticket this recipient took part in."""
    opening = (
        InboundMail.objects.filter(ticket_id=outbound.ticket_id, comment__isnull=True)
        .exclude(outcome=InboundMail.Outcome.BOUNCE)
        .order_by("pk")
        .values_list("message_id", flat=True)
        .first()
    )
    earlier = OutboundMail.objects.filter(ticket_id=outbound.ticket_id, pk__lt=outbound.pk).exclude(
        status=OutboundMail.Status.SUPPRESSED
    )
    root = opening or earlier.order_by("pk").values_list("message_id", flat=True).first()
    if not root:
        return "", ""
    recent_in = list(
        InboundMail.objects.filter(ticket_id=outbound.ticket_id, sender__iexact=outbound.recipient)
        .exclude(message_id=root)
        .order_by("-pk")
        .values_list("pk", "message_id")[:MAX_REFERENCES]
    )
    recent_out = list(
        earlier.filter(recipient__iexact=outbound.recipient)
        .exclude(message_id=root)
        .order_by("-pk")
        .values_list("created_at", "message_id")[:MAX_REFERENCES]
    )
    # Inbound and outbound ids are not comparable; order each by time and merge by time.
    inbound_times = dict(
        InboundMail.objects.filter(pk__in=[pk for pk, _ in recent_in]).values_list(
            "pk", "received_at"
        )
    )
    chain = sorted(
        [(inbound_times[pk], mid) for pk, mid in recent_in]
        + [(created, mid) for created, mid in recent_out]
    )
    ids = [root, *[mid for _, mid in chain][-(MAX_REFERENCES - 1) :]]
    clean = [header_text(i, limit=250) for i in dict.fromkeys(ids) if i]
    return clean[0], " ".join(clean)


# --- building and sending ------------------------------------------------------------------


def message_build(*, outbound: OutboundMail, sender: Sender) -> EmailMultiAlternatives:
    """The message for one OutboundMail row (text and an escaped HTML alternative)."""
    number = outbound.ticket.number
    subject = header_text(outbound.subject)
    headers = {
        "Message-ID": outbound.message_id,
        "X-Frontline-Ticket": header_text(number, limit=30),
        **LOOP_HEADERS,
    }
    if outbound.in_reply_to:
        headers["In-Reply-To"] = header_text(outbound.in_reply_to, limit=998)
    if outbound.references:
        headers["References"] = header_text(outbound.references, limit=5000)
    message = EmailMultiAlternatives(
        subject=subject,
        body=outbound.body_text,
        from_email=sender.from_email,
        to=[outbound.recipient],
        reply_to=[sender.reply_to],
        headers=headers,
    )
    message.attach_alternative(
        html_alternative(
            subject=subject,
            number=number,
            ticket_subject=outbound.ticket.subject,
            body_text=outbound.body_text,
        ),
        "text/html",
    )
    return message


def auto_trigger_reason(*, outbound: OutboundMail) -> str:
    """Why `outbound` must not be sent because what caused it was itself automatic mail (an
    out-of-office, a bounce, a list), else "". Checked at send time: the inbound engine links
    its InboundMail row to the ticket or comment later in the same transaction."""
    if outbound.comment_id is not None:
        rows = InboundMail.objects.filter(comment_id=outbound.comment_id)
    elif outbound.event == NotificationTemplate.Event.CREATED:
        rows = InboundMail.objects.filter(ticket_id=outbound.ticket_id, comment__isnull=True)
    else:
        return ""
    auto = rows.filter(is_auto=True).values_list("sender", flat=True).first()
    if auto is None:
        return ""
    return f"Not sent: triggered by automatic mail from {auto} (RFC 3834)."


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def outbound_send(*, outbound_id: int) -> str:
    """Send one queued OutboundMail; returns its status afterwards. Idempotent: a row that is not
    queued (sent, failed, suppressed) is left alone, and a cache lock keeps two workers from
    sending the same row at once. Raises TransientSendError when a retry may succeed (the row
    stays queued with the error and the attempt counted)."""
    lock = f"mail-send:{outbound_id}"
    if not cache.add(lock, 1, timeout=SEND_LOCK_SECONDS):
        return "locked"
    try:
        return _send(outbound_id)
    finally:
        cache.delete(lock)


def _send(outbound_id: int) -> str:
    row = OutboundMail.objects.select_related("ticket", "mailbox").filter(pk=outbound_id).first()
    if row is None:
        return "missing"
    if row.status != OutboundMail.Status.QUEUED:
        return str(row.status)
    reason = auto_trigger_reason(outbound=row)
    if reason:
        row.status = OutboundMail.Status.SUPPRESSED
        row.reason = reason
        row.save(update_fields=["status", "reason", "updated_at"])
        logger.info("outbound mail suppressed", extra={"outbound_id": row.pk, "reason": reason})
        return str(row.status)
    if not row.in_reply_to and not row.references:
        row.in_reply_to, row.references = thread_headers(outbound=row)
    row.attempts += 1
    row.save(update_fields=["in_reply_to", "references", "attempts", "updated_at"])
    try:
        message = message_build(
            outbound=row, sender=sender_for(tenant_id=row.tenant_id, mailbox=row.mailbox)
        )
        message.send(fail_silently=False)
    except (BadHeaderError, ValueError, UnicodeError) as exc:
        return _mark_failed(row, f"Refused: {exc.__class__.__name__}: {exc}")
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{exc.__class__.__name__}: {exc}"[:2000]
        if _permanent(exc):
            return _mark_failed(row, error)
        row.reason = error
        row.save(update_fields=["reason", "updated_at"])
        raise TransientSendError(error) from exc
    with transaction.atomic():
        row.status = OutboundMail.Status.SENT
        row.sent_at = timezone.now()
        row.reason = ""
        row.save(update_fields=["status", "sent_at", "reason", "updated_at"])
        event_record(
            actor=Actor.system(row.tenant_id, label="mail"),
            target=row.ticket,
            tenant_id=row.tenant_id,
            kind=AuditEvent.Kind.NOTIFIED,
            field="mail",
            new=row.recipient,
            data={
                "outbound_id": row.pk,
                "event": row.event,
                "recipient": row.recipient,
                "reason": f"{_EVENT_LABELS.get(row.event, row.event)} mail sent",
            },
            is_public=False,
        )
    return str(row.status)


def _mark_failed(row: OutboundMail, error: str) -> str:
    row.status = OutboundMail.Status.FAILED
    row.reason = error[:2000]
    row.save(update_fields=["status", "reason", "updated_at"])
    logger.warning("outbound mail failed", extra={"outbound_id": row.pk, "error": error[:300]})
    return str(row.status)


def outbound_give_up(*, outbound_id: int, error: str) -> None:
    """After the last retry: the row is marked failed with the last error; nothing is lost (the
    text stays in the row)."""
    row = OutboundMail.objects.filter(pk=outbound_id, status=OutboundMail.Status.QUEUED).first()
    if row is not None:
        _mark_failed(row, f"Gave up after {row.attempts} attempts: {error}")


def outbound_stale(*, older_than: timedelta = timedelta(minutes=20), limit: int = 500) -> list[int]:
    """Queued rows nobody is working on: enqueued while the broker was down, or whose worker died.
    Rows waiting for a retry were touched at their last attempt (backoff is at most 8 minutes)."""
    cutoff = timezone.now() - older_than
    return list(
        OutboundMail.objects.filter(status=OutboundMail.Status.QUEUED, updated_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


# --- resending failed notifications --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResendSkip:
    outbound_id: int
    recipient: str
    reason: str

    def __str__(self) -> str:
        return f"#{self.outbound_id} to {self.recipient}: {self.reason}"


@dataclass
class ResendResult:
    """What `outbound_resend` did: the rows queued again, and the ones left as they were."""

    resent: list[OutboundMail] = field(default_factory=list)
    skipped: list[ResendSkip] = field(default_factory=list)


def may_resend_outbound(actor: Actor) -> bool:
    """Administrators (and system jobs), as for retrying failed inbound mail; an administrator
    serving some organisations only, for those organisations' notifications."""
    return actor.has_role("admin", "system")


@transaction.atomic
def outbound_resend(*, actor: Actor, outbound_ids: Sequence[int]) -> ResendResult:
    """Queue failed notifications again and enqueue their sending after commit.

    Only rows whose status is failed are resent: each goes back to queued (the last error is
    kept in the audit entry, the attempt count goes on), gets an audit entry on its ticket, and
    `mail_send` runs for it once this commits. Other rows are skipped with the reason, and so
    is a row whose recipient reached the daily cap (FRONTLINE_MAIL_DAILY_CAP): a resent mail
    counts as a new automatic mail to that address unless it was written in the last 24 hours
    (then it was already counted). The rows are locked (select_for_update), so two
    administrators clicking at once resend a row once.

    Raises PermissionDenied (not an administrator), NotFound (an id that does not exist or
    belongs to an organisation the actor does not serve: nothing is resent), ValidationError
    (no ids, or none of the rows could be resent: the reasons are in the message)."""
    if not may_resend_outbound(actor):
        raise PermissionDenied("Only administrators may resend failed notifications.")
    wanted = list(dict.fromkeys(int(pk) for pk in outbound_ids))
    if not wanted:
        raise ValidationError("Choose at least one notification to resend.")
    rows: list[OutboundMail] = list(
        OutboundMail.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("ticket")
        .filter(pk__in=wanted)
        .order_by("pk")
    )
    missing = sorted(set(wanted) - {row.pk for row in rows})
    if missing:
        raise NotFound("Notification " + ", ".join(f"#{pk}" for pk in missing) + " not found.")
    result = ResendResult()
    failed = []
    for row in rows:
        if row.status == OutboundMail.Status.FAILED:
            failed.append(row)
        else:
            reason = f"not resent: it is {row.get_status_display().lower()}, not failed."
            result.skipped.append(ResendSkip(row.pk, row.recipient, reason))
    allowed = _within_daily_cap(failed)
    for row in failed:
        if row.pk not in allowed:
            reason = (
                f"not resent: daily cap reached ({daily_cap()} automatic mails to this "
                "address in 24 hours); try again later."
            )
            result.skipped.append(ResendSkip(row.pk, row.recipient, reason))
            continue
        _requeue(row, actor=actor)
        result.resent.append(row)
    if not result.resent:
        raise ValidationError("; ".join(str(skip) for skip in result.skipped))
    logger.info(
        "failed notifications resent",
        extra={
            "actor": actor.label,
            "resent": [row.pk for row in result.resent],
            "skipped": [skip.outbound_id for skip in result.skipped],
        },
    )
    return result


def _within_daily_cap(rows: Sequence[OutboundMail]) -> set[int]:
    """The pks of `rows` that may be sent again without any recipient getting more than the
    daily cap of automatic mail: the cap counts every mail written to the address in the last
    24 hours (sent_recently_many), which already includes the recent rows being resent; an
    older row counts as one more. Oldest first, as they were meant to go out."""
    cap = daily_cap()
    since = timezone.now() - timedelta(hours=24)
    counted = sent_recently_many(sorted({row.recipient for row in rows}))
    allowed: set[int] = set()
    for row in rows:
        if row.created_at >= since:
            allowed.add(row.pk)  # already one of the recipient's mails of the day
        elif counted.get(row.recipient, 0) < cap:
            counted[row.recipient] = counted.get(row.recipient, 0) + 1
            allowed.add(row.pk)
    return allowed


def _requeue(row: OutboundMail, *, actor: Actor) -> None:
    previous_reason = row.reason
    row.status = OutboundMail.Status.QUEUED
    row.reason = ""
    # updated_at moves on too, so the sweep (outbound_stale) leaves the row to this enqueue.
    row.save(update_fields=["status", "reason", "updated_at"])
    label = _EVENT_LABELS.get(row.event, row.event)
    event_record(
        actor=actor,
        target=row.ticket,
        tenant_id=row.tenant_id,
        kind=AuditEvent.Kind.NOTIFIED,
        field="mail",
        old=OutboundMail.Status.FAILED,
        new=row.recipient,
        data={
            "outbound_id": row.pk,
            "event": row.event,
            "recipient": row.recipient,
            "resend": True,
            "previous_error": previous_reason[:1000],
            "reason": f"{label} mail queued again after it failed",
        },
        is_public=False,
    )
    transaction.on_commit(_send_enqueuer(row.pk), robust=True)


def _send_enqueuer(outbound_id: int) -> Callable[[], None]:
    def mail_send_enqueue() -> None:
        from frontline.mail.tasks import mail_send  # tasks import this module

        mail_send.delay(outbound_id)

    return mail_send_enqueue
