"""Mailbox and failed-mail admin: the IMAP password is write-only (never rendered back), and
an administrator retries failed mail from the list."""

from __future__ import annotations

import gzip

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from frontline.accounts.models import User
from frontline.mail.credentials import mailbox_password
from frontline.mail.models import FailedMail, InboundMail, Mailbox
from frontline.mail.tests.conftest import imap_mailbox
from frontline.tickets.models import Ticket

pytestmark = pytest.mark.django_db

PASSWORD = "Very-Secret-Imap-Pa55"


@pytest.fixture
def imap_box(desk):
    return imap_mailbox(
        org=desk.org_a,
        name="Acme IMAP",
        port=1,  # nothing listens there
        password=PASSWORD,
        default_group=desk.tier1,
    )


@pytest.fixture
def admin_client(client, desk):
    client.force_login(desk.admin)
    return client


def form_data(mailbox: Mailbox, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": mailbox.name,
        "address": mailbox.address,
        "organization": mailbox.organization_id or "",
        "source": mailbox.source,
        "is_active": "on",
        "imap_host": mailbox.imap_host,
        "imap_port": mailbox.imap_port,
        "imap_security": mailbox.imap_security,
        "imap_username": mailbox.imap_username,
        "imap_password_env": "",
        "imap_folder": mailbox.imap_folder,
        "imap_done_folder": "",
        "default_group": mailbox.default_group_id or "",
        "default_category": "",
        "default_type": mailbox.default_type,
        "unknown_senders": mailbox.unknown_senders,
        "sender_limit_per_hour": mailbox.sender_limit_per_hour,
        "from_address": "",
        "from_name": "",
        "reply_to": "",
        "imap_password": "",
    }
    data.update(changes)
    return data


