"""ingest_message: new tickets, senders, loops, bounces, rate limits, idempotency, failed mail."""

from __future__ import annotations

import gzip
from datetime import timedelta
from email.message import EmailMessage
from unittest import mock

import pytest
from django.db import IntegrityError
from django.utils import timezone

from frontline.accounts.models import User
from frontline.core.access import Actor
from frontline.core.errors import PermissionDenied
from frontline.core.models import AuditEvent
from frontline.mail import notify
from frontline.mail.ingest import failed_mail_retry, ingest_message, raw_read
from frontline.mail.models import (
    FailedMail,
    InboundMail,
    Mailbox,
    OrganizationMailDomain,
    OutboundMail,
)
from frontline.mail.tests.conftest import outbound_for, part, stored, ticket_for
from frontline.tickets import services
from frontline.tickets.models import Attachment, Comment, Ticket

pytestmark = pytest.mark.django_db


def test_a_message_from_a_known_user_opens_an_email_ticket(desk, mailbox, make_mail):
    result = ingest_message(make_mail(), source="pipe", mailbox=mailbox)
    assert result.outcome == "ticket", result.reason
    ticket = result.inbound.ticket
    assert ticket.channel == Ticket.Channel.EMAIL
    assert ticket.requester == desk.user_a
    assert ticket.tenant_id == desk.org_a.pk
    assert ticket.subject == "Printer on floor 2 is jammed"
    assert "error E-42" in ticket.description
    assert ticket.group == desk.tier1
    assert result.inbound.tenant_id == desk.org_a.pk
    assert "error E-42" in result.inbound.body_text
    assert not result.inbound.is_auto
    with result.inbound.raw.open("rb") as fh:
        assert b"error E-42" in gzip.decompress(fh.read())
    assert raw_read(stored(result.inbound)).startswith(b"From: alice@acme.example")


def test_the_mailbox_is_found_from_the_recipients(desk, mailbox, mailbox_b, make_mail):
    raw = make_mail(sender="bob@globex.example", to="help@globex.example")
    result = ingest_message(raw, source="smtp", recipients=["HELP@globex.example"])
    assert result.inbound.mailbox == mailbox_b
    assert result.inbound.ticket.tenant_id == desk.org_b.pk


def test_no_matching_mailbox_keeps_the_message_as_failed(desk, mailbox, mailbox_b, make_mail):
    raw = make_mail(to="nobody@elsewhere.example")
    result = ingest_message(raw, source="smtp")
    assert result.outcome == "failed"
    assert "No active mailbox" in result.reason
    assert raw_read(stored(result.failed)) == raw


def test_an_unknown_sender_becomes_an_end_user_of_the_mailbox_organisation(
    desk, mailbox, make_mail
):
    raw = make_mail(sender='"Nina New" <nina@acme.example>')
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "ticket"
    nina = User.objects.get(email="nina@acme.example")
    assert nina.organization == desk.org_a
    assert nina.role == User.Role.END_USER
    assert nina.full_name == "Nina New"
    assert result.inbound.ticket.requester == nina


def test_a_shared_mailbox_routes_unknown_senders_by_their_domain(desk, shared_mailbox, make_mail):
    raw = make_mail(sender="gina@globex.example", to="support@provider.test")
    result = ingest_message(raw, source="pipe", mailbox=shared_mailbox)
    assert result.outcome == "ticket"
    assert result.inbound.ticket.tenant_id == desk.org_b.pk
    assert User.objects.get(email="gina@globex.example").organization == desk.org_b


def test_a_shared_mailbox_rejects_a_stranger_from_an_unknown_domain(
    desk, shared_mailbox, make_mail
):
    raw = make_mail(sender="x@unknown.example", to="support@provider.test")
    result = ingest_message(raw, source="pipe", mailbox=shared_mailbox)
    assert result.outcome == "rejected"
    assert "no organisation" in result.reason
    assert not Ticket.objects.exists()
    assert not User.objects.filter(email="x@unknown.example").exists()


