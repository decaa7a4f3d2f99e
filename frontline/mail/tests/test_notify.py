"""Notifications as their recipients meet them: real mail through a local SMTP server."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from frontline.core.models import AuditEvent
from frontline.mail.models import InboundMail, NotificationTemplate, OutboundMail
from frontline.mail.tests import smtp_sink
from frontline.mail.tests.conftest import outbound_for
from frontline.tickets import services
from frontline.tickets.models import Ticket

S = Ticket.Status

# `sink` (the local SMTP server), `run` (a service, then the mail it enqueued on commit) and
# `desk_mailbox` come from conftest.py.


def _open(run, desk, *, user=None, subject="Printer on floor 2 is jammed", **kwargs):
    user = user or desk.user_a
    kwargs.setdefault("description", "Error E-42 on every job.")
    if user.is_agent:
        kwargs.setdefault("requester_id", desk.user_a.pk)
    return run(services.ticket_create, actor=desk.actor(user), subject=subject, **kwargs)


def _reply(run, desk, ticket, author, body, **kwargs):
    return run(services.comment_add, actor=desk.actor(author), ticket=ticket, body=body, **kwargs)


def _watch(run, desk, ticket, *watchers):
    for watcher in watchers:
        run(services.watcher_add, actor=desk.actor(desk.agent1), ticket=ticket, user_id=watcher.pk)


def _resolve(run, desk, ticket, notes):
    return run(
        services.ticket_resolve,
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        resolution_code=Ticket.ResolutionCode.SOLVED_REMOTELY,
        resolution_notes=notes,
    )


def _opened_by_mail(ticket, mailbox, message_id, **extra):
    """The InboundMail row the inbound engine links to a ticket that a mail opened."""
    from frontline.mail.models import Mailbox

    return InboundMail.objects.create(
        mailbox=mailbox,
        tenant=ticket.tenant,
        message_id=message_id,
        sender="alice@acme.example",
        source=Mailbox.Source.PIPE,
        outcome=InboundMail.Outcome.TICKET,
        ticket=ticket,
        **extra,
    )


def _rows(ticket, **filters):
    return list(OutboundMail.objects.filter(ticket=ticket, **filters).order_by("pk"))


# --- acknowledgement -------------------------------------------------------------------------


def test_new_ticket_is_acknowledged_with_number_and_automatic_headers(
    desk, sink, desk_mailbox, run
):
    ticket = _open(run, desk)

    [mail] = sink.to("alice@acme.example")
    msg = mail.message
    assert f"[{ticket.number}]" in msg["Subject"]
    assert ticket.number in msg.get_body(("plain",)).get_content()
    assert msg["From"] == "Acme IT Service Desk <servicedesk@acme.example>"
    assert msg["Reply-To"] == "help@acme.example"
    assert msg["To"] == "alice@acme.example"
    assert msg["X-Loop"] == "frontline"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["X-Frontline-Ticket"] == ticket.number
    assert msg["Message-ID"].endswith("@mail.frontline.test>")
    row = OutboundMail.objects.get(ticket=ticket)
    assert row.status == OutboundMail.Status.SENT
    assert row.message_id == msg["Message-ID"].strip()
    assert row.attempts == 1
    assert row.sent_at is not None
    notified = AuditEvent.objects.get(
        target_type="tickets.ticket", target_id=ticket.pk, kind=AuditEvent.Kind.NOTIFIED
    )
    assert notified.is_public is False
    assert notified.data["recipient"] == "alice@acme.example"


def test_without_a_mailbox_mail_comes_from_the_default_address(desk, sink, run):
    _open(run, desk)
    [mail] = sink.received
    assert mail.message["From"] == "Frontline Desk <desk@frontline.test>"
    assert mail.message["Reply-To"] == "desk@frontline.test"
    assert mail.mail_from == "desk@frontline.test"


def test_ticket_logged_by_an_agent_is_acknowledged_to_the_requester(desk, sink, run):
    ticket = _open(run, desk, user=desk.agent1)
    assert [m.rcpt_tos for m in sink.received] == [["alice@acme.example"]]
    assert f"[{ticket.number}]" in sink.received[0].message["Subject"]


def _open_and_fail(desk):
    from django.db import transaction

    with transaction.atomic():
        services.ticket_create(actor=desk.actor(desk.user_a), subject="Rolled back")
        raise RuntimeError("boom")


def test_nothing_is_sent_when_the_transaction_rolls_back(
    desk, sink, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        _open_and_fail(desk)
    assert callbacks == []
    assert sink.received == []
    assert not OutboundMail.objects.exists()


# --- replies ---------------------------------------------------------------------------------


def test_agent_reply_reaches_the_requester_threaded_under_the_acknowledgement(desk, sink, run):
    ticket = _open(run, desk)
    [ack] = sink.to("alice@acme.example")
    ack_id = ack.message["Message-ID"]

    _reply(run, desk, ticket, desk.agent1, "Please switch it off and on again.")
    _reply(run, desk, ticket, desk.agent1, "Did that help?")

    first, second = sink.to("alice@acme.example")[1:]
    assert "Please switch it off and on again." in first.message.get_body(("plain",)).get_content()
    assert "Tess Tier-One" in first.message.get_body(("plain",)).get_content()
    assert first.message["In-Reply-To"] == ack_id
    assert first.message["References"].split() == [ack_id]
    assert second.message["In-Reply-To"] == ack_id
    assert second.message["References"].split() == [ack_id, first.message["Message-ID"]]
    assert f"[{ticket.number}]" in second.message["Subject"]


def test_reply_on_a_mailed_ticket_answers_the_mail_that_opened_it(desk, sink, run, settings):
    from django.db import transaction

    from frontline.mail.models import Mailbox

    mailbox = Mailbox.objects.create(
        name="Acme", address="help@acme.example", organization=desk.org_a
    )
    with transaction.atomic():
        ticket = _open(run, desk, user=desk.agent1, channel=Ticket.Channel.EMAIL)
        _opened_by_mail(ticket, mailbox, "<original-1@client.example>")
    sink.handler.received.clear()
    _reply(run, desk, ticket, desk.agent1, "On it.")
    [mail] = sink.received
    assert mail.message["In-Reply-To"] == "<original-1@client.example>"
    assert mail.message["References"].split()[0] == "<original-1@client.example>"


def test_requester_reply_goes_to_the_assignee_not_back_to_the_requester(desk, sink, run):
    ticket = _open(run, desk, user=desk.agent1, assignee_id=desk.agent2.pk)
    sink.handler.received.clear()

    _reply(run, desk, ticket, desk.user_a, "It is still jammed.")

    assert [m.rcpt_tos for m in sink.received] == [["t2@provider.test"]]
    body = sink.received[0].message.get_body(("plain",)).get_content()
    assert "It is still jammed." in body
    assert "/desk/tickets/" in body  # agents get the desk link, not the portal's


def test_requester_reply_on_an_unassigned_unwatched_ticket_mails_nobody(desk, sink, run):
    ticket = _open(run, desk)
    sink.handler.received.clear()
    _reply(run, desk, ticket, desk.user_a, "Any news?")
    assert sink.received == []
    assert not OutboundMail.objects.filter(event="reply").exists()


def test_watchers_get_agent_replies_and_the_author_never_gets_their_own(desk, sink, run):
    ticket = _open(run, desk)
    _watch(run, desk, ticket, desk.user_a2, desk.agent2, desk.agent1)
    sink.handler.received.clear()

    _reply(run, desk, ticket, desk.agent1, "Technician on the way.")

    recipients = sorted(r for m in sink.received for r in m.rcpt_tos)
    assert recipients == ["alice@acme.example", "arnold@acme.example", "t2@provider.test"]


def test_requester_reply_reaches_agent_watchers_but_not_end_user_watchers(desk, sink, run):
    ticket = _open(run, desk)
    _watch(run, desk, ticket, desk.user_a2, desk.agent2)
    sink.handler.received.clear()
    _reply(run, desk, ticket, desk.user_a, "Here is the error code: E-42.")
    assert [m.rcpt_tos for m in sink.received] == [["t2@provider.test"]]


def test_a_reply_to_several_recipients_reads_the_cap_once_and_writes_one_insert(desk, sink, run):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ticket = _open(run, desk)
    _watch(run, desk, ticket, desk.user_a2, desk.agent2)
    with CaptureQueriesContext(connection) as queries:
        services.comment_add(actor=desk.actor(desk.agent1), ticket=ticket, body="On my way.")
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(_rows(ticket, event="reply")) == 3
    assert len([q for q in sql if q.startswith('INSERT INTO "mail_outboundmail"')]) == 1
    assert len([q for q in sql if "COUNT" in q and '"mail_outboundmail"' in q]) == 1
    # The reply's comment and ticket come from the service: not read again.
    assert not [q for q in sql if q.startswith('SELECT "tickets_comment"')]


def test_watchers_who_lost_access_to_the_organisation_get_no_more_mail(desk, sink, run):
    ticket = _open(run, desk)
    _watch(run, desk, ticket, desk.agent_a, desk.user_a2)
    sink.handler.received.clear()
    _reply(run, desk, ticket, desk.agent1, "First update.")
    first = sorted(r for m in sink.received for r in m.rcpt_tos)
    assert first == ["acme-agent@provider.test", "alice@acme.example", "arnold@acme.example"]

    # Ann no longer serves Acme; Arnold moved to Globex. Neither may read Acme's tickets now.
    desk.agent_a.served_organizations.remove(desk.org_a)
    desk.user_a2.organization = desk.org_b
    desk.user_a2.save(update_fields=["organization"])
    sink.handler.received.clear()
    _reply(run, desk, ticket, desk.agent1, "Second update, with details only Acme may read.")
    assert sorted(r for m in sink.received for r in m.rcpt_tos) == ["alice@acme.example"]


# --- status and resolution -------------------------------------------------------------------


def test_status_change_is_mailed_to_the_requester(desk, sink, run):
    ticket = _open(run, desk, user=desk.agent1, assignee_id=desk.agent1.pk)
    sink.handler.received.clear()

    run(
        services.ticket_transition,
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        status=S.PENDING_CUSTOMER,
        reason="Which floor exactly?",
    )

    [mail] = sink.received
    assert mail.rcpt_tos == ["alice@acme.example"]
    assert "Pending customer" in mail.message["Subject"]
    body = mail.message.get_body(("plain",)).get_content()
    assert "Which floor exactly?" in body


def test_resolution_mail_carries_a_link_where_the_requester_can_reopen(desk, sink, run, client):
    ticket = _open(run, desk, user=desk.agent1, assignee_id=desk.agent1.pk)
    _watch(run, desk, ticket, desk.user_a2)
    sink.handler.received.clear()

    _resolve(run, desk, ticket, "Replaced the fuser unit.")

    assert sorted(r for m in sink.received for r in m.rcpt_tos) == [
        "alice@acme.example",
        "arnold@acme.example",
    ]
    [mail] = sink.to("alice@acme.example")
    assert "Resolved" in mail.message["Subject"]
    body = mail.message.get_body(("plain",)).get_content()
    assert "Replaced the fuser unit." in body
    link = re.search(r"https://desk\.frontline\.test(/portal/tickets/[^\s]+)", body)
    assert link is not None
    html = mail.message.get_body(("html",)).get_content()
    assert f'href="https://desk.frontline.test{link.group(1)}"' in html

    client.force_login(desk.user_a)
    page = client.get(link.group(1))
    assert page.status_code == 200
    assert "reopen" in page.content.decode().lower()
    response = client.post(
        link.group(1) + "reopen/",
        {"reason": "Still jams on tray 2.", "version": Ticket.objects.get(pk=ticket.pk).version},
    )
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).status != S.RESOLVED


def test_agent_who_resolves_their_own_watched_ticket_is_not_mailed(desk, sink, run):
    ticket = _open(run, desk, user=desk.agent1, assignee_id=desk.agent1.pk)
    _watch(run, desk, ticket, desk.agent1)
    sink.handler.received.clear()
    _resolve(run, desk, ticket, "Done.")
    assert [m.rcpt_tos for m in sink.received] == [["alice@acme.example"]]


# --- suppression, caps, failures -------------------------------------------------------------


def test_ticket_opened_by_an_auto_reply_gets_no_acknowledgement(
    desk, sink, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from frontline.mail.models import Mailbox

    mailbox = Mailbox.objects.create(name="Acme", address="help@acme.example")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        ticket = services.ticket_create(
            actor=desk.actor(desk.agent1),
            subject="Out of office: Printer",
            requester_id=desk.user_a.pk,
            channel=Ticket.Channel.EMAIL,
        )
        # The inbound engine links its row after the ticket exists, in the same transaction.
        _opened_by_mail(ticket, mailbox, "<ooo-1@client.example>", is_auto=True)
    assert sink.received == []
    [row] = _rows(ticket)
    assert row.status == OutboundMail.Status.SUPPRESSED
    assert "automatic mail" in row.reason


def test_the_41st_mail_in_a_day_to_one_address_is_suppressed(desk, sink, run, settings):
    settings.FRONTLINE_MAIL_DAILY_CAP = 40
    ticket = _open(run, desk)  # mail 1
    for i in range(39):  # mails 2..40
        earlier = f"<earlier-{i}@mail.frontline.test>"
        outbound_for(ticket, message_id=earlier, subject="earlier", body_text="earlier")
    sink.handler.received.clear()

    _reply(run, desk, ticket, desk.agent1, "Mail number 41.")

    assert sink.received == []
    row = OutboundMail.objects.filter(ticket=ticket).order_by("-pk").first()
    assert row.status == OutboundMail.Status.SUPPRESSED
    assert "Daily cap" in row.reason
    # Another recipient is not affected by Alice's cap.
    _watch(run, desk, ticket, desk.agent2)
    _reply(run, desk, ticket, desk.agent1, "For the watcher.")
    assert [m.rcpt_tos for m in sink.received] == [["t2@provider.test"]]


def test_mail_older_than_a_day_does_not_count_towards_the_cap(desk, sink, run, settings):
    settings.FRONTLINE_MAIL_DAILY_CAP = 2
    ticket = _open(run, desk)
    old = OutboundMail.objects.get(ticket=ticket)
    OutboundMail.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    _reply(run, desk, ticket, desk.agent1, "One.")
    _reply(run, desk, ticket, desk.agent1, "Two.")
    _reply(run, desk, ticket, desk.agent1, "Three.")
    assert len(sink.to("alice@acme.example")) == 1 + 2
    assert [r.status for r in _rows(ticket)] == ["sent", "sent", "sent", "suppressed"]


def test_smtp_down_is_retried_then_marked_failed_and_nothing_is_lost(desk, sink, run, settings):
    from frontline.mail.tests.smtp_sink import free_port

    settings.EMAIL_PORT = free_port()  # nothing listens there
    ticket = _open(run, desk)

    assert Ticket.objects.filter(pk=ticket.pk).exists()  # the ticket is not rolled back
    [row] = _rows(ticket)
    assert row.status == OutboundMail.Status.FAILED
    assert row.attempts == 6  # the first try and 5 retries
    assert "Connection" in row.reason or "refused" in row.reason.lower()
    assert f"[{ticket.number}]" in row.subject
    assert ticket.number in row.body_text
    assert sink.received == []


def test_a_temporary_refusal_is_retried_and_then_delivered(desk, sink, run):
    sink.handler.refusals.append("451 4.3.0 Try again later")
    ticket = _open(run, desk)
    [mail] = sink.received
    [row] = _rows(ticket)
    assert row.status == OutboundMail.Status.SENT
    assert row.attempts == 2
    assert row.message_id == mail.message["Message-ID"].strip()


def test_a_permanent_refusal_is_not_retried(desk, sink, run):
    sink.handler.refusals.append("550 5.1.1 No such user")
    ticket = _open(run, desk)
    [row] = _rows(ticket)
    assert row.status == OutboundMail.Status.FAILED
    assert row.attempts == 1
    assert "550" in row.reason


def test_sending_a_row_twice_sends_one_mail(desk, sink, run):
    from frontline.mail.tasks import mail_send

    ticket = _open(run, desk)
    [row] = _rows(ticket)
    assert mail_send.delay(row.pk).get() == "sent"
    assert len(sink.received) == 1
    assert OutboundMail.objects.get(pk=row.pk).attempts == 1


# --- templates -------------------------------------------------------------------------------


def test_organisation_template_replaces_the_default_for_that_organisation_only(desk, sink, run):
    NotificationTemplate.objects.create(
        organization=desk.org_a,
        event="created",
        subject="Acme ticket {{ number }}",
        body="Dear {{ recipient_name|upper }}, we logged: {{ subject }}.",
    )
    ticket = _open(run, desk)
    _open(run, desk, user=desk.user_b, subject="Globex issue")

    [acme] = sink.to("alice@acme.example")
    assert acme.message["Subject"] == f"[{ticket.number}] Acme ticket {ticket.number}"
    assert "Dear ALICE ACME, we logged: Printer on floor 2 is jammed." in (
        acme.message.get_body(("plain",)).get_content()
    )
    [globex] = sink.to("bob@globex.example")
    assert "We received your request" in globex.message["Subject"]


def test_broken_organisation_template_falls_back_to_the_default_with_a_warning(
    desk, sink, run, caplog
):
    NotificationTemplate.objects.create(
        organization=desk.org_a, event="created", subject="{% if %}", body="{{ number"
    )
    with caplog.at_level(logging.WARNING, logger="frontline.mail.outbound"):
        ticket = _open(run, desk)
    [mail] = sink.received
    assert "We received your request" in mail.message["Subject"]
    assert f"[{ticket.number}]" in mail.message["Subject"]
    assert any("using the default" in r.getMessage() for r in caplog.records)


# --- with the inbound engine -----------------------------------------------------------------


def _ingest(raw, mailbox, django_capture_on_commit_callbacks):
    from frontline.mail.ingest import ingest_message

    with django_capture_on_commit_callbacks(execute=True):
        return ingest_message(raw, source="pipe", mailbox=mailbox)


def test_mail_that_opens_a_ticket_is_acknowledged_in_its_thread(
    desk, sink, mailbox, make_mail, django_capture_on_commit_callbacks
):
    raw = make_mail(subject="Laptop will not boot", message_id="<first-1@client.example>")
    result = _ingest(raw, mailbox, django_capture_on_commit_callbacks)
    assert result.outcome == "ticket"
    ticket = result.inbound.ticket

    [ack] = sink.to("alice@acme.example")
    assert f"[{ticket.number}]" in ack.message["Subject"]
    assert ack.message["In-Reply-To"] == "<first-1@client.example>"
    assert ack.message["From"].addresses[0].addr_spec == "help@acme.example"

    # Our acknowledgement bounced back to the mailbox (a misconfigured forward) is not a new
    # ticket and sends nothing: the X-Loop header stops the ping-pong.
    sink.handler.received.clear()
    looped = _ingest(ack.raw, mailbox, django_capture_on_commit_callbacks)
    assert looped.outcome == "ignored"
    assert sink.received == []

    # The requester answers the acknowledgement: the reply threads onto the ticket and the
    # requester is not mailed their own words.
    answer = make_mail(
        subject=f"Re: {ack.message['Subject']}",
        body="It shows a blinking cursor.",
        headers={"In-Reply-To": ack.message["Message-ID"].strip()},
    )
    assert _ingest(answer, mailbox, django_capture_on_commit_callbacks).outcome == "reply"
    assert sink.to("alice@acme.example") == []


def test_out_of_office_mail_gets_no_answer(
    desk, sink, mailbox, make_mail, django_capture_on_commit_callbacks
):
    raw = make_mail(
        subject="Automatic reply: I am away",
        headers={"Auto-Submitted": "auto-replied"},
    )
    result = _ingest(raw, mailbox, django_capture_on_commit_callbacks)
    assert result.inbound is not None and result.inbound.is_auto
    assert sink.received == []
    assert not OutboundMail.objects.filter(status=OutboundMail.Status.SENT).exists()


def test_a_notification_left_queued_is_sent_by_the_sweep(desk, sink, run, settings):
    from frontline.mail.tasks import mail_send_sweep

    settings.EMAIL_PORT = smtp_sink.free_port()  # the first attempts find no server
    ticket = _open(run, desk)
    OutboundMail.objects.filter(ticket=ticket).update(status=OutboundMail.Status.QUEUED)
    settings.EMAIL_PORT = sink.port
    assert mail_send_sweep.delay().get() == 0  # too recent: perhaps a retry is pending

    OutboundMail.objects.filter(ticket=ticket).update(
        updated_at=timezone.now() - timedelta(minutes=30)
    )
    assert mail_send_sweep.delay().get() == 1
    assert len(sink.to("alice@acme.example")) == 1
    assert OutboundMail.objects.get(ticket=ticket).status == OutboundMail.Status.SENT
    assert mail_send_sweep.delay().get() == 0


def test_the_sweep_is_on_the_beat_schedule():
    from frontline.celery import app
    from frontline.mail import tasks  # noqa: F401  (registers the tasks, as a worker does)

    entry = app.conf.beat_schedule["mail-send-sweep"]
    assert entry["task"] == "frontline.mail.tasks.mail_send_sweep"
    assert entry["task"] in app.tasks


def test_a_notification_failure_never_undoes_the_change(desk, sink, run, monkeypatch, caplog):
    from frontline.mail import outbound

    def broken(**kwargs):
        raise RuntimeError("template store unavailable")

    monkeypatch.setattr(outbound, "notification_render", broken)
    with caplog.at_level(logging.ERROR, logger="frontline.mail.notify"):
        ticket = _open(run, desk)
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert not OutboundMail.objects.exists()
    assert sink.received == []
    assert any("notifications for an event failed" in r.getMessage() for r in caplog.records)
