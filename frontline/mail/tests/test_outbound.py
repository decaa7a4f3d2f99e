"""Building messages, threading, templates and the polite bounce to a rejected sender."""

from __future__ import annotations

import pytest
from django.core import mail as django_mail

from frontline.mail import notify, outbound
from frontline.mail.admin import NotificationTemplateForm
from frontline.mail.models import InboundMail, Mailbox, NotificationTemplate, OutboundMail
from frontline.mail.sandbox import default_render
from frontline.mail.tests.conftest import outbound_for, pipe_mailbox
from frontline.tickets import services


@pytest.fixture
def acme_box(desk) -> Mailbox:
    return pipe_mailbox(
        desk.org_a,
        name="Acme help desk",
        address="help@acme.example",
        unknown_senders=Mailbox.UnknownSenders.REJECT,
    )


def _rejected(mailbox, *, sender="stranger@elsewhere.example", is_auto=False, n=1):
    return InboundMail.objects.create(
        mailbox=mailbox,
        tenant=mailbox.organization,
        message_id=f"<stranger-{n}@elsewhere.example>",
        sender=sender,
        subject="Can you fix my laptop?",
        source=Mailbox.Source.PIPE,
        outcome=InboundMail.Outcome.REJECTED,
        is_auto=is_auto,
    )


# --- header text and identity ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "Printer\r\nBcc: evil@example.com",
        "Printer\nBcc: evil@example.com",
        "Printer\rBcc: evil@example.com",
        "Printer\u2028Bcc: evil@example.com",
        "Printer\x00\x0bBcc: evil@example.com",
        "Printer\u0085Bcc: evil@example.com",
    ],
)
def test_header_text_puts_everything_on_one_line(raw):
    assert outbound.header_text(raw) == "Printer Bcc: evil@example.com"


def test_header_text_is_bounded():
    assert len(outbound.header_text("x" * 5000)) == outbound.MAX_SUBJECT


def test_message_id_domain_comes_from_the_setting_or_the_from_address(settings):
    settings.FRONTLINE_MAIL_DOMAIN = ""
    settings.DEFAULT_FROM_EMAIL = "Help <help@desk.example.org>"
    assert outbound.message_id_make().endswith("@desk.example.org>")
    settings.FRONTLINE_MAIL_DOMAIN = "mail.example.net"
    assert outbound.message_id_make().endswith("@mail.example.net>")
    assert outbound.message_id_make() != outbound.message_id_make()


def test_sender_uses_the_organisations_mailbox_and_folds_its_name(desk, settings):
    settings.DEFAULT_FROM_EMAIL = "desk@frontline.test"
    Mailbox.objects.create(
        name="Acme",
        address="help@acme.example",
        organization=desk.org_a,
        from_name="Acme\r\nBcc: evil@example.com",
    )
    acme = outbound.sender_for(tenant_id=desk.org_a.pk)
    assert acme.from_email == '"Acme Bcc: evil@example.com" <help@acme.example>'
    assert acme.reply_to == "help@acme.example"
    globex = outbound.sender_for(tenant_id=desk.org_b.pk)
    assert globex.from_email == "desk@frontline.test"
    assert globex.mailbox is None


# --- templates -------------------------------------------------------------------------------


@pytest.mark.parametrize("event", [e.value for e in NotificationTemplate.Event])
def test_every_shipped_template_renders(event):
    context = {
        "number": "INC-000042",
        "subject": "Printer",
        "recipient_name": "Alice",
        "mailbox_address": "help@acme.example",
        "desk_name": "Acme desk",
        "portal_link": "https://desk.example/portal/tickets/INC-000042/",
    }
    body = default_render(f"mail/notify/{event}.txt", context)
    subject = default_render(f"mail/notify/{event}_subject.txt", context)
    assert "Printer" in subject
    assert "Acme desk" in body or "help@acme.example" in body


def test_installation_default_row_applies_to_every_organisation(desk):
    NotificationTemplate.objects.create(
        organization=None, event="status", subject="Now {{ status }}", body="Status: {{ status }}"
    )
    rendered = outbound.notification_render(
        event="status", tenant_id=desk.org_b.pk, context={"number": "INC-1", "status": "Closed"}
    )
    assert rendered.subject == "[INC-1] Now Closed"
    assert rendered.body_text == "Status: Closed\n"


def test_admin_form_accepts_a_sandboxed_template_and_names_what_it_refuses(desk):
    good = NotificationTemplateForm(
        data={
            "organization": desk.org_a.pk,
            "event": "created",
            "subject": "{{ number }}: {{ subject|truncatechars:40 }}",
            "body": "{% if reply_text %}{{ reply_text }}{% endif %}",
            "is_active": True,
        }
    )
    assert good.is_valid(), good.errors
    bad = NotificationTemplateForm(
        data={
            "organization": desk.org_a.pk,
            "event": "reply",
            "subject": "{{ subject|safe }}",
            "body": "{% load static %}",
            "is_active": True,
        }
    )
    assert not bad.is_valid()
    assert "safe" in str(bad.errors["subject"])
    assert "load" in str(bad.errors["body"])