def test_a_mailbox_that_rejects_unknown_senders_rejects_and_bounces(desk, mailbox, make_mail):
    mailbox.unknown_senders = Mailbox.UnknownSenders.REJECT
    mailbox.save()
    bounced = []
    record = mock.Mock(side_effect=lambda inbound: bounced.append(inbound.pk))
    with mock.patch.object(notify, "bounce_unknown_sender", record):
        result = ingest_message(
            make_mail(sender="who@acme.example"), source="pipe", mailbox=mailbox
        )
    assert result.outcome == "rejected"
    assert "Unknown sender who@acme.example" in result.reason
    assert InboundMail.objects.get().outcome == "rejected"  # the message is kept
    assert bounced == [result.inbound.pk]
    assert not Ticket.objects.exists()


def test_a_user_of_another_organisation_cannot_open_a_ticket_in_this_mailbox(
    desk, mailbox, make_mail
):
    result = ingest_message(make_mail(sender="bob@globex.example"), source="pipe", mailbox=mailbox)
    assert result.outcome == "rejected"
    assert "another organisation" in result.reason
    assert not Ticket.objects.exists()


def test_attachments_and_inline_images_are_stored(desk, mailbox):
    msg = EmailMessage()
    msg["From"] = "alice@acme.example"
    msg["To"] = "help@acme.example"
    msg["Subject"] = "Screen"
    msg["Message-ID"] = "<inline-1@acme.example>"
    msg.set_content("see picture")
    msg.add_alternative('<p>see <img src="cid:shot@acme"></p>', subtype="html")
    part(msg, 1).add_related(b"PNGDATA", maintype="image", subtype="png", cid="<shot@acme>")
    msg.add_attachment(b"log line", maintype="text", subtype="plain", filename="app.log")
    result = ingest_message(msg.as_bytes(), source="pipe", mailbox=mailbox)
    assert result.outcome == "ticket"
    files = {a.filename: a for a in Attachment.objects.filter(ticket=result.inbound.ticket)}
    assert set(files) == {"image-1.png", "app.log"}
    assert result.inbound.inline_images == {"shot@acme": files["image-1.png"].pk}
    assert 'src="cid:shot@acme"' in result.inbound.body_html
    with files["app.log"].file.open("rb") as fh:
        assert fh.read() == b"log line"


def test_an_attachment_over_the_limit_is_left_in_the_original_with_a_note(
    desk, mailbox, make_mail, settings
):
    settings.FRONTLINE_MAX_ATTACHMENT_BYTES = 100
    raw = make_mail(attachments=[("big.bin", "application/octet-stream", b"x" * 500)])
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "ticket"
    assert not Attachment.objects.exists()
    assert "big.bin (500 bytes) is over the attachment limit" in result.inbound.ticket.description


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_message_twice_makes_one_ticket(desk, mailbox, make_mail):
    raw = make_mail()
    first = ingest_message(raw, source="imap", mailbox=mailbox)
    second = ingest_message(raw, source="imap", mailbox=mailbox)
    assert (first.outcome, second.outcome) == ("ticket", "duplicate")
    assert second.inbound == first.inbound
    assert Ticket.objects.count() == 1
    assert InboundMail.objects.count() == 1


def test_a_message_without_message_id_is_deduplicated_by_its_bytes(desk, mailbox, make_mail):
    raw = make_mail(message_id=None)
    first = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert first.inbound.message_id.endswith("@frontline.invalid>")
    assert ingest_message(raw, source="pipe", mailbox=mailbox).outcome == "duplicate"
    assert Ticket.objects.count() == 1


