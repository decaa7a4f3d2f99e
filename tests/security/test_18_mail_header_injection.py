"""SECURITY.md 18: CR/LF in a subject or a name used in an outbound header is folded away, so it
can neither add a header (Bcc) nor a recipient; a value that still reaches Django's mail API
with a line break is refused there (BadHeaderError) and the mail fails without being sent."""

from __future__ import annotations

from frontline.mail import outbound
from frontline.mail.models import Mailbox, OutboundMail
from frontline.tickets import services
from frontline.tickets.models import Ticket

INJECTION = "Printer\r\nBcc: victim@evil.example\r\nX-Injected: yes"


def _assert_clean(received) -> None:
    assert received.rcpt_tos == ["alice@acme.example"]
    msg = received.message
    assert msg["Bcc"] is None
    assert msg["X-Injected"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    head = received.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head
    assert b"\r\nX-Injected:" not in head


def test_crlf_in_an_org_template_subject_adds_no_header(desk, sink, run):
    # Ticket subjects are cleaned by the ticket service; an organisation's template and the
    # reply text it can pull into the subject are not.
    from frontline.mail.models import NotificationTemplate

    NotificationTemplate.objects.create(
        organization=desk.org_a,
        event="reply",
        subject="Re: {{ reply_text }}",
        body="{{ reply_text }}",
    )
    ticket = run(services.ticket_create, actor=desk.actor(desk.user_a), subject="Printer")
    sink.handler.received.clear()
    run(services.comment_add, actor=desk.actor(desk.agent1), ticket=ticket, body=INJECTION)
    [received] = sink.received
    _assert_clean(received)
    assert "Bcc: victim@evil.example" in received.message["Subject"]  # as harmless text


def test_crlf_in_the_ticket_subject_adds_no_header(desk, sink, run):
    ticket = run(services.ticket_create, actor=desk.actor(desk.user_a), subject="Printer")
    Ticket.objects.filter(pk=ticket.pk).update(subject=INJECTION)
    sink.handler.received.clear()
    run(services.comment_add, actor=desk.actor(desk.agent1), ticket=ticket, body="Hello")
    [received] = sink.received
    _assert_clean(received)


def test_crlf_in_the_mailbox_sender_name_adds_no_header(desk, sink, run):
    Mailbox.objects.create(
        name="Acme\r\nX-Injected: yes",
        address="help@acme.example",
        organization=desk.org_a,
        from_name="Acme Desk\r\nBcc: victim@evil.example",
    )
    run(services.ticket_create, actor=desk.actor(desk.user_a), subject="Printer")
    [received] = sink.received
    _assert_clean(received)
    assert received.message["From"].addresses[0].addr_spec == "help@acme.example"


def _row(desk, ticket, **fields):
    values = {
        "tenant": desk.org_a,
        "ticket": ticket,
        "event": "reply",
        "recipient": "alice@acme.example",
        "subject": "Printer",
        "body_text": "Hello",
        "message_id": outbound.message_id_make(),
        **fields,
    }
    return OutboundMail.objects.create(**values)


def test_a_subject_line_break_that_reaches_django_is_refused_and_never_sent(
    desk, sink, run, monkeypatch
):
    """Defence in depth: were the folding ever lost, Django's BadHeaderError stops the mail and
    the row fails at once (a refusal is not retried)."""
    from frontline.mail.tasks import mail_send

    ticket = run(services.ticket_create, actor=desk.actor(desk.user_a), subject="Printer")
    sink.handler.received.clear()
    row = _row(desk, ticket, subject=INJECTION)
    monkeypatch.setattr(outbound, "header_text", lambda value, limit=0: value)

    assert mail_send.delay(row.pk).get() == "failed"
    row.refresh_from_db()
    assert row.status == OutboundMail.Status.FAILED
    assert "BadHeaderError" in row.reason
    assert row.attempts == 1
    assert sink.received == []


def test_a_recipient_with_a_line_break_is_refused_and_never_sent(desk, sink, run):
    from frontline.mail.tasks import mail_send

    ticket = run(services.ticket_create, actor=desk.actor(desk.user_a), subject="Printer")
    sink.handler.received.clear()
    row = _row(desk, ticket, recipient="alice@acme.example\r\nBcc: victim@evil.example")

    assert mail_send.delay(row.pk).get() == "failed"
    row.refresh_from_db()
    assert row.status == OutboundMail.Status.FAILED
    assert row.reason.startswith("Refused:")
    assert row.attempts == 1
    assert sink.received == []
