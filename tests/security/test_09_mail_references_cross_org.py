"""SECURITY.md 9: mail with In-Reply-To/References naming a Message-ID of B: no threading across
organisations (neither B's outbound notifications nor B's inbound messages)."""

from __future__ import annotations

import pytest

from frontline.mail.ingest import ingest_message
from frontline.mail.tests import conftest as mail_fixtures
from frontline.mail.tests.conftest import outbound_for, ticket_for
from frontline.tickets.models import Comment

pytestmark = pytest.mark.django_db

# The mail app's fixtures (a mailbox per test on the root `desk`, a raw-message builder).
mailbox = mail_fixtures.mailbox
mailbox_b = mail_fixtures.mailbox_b
make_mail = mail_fixtures.make_mail


@pytest.mark.parametrize("header", ["In-Reply-To", "References"])
def test_b_outbound_message_id_does_not_thread_into_b(desk, mailbox, make_mail, header):
    foreign = ticket_for(desk, requester=desk.user_b)
    outbound_for(foreign, message_id="<secret-b@frontline.test>", recipient="bob@globex.example")
    raw = make_mail(headers={header: "<secret-b@frontline.test>"})
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "ticket"
    assert result.inbound.ticket.tenant_id == desk.org_a.pk
    assert not Comment.objects.filter(ticket=foreign).exists()


def test_b_inbound_message_id_does_not_thread_into_b(desk, mailbox, mailbox_b, make_mail):
    opened = ingest_message(
        make_mail(sender="bob@globex.example", to="help@globex.example", message_id="<b1@globex>"),
        source="pipe",
        mailbox=mailbox_b,
    )
    assert opened.outcome == "ticket"
    raw = make_mail(headers={"In-Reply-To": "<b1@globex>", "References": "<b1@globex>"})
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "ticket"
    assert result.inbound.ticket != opened.inbound.ticket
    assert not Comment.objects.filter(ticket=opened.inbound.ticket).exists()


def test_b_user_cannot_reply_into_b_ticket_through_a_mailbox(desk, mailbox, make_mail):
    foreign = ticket_for(desk, requester=desk.user_b)
    outbound_for(foreign, message_id="<b-out@frontline.test>", recipient="bob@globex.example")
    raw = make_mail(sender="bob@globex.example", headers={"In-Reply-To": "<b-out@frontline.test>"})
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "rejected"
    assert not Comment.objects.filter(ticket=foreign).exists()