# --- threading -------------------------------------------------------------------------------


def test_references_stay_bounded_on_a_long_thread(desk):
    ticket = services.ticket_create(
        actor=desk.actor(desk.user_a), subject="Long thread", description="x"
    )
    first = OutboundMail.objects.get(ticket=ticket)
    for i in range(30):
        outbound_for(ticket, message_id=f"<m{i}@mail.frontline.test>", subject="s", body_text="b")
    last = outbound_for(
        ticket,
        message_id="<last@mail.frontline.test>",
        subject="s",
        body_text="b",
        status=OutboundMail.Status.QUEUED,
    )
    in_reply_to, references = outbound.thread_headers(outbound=last)
    ids = references.split()
    assert in_reply_to == first.message_id
    assert len(ids) == outbound.MAX_REFERENCES
    assert ids[0] == first.message_id
    assert ids[-1] == "<m29@mail.frontline.test>"


# --- the polite bounce -----------------------------------------------------------------------


def test_rejected_sender_gets_one_polite_bounce_with_loop_headers(desk, acme_box, sink):
    inbound = _rejected(acme_box)
    assert notify.bounce_unknown_sender(inbound=inbound) is True
    [mail] = sink.received
    assert mail.rcpt_tos == ["stranger@elsewhere.example"]
    msg = mail.message
    assert "Can you fix my laptop?" in msg["Subject"]
    assert msg["X-Loop"] == "frontline"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<stranger-1@elsewhere.example>"
    assert "help@acme.example" in msg.get_content()


def test_no_bounce_to_automatic_mail(desk, acme_box):
    inbound = _rejected(acme_box, is_auto=True)
    assert notify.bounce_unknown_sender(inbound=inbound) is False
    assert django_mail.outbox == []


def test_no_bounce_to_our_own_mailbox_address(desk, acme_box):
    inbound = _rejected(acme_box, sender="HELP@acme.example")
    assert notify.bounce_unknown_sender(inbound=inbound) is False
    assert django_mail.outbox == []


def test_bounces_to_one_sender_stop_at_the_daily_cap(desk, acme_box, settings):
    settings.FRONTLINE_MAIL_DAILY_CAP = 3
    sent = [notify.bounce_unknown_sender(inbound=_rejected(acme_box, n=i)) for i in range(5)]
    assert sent == [True, True, True, False, False]
    assert len(django_mail.outbox) == 3


# --- through a real Celery worker ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_retries_a_temporary_refusal_and_delivers(desk, sink, monkeypatch):
    """The asynchronous path (a broker and a worker, here the in-memory broker and Celery's
    in-process test worker): the task is enqueued after commit, a 451 is retried by
    `self.retry` (backoff shortened to 0 s), and the row ends up sent once."""
    import threading
    import uuid

    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from frontline.celery import app
    from frontline.mail import tasks

    monkeypatch.setattr(tasks, "MAIL_SEND_BACKOFF_SECONDS", 0)
    sink.handler.refusals.append("451 4.3.0 Try again later")
    outcomes: list[object] = []
    done = threading.Event()

    def record(sender=None, retval=None, **_):
        if getattr(sender, "name", "") == "frontline.mail.tasks.mail_send":
            outcomes.append(retval)
            if retval == "sent":
                done.set()

    saved = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = f"frontline-mail-test-{uuid.uuid4().hex[:8]}"
    task_postrun.connect(record, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            ticket = services.ticket_create(actor=desk.actor(desk.user_a), subject="Printer")
            assert done.wait(timeout=30), outcomes
    finally:
        task_postrun.disconnect(record)
        app.conf.task_always_eager, app.conf.task_default_queue = saved
    [received] = sink.received
    assert len(outcomes) == 2  # the refused attempt (retry) and the delivery
    row = OutboundMail.objects.get(ticket=ticket)
    assert row.status == OutboundMail.Status.SENT
    assert row.attempts == 2
    assert row.message_id == received.message["Message-ID"].strip()


def test_admin_page_refuses_a_template_that_loads_tags(desk, client):
    from django.urls import reverse

    client.force_login(desk.admin)
    url = reverse("admin:mail_notificationtemplate_add")
    data = {
        "organization": desk.org_a.pk,
        "event": "created",
        "subject": "Ticket {{ number }}",
        "body": "{% load static %}{% static 'x' %}",
        "is_active": "on",
    }
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "This template cannot be used" in refused.content.decode()
    assert not NotificationTemplate.objects.exists()

    data["body"] = "Hello {{ recipient_name }}"
    assert client.post(url, data).status_code == 302
    assert NotificationTemplate.objects.get().body == "Hello {{ recipient_name }}"
