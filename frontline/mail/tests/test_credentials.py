"""The IMAP password: stored Fernet-encrypted, read back only for connecting, audited when set,
and a clear error (not garbage) when the key changed."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from frontline.core.access import Actor
from frontline.core.errors import PermissionDenied
from frontline.core.models import AuditEvent
from frontline.mail.credentials import MailCredentialError, mailbox_password, mailbox_password_set
from frontline.mail.models import Mailbox

pytestmark = pytest.mark.django_db

PASSWORD = "Imap-Pa55word-with-ünïcode"


@pytest.fixture
def imap_box(desk):
    return Mailbox.objects.create(
        name="Acme",
        address="help@acme.example",
        organization=desk.org_a,
        source=Mailbox.Source.IMAP,
        imap_host="imap.acme.example",
        imap_username="help",
    )


def test_stored_value_is_encrypted_not_the_password(desk, imap_box):
    mailbox_password_set(actor=desk.actor(desk.admin), mailbox=imap_box, password=PASSWORD)

    stored = Mailbox.objects.get(pk=imap_box.pk).imap_password_encrypted
    assert stored
    assert PASSWORD not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token


def test_round_trip(desk, imap_box):
    mailbox_password_set(actor=desk.actor(desk.admin), mailbox=imap_box, password=PASSWORD)

    assert mailbox_password(Mailbox.objects.get(pk=imap_box.pk)) == PASSWORD


def test_round_trip_with_an_explicit_key(desk, imap_box, settings):
    settings.FRONTLINE_MAIL_KEY = Fernet.generate_key().decode()
    mailbox_password_set(actor=desk.actor(desk.admin), mailbox=imap_box, password=PASSWORD)

    assert mailbox_password(Mailbox.objects.get(pk=imap_box.pk)) == PASSWORD


def test_a_changed_key_gives_a_clear_error(desk, imap_box, settings):
    settings.FRONTLINE_MAIL_KEY = Fernet.generate_key().decode()
    mailbox_password_set(actor=desk.actor(desk.admin), mailbox=imap_box, password=PASSWORD)
    settings.FRONTLINE_MAIL_KEY = Fernet.generate_key().decode()

    with pytest.raises(MailCredentialError) as error:
        mailbox_password(Mailbox.objects.get(pk=imap_box.pk))

    assert "cannot be decrypted" in error.value.message
    assert "FRONTLINE_MAIL_KEY" in error.value.message
    assert "help@acme.example" in error.value.message


def test_a_changed_secret_key_gives_a_clear_error_when_the_key_is_derived(desk, imap_box, settings):
    settings.FRONTLINE_MAIL_KEY = ""
    mailbox_password_set(actor=desk.actor(desk.admin), mailbox=imap_box, password=PASSWORD)
    settings.SECRET_KEY = "another-secret-key-after-a-rotation-0123456789-abcdefghijk"

    with pytest.raises(MailCredentialError, match="cannot be decrypted"):
        mailbox_password(Mailbox.objects.get(pk=imap_box.pk))


def test_a_malformed_key_is_named(desk, imap_box, settings):
    settings.FRONTLINE_MAIL_KEY = "not-a-fernet-key"

    with pytest.raises(MailCredentialError, match="FRONTLINE_MAIL_KEY is not a valid Fernet key"):
        mailbox_password_set(actor=desk.actor(desk.admin), mailbox=imap_box, password=PASSWORD)


def test_password_from_the_environment(imap_box, monkeypatch):
    imap_box.imap_password_env = "ACME_IMAP_PASSWORD"
    monkeypatch.setenv("ACME_IMAP_PASSWORD", PASSWORD)

    assert mailbox_password(imap_box) == PASSWORD


def test_missing_environment_variable_is_named(imap_box, monkeypatch):
    imap_box.imap_password_env = "ACME_IMAP_PASSWORD"
    monkeypatch.delenv("ACME_IMAP_PASSWORD", raising=False)

    with pytest.raises(MailCredentialError, match="ACME_IMAP_PASSWORD is not set"):
        mailbox_password(imap_box)


def test_no_password_at_all(imap_box):
    with pytest.raises(MailCredentialError, match="has no IMAP password"):
        mailbox_password(imap_box)


def test_setting_is_audited_without_the_password(desk, imap_box):
    mailbox_password_set(actor=desk.actor(desk.admin), mailbox=imap_box, password=PASSWORD)
    mailbox_password_set(actor=desk.actor(desk.admin), mailbox=imap_box, password="")

    events = list(
        AuditEvent.objects.filter(target_type="mail.mailbox", target_id=imap_box.pk).order_by("id")
    )
    assert [(e.kind, e.field, e.old_value, e.new_value) for e in events] == [
        ("security", "imap_password", "", "set"),
        ("security", "imap_password", "set", "cleared"),
    ]
    assert events[0].actor_id == desk.admin.pk
    for event in events:
        assert PASSWORD not in f"{event.old_value} {event.new_value} {event.data}"
    assert Mailbox.objects.get(pk=imap_box.pk).imap_password_encrypted == ""


def test_only_administrators_may_set_it(desk, imap_box):
    with pytest.raises(PermissionDenied):
        mailbox_password_set(actor=desk.actor(desk.agent1), mailbox=imap_box, password=PASSWORD)

    assert Mailbox.objects.get(pk=imap_box.pk).imap_password_encrypted == ""


def test_system_jobs_may_set_it_on_a_shared_mailbox(desk):
    shared = Mailbox.objects.create(name="Shared", address="support@provider.test")

    mailbox_password_set(actor=Actor.system(), mailbox=shared, password=PASSWORD)

    assert mailbox_password(Mailbox.objects.get(pk=shared.pk)) == PASSWORD