def test_a_race_on_the_same_message_ends_as_duplicate_and_rolls_back(desk, mailbox, make_mail):
    raw = make_mail()
    winner = ingest_message(raw, source="imap", mailbox=mailbox)
    # The loser checked before the winner committed: it goes on and hits the constraint.
    real_filter = InboundMail.objects.filter
    calls = []

    def miss_first_check(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            return InboundMail.objects.none()
        return real_filter(*args, **kwargs)

    with mock.patch.object(InboundMail.objects, "filter", side_effect=miss_first_check):
        loser = ingest_message(raw, source="imap", mailbox=mailbox)
    assert loser.outcome == "duplicate"
    assert loser.inbound == winner.inbound
    assert Ticket.objects.count() == 1


# --- failed mail -----------------------------------------------------------------------------


def test_an_error_while_acting_rolls_back_and_keeps_the_message(desk, mailbox, make_mail):
    raw = make_mail()
    with mock.patch.object(services, "ticket_create", side_effect=RuntimeError("disk full")):
        result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "failed"
    assert "disk full" in result.reason
    assert not Ticket.objects.exists()
    assert not InboundMail.objects.exists()
    failed = FailedMail.objects.get()
    assert failed.mailbox == mailbox
    assert failed.subject == "Printer on floor 2 is jammed"
    assert failed.sender == "alice@acme.example"
    assert raw_read(failed) == raw


def test_failed_mail_is_retried_by_an_admin(desk, mailbox, make_mail):
    raw = make_mail()
    with mock.patch.object(services, "ticket_create", side_effect=RuntimeError("disk full")):
        failed = stored(ingest_message(raw, source="pipe", mailbox=mailbox).failed)
    result = failed_mail_retry(actor=desk.actor(desk.admin), failed=failed)
    assert result.outcome == "ticket"
    failed.refresh_from_db()
    assert failed.resolved_at is not None
    assert failed.resolved_as == result.inbound
    assert failed.attempts == 2
    assert Ticket.objects.count() == 1


def test_a_retry_that_fails_again_updates_the_same_row(desk, mailbox, make_mail):
    with mock.patch.object(services, "ticket_create", side_effect=RuntimeError("disk full")):
        failed = stored(ingest_message(make_mail(), source="pipe", mailbox=mailbox).failed)
        result = failed_mail_retry(actor=Actor.system(label="test"), failed=failed)
    assert result.outcome == "failed"
    assert FailedMail.objects.count() == 1
    failed.refresh_from_db()
    assert failed.attempts == 2
    assert failed.resolved_at is None


@pytest.mark.parametrize("who", ["agent1", "user_a", "orgadmin_a"])
def test_only_admins_retry_failed_mail(desk, mailbox, make_mail, who):
    with mock.patch.object(services, "ticket_create", side_effect=RuntimeError("boom")):
        failed = stored(ingest_message(make_mail(), source="pipe", mailbox=mailbox).failed)
    with pytest.raises(PermissionDenied):
        failed_mail_retry(actor=desk.actor(getattr(desk, who)), failed=failed)
    assert not Ticket.objects.exists()


def test_when_even_failed_mail_cannot_be_written_it_raises(desk, mailbox, make_mail):
    with (
        mock.patch.object(services, "ticket_create", side_effect=RuntimeError("boom")),
        mock.patch.object(FailedMail, "save", side_effect=IntegrityError("db down")),
        pytest.raises(IntegrityError),
    ):
        ingest_message(make_mail(), source="pipe", mailbox=mailbox)


# --- loops and noise -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Auto-Submitted", "auto-replied"),
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
        ("Precedence", "bulk"),
        ("Precedence", "junk"),
        ("Precedence", "list"),
        ("Precedence", "auto_reply"),
        ("Return-Path", "<>"),
        ("List-Id", "<staff.acme.example>"),
    ],
)
def test_automatic_mail_is_marked_and_may_still_open_a_ticket(
    desk, mailbox, make_mail, header, value
):
    result = ingest_message(make_mail(headers={header: value}), source="pipe", mailbox=mailbox)
    assert result.inbound.is_auto
    assert header.lower() in result.reason.lower()
    assert result.outcome == "ticket"


def test_auto_submitted_no_is_a_person(desk, mailbox, make_mail):
    raw = make_mail(headers={"Auto-Submitted": "no"})
    assert not ingest_message(raw, source="pipe", mailbox=mailbox).inbound.is_auto


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.acme.example", "postmaster@acme.example"])
def test_mail_from_system_senders_is_automatic(desk, mailbox, make_mail, sender):
    result = ingest_message(make_mail(sender=sender), source="pipe", mailbox=mailbox)
    assert result.inbound.is_auto


def test_our_own_notification_coming_back_is_ignored(desk, mailbox, make_mail):
    raw = make_mail(headers={"X-Loop": "frontline", "Auto-Submitted": "auto-generated"})
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "ignored"
    assert "X-Loop" in result.reason
    assert result.inbound.is_auto
    assert not Ticket.objects.exists()


