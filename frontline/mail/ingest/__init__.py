"""The one way mail comes in: every intake (IMAP, SMTP, MTA pipe, failed-mail retry) calls
`ingest_message`, which parses, stores and acts on one message.

No lost mail: the outcome is committed before we return (an InboundMail row with its ticket or
reply in one transaction, or a FailedMail row with the raw bytes and the reason). Only when even
the failed-mail record cannot be written does it raise, and the caller must then leave the message
with its source (IMAP: unseen; SMTP: 451; pipe: exit 75) so it is delivered again.

Layout: this module is the pipeline (parse, store, act, or keep as failed); `storage` (raw
files), `bounces` (automatic mail and delivery reports), `senders` (who and which organisation)
and `acting` (tickets and replies) hold the steps.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from frontline.core.access import Actor
from frontline.core.errors import NotFound, PermissionDenied, ValidationError
from frontline.mail import notify
from frontline.mail.ingest.acting import _act, _Action
from frontline.mail.ingest.bounces import auto_detect
from frontline.mail.ingest.senders import RATE_WINDOW, Outcome, _Reject
from frontline.mail.ingest.storage import _loose_headers, _read_raw
from frontline.mail.ingest.storage import _raw_file as _raw_file  # re-exported (pipe tests)
from frontline.mail.models import FailedMail, InboundMail, Mailbox
from frontline.mail.parsing import MailTooComplex, ParsedMail, parse_message

__all__ = [
    "IngestResult",
    "auto_detect",
    "failed_mail_retry",
    "ingest_message",
    "raw_read",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # "ticket" | "reply" | "bounce" | "rejected" | "ignored" | "duplicate" | "failed"
    inbound: InboundMail | None  # the committed row (also for "duplicate": the earlier row)
    failed: FailedMail | None  # set when outcome == "failed"
    reason: str = ""


# --- public API ------------------------------------------------------------------------------


def ingest_message(
    raw: bytes,
    *,
    source: str,
    mailbox: Mailbox | None = None,
    recipients: Sequence[str] = (),
) -> IngestResult:
    """Parse, store and act on one RFC 822 message. Returns only after the outcome is committed
    (InboundMail or FailedMail row + raw file). Never raises for bad mail (it becomes a
    FailedMail); raises only when even the failed-mail record cannot be written (database or
    storage down), in which case the caller must NOT acknowledge the message to its source.
    Same (mailbox, Message-ID) twice: outcome "duplicate", nothing changes. `mailbox` None:
    chosen by the recipients / To / Delivered-To addresses, else the only active mailbox, else
    failed."""
    return _ingest(raw, source=source, mailbox=mailbox, recipients=recipients, failed_row=None)


def failed_mail_retry(*, actor: Actor, failed: FailedMail) -> IngestResult:
    """Ingest a failed message again (administrators only). Success marks the row resolved;
    another failure updates its reason and attempt count instead of adding a row."""
    if not actor.has_role("admin", "system"):
        raise PermissionDenied("Only administrators may retry failed mail.")
    tenant_id = failed.mailbox.organization_id if failed.mailbox else None
    if tenant_id is not None and not actor.can_see_tenant(tenant_id):
        raise NotFound()
    failed.refresh_from_db(fields=["resolved_at", "attempts"])  # another admin may have won
    if failed.resolved_at is not None:
        raise ValidationError({"failed": "This message was already processed."})
    raw = _read_raw(failed.raw.name)
    result = _ingest(
        raw,
        source=failed.source or Mailbox.Source.PIPE,
        mailbox=failed.mailbox,
        recipients=(),
        failed_row=failed,
    )
    if result.outcome != "failed":
        failed.resolved_at = timezone.now()
        failed.resolved_as = result.inbound
        failed.last_attempt_at = timezone.now()
        failed.attempts += 1
        failed.save(update_fields=["resolved_at", "resolved_as", "last_attempt_at", "attempts"])
    logger.info(
        "failed mail retried",
        extra={"failed_id": failed.pk, "outcome": result.outcome, "actor": actor.label},
    )
    return result


def raw_read(inbound: InboundMail | FailedMail) -> bytes:
    """The original bytes of a stored message (raw files are gzip-compressed)."""
    return _read_raw(inbound.raw.name)


# --- mailbox ---------------------------------------------------------------------------------


def _mailbox_for(recipients: Sequence[str], parsed: ParsedMail | None) -> Mailbox | None:
    candidates = [r.strip().lower() for r in recipients if r]
    if parsed is not None:
        candidates += parsed.recipients
    if candidates:
        by_address = {
            m.address.lower(): m
            for m in Mailbox.objects.filter(is_active=True, address__in=set(candidates))
        }
        if not by_address and candidates:
            # EmailField keeps case; compare case-insensitively for the few active mailboxes.
            by_address = {m.address.lower(): m for m in Mailbox.objects.filter(is_active=True)}
        for address in candidates:
            if address in by_address:
                return by_address[address]
    active = list(Mailbox.objects.filter(is_active=True)[:2])
    return active[0] if len(active) == 1 else None


# --- the pipeline ----------------------------------------------------------------------------


def _ingest(
    raw: bytes,
    *,
    source: str,
    mailbox: Mailbox | None,
    recipients: Sequence[str],
    failed_row: FailedMail | None,
) -> IngestResult:
    parsed: ParsedMail | None = None
    try:
        parsed = parse_message(raw)
    except MailTooComplex as exc:
        return _fail(raw, source, mailbox, None, f"Too complex to process: {exc}", failed_row)
    except Exception as exc:
        logger.exception("mail parse failed")
        return _fail(raw, source, mailbox, None, f"Could not parse: {exc!r}", failed_row)
    try:
        if mailbox is None:
            mailbox = _mailbox_for(recipients, parsed)
        if mailbox is None:
            return _fail(
                raw, source, None, parsed, "No active mailbox matches the recipients.", failed_row
            )
        duplicate_id, recent = _earlier(mailbox, parsed)
        if duplicate_id is not None:
            earlier: InboundMail = InboundMail.objects.get(pk=duplicate_id)
            return IngestResult("duplicate", earlier, None, "Already received.")
        raw_file = _raw_file(raw)
        try:
            inbound = _store_and_act(
                raw, raw_file, parsed, mailbox=mailbox, source=source, recent=recent
            )
        except IntegrityError:
            existing = InboundMail.objects.filter(
                mailbox=mailbox, message_id=parsed.message_id[:998]
            ).first()
            if existing is None:
                raise
            return IngestResult("duplicate", existing, None, "Already received.")
    except Exception as exc:
        logger.exception("mail ingest failed", extra={"message_id": parsed.message_id})
        return _fail(raw, source, mailbox, parsed, f"Could not process: {exc!r}", failed_row)
    logger.info(
        "mail ingested",
        extra={
            "mailbox": mailbox.address,
            "message_id": inbound.message_id,
            "outcome": inbound.outcome,
            "reason": inbound.reason,
        },
    )
    return IngestResult(inbound.outcome, inbound, None, inbound.reason)


def _fail(
    raw: bytes,
    source: str,
    mailbox: Mailbox | None,
    parsed: ParsedMail | None,
    reason: str,
    failed_row: FailedMail | None,
) -> IngestResult:
    """Record the message in the failed-mail list. Raises if even that is impossible."""
    reason = reason.replace("\x00", "")[:5000]  # PostgreSQL refuses NUL in text
    logger.warning(
        "mail kept as failed",
        extra={"reason": reason, "mailbox": mailbox.address if mailbox else None},
    )
    if failed_row is not None:
        failed_row.reason = reason
        failed_row.attempts += 1
        failed_row.last_attempt_at = timezone.now()
        failed_row.save(update_fields=["reason", "attempts", "last_attempt_at"])
        return IngestResult("failed", None, failed_row, reason)
    if parsed is not None:
        message_id, sender, subject = parsed.message_id, parsed.sender, parsed.subject
    else:
        message_id, sender, subject = _loose_headers(raw)
    message_id = message_id[:998]
    with transaction.atomic():
        # The same message delivered again (an MTA retrying, a mailbox that still matches
        # nothing) bumps the unresolved row instead of filling the list with copies.
        again = (
            FailedMail.objects.select_for_update()
            .filter(message_id=message_id, resolved_at__isnull=True)
            .order_by("pk")
            .first()
            if message_id
            else None
        )
        if again is not None:
            again.reason = reason
            again.attempts += 1
            again.last_attempt_at = timezone.now()
            again.save(update_fields=["reason", "attempts", "last_attempt_at"])
            return IngestResult("failed", None, again, reason)
        failed = FailedMail(
            mailbox=mailbox,
            source=source,
            message_id=message_id,
            sender=sender[:320],
            subject=subject[:998],
            raw_size=len(raw),
            reason=reason,
        )
        failed.raw.save("x", _raw_file(raw), save=False)
        failed.save()
    return IngestResult("failed", None, failed, reason)


def _earlier(mailbox: Mailbox, parsed: ParsedMail) -> tuple[int | None, int]:
    """In one query: the row of this message if the mailbox already received it (the primary
    key only, not the stored bodies: almost every message is new), and how many messages its
    sender sent to the mailbox in the last hour (the per-sender rate limit)."""
    message_id = parsed.message_id[:998]
    same_message = Q(message_id=message_id)
    same_sender = Q(sender=parsed.sender[:320], received_at__gte=timezone.now() - RATE_WINDOW)
    found = InboundMail.objects.filter(same_message | same_sender, mailbox=mailbox).aggregate(
        duplicate=Min("pk", filter=same_message), recent=Count("pk", filter=same_sender)
    )
    return found["duplicate"], found["recent"]


def _store_and_act(
    raw: bytes,
    raw_file: ContentFile[bytes],
    parsed: ParsedMail,
    *,
    mailbox: Mailbox,
    source: str,
    recent: int,
) -> InboundMail:
    # The InboundMail row is inserted last, in the same transaction as what the message caused:
    # a concurrent copy of the same message blocks on the (mailbox, message_id) unique index
    # until this commits, then fails on it and rolls back everything it did, so only one ever
    # makes a ticket (one INSERT, instead of claiming first and updating after).
    is_auto, auto_reason = auto_detect(parsed)
    inbound = InboundMail(
        mailbox=mailbox,
        tenant_id=mailbox.organization_id,
        message_id=parsed.message_id[:998],
        in_reply_to=" ".join(parsed.in_reply_to)[:10000],
        references=" ".join(parsed.references)[:10000],
        sender=parsed.sender[:320],
        sender_name=parsed.sender_name[:255],
        subject=parsed.subject[:998],
        date=parsed.date,
        source=source,
        outcome=Outcome.IGNORED,
        is_auto=is_auto,
        body_text=parsed.body_text,
        body_html=parsed.body_html,
        raw_size=len(raw),
    )
    inbound.raw.save("x", raw_file, save=False)
    auto_sender = (parsed.sender or "an unknown sender") if is_auto else None
    try:
        with transaction.atomic(), notify.automatic_mail_trigger(auto_sender):
            action = _act(parsed, mailbox=mailbox, recent=recent)
            _inbound_save(inbound, action, parsed, auto_reason)
    except _Reject as stop:
        # Rare: whatever acting had done is rolled back with the transaction (no savepoint on
        # the common path), and the message is recorded as rejected in a transaction of its own.
        action = _Action(outcome=stop.outcome, reason=stop.reason, bounce=stop.bounce)
        with transaction.atomic():
            _inbound_save(inbound, action, parsed, auto_reason)
            if action.bounce and not is_auto:
                _bounce_unknown_sender(inbound)
    return inbound


def _inbound_save(
    inbound: InboundMail, action: _Action, parsed: ParsedMail, auto_reason: str
) -> None:
    reasons = [r for r in (action.reason, auto_reason) if r]
    if parsed.stripped_control_headers:
        reasons.append("ignored control headers: " + ", ".join(parsed.stripped_control_headers))
    inbound.outcome = action.outcome
    inbound.reason = "; ".join(reasons)[:5000]
    inbound.ticket = action.ticket
    inbound.comment = action.comment
    if action.tenant_id is not None:
        inbound.tenant_id = action.tenant_id
    inbound.inline_images = action.inline_images
    inbound.save(force_insert=True)


def _bounce_unknown_sender(inbound: InboundMail) -> None:
    """The polite bounce to a rejected sender. Its failure must not lose the message."""
    try:
        with transaction.atomic():
            notify.bounce_unknown_sender(inbound=inbound)
    except Exception:
        logger.exception("bounce_unknown_sender failed", extra={"inbound_id": inbound.pk})
