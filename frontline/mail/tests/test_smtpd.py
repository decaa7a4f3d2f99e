"""SMTP intake: a real aiosmtpd server on a free port, a real client (swaks). 250 only after
the message was committed; 550 for unknown recipients, 552 over the size cap, 451 (and nothing
stored) when ingest fails."""

from __future__ import annotations

import smtplib

import pytest

from frontline.mail import smtpd
from frontline.mail.models import FailedMail, InboundMail, Mailbox
from frontline.mail.tests.servers import free_port, swaks
from frontline.tickets.models import Ticket

# The server's threads use their own database connections: the data must really be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp_mailbox(desk):
    return Mailbox.objects.create(
        name="Acme over SMTP",
        address="help@acme.example",
        organization=desk.org_a,
        source=Mailbox.Source.SMTP,
        default_group=desk.tier1,
    )


@pytest.fixture
def server():
    port = free_port()
    controller = smtpd.build_controller(port=port, max_bytes=64 * 1024)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
        controller.handler.close()


def test_mail_to_an_active_mailbox_opens_a_ticket(smtp_mailbox, server, desk, tmp_path, make_mail):
    eml = tmp_path / "printer.eml"
    eml.write_bytes(make_mail(subject="Printer on floor 2 is jammed"))

    sent = swaks(port=server, to="help@acme.example", data=eml)

    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "<-  250 2.0.0 OK ticket" in sent.stdout
    ticket = Ticket.objects.get()
    assert ticket.subject == "Printer on floor 2 is jammed"
    assert ticket.channel == "email"
    assert ticket.tenant_id == desk.org_a.pk
    inbound = InboundMail.objects.get()
    assert inbound.source == "smtp"
    assert inbound.mailbox == smtp_mailbox


def test_recipient_address_is_matched_without_regard_to_case(smtp_mailbox, server):
    sent = swaks(
        port=server,
        to="Help@ACME.example",
        headers=["Subject: Shouting address"],
        body="Still a ticket.",
    )

    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert Ticket.objects.get().subject == "Shouting address"


def test_unknown_recipient_is_refused_with_550(smtp_mailbox, server):
    sent = swaks(port=server, to="nobody@acme.example", headers=["Subject: Hello"])

    assert sent.returncode != 0
    assert "<** 550 5.1.1 <nobody@acme.example>: no such mailbox here" in sent.stdout
    assert not InboundMail.objects.exists()
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "change",
    [{"is_active": False}, {"source": Mailbox.Source.IMAP}],
    ids=["inactive", "imap-mailbox"],
)
def test_mailboxes_that_are_not_active_smtp_mailboxes_are_refused(smtp_mailbox, server, change):
    Mailbox.objects.filter(pk=smtp_mailbox.pk).update(**change)

    sent = swaks(port=server, to="help@acme.example", headers=["Subject: Hello"])

    assert sent.returncode != 0
    assert "550" in sent.stdout
    assert not Ticket.objects.exists()


def test_oversize_message_is_refused_with_552(smtp_mailbox, server, tmp_path, make_mail):
    eml = tmp_path / "huge.eml"
    eml.write_bytes(make_mail(subject="Huge", body="A line of a long log file.\n" * 4000))

    sent = swaks(port=server, to="help@acme.example", data=eml)

    assert sent.returncode != 0
    assert "552" in sent.stdout
    assert not InboundMail.objects.exists()
    assert not FailedMail.objects.exists()


def test_oversize_message_is_refused_even_without_the_size_extension(smtp_mailbox):
    """A client that ignores SIZE still gets 552 from the handler's own check."""
    port = free_port()
    controller = smtpd.build_controller(port=port, max_bytes=64 * 1024)
    controller.handler.max_bytes = 1024  # below the protocol limit: the handler's check acts
    controller.start()
    try:
        with (
            smtplib.SMTP("127.0.0.1", port, timeout=20) as client,
            pytest.raises(smtplib.SMTPDataError) as refused,
        ):
            client.sendmail(
                "alice@acme.example",
                ["help@acme.example"],
                b"Subject: big\r\n\r\n" + b"A line of a long log file.\r\n" * 200,
            )
    finally:
        controller.stop()
        controller.handler.close()

    assert refused.value.smtp_code == 552
    assert not InboundMail.objects.exists()


def test_ingest_failure_answers_451_and_stores_nothing(smtp_mailbox, server, monkeypatch):
    def storage_down(raw, **kwargs):
        raise OSError("media storage is not writable")

    monkeypatch.setattr(smtpd, "ingest_message", storage_down)

    sent = swaks(port=server, to="help@acme.example", headers=["Subject: Will retry"])

    assert sent.returncode != 0
    assert "451 4.3.0" in sent.stdout
    assert not InboundMail.objects.exists()
    assert not FailedMail.objects.exists()
    assert not Ticket.objects.exists()


def test_the_same_message_delivered_twice_opens_one_ticket(
    smtp_mailbox, server, tmp_path, make_mail
):
    eml = tmp_path / "again.eml"
    eml.write_bytes(make_mail(subject="Sent twice by a retrying MTA"))

    first = swaks(port=server, to="help@acme.example", data=eml)
    second = swaks(port=server, to="help@acme.example", data=eml)

    assert first.returncode == second.returncode == 0
    assert "OK duplicate" in second.stdout
    assert Ticket.objects.count() == 1
