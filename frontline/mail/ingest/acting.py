"""Acting on one stored message: a new ticket, a reply (reopening a resolved ticket within its
window), a follow-up of a closed ticket, a bounce note, or a rejection (_Reject)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile

from frontline.accounts import services as account_services
from frontline.accounts.models import User
from frontline.core.access import Actor
from frontline.core.errors import FrontlineError
from frontline.core.events import event_record
from frontline.core.models import AuditEvent
from frontline.mail import threading
from frontline.mail.ingest.bounces import _bounce_ticket, _is_own_loop, _record_bounce
from frontline.mail.ingest.senders import (
    MAX_DESCRIPTION,
    Outcome,
    _domain_org,
    _new_requester,
    _Reject,
    _reply_actor,
    _sender_tenants,
    _sender_user,
)
from frontline.mail.models import Mailbox
from frontline.mail.parsing import ParsedMail
from frontline.tickets import services as ticket_services
from frontline.tickets.models import Attachment, Comment, Ticket
from frontline.tickets.services import NewFile


@dataclass
class _Action:
    outcome: str
    reason: str = ""
    bounce: bool = False
    ticket: Ticket | None = None
    comment: Comment | None = None
    tenant_id: int | None = None
    inline_images: dict[str, int] = field(default_factory=dict)


def _files(parsed: ParsedMail, limit: int) -> tuple[list[NewFile], list[str], list[str]]:
    """NewFiles for the attachments under the size limit, the content-id of each (or ""), and
    notes about the ones left out (they stay in the raw message)."""
    files: list[NewFile] = []
    cids: list[str] = []
    notes: list[str] = []
    for att in parsed.attachments:
        if len(att.data) > limit:
            notes.append(
                f"{att.filename} ({len(att.data):,} bytes) is over the attachment limit; "
                "it is kept in the original message."
            )
            continue
        files.append(
            NewFile(
                name=att.filename,
                content=SimpleUploadedFile(att.filename[:200] or "attachment", att.data),
                content_type=att.content_type,
            )
        )
        cids.append(att.content_id)
    return files, cids, notes


def _inline_map(cids: Sequence[str], attachments: Sequence[Attachment]) -> dict[str, int]:
    return {cid: att.pk for cid, att in zip(cids, attachments, strict=False) if cid}


def _text_for_ticket(parsed: ParsedMail, notes: Sequence[str]) -> str:
    text = parsed.body_text.strip() or ("(no text)" if not parsed.attachments else "")
    if notes:
        text = (text + "\n\n" + "\n".join(notes)).strip()
    if len(text) > MAX_DESCRIPTION:
        text = text[: MAX_DESCRIPTION - 80] + "\n\n[truncated; the full text is in the message]"
    return text


def _act(parsed: ParsedMail, *, mailbox: Mailbox, recent: int) -> _Action:
    from django.conf import settings

    if _is_own_loop(parsed):
        raise _Reject(Outcome.IGNORED, "Our own notification came back (X-Loop: frontline).")
    if parsed.report_type or parsed.looks_like_bounce:
        ticket = _bounce_ticket(parsed, mailbox)
        if ticket is None:
            raise _Reject(Outcome.IGNORED, "Bounce or report that names none of our messages.")
        comment = _record_bounce(parsed, ticket=ticket)
        return _Action(Outcome.BOUNCE, ticket=ticket, comment=comment, tenant_id=ticket.tenant_id)
    if not parsed.sender:
        raise _Reject(Outcome.REJECTED, "No sender address.")
    # `recent`: this sender's messages to the mailbox in the last hour, counted with the
    # duplicate check before the transaction (this message's own row is not among them).
    if recent >= mailbox.sender_limit_per_hour:
        raise _Reject(
            Outcome.REJECTED,
            f"Rate limit: {recent} messages from {parsed.sender} in the last hour "
            f"(limit {mailbox.sender_limit_per_hour}).",
        )

    user = _sender_user(parsed.sender)
    if (
        user is not None
        and not user.is_agent
        and mailbox.organization_id is not None
        and user.organization_id != mailbox.organization_id
    ):
        raise _Reject(
            Outcome.REJECTED, "The sender belongs to another organisation than this mailbox."
        )
    tenant_ids = _sender_tenants(user, mailbox, parsed)
    match = threading.thread_find(
        tenant_ids=tenant_ids,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        subject=parsed.subject,
        mailbox=mailbox,
    )
    limit: int = settings.FRONTLINE_MAX_ATTACHMENT_BYTES
    files, cids, notes = _files(parsed, limit)
    # A requester's or watcher's reply to a resolved ticket reopens it within the organisation's
    # reopen window (as the portal's reopen does); after the window it opens a follow-up ticket,
    # as a reply to a closed ticket does. An agent's reply stays a reply.
    stale = match is not None and (
        match.ticket.status == Ticket.Status.CLOSED
        or (
            match.ticket.status == Ticket.Status.RESOLVED
            and not (user is not None and user.is_agent)
            and not ticket_services.ticket_within_reopen_window(match.ticket)
        )
    )
    if match is not None and not stale:
        return _reply(
            parsed,
            ticket=match.ticket,
            user=user,
            mailbox=mailbox,
            files=files,
            cids=cids,
            notes=notes,
        )
    follow_up = match.ticket if match is not None else None
    if user is not None and user.is_agent:
        raise _Reject(
            Outcome.REJECTED,
            "Mail from an agent that continues no ticket (agents open tickets in the desk).",
        )
    requester = _new_requester(parsed, mailbox, user)
    if mailbox.organization_id is not None and requester.organization_id != mailbox.organization_id:
        raise _Reject(
            Outcome.REJECTED, "The sender belongs to another organisation than this mailbox."
        )
    description = _text_for_ticket(parsed, notes)
    follow_up_state = ""
    if follow_up is not None:
        follow_up_state = "closed" if follow_up.status == Ticket.Status.CLOSED else "resolved"
        description = f"Follow-up to {follow_up_state} ticket {follow_up.number}.\n\n{description}"
    ticket_type = mailbox.default_type if mailbox.default_type in Ticket.Type.values else "incident"
    category = mailbox.default_category
    ticket = ticket_services.ticket_create(
        actor=Actor.system(requester.organization_id, label="mail"),
        subject=(parsed.subject.strip() or "(no subject)")[: ticket_services.MAX_SUBJECT],
        description=description,
        requester=requester,
        type=ticket_type,
        channel=Ticket.Channel.EMAIL,
        category_id=(category.parent_id or category.pk) if category else None,
        subcategory_id=category.pk if category and category.parent_id else None,
        group_id=mailbox.default_group_id,
        files=files,
    )
    if follow_up is not None:
        event_record(
            actor=Actor.system(ticket.tenant_id, label="mail"),
            target=ticket,
            tenant_id=ticket.tenant_id,
            kind=AuditEvent.Kind.LINKED,
            data={"follow_up_of": follow_up.number},
        )
    attachments = (
        list(Attachment.objects.filter(ticket=ticket, comment=None).order_by("pk")) if files else []
    )
    return _Action(
        Outcome.TICKET,
        reason=f"follow-up of {follow_up_state} {follow_up.number}" if follow_up else "",
        ticket=ticket,
        tenant_id=ticket.tenant_id,
        inline_images=_inline_map(cids, attachments),
    )


def _reply(
    parsed: ParsedMail,
    *,
    ticket: Ticket,
    user: User | None,
    mailbox: Mailbox,
    files: list[NewFile],
    cids: list[str],
    notes: list[str],
) -> _Action:
    if user is None and parsed.sender:
        mailbox_policy_user: User | None = None
        org = _domain_org(parsed.sender) or mailbox.organization
        if (
            mailbox.unknown_senders == Mailbox.UnknownSenders.CREATE
            and org is not None
            and org.pk == ticket.tenant_id
        ):
            # Someone new from the ticket's own organisation (copied on the thread): they
            # become an end user, as they would by opening a ticket, and their reply is kept.
            try:
                mailbox_policy_user = account_services.user_create(
                    actor=Actor.system(org.pk, label="mail"),
                    organization_id=org.pk,
                    email=parsed.sender,
                    full_name=(parsed.sender_name or parsed.sender.split("@", 1)[0])[:150],
                )
            except FrontlineError:
                mailbox_policy_user = None
        user = mailbox_policy_user
    actor = _reply_actor(user, ticket, parsed)
    if actor is None:
        raise _Reject(
            Outcome.REJECTED,
            f"{parsed.sender} may not reply to {ticket.number} (not a participant).",
        )
    reason = ""
    if ticket.status == Ticket.Status.RESOLVED and not actor.is_agent:
        # Within the reopen window (checked by the caller; the service checks it again).
        ticket = ticket_services.ticket_reopen(
            actor=actor, ticket=ticket, reason=f"{parsed.sender} replied by email."
        )
        reason = f"reopened {ticket.number}"
    body = _text_for_ticket(parsed, notes) or "(no text)"
    comment = ticket_services.comment_add(
        actor=actor, ticket=ticket, body=body, files=files, channel=Ticket.Channel.EMAIL
    )
    attachments = list(Attachment.objects.filter(comment=comment).order_by("pk")) if files else []
    return _Action(
        Outcome.REPLY,
        reason=reason,
        ticket=ticket,
        comment=comment,
        tenant_id=ticket.tenant_id,
        inline_images=_inline_map(cids, attachments),
    )
