"""SECURITY.md 10: inbound control headers of our own (X-Frontline-*) on mail from outside are
stripped: they pick no ticket, no actor, no visibility, and are not stored as trusted data."""

from __future__ import annotations

import pytest

from frontline.mail.ingest import ingest_message
from frontline.mail.parsing import parse_message
from frontline.mail.tests import conftest as mail_fixtures
from frontline.mail.tests.conftest import ticket_for
from frontline.tickets.models import Comment

pytestmark = pytest.mark.django_db

# The mail app's fixtures (a mailbox per test on the root `desk`, a raw-message builder).
mailbox = mail_fixtures.mailbox
make_mail = mail_fixtures.make_mail

FORGED = {
    "X-Frontline-Ticket": "{number}",
    "X-Frontline-Ticket-Id": "{pk}",
    "X-Frontline-Actor": "t1@provider.test",
    "X-Frontline-Internal": "1",
    "X-Frontline-Loop": "no",
}


def test_forged_control_headers_are_ignored(desk, mailbox, make_mail):
    target = ticket_for(desk, requester=desk.user_a2, subject="Not yours")
    headers = {k: v.format(number=target.number, pk=target.pk) for k, v in FORGED.items()}
    raw = make_mail(subject="A new problem", headers=headers)
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    # A new ticket of the sender, not a reply on the ticket named in the headers.
    assert result.outcome == "ticket"
    assert result.inbound.ticket != target
    assert result.inbound.ticket.requester == desk.user_a
    assert not Comment.objects.filter(ticket=target).exists()
    # Nothing was posted as the agent the headers name, and nothing internal.
    assert not Comment.objects.filter(author=desk.agent1).exists()
    assert "ignored control headers: x-frontline-actor" in result.inbound.reason
    assert not [h for h in parse_message(raw).headers if h.startswith("x-frontline")]


def test_a_forged_frontline_loop_marker_under_another_name_does_not_silence_mail(
    desk, mailbox, make_mail
):
    raw = make_mail(headers={"X-Frontline-Loop": "frontline", "X-Frontline-Auto": "yes"})
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert result.outcome == "ticket"
    assert not result.inbound.is_auto
