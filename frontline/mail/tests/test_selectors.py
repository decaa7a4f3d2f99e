"""mail.selectors: who may read received and failed mail, and reading the stored original."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from frontline.core.errors import NotFound, PermissionDenied
from frontline.mail import selectors
from frontline.mail.tests.ui_factories import Sent, failed_mail, mail_reply, mail_ticket

pytestmark = pytest.mark.django_db


def test_agents_who_see_the_ticket_get_its_mail(desk):
    ticket, opening = mail_ticket(desk, desk.user_a)
    _, reply = mail_reply(desk, ticket, desk.user_a, Sent(text="More"))
    for mail in (opening, reply):
        for agent in (desk.agent1, desk.agent_a, desk.admin):
            found = selectors.inbound_mail_get(actor=desk.actor(agent), inbound_id=mail.pk)
            assert found == mail


@pytest.mark.parametrize("who", ["user_a", "contact_a", "orgadmin_a", "user_b"])
def test_end_users_never_get_mail(desk, who):
    _, mail = mail_ticket(desk, desk.user_a)
    with pytest.raises(NotFound):
        selectors.inbound_mail_get(actor=desk.actor(getattr(desk, who)), inbound_id=mail.pk)


def test_agents_of_other_organisations_get_not_found(desk):
    _, mail = mail_ticket(desk, desk.user_b, Sent(sender="bob@globex.example"))
    with pytest.raises(NotFound):
        selectors.inbound_mail_get(actor=desk.actor(desk.agent_a), inbound_id=mail.pk)


def test_mail_that_made_no_ticket_is_not_found(desk):
    _, mail = mail_ticket(desk, desk.user_a)
    mail.pk = None
    mail.message_id = "<ignored@mail.example>"
    mail.ticket = None
    mail.outcome = "ignored"
    mail.save()
    with pytest.raises(NotFound):
        selectors.inbound_mail_get(actor=desk.actor(desk.admin), inbound_id=mail.pk)


def test_failed_mail_is_for_admins_only(desk):
    failed_mail(None)
    for who in ("agent1", "lead", "manager", "user_a", "orgadmin_a"):
        with pytest.raises(PermissionDenied):
            selectors.failed_mail_list(actor=desk.actor(getattr(desk, who)))
    assert selectors.failed_mail_list(actor=desk.actor(desk.admin)).count() == 1


def test_raw_message_open_gunzips_and_closes_the_stored_file(desk):
    raw = b"Subject: hello\r\n\r\nbody\r\n"
    failed = failed_mail(None, raw=raw)  # stored gzip-compressed
    handle = selectors.raw_message_open(failed)
    assert handle.read() == raw
    assert not failed.raw.closed
    handle.close()
    assert failed.raw.closed  # the stored file too, not only the decompressor
    # A message stored uncompressed (older rows) comes back as it is.
    failed.raw.save("plain.eml", ContentFile(raw), save=True)
    with selectors.raw_message_open(failed) as plain:
        assert plain.read() == raw


def test_a_missing_stored_file_is_not_found(desk):
    failed = failed_mail(None)
    failed.raw.storage.delete(failed.raw.name)
    with pytest.raises(NotFound):
        selectors.raw_message_open(failed)
