"""SECURITY.md 30: auto-responder ping-pong and floods. Our mail says it is automatic (so
auto-responders stay quiet); nothing is mailed in answer to automatic mail (out-of-office, bounce,
list); at most FRONTLINE_MAIL_DAILY_CAP automatic mails go to one address in 24 hours; the polite
bounce to rejected senders follows the same rules."""

from __future__ import annotations

import pytest
from django.db import transaction

from frontline.mail import notify
from frontline.mail.models import InboundMail, Mailbox, OutboundMail
from frontline.mail.tests import smtp_sink
from frontline.tickets import services
from frontline.tickets.models import Ticket

sink = smtp_sink.sink


@pytest.fixture
def mailbox(desk) -> Mailbox:
    return Mailbox.objects.create(name="Acme", address="help@acme.example", organization=desk.org_a)


def _inbound(mailbox, *, n, is_auto, ticket=None, comment=None, outcome="ticket"):
    return InboundMail.objects.create(
        mailbox=mailbox,
        tenant=mailbox.organization,
        message_id=f"<auto-{n}@client.example>",
        sender="alice@acme.example",
        source=Mailbox.Source.PIPE,
        outcome=outcome,
        is_auto=is_auto,
        ticket=ticket,
        comment=comment,
    )


def test_every_notification_declares_itself_automatic(
    desk, sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_create(actor=desk.actor(desk.user_a), subject="Printer")
    [received] = sink.received
    assert received.message["Auto-Submitted"] == "auto-generated"
    assert received.message["X-Auto-Response-Suppress"] == "All"
    assert received.message["X-Loop"] == "frontline"


def test_no_acknowledgement_for_a_ticket_opened_by_an_auto_reply(
    desk, sink, mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        ticket = services.ticket_create(
            actor=desk.actor(desk.agent1),
            subject="Automatic reply: Printer",
            requester_id=desk.user_a.pk,
            channel=Ticket.Channel.EMAIL,
        )
        _inbound(mailbox, n=1, is_auto=True, ticket=ticket)
    assert sink.received == []
    [row] = OutboundMail.objects.filter(ticket=ticket)
    assert row.status == OutboundMail.Status.SUPPRESSED
    assert "automatic mail" in row.reason


def test_no_notification_for_a_reply_that_was_an_auto_reply(
    desk, sink, mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.ticket_create(
            actor=desk.actor(desk.agent1),
            subject="Printer",
            requester_id=desk.user_a.pk,
            assignee_id=desk.agent2.pk,
        )
    sink.handler.received.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        comment = services.comment_add(
            actor=desk.actor(desk.user_a),
            ticket=ticket,
            body="I am out of the office until Monday.",
            channel=Ticket.Channel.EMAIL,
        )
        _inbound(mailbox, n=2, is_auto=True, ticket=ticket, comment=comment, outcome="reply")
    assert sink.received == []
    row = OutboundMail.objects.get(comment=comment)
    assert row.recipient == "t2@provider.test"
    assert row.status == OutboundMail.Status.SUPPRESSED


def test_forty_mails_a_day_then_suppressed(
    desk, sink, settings, django_capture_on_commit_callbacks
):
    settings.FRONTLINE_MAIL_DAILY_CAP = 40
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.ticket_create(actor=desk.actor(desk.user_a), subject="Printer")
    agent = desk.actor(desk.agent1)
    for i in range(40):
        with django_capture_on_commit_callbacks(execute=True):
            services.comment_add(actor=agent, ticket=ticket, body=f"Update {i + 2}")
    statuses = list(
        OutboundMail.objects.filter(ticket=ticket).order_by("pk").values_list("status", flat=True)
    )
    assert statuses == ["sent"] * 40 + ["suppressed"]
    assert len(sink.to("alice@acme.example")) == 40


def test_no_bounce_to_an_auto_responder_and_bounces_are_capped(desk, mailbox, sink, settings):
    settings.FRONTLINE_MAIL_DAILY_CAP = 2
    auto = _inbound(mailbox, n=10, is_auto=True, outcome="rejected")
    assert notify.bounce_unknown_sender(inbound=auto) is False
    sent = [
        notify.bounce_unknown_sender(
            inbound=_inbound(mailbox, n=20 + i, is_auto=False, outcome="rejected")
        )
        for i in range(4)
    ]
    assert sent == [True, True, False, False]
    assert len(sink.received) == 2
    assert all(r.message["X-Loop"] == "frontline" for r in sink.received)