def test_password_is_never_rendered_in_the_list_or_the_form(admin_client, imap_box):
    pages = [
        admin_client.get(reverse("admin:mail_mailbox_changelist")),
        admin_client.get(reverse("admin:mail_mailbox_change", args=[imap_box.pk])),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert PASSWORD not in html
        assert imap_box.imap_password_encrypted not in html
    form_html = pages[1].content.decode()
    assert 'name="imap_password"' in form_html
    assert "Leave empty to keep the current password" in form_html
    assert "stored (encrypted)" in form_html


def test_saving_with_an_empty_password_keeps_the_stored_one(admin_client, imap_box):
    url = reverse("admin:mail_mailbox_change", args=[imap_box.pk])

    response = admin_client.post(url, form_data(imap_box, name="Renamed"))

    assert response.status_code == 302, response.content.decode()[:2000]
    imap_box.refresh_from_db()
    assert imap_box.name == "Renamed"
    assert mailbox_password(imap_box) == PASSWORD


def test_a_new_password_is_stored_encrypted(admin_client, imap_box):
    url = reverse("admin:mail_mailbox_change", args=[imap_box.pk])

    response = admin_client.post(url, form_data(imap_box, imap_password="Brand-New-Pa55"))

    assert response.status_code == 302
    imap_box.refresh_from_db()
    assert "Brand-New-Pa55" not in imap_box.imap_password_encrypted
    assert mailbox_password(imap_box) == "Brand-New-Pa55"
    follow = admin_client.get(url).content.decode()
    assert "Brand-New-Pa55" not in follow


def test_password_can_be_removed(admin_client, imap_box):
    url = reverse("admin:mail_mailbox_change", args=[imap_box.pk])

    admin_client.post(url, form_data(imap_box, clear_imap_password="on"))

    imap_box.refresh_from_db()
    assert imap_box.imap_password_encrypted == ""


def test_a_form_error_does_not_echo_the_password(admin_client, imap_box):
    url = reverse("admin:mail_mailbox_change", args=[imap_box.pk])

    response = admin_client.post(
        url, form_data(imap_box, address="not an address", imap_password="Typed-Pa55")
    )

    assert response.status_code == 200  # the form again, with the error
    assert "Enter a valid email address" in response.content.decode()
    assert "Typed-Pa55" not in response.content.decode()


def test_fetch_now_action_reports_the_connection_error(admin_client, imap_box, admin_action):
    response = admin_action(admin_client, "mailbox", "fetch_now", imap_box.pk)

    html = response.content.decode()
    assert "help@acme.example: 0 message(s); error: connectionrefusederror" in html.lower()
    assert PASSWORD not in html
    imap_box.refresh_from_db()
    assert imap_box.last_error


def test_test_connection_action_reports_failure(admin_client, imap_box, admin_action):
    response = admin_action(admin_client, "mailbox", "test_connection", imap_box.pk)

    html = response.content.decode()
    assert "help@acme.example: connectionrefusederror" in html.lower()
    assert PASSWORD not in html


def _failed_mail(mailbox: Mailbox, raw: bytes) -> FailedMail:
    failed = FailedMail(
        mailbox=mailbox,
        source=Mailbox.Source.IMAP,
        message_id="<stuck-1@client.example>",
        sender="alice@acme.example",
        subject="Stuck while storage was full",
        raw_size=len(raw),
        reason="OSError: No space left on device",
    )
    failed.raw.save("stuck.eml.gz", ContentFile(gzip.compress(raw)), save=False)
    failed.save()
    return failed


def test_failed_mail_list_shows_reason_sender_subject_and_attempts(
    admin_client, imap_box, make_mail
):
    _failed_mail(imap_box, make_mail(subject="Stuck while storage was full"))

    html = admin_client.get(reverse("admin:mail_failedmail_changelist")).content.decode()

    assert "OSError: No space left on device" in html
    assert "alice@acme.example" in html
    assert "Stuck while storage was full" in html


def test_retry_action_ingests_the_message(admin_client, imap_box, make_mail, admin_action):
    failed = _failed_mail(
        imap_box,
        make_mail(subject="Stuck while storage was full", message_id="<stuck-1@client.example>"),
    )

    response = admin_action(admin_client, "failedmail", "retry", failed.pk)

    assert f"#{failed.pk} processed: ticket" in response.content.decode()
    failed.refresh_from_db()
    assert failed.resolved_at is not None
    assert failed.resolved_as == InboundMail.objects.get()
    assert Ticket.objects.get().subject == "Stuck while storage was full"


def test_retry_by_a_staff_agent_who_is_not_an_administrator_is_refused(
    client, desk, imap_box, make_mail, admin_action
):
    staff_agent = desk.agent1
    staff_agent.is_staff = True
    staff_agent.is_superuser = True  # may open the admin, but is not a Frontline administrator
    staff_agent.save()
    assert staff_agent.role == User.Role.AGENT
    failed = _failed_mail(imap_box, make_mail())
    client.force_login(staff_agent)

    response = admin_action(client, "failedmail", "retry", failed.pk)

    assert "Only administrators may retry failed mail." in response.content.decode()
    failed.refresh_from_db()
    assert failed.resolved_at is None
    assert not Ticket.objects.exists()


def test_inbound_mail_admin_is_read_only(admin_client, imap_box, make_mail):
    from frontline.mail.ingest import ingest_message

    result = ingest_message(make_mail(), source="imap", mailbox=imap_box)
    url = reverse("admin:mail_inboundmail_change", args=[result.inbound.pk])

    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Printer on floor 2 is jammed" in html  # shown...
    assert 'name="_save"' not in html  # ...but there is nothing to save
    assert admin_client.post(url, {"subject": "Changed"}).status_code == 403
    assert admin_client.get(reverse("admin:mail_inboundmail_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:mail_inboundmail_delete", args=[result.inbound.pk])
        ).status_code
        == 403
    )


def test_a_mailbox_added_with_a_password_stores_it_encrypted(admin_client, desk):
    response = admin_client.post(
        reverse("admin:mail_mailbox_add"),
        {
            "name": "Globex IMAP",
            "address": "help@globex.example",
            "organization": desk.org_b.pk,
            "source": Mailbox.Source.IMAP,
            "is_active": "on",
            "imap_host": "imap.globex.example",
            "imap_port": 993,
            "imap_security": Mailbox.Security.SSL,
            "imap_username": "help",
            "imap_folder": "INBOX",
            "default_type": "incident",
            "unknown_senders": Mailbox.UnknownSenders.CREATE,
            "sender_limit_per_hour": 20,
            "imap_password": "Globex-Pa55",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox = Mailbox.objects.get(address="help@globex.example")
    assert "Globex-Pa55" not in mailbox.imap_password_encrypted
    assert mailbox_password(mailbox) == "Globex-Pa55"


def test_actions_skip_mailboxes_that_are_not_polled(admin_client, desk, admin_action):
    piped = Mailbox.objects.create(name="Piped", address="pipe@acme.example")
    piped.source = Mailbox.Source.PIPE
    piped.save()

    response = admin_action(admin_client, "mailbox", "fetch_now", piped.pk)

    assert "Skipped (not an active IMAP mailbox): pipe@acme.example" in response.content.decode()
    piped.refresh_from_db()
    assert piped.last_fetch_at is None
