"""SECURITY.md 8: mail to A's mailbox with `[INC-…]` of B's ticket in the subject is not
attached to B's ticket (nor is mail to a shared mailbox from A's people)."""

from __future__ import annotations

import pytest

from frontline.mail.ingest import ingest_message
from frontline.mail.tests import conftest as mail_fixtures
from frontline.mail.tests.conftest import ticket_for
from frontline.tickets.models import Comment, Ticket

pytestmark = pytest.mark.django_db

# The mail app's fixtures (a mailbox per test on the root `desk`, a raw-message builder).
make_mail = mail_fixtures.make_mail
mailbox = mail_fixtures.mailbox
shared_mailbox = mail_fixtures.shared_mailbox


@pytest.mark.parametrize("sender", ["alice@acme.example", "t1@provider.test", "eve@acme.example"])
def test_a_b_ticket_number_in_mail_to_a_mailbox_does_not_reach_b(desk, mailbox, make_mail, sender):
    foreign = ticket_for(desk, requester=desk.user_b, subject="Globex payroll")
    raw = make_mail(sender=sender, subject=f"Re: [{foreign.number}] Globex payroll")
    result = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert not Comment.objects.filter(ticket=foreign).exists()
    assert result.inbound.ticket_id != foreign.pk
    if result.outcome == "ticket":
        assert result.inbound.ticket.tenant_id == desk.org_a.pk
    else:  # an agent's mail that continues no ticket of A
        assert result.outcome == "rejected"
    foreign.refresh_from_db()
    assert foreign.version == 1


def test_a_shared_mailbox_threads_by_number_only_within_the_senders_organisation(
    desk, shared_mailbox, make_mail
):
    foreign = ticket_for(desk, requester=desk.user_b, subject="Globex payroll")
    raw = make_mail(to="support@provider.test", subject=f"[{foreign.number}] hello")
    result = ingest_message(raw, source="pipe", mailbox=shared_mailbox)
    assert result.outcome == "ticket"
    assert result.inbound.ticket.tenant_id == desk.org_a.pk
    assert not Comment.objects.filter(ticket=foreign).exists()
    assert Ticket.objects.filter(tenant=desk.org_b).count() == 1
