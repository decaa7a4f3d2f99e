"""Reads of received and failed mail for the desk, scoped to the actor.

A received message is seen through the ticket it made or replied to: an agent who may see that
ticket may read it (and download the original); anyone else gets NotFound, as for a message
that does not exist. The failed-mail list is for administrators only: a message there could
not be routed, so it may belong to any organisation (or none yet)."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from typing import IO, cast

from django.db.models import Q, QuerySet

from frontline.core.access import Actor
from frontline.core.errors import NotFound, PermissionDenied
from frontline.mail.models import FailedMail, InboundMail
from frontline.tickets.models import Comment, Ticket
from frontline.tickets.selectors import ticket_visible

GZIP_MAGIC = b"\x1f\x8b"


def inbound_mail_get(*, actor: Actor, inbound_id: int) -> InboundMail:
    """A received message that opened or answered a ticket the actor (an agent) may see.

    End users, other organisations' agents, and messages that made no ticket: NotFound."""
    if not actor.is_agent:
        raise NotFound("Message not found.")
    tickets = ticket_visible(actor=actor)
    mail: InboundMail | None = (
        InboundMail.objects.filter(pk=inbound_id)
        .filter(Q(ticket__in=tickets) | Q(comment__ticket__in=tickets))
        .select_related("ticket", "comment")
        .first()
    )
    if mail is None or not mail.raw:
        raise NotFound("Message not found.")
    return mail


def may_manage_failed_mail(actor: Actor) -> bool:
    """Administrators of the provider (agents with the admin role)."""
    return actor.is_agent and actor.has_role("admin")


def failed_mail_list(*, actor: Actor, include_resolved: bool = False) -> QuerySet[FailedMail]:
    """Failed mail, newest first. An administrator serving only some organisations sees the
    mail of those organisations' mailboxes; unrouted mail (shared or no mailbox) only an
    administrator of every organisation. Others: PermissionDenied."""
    if not may_manage_failed_mail(actor):
        raise PermissionDenied("Only administrators may see failed mail.")
    qs = FailedMail.objects.select_related("mailbox", "resolved_as")
    if not actor.all_tenants:
        qs = qs.filter(mailbox__organization_id__in=actor.tenant_ids)
    if not include_resolved:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def failed_mail_get(*, actor: Actor, failed_id: int) -> FailedMail:
    try:
        found: FailedMail = failed_mail_list(actor=actor, include_resolved=True).get(pk=failed_id)
    except FailedMail.DoesNotExist:
        raise NotFound("Failed message not found.") from None
    return found


class _Gunzipped(gzip.GzipFile):
    """Decompresses a stored file as it is read, and closes that file when done (a GzipFile
    given a file object leaves it open)."""

    def __init__(self, source: IO[bytes]) -> None:
        super().__init__(fileobj=source, mode="rb")
        self._source = source

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._source.close()


def raw_message_open(stored: InboundMail | FailedMail) -> IO[bytes]:
    """The original bytes of a stored message, as a file (gunzipped when stored compressed).

    NotFound when the file is missing from storage."""
    try:
        handle = cast(IO[bytes], stored.raw.open("rb"))
    except (FileNotFoundError, ValueError):
        raise NotFound("The original message is no longer stored.") from None
    head = handle.read(2)
    handle.seek(0)
    if head == GZIP_MAGIC:
        return cast(IO[bytes], _Gunzipped(handle))
    return handle


def ticket_mail(
    ticket: Ticket, comments: Iterable[Comment]
) -> tuple[dict[int, InboundMail], InboundMail | None]:
    """The received mail behind a ticket and its replies, for its timeline (registered with
    tickets.selectors.timeline_mail_provider): {comment id: mail}, and the message that opened
    the ticket. One query, and none at all unless the ticket or one of the comments came by mail
    (so a ticket page without mail costs nothing extra)."""
    email = Ticket.Channel.EMAIL
    comments = list(comments)
    if ticket.channel != email and not any(c.channel == email for c in comments):
        return {}, None
    by_comment: dict[int, InboundMail] = {}
    opening: InboundMail | None = None
    found = InboundMail.objects.filter(Q(ticket=ticket) | Q(comment__ticket=ticket)).order_by("id")
    for mail in found:
        if mail.tenant_id is not None and mail.tenant_id != ticket.tenant_id:
            continue  # never another organisation's message (ingest sets both together)
        if mail.comment_id is not None:
            by_comment[mail.comment_id] = mail
        elif opening is None and mail.outcome == InboundMail.Outcome.TICKET:
            opening = mail
    return by_comment, opening