def test_a_sender_over_the_hourly_limit_is_rejected_and_kept(desk, mailbox, make_mail):
    mailbox.sender_limit_per_hour = 3
    mailbox.save()
    outcomes = [
        ingest_message(make_mail(), source="pipe", mailbox=mailbox).outcome for _ in range(5)
    ]
    assert outcomes == ["ticket", "ticket", "ticket", "rejected", "rejected"]
    assert Ticket.objects.count() == 3
    held = InboundMail.objects.filter(outcome="rejected")
    assert held.count() == 2
    assert all("Rate limit" in row.reason for row in held)
    # Another sender is not affected.
    other = ingest_message(make_mail(sender="arnold@acme.example"), source="pipe", mailbox=mailbox)
    assert other.outcome == "ticket"


def test_messages_older_than_an_hour_do_not_count_against_the_sender(desk, mailbox, make_mail):
    mailbox.sender_limit_per_hour = 2
    mailbox.save()
    for _ in range(2):
        assert ingest_message(make_mail(), source="pipe", mailbox=mailbox).outcome == "ticket"
    assert ingest_message(make_mail(), source="pipe", mailbox=mailbox).outcome == "rejected"
    InboundMail.objects.update(received_at=timezone.now() - timedelta(minutes=61))
    assert ingest_message(make_mail(), source="pipe", mailbox=mailbox).outcome == "ticket"


def test_a_rejection_after_acting_began_leaves_nothing_behind(desk, mailbox, make_mail):
    # A first-time sender of another organisation's mail domain, writing to organisation A's
    # mailbox: the sender is created in their own organisation while acting, then the message
    # is refused. The whole attempt is rolled back; only the rejected message is kept.
    OrganizationMailDomain.objects.create(organization=desk.org_b, domain="globex.example")
    users_before = User.objects.count()
    events_before = AuditEvent.objects.count()
    raw = make_mail(sender="newcomer@globex.example")
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "rejected"
    assert "another organisation" in result.reason
    assert not User.objects.filter(email="newcomer@globex.example").exists()
    assert User.objects.count() == users_before
    assert AuditEvent.objects.count() == events_before
    assert not Ticket.objects.exists()
    kept = InboundMail.objects.get()
    assert kept.outcome == "rejected" and kept.ticket is None
    assert raw_read(kept) == raw
    # The same message again is a duplicate, not a second rejection.
    assert ingest_message(raw, source="pipe", mailbox=mailbox).outcome == "duplicate"


# --- bounces ---------------------------------------------------------------------------------


def _dsn(original_id: str, subject: str = "Re: your ticket") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.acme.example\r\n"
        "To: help@acme.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.acme.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver it.\r\n"
        "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acme.example\r\n\r\n"
        "Final-Recipient: rfc822; gone@acme.example\r\nAction: failed\r\n"
        "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: help@acme.example\r\nTo: gone@acme.example\r\nSubject: {subject}\r\n"
        f"Message-ID: {original_id}\r\n"
        "--r--\r\n"
    ).encode()


def test_a_bounce_of_our_notification_is_noted_on_its_ticket(desk, mailbox):
    ticket = ticket_for(desk)
    other = ticket_for(desk, subject="Another")
    outbound_for(ticket, message_id="<n-1@frontline.test>")
    result = ingest_message(_dsn("<n-1@frontline.test>"), source="pipe", mailbox=mailbox)
    assert result.outcome == "bounce"
    assert result.inbound.ticket == ticket
    assert result.inbound.is_auto
    note = Comment.objects.get(ticket=ticket)
    assert note.is_internal
    assert "550 5.1.1 User unknown" in note.body
    assert "gone@acme.example" in note.body
    assert not Comment.objects.filter(ticket=other).exists()
    assert Ticket.objects.count() == 2


def test_a_bounce_is_attributed_by_the_ticket_number_when_the_id_is_unknown(desk, mailbox):
    ticket = ticket_for(desk)
    raw = _dsn("<unknown@elsewhere>", subject=f"[{ticket.number}] VPN drops every hour")
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "bounce"
    assert result.inbound.ticket == ticket


def test_a_bounce_naming_nothing_of_ours_is_ignored_with_the_reason(desk, mailbox):
    result = ingest_message(_dsn("<unknown@elsewhere>"), source="pipe", mailbox=mailbox)
    assert result.outcome == "ignored"
    assert "names none of our messages" in result.reason
    assert not Ticket.objects.exists()


