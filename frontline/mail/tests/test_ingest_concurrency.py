"""The same message delivered twice at the same moment (two IMAP workers, an MTA retry racing
the first delivery) makes exactly one ticket. Needs PostgreSQL: SQLite serialises writers."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from frontline.mail.ingest import ingest_message
from frontline.mail.models import InboundMail
from frontline.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_concurrent_deliveries_make_one_ticket(desk, mailbox, make_mail):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent delivery needs PostgreSQL (set DATABASE_URL=postgres://...)")
    raw = make_mail()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def deliver() -> None:
        try:
            barrier.wait()
            outcomes.append(ingest_message(raw, source="imap", mailbox=mailbox).outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["duplicate", "duplicate", "duplicate", "ticket"]
    assert Ticket.objects.count() == 1
    assert InboundMail.objects.count() == 1
