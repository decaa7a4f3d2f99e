"""Resending failed notifications (outbound.outbound_resend): administrators only, never another
organisation's mail, only rows that failed, within the daily cap, recorded in the audit trail,
and the mail really leaves through the local SMTP server once the relay is fixed. Exposed in
the admin's outbound-mail log: a list action and a button on a failed row's page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from frontline.accounts.models import User
from frontline.core.errors import NotFound, PermissionDenied, ValidationError
from frontline.core.models import AuditEvent
from frontline.mail import outbound
from frontline.mail.models import OutboundMail
from frontline.mail.tests.conftest import outbound_for, ticket_for
from frontline.mail.tests.smtp_sink import free_port
from frontline.tickets import services
from frontline.tickets.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

Status = OutboundMail.Status
RELAY_ERROR = "ConnectionRefusedError: [Errno 111] Connection refused"


def failed_row(ticket, n: int = 1, **fields) -> OutboundMail:
    """A notification about `ticket` that ended as failed (the relay was down)."""
    fields.setdefault("status", Status.FAILED)
    fields.setdefault("reason", f"Gave up after 6 attempts: {RELAY_ERROR}")
    fields.setdefault("attempts", 6)
    row: OutboundMail = outbound_for(
        ticket, message_id=f"<failed-{n}@mail.frontline.test>", **fields
    )
    return row


@pytest.fixture
def acme_ticket(desk):
    return ticket_for(desk, subject="Printer on floor 2 is jammed")


@pytest.fixture
def globex_ticket(desk):
    return ticket_for(desk, requester=desk.user_b, subject="Globex VPN")


@pytest.fixture
def resend(django_capture_on_commit_callbacks):
    """outbound_resend, then what it enqueued on commit (the eager send task)."""

    def _resend(actor, *ids):
        with django_capture_on_commit_callbacks(execute=True):
            return outbound.outbound_resend(actor=actor, outbound_ids=list(ids))

    return _resend


def admin_session(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def state(*rows: OutboundMail) -> list[tuple[str, str, int]]:
    return [
        (r.status, r.reason, r.attempts)
        for r in OutboundMail.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk")
    ]


# --- the whole story -------------------------------------------------------------------------


def test_a_notification_failed_while_the_relay_was_down_is_delivered_after_a_resend(
    desk, sink, run, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_PORT = free_port()  # the relay is down: nothing listens there
    ticket = run(services.ticket_create, actor=desk.actor(desk.user_a), subject="Printer")
    row = OutboundMail.objects.get(ticket=ticket)
    assert (row.status, row.attempts) == (Status.FAILED, 6)
    assert sink.received == []

    settings.EMAIL_PORT = sink.port  # the admin fixed the relay
    client = admin_session(desk.admin, csrf=True)
    page = client.get(reverse("admin:mail_outboundmail_change", args=[row.pk])).content.decode()
    action = reverse("admin:mail_outboundmail_resend", args=[row.pk])
    form = re.search(rf'<form method="post" action="{action}".*?</form>', page, re.S)
    assert form is not None, "a failed row's page offers the resend button"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0))
    assert token is not None
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action, {"csrfmiddlewaretoken": token.group(1)}, follow=True)

    assert response.redirect_chain == [
        (reverse("admin:mail_outboundmail_change", args=[row.pk]), 302)
    ]
    assert f"Queued again for sending: #{row.pk} to alice@acme.example." in (
        response.content.decode()
    )
    [mail] = sink.to("alice@acme.example")
    assert mail.message["Message-ID"].strip() == row.message_id
    assert f"[{ticket.number}]" in mail.message["Subject"]
    row.refresh_from_db()
    assert (row.status, row.reason, row.attempts) == (Status.SENT, "", 7)
    assert row.sent_at is not None
    # A sent row has no button any more.
    page = client.get(reverse("admin:mail_outboundmail_change", args=[row.pk])).content.decode()
    assert action not in page


# --- the service -----------------------------------------------------------------------------


def test_resend_queues_the_row_again_and_enqueues_the_send_on_commit(
    desk, acme_ticket, django_capture_on_commit_callbacks
):
    row = failed_row(acme_ticket)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = outbound.outbound_resend(actor=desk.actor(desk.admin), outbound_ids=[row.pk])

    assert [r.pk for r in result.resent] == [row.pk]
    assert result.skipped == []
    assert state(row) == [(Status.QUEUED, "", 6)]  # the attempts go on counting
    assert len(callbacks) == 1  # the send task, enqueued only once this commits


def test_resend_writes_an_internal_audit_entry_with_the_last_error(desk, acme_ticket, sink, resend):
    row = failed_row(acme_ticket)

    resend(desk.actor(desk.admin), row.pk)

    entry = AuditEvent.objects.get(
        target_type="tickets.ticket", target_id=acme_ticket.pk, data__resend=True
    )
    assert entry.kind == AuditEvent.Kind.NOTIFIED
    assert entry.actor_id == desk.admin.pk
    assert entry.actor_label == "Ada Admin"
    assert entry.tenant_id == desk.org_a.pk
    assert entry.is_public is False
    assert (entry.old_value, entry.new_value) == ("failed", "alice@acme.example")
    assert entry.data["outbound_id"] == row.pk
    assert RELAY_ERROR in entry.data["previous_error"]
    # ...followed by the usual "sent" entry of the delivery.
    assert (
        AuditEvent.objects.filter(
            target_id=acme_ticket.pk, kind=AuditEvent.Kind.NOTIFIED, data__outbound_id=row.pk
        ).count()
        == 2
    )


def test_only_failed_rows_are_resent_the_others_are_skipped_with_the_reason(
    desk, acme_ticket, sink, resend
):
    failed = failed_row(acme_ticket, 1)
    sent = outbound_for(acme_ticket, message_id="<sent-1@mail.frontline.test>")
    suppressed = failed_row(acme_ticket, 2, status=Status.SUPPRESSED, reason="Daily cap reached")
    queued = failed_row(acme_ticket, 3, status=Status.QUEUED, reason="", attempts=1)
    before = state(sent, suppressed, queued)

    result = resend(desk.actor(desk.admin), failed.pk, sent.pk, suppressed.pk, queued.pk)

    assert [r.pk for r in result.resent] == [failed.pk]
    assert [str(s) for s in result.skipped] == [
        f"#{sent.pk} to alice@acme.example: not resent: it is sent, not failed.",
        f"#{suppressed.pk} to alice@acme.example: not resent: it is suppressed, not failed.",
        f"#{queued.pk} to alice@acme.example: not resent: it is queued, not failed.",
    ]
    assert state(sent, suppressed, queued) == before
    assert [m.message["Message-ID"].strip() for m in sink.received] == [failed.message_id]
    assert OutboundMail.objects.get(pk=failed.pk).status == Status.SENT


@pytest.mark.parametrize("who", ["agent1", "lead", "manager", "user_a", "contact_a", "orgadmin_a"])
def test_only_administrators_may_resend(desk, acme_ticket, who):
    row = failed_row(acme_ticket)

    with pytest.raises(PermissionDenied, match="Only administrators may resend"):
        outbound.outbound_resend(actor=desk.actor(getattr(desk, who)), outbound_ids=[row.pk])

    assert state(row) == [(Status.FAILED, row.reason, 6)]
    assert not AuditEvent.objects.filter(data__resend=True).exists()


def test_another_organisations_notification_is_not_found_like_a_missing_one(
    desk, acme_ticket, globex_ticket
):
    admin_a = AgentFactory(
        email="admin-a@provider.test", role=User.Role.ADMIN, serves_all_organizations=False
    )
    admin_a.served_organizations.add(desk.org_a)
    own = failed_row(acme_ticket, 1)
    foreign = failed_row(globex_ticket, 2, recipient="bob@globex.example")
    actor = desk.actor(admin_a)

    with pytest.raises(NotFound) as hidden:
        outbound.outbound_resend(actor=actor, outbound_ids=[own.pk, foreign.pk])
    with pytest.raises(NotFound) as missing:
        outbound.outbound_resend(actor=actor, outbound_ids=[foreign.pk + 1000])

    assert hidden.value.message == f"Notification #{foreign.pk} not found."
    assert missing.value.message == f"Notification #{foreign.pk + 1000} not found."
    # Nothing at all was resent, not even the row of their own organisation.
    assert state(own, foreign) == [
        (Status.FAILED, own.reason, 6),
        (Status.FAILED, foreign.reason, 6),
    ]
    # Their own organisation's row they may resend.
    assert outbound.outbound_resend(actor=actor, outbound_ids=[own.pk]).resent == [own]


def test_bad_input_is_refused_with_a_clear_message(desk, acme_ticket):
    admin = desk.actor(desk.admin)
    sent = outbound_for(acme_ticket, message_id="<sent-1@mail.frontline.test>")

    with pytest.raises(ValidationError, match="Choose at least one notification to resend"):
        outbound.outbound_resend(actor=admin, outbound_ids=[])
    with pytest.raises(NotFound, match=r"Notification #999999 not found\."):
        outbound.outbound_resend(actor=admin, outbound_ids=[999_999])
    with pytest.raises(ValidationError) as not_failed:
        outbound.outbound_resend(actor=admin, outbound_ids=[sent.pk])

    assert not_failed.value.message == (
        f"#{sent.pk} to alice@acme.example: not resent: it is sent, not failed."
    )
    assert OutboundMail.objects.get(pk=sent.pk).status == Status.SENT


# --- the daily cap ---------------------------------------------------------------------------


def _age(row: OutboundMail, hours: int) -> None:
    OutboundMail.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )
    row.refresh_from_db()


def test_a_resend_still_respects_the_daily_cap(desk, acme_ticket, sink, resend, settings):
    settings.FRONTLINE_MAIL_DAILY_CAP = 2
    yesterday = failed_row(acme_ticket, 1)
    _age(yesterday, 25)  # no longer one of today's mails to Alice
    for n in range(2):  # today Alice already had her two automatic mails
        outbound_for(acme_ticket, message_id=f"<today-{n}@mail.frontline.test>")

    with pytest.raises(ValidationError, match=r"daily cap reached \(2 automatic mails"):
        resend(desk.actor(desk.admin), yesterday.pk)

    assert state(yesterday) == [(Status.FAILED, yesterday.reason, 6)]
    assert sink.received == []


def test_a_failed_mail_of_today_was_already_counted_by_the_cap(
    desk, acme_ticket, sink, resend, settings
):
    settings.FRONTLINE_MAIL_DAILY_CAP = 2
    outbound_for(acme_ticket, message_id="<today-0@mail.frontline.test>")
    today = failed_row(acme_ticket, 1)  # Alice's second mail of the day: within the cap
    yesterday = failed_row(acme_ticket, 2)
    _age(yesterday, 30)
    bob = failed_row(acme_ticket, 3, recipient="bob@globex.example")
    _age(bob, 30)  # another address: its own cap

    result = resend(desk.actor(desk.admin), today.pk, yesterday.pk, bob.pk)

    assert [r.pk for r in result.resent] == [today.pk, bob.pk]
    assert [s.outbound_id for s in result.skipped] == [yesterday.pk]
    assert "daily cap reached" in result.skipped[0].reason
    assert sorted(r for m in sink.received for r in m.rcpt_tos) == [
        "alice@acme.example",
        "bob@globex.example",
    ]


# --- in the admin ----------------------------------------------------------------------------


def test_the_list_action_resends_the_selected_rows_and_says_what_it_skipped(
    desk, acme_ticket, sink, admin_action, django_capture_on_commit_callbacks
):
    failed = failed_row(acme_ticket)
    sent = outbound_for(acme_ticket, message_id="<sent-1@mail.frontline.test>")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_action(
            admin_session(desk.admin), "outboundmail", "resend", failed.pk, sent.pk
        )

    page = response.content.decode()
    assert f"Queued again for sending: #{failed.pk} to alice@acme.example." in page
    assert f"#{sent.pk} to alice@acme.example: not resent: it is sent, not failed." in page
    assert len(sink.received) == 1
    assert OutboundMail.objects.get(pk=failed.pk).status == Status.SENT


def test_the_failed_mail_page_points_to_the_failed_notifications(desk):
    page = admin_session(desk.admin).get(reverse("mail:failed-list")).content.decode()
    url = reverse("admin:mail_outboundmail_changelist") + "?status__exact=failed"
    assert f'href="{url}"' in page


def test_the_list_shows_the_last_error_and_filters_failed_rows(desk, acme_ticket):
    failed = failed_row(acme_ticket)
    outbound_for(acme_ticket, message_id="<sent-1@mail.frontline.test>")

    url = reverse("admin:mail_outboundmail_changelist") + "?status__exact=failed"
    page = admin_session(desk.admin).get(url).content.decode()

    assert RELAY_ERROR in page
    assert f'value="{failed.pk}"' in page
    assert "Resend the selected failed notifications" in page


def test_the_list_action_refuses_a_staff_agent_who_is_not_an_administrator(
    desk, acme_ticket, admin_action
):
    staff_agent = desk.agent1
    staff_agent.is_staff = True
    staff_agent.is_superuser = True  # may open the admin, but is not a Frontline administrator
    staff_agent.save()
    row = failed_row(acme_ticket)

    response = admin_action(admin_session(staff_agent), "outboundmail", "resend", row.pk)

    assert "Only administrators may resend failed notifications." in response.content.decode()
    assert state(row) == [(Status.FAILED, row.reason, 6)]
    url = reverse("admin:mail_outboundmail_resend", args=[row.pk])
    assert admin_session(staff_agent).post(url).status_code == 403
    assert state(row) == [(Status.FAILED, row.reason, 6)]


def test_an_administrator_of_some_organisations_sees_and_resends_only_theirs(
    desk, acme_ticket, globex_ticket
):
    admin_a = AgentFactory(
        email="admin-a@provider.test",
        role=User.Role.ADMIN,
        serves_all_organizations=False,
        is_staff=True,
        is_superuser=True,
    )
    admin_a.served_organizations.add(desk.org_a)
    own = failed_row(acme_ticket, 1)
    foreign = failed_row(globex_ticket, 2, recipient="bob@globex.example")
    client = admin_session(admin_a)

    page = client.get(reverse("admin:mail_outboundmail_changelist")).content.decode()
    assert "alice@acme.example" in page
    assert "bob@globex.example" not in page
    resend_foreign = client.post(reverse("admin:mail_outboundmail_resend", args=[foreign.pk]))
    resend_missing = client.post(reverse("admin:mail_outboundmail_resend", args=[foreign.pk + 99]))
    assert resend_foreign.status_code == resend_missing.status_code == 404
    assert state(own, foreign) == [
        (Status.FAILED, own.reason, 6),
        (Status.FAILED, foreign.reason, 6),
    ]


def test_the_resend_button_needs_a_csrf_token_and_a_post(desk, acme_ticket):
    row = failed_row(acme_ticket)
    url = reverse("admin:mail_outboundmail_resend", args=[row.pk])

    assert admin_session(desk.admin, csrf=True).post(url).status_code == 403
    assert admin_session(desk.admin).get(url).status_code == 405
    assert state(row) == [(Status.FAILED, row.reason, 6)]


def test_a_second_click_says_the_row_is_no_longer_failed(desk, acme_ticket, sink):
    row = failed_row(acme_ticket)
    client = admin_session(desk.admin)
    url = reverse("admin:mail_outboundmail_resend", args=[row.pk])
    client.post(url)  # (its send waits for a commit that never comes here: the row stays queued)

    again = client.post(url, follow=True)

    assert f"#{row.pk} to alice@acme.example: not resent: it is queued, not failed." in (
        again.content.decode()
    )
    assert AuditEvent.objects.filter(data__resend=True).count() == 1