def test_a_bounce_never_lands_on_another_organisations_ticket(desk, mailbox):
    foreign = ticket_for(desk, requester=desk.user_b)
    outbound_for(foreign, message_id="<b-1@frontline.test>", recipient="bob@globex.example")
    result = ingest_message(_dsn("<b-1@frontline.test>"), source="pipe", mailbox=mailbox)
    assert result.outcome == "ignored"
    assert not Comment.objects.exists()


def test_a_flood_is_not_answered_with_bounces(desk, mailbox, make_mail):
    mailbox.sender_limit_per_hour = 1
    mailbox.save()
    bounced = []
    record = mock.Mock(side_effect=lambda inbound: bounced.append(inbound.pk))
    with mock.patch.object(notify, "bounce_unknown_sender", record):
        outcomes = [
            ingest_message(make_mail(), source="pipe", mailbox=mailbox).outcome for _ in range(3)
        ]
    assert outcomes == ["ticket", "rejected", "rejected"]
    assert bounced == []


def test_an_automatic_message_from_an_unknown_sender_gets_no_bounce(desk, mailbox, make_mail):
    mailbox.unknown_senders = Mailbox.UnknownSenders.REJECT
    mailbox.save()
    bounced = []
    record = mock.Mock(side_effect=lambda inbound: bounced.append(inbound.pk))
    raw = make_mail(sender="robot@acme.example", headers={"Auto-Submitted": "auto-replied"})
    with mock.patch.object(notify, "bounce_unknown_sender", record):
        result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "rejected"
    assert bounced == []


def test_an_admin_who_does_not_serve_the_organisation_cannot_retry_its_mail(
    desk, mailbox_b, make_mail
):
    from frontline.core.errors import NotFound

    raw = make_mail(sender="bob@globex.example", to="help@globex.example")
    with mock.patch.object(services, "ticket_create", side_effect=RuntimeError("boom")):
        failed = stored(ingest_message(raw, source="pipe", mailbox=mailbox_b).failed)
    acme_admin = Actor(
        user_id=desk.admin.pk,
        tenant_ids=frozenset({desk.org_a.pk}),
        roles=frozenset({"admin"}),
        home_tenant_id=desk.org_a.pk,
    )
    with pytest.raises(NotFound):
        failed_mail_retry(actor=acme_admin, failed=failed)
    assert not Ticket.objects.exists()


def test_a_bounce_to_a_shared_mailbox_needs_our_message_id_not_just_a_number(desk, shared_mailbox):
    foreign = ticket_for(desk, requester=desk.user_b)
    raw = _dsn("<unknown@elsewhere>", subject=f"[{foreign.number}] hello").replace(
        b"To: help@acme.example", b"To: support@provider.test"
    )
    result = ingest_message(raw, source="pipe", mailbox=shared_mailbox)
    assert result.outcome == "ignored"
    assert not Comment.objects.filter(ticket=foreign).exists()
    outbound_for(foreign, message_id="<ours@frontline.test>", recipient="bob@globex.example")
    raw = _dsn("<ours@frontline.test>").replace(b"dsn-1@", b"dsn-2@")
    result = ingest_message(raw, source="pipe", mailbox=shared_mailbox)
    assert result.outcome == "bounce"
    assert result.inbound.ticket == foreign


def test_a_requester_reply_by_mail_is_not_followed_by_reading_its_author_again(
    desk, mailbox, make_mail
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ticket = ticket_for(desk)
    services.ticket_assign(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        group_id=desk.tier1.pk,
        assignee_id=desk.agent1.pk,
    )
    raw = make_mail(subject=f"Re: [{ticket.number}] still broken", body="Still jammed today.")
    with CaptureQueriesContext(connection) as queries:
        result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "reply", result.reason
    # The assignee is told of the requester's reply...
    assert OutboundMail.objects.filter(comment=result.inbound.comment).count() == 1
    assert OutboundMail.objects.get(comment=result.inbound.comment).recipient == desk.agent1.email
    # ...and the reply's author (the requester, loaded with the ticket) is not read by id.
    by_id = f'"accounts_user"."id" = {desk.user_a.pk}'
    assert not [q["sql"] for q in queries.captured_queries if by_id in q["sql"]]
