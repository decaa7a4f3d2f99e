"""Replies to resolved tickets (reopen within the window, a follow-up after it) and the same
unroutable message delivered again (one failed-mail row, attempts counted)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from frontline.mail.ingest import failed_mail_retry, ingest_message
from frontline.mail.models import FailedMail
from frontline.mail.tests.conftest import stored, ticket_for
from frontline.tickets import services
from frontline.tickets.models import Comment, Ticket

pytestmark = pytest.mark.django_db


def _resolved(desk, **kwargs):
    ticket = ticket_for(desk, **kwargs)
    return services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        resolution_code=Ticket.ResolutionCode.values[0],
        resolution_notes="Replaced the VPN client.",
    )


def _reply(make_mail, mailbox, ticket, **kwargs):
    kwargs.setdefault("subject", f"Re: [{ticket.number}] VPN drops every hour")
    kwargs.setdefault("body", "Still dropping, sorry.")
    return ingest_message(make_mail(**kwargs), source="pipe", mailbox=mailbox)


def test_a_requester_reply_to_a_resolved_ticket_reopens_it(desk, mailbox, make_mail):
    ticket = _resolved(desk)
    result = _reply(make_mail, mailbox, ticket)
    assert result.outcome == "reply", result.reason
    assert "reopened" in result.reason
    ticket.refresh_from_db()
    assert ticket.status not in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
    assert ticket.reopen_count == 1
    assert ticket.resolved_at is None
    comment = result.inbound.comment
    assert comment.ticket == ticket
    assert comment.author == desk.user_a
    assert not comment.is_internal
    assert "Still dropping" in comment.body
    assert result.inbound.ticket == ticket


def test_a_watcher_reply_to_a_resolved_ticket_reopens_it(desk, mailbox, make_mail):
    ticket = _resolved(desk)
    services.watcher_add(actor=desk.actor(desk.agent1), ticket=ticket, user_id=desk.user_a2.pk)
    result = _reply(make_mail, mailbox, ticket, sender="arnold@acme.example")
    assert result.outcome == "reply", result.reason
    ticket.refresh_from_db()
    assert ticket.status not in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
    assert result.inbound.comment.author == desk.user_a2


def test_a_reply_after_the_reopen_window_opens_a_follow_up_ticket(desk, mailbox, make_mail):
    desk.org_a.reopen_window_days = 3
    desk.org_a.save(update_fields=["reopen_window_days"])
    ticket = _resolved(desk)
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        result = _reply(make_mail, mailbox, ticket)
    assert result.outcome == "ticket", result.reason
    new = result.inbound.ticket
    assert new.pk != ticket.pk
    assert f"Follow-up to resolved ticket {ticket.number}" in new.description
    assert new.requester == desk.user_a
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED
    assert ticket.reopen_count == 0
    assert not Comment.objects.filter(ticket=ticket, body__contains="Still dropping").exists()


def test_the_organisation_window_decides_not_the_site_default(desk, mailbox, make_mail, settings):
    settings.FRONTLINE_REOPEN_WINDOW_DAYS = 1
    desk.org_a.reopen_window_days = 10
    desk.org_a.save(update_fields=["reopen_window_days"])
    ticket = _resolved(desk)
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        result = _reply(make_mail, mailbox, ticket)
    assert result.outcome == "reply", result.reason
    ticket.refresh_from_db()
    assert ticket.reopen_count == 1


def test_an_agent_reply_to_a_resolved_ticket_does_not_reopen_it(desk, mailbox, make_mail):
    ticket = _resolved(desk)
    result = _reply(make_mail, mailbox, ticket, sender="t1@provider.test")
    assert result.outcome == "reply", result.reason
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED
    assert ticket.reopen_count == 0


def test_a_stranger_cannot_reopen_a_resolved_ticket_by_mail(desk, mailbox, make_mail):
    ticket = _resolved(desk)
    result = _reply(make_mail, mailbox, ticket, sender="bob@globex.example")
    assert result.outcome == "rejected"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED


# --- the same unroutable message again ---------------------------------------------------------


def test_the_same_unroutable_message_is_kept_once_with_its_attempts(
    desk, mailbox, mailbox_b, make_mail
):
    raw = make_mail(to="nobody@elsewhere.example", message_id="<lost-1@client.example>")
    first = ingest_message(raw, source="smtp")
    second = ingest_message(raw, source="smtp")
    third = ingest_message(raw, source="smtp")
    assert first.outcome == second.outcome == third.outcome == "failed"
    rows = FailedMail.objects.filter(message_id="<lost-1@client.example>")
    assert rows.count() == 1
    row = rows.get()
    assert row.pk == first.failed.pk == third.failed.pk
    assert row.attempts == 3
    assert row.last_attempt_at >= row.created_at


def test_different_unroutable_messages_are_separate_rows(desk, mailbox, mailbox_b, make_mail):
    ingest_message(make_mail(to="nobody@elsewhere.example"), source="smtp")
    ingest_message(make_mail(to="nobody@elsewhere.example"), source="smtp")
    assert FailedMail.objects.count() == 2


def test_a_message_failing_again_after_its_row_was_resolved_gets_a_new_row(
    desk, mailbox, mailbox_b, make_mail
):
    raw = make_mail(to="nobody@elsewhere.example", message_id="<lost-2@client.example>")
    first = stored(ingest_message(raw, source="smtp").failed)
    # An administrator assigns the mailbox and retries: the row is resolved.
    first.mailbox = mailbox
    first.save(update_fields=["mailbox"])
    assert failed_mail_retry(actor=desk.actor(desk.admin), failed=first).outcome == "ticket"
    # A copy of the message that still matches no mailbox is a new problem, not the old row.
    again = ingest_message(raw, source="smtp")
    assert again.outcome == "failed"
    assert again.failed.pk != first.pk
    assert FailedMail.objects.filter(resolved_at__isnull=True).count() == 1


# --- automatic mail: suppressed when written, nothing enqueued ---------------------------------


def test_an_auto_reply_ticket_gets_its_acknowledgement_suppressed_without_a_send(
    desk, mailbox, make_mail, django_capture_on_commit_callbacks
):
    from frontline.mail.models import OutboundMail

    raw = make_mail(headers={"Auto-Submitted": "auto-replied"}, subject="Out of office")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "ticket"
    [row] = OutboundMail.objects.filter(ticket=result.inbound.ticket)
    assert row.status == OutboundMail.Status.SUPPRESSED
    assert "automatic mail from alice@acme.example" in row.reason
    assert not [c for c in callbacks if "mail_send" in getattr(c, "__qualname__", "")]


def test_a_person_s_ticket_still_gets_its_acknowledgement_queued(
    desk, mailbox, make_mail, django_capture_on_commit_callbacks
):
    from frontline.mail.models import OutboundMail

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = ingest_message(make_mail(), source="pipe", mailbox=mailbox)
    [row] = OutboundMail.objects.filter(ticket=result.inbound.ticket)
    assert row.status == OutboundMail.Status.QUEUED
    assert [c for c in callbacks if "mail_send" in getattr(c, "__qualname__", "")]
