"""IMAP polling against a real Dovecot (started per test, see servers.py): messages become
tickets and are acknowledged only after they were committed; nothing is lost or doubled when the
connection drops or the database fails mid-fetch; a broken mailbox does not stop the others."""

from __future__ import annotations

import pytest

from frontline.mail import imap
from frontline.mail.ingest import ingest_message as real_ingest
from frontline.mail.models import InboundMail, Mailbox
from frontline.mail.tests.conftest import imap_mailbox as imap_mailbox_on
from frontline.mail.tests.servers import dovecot_server
from frontline.tickets.models import Comment, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def dovecot():
    with dovecot_server() as server:
        yield server


def imap_mailbox(server, *, org, **extra):
    """A plain-IMAP mailbox on the test's Dovecot."""
    return imap_mailbox_on(org=org, port=server.port, **extra)


@pytest.fixture
def acme_imap(desk, dovecot):
    return imap_mailbox(dovecot, org=desk.org_a, default_group=desk.tier1)


def three_messages(make_mail):
    return [
        make_mail(subject="Printer jammed"),
        make_mail(subject="VPN drops every hour", sender="arnold@acme.example"),
        make_mail(subject="New laptop please"),
    ]


def test_three_unseen_messages_become_three_tickets_and_are_flagged_seen(
    desk,
    dovecot,
    acme_imap,
    make_mail,
):
    dovecot.append(*three_messages(make_mail))

    report = imap.fetch_mailbox(acme_imap)

    assert report.error == ""
    assert report.fetched == 3
    assert report.outcomes == {"ticket": 3}
    tickets = Ticket.objects.filter(tenant=desk.org_a).order_by("pk")
    assert [t.subject for t in tickets] == [
        "Printer jammed",
        "VPN drops every hour",
        "New laptop please",
    ]
    assert {t.channel for t in tickets} == {"email"}
    assert dovecot.unseen() == 0
    assert dovecot.count() == 3  # flagged, not deleted
    acme_imap.refresh_from_db()
    assert acme_imap.last_fetch_at is not None
    assert acme_imap.last_error == ""


def test_a_second_poll_changes_nothing(desk, dovecot, acme_imap, make_mail):
    dovecot.append(*three_messages(make_mail))
    imap.fetch_mailbox(acme_imap)

    report = imap.fetch_mailbox(acme_imap)

    assert report.fetched == 0
    assert report.error == ""
    assert Ticket.objects.count() == 3
    assert InboundMail.objects.count() == 3


def test_messages_already_seen_by_a_person_are_left_alone(desk, dovecot, acme_imap, make_mail):
    dovecot.append(make_mail(subject="Read by someone in Outlook"), seen=True)
    dovecot.append(make_mail(subject="Still unread"))

    report = imap.fetch_mailbox(acme_imap)

    assert report.fetched == 1
    assert list(Ticket.objects.values_list("subject", flat=True)) == ["Still unread"]


def test_ingest_failing_on_the_second_message_loses_and_doubles_nothing(
    desk,
    dovecot,
    acme_imap,
    make_mail,
    monkeypatch,
):
    dovecot.append(*three_messages(make_mail))
    calls = []

    def database_down_on_second(raw, **kwargs):
        calls.append(raw)
        if len(calls) == 2:
            raise ConnectionError("database is down")
        return real_ingest(raw, **kwargs)

    monkeypatch.setattr(imap, "ingest_message", database_down_on_second)
    report = imap.fetch_mailbox(acme_imap)

    # The first is stored and acknowledged; the run stopped at the second, nothing was flagged.
    assert report.fetched == 1
    assert "database is down" in report.error
    assert Ticket.objects.count() == 1
    assert dovecot.unseen() == 2
    acme_imap.refresh_from_db()
    assert "database is down" in acme_imap.last_error

    monkeypatch.setattr(imap, "ingest_message", real_ingest)
    report = imap.fetch_mailbox(acme_imap)

    assert report.fetched == 2
    assert report.error == ""
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "New laptop please",
        "Printer jammed",
        "VPN drops every hour",
    ]
    assert InboundMail.objects.count() == 3
    assert dovecot.unseen() == 0
    acme_imap.refresh_from_db()
    assert acme_imap.last_error == ""


def test_connection_dropped_after_a_commit_before_the_flag(
    desk,
    dovecot,
    acme_imap,
    make_mail,
    monkeypatch,
):
    """The server goes away right after the first message was committed, before it could be
    flagged: it is still unseen on the server, and the next poll must not make a second ticket."""
    dovecot.append(*three_messages(make_mail))

    def ingest_then_server_dies(raw, **kwargs):
        result = real_ingest(raw, **kwargs)
        dovecot.stop()
        return result

    monkeypatch.setattr(imap, "ingest_message", ingest_then_server_dies)
    report = imap.fetch_mailbox(acme_imap)

    assert report.fetched == 1
    assert report.error
    assert Ticket.objects.count() == 1
    acme_imap.refresh_from_db()
    assert acme_imap.last_error

    dovecot.start()
    assert dovecot.unseen() == 3  # the committed one was never acknowledged
    monkeypatch.setattr(imap, "ingest_message", real_ingest)
    report = imap.fetch_mailbox(acme_imap)

    assert report.outcomes == {"duplicate": 1, "ticket": 2}
    assert Ticket.objects.count() == 3
    assert InboundMail.objects.count() == 3
    assert dovecot.unseen() == 0


def test_move_to_done_folder_mode(desk, dovecot, make_mail):
    mailbox = imap_mailbox(dovecot, org=desk.org_a, imap_done_folder="Processed")
    dovecot.append(*three_messages(make_mail))

    report = imap.fetch_mailbox(mailbox)

    assert report.fetched == 3
    assert Ticket.objects.count() == 3
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 3


def test_polling_in_batches_with_a_limit_leaves_the_rest_for_next_time(
    desk,
    dovecot,
    acme_imap,
    make_mail,
    monkeypatch,
):
    monkeypatch.setattr(imap, "BATCH_SIZE", 2)
    dovecot.append(*[make_mail(subject=f"Issue {n}") for n in range(5)])

    first = imap.fetch_mailbox(acme_imap, limit=3)
    assert (first.fetched, first.remaining) == (3, True)
    assert dovecot.unseen() == 2

    second = imap.fetch_mailbox(acme_imap, limit=3)
    assert (second.fetched, second.remaining) == (2, False)
    assert Ticket.objects.count() == 5


def test_a_reply_by_mail_to_a_ticket_becomes_an_email_comment(
    desk,
    dovecot,
    acme_imap,
    make_mail,
):
    dovecot.append(make_mail(subject="Printer jammed"))
    imap.fetch_mailbox(acme_imap)
    ticket = Ticket.objects.get()
    first = InboundMail.objects.get()

    dovecot.append(
        make_mail(
            subject=f"Re: [{ticket.number}] Printer jammed",
            body="It works again, thanks.",
            headers={"In-Reply-To": first.message_id, "References": first.message_id},
        )
    )
    report = imap.fetch_mailbox(acme_imap)

    assert report.outcomes == {"reply": 1}
    assert Ticket.objects.count() == 1
    comment = Comment.objects.get(ticket=ticket, channel="email")
    assert "It works again" in comment.body


def test_wrong_password_sets_last_error_and_other_mailboxes_are_still_fetched(
    desk,
    dovecot,
    make_mail,
):
    broken = imap_mailbox(dovecot, org=desk.org_a, password="not-the-password")
    working = imap_mailbox(dovecot, org=desk.org_b, address="help@globex.example", user="other")
    dovecot.append(make_mail(subject="For Acme"))
    dovecot.append(
        make_mail(subject="Globex printer", sender="bob@globex.example", to="help@globex.example"),
        user="other",
    )

    result = imap.fetch_all()

    assert [r.mailbox for r in result.reports] == [broken.address, working.address]
    broken.refresh_from_db()
    working.refresh_from_db()
    assert "Login" in broken.last_error or "authentication" in broken.last_error.lower()
    assert "not-the-password" not in broken.last_error
    assert working.last_error == ""
    assert list(Ticket.objects.values_list("subject", "tenant_id")) == [
        ("Globex printer", desk.org_b.pk)
    ]
    assert dovecot.unseen() == 1  # Acme's message waits for a fixed password
    assert result.errors == 1
    assert "help@acme.example" in str(result)


def test_unreachable_server_is_recorded_not_raised(desk, dovecot):
    mailbox = imap_mailbox(dovecot, org=desk.org_a)
    dovecot.stop()

    report = imap.fetch_mailbox(mailbox)

    assert report.fetched == 0
    mailbox.refresh_from_db()
    assert "Connection" in mailbox.last_error or "refused" in mailbox.last_error.lower()


def test_password_from_an_environment_variable(desk, dovecot, make_mail, monkeypatch):
    monkeypatch.setenv("ACME_IMAP_PASSWORD", "secret")
    mailbox = Mailbox.objects.create(
        name="Acme",
        address="help@acme.example",
        organization=desk.org_a,
        source=Mailbox.Source.IMAP,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security=Mailbox.Security.NONE,
        imap_username="helpdesk",
        imap_password_env="ACME_IMAP_PASSWORD",
    )
    dovecot.append(make_mail())

    assert imap.fetch_mailbox(mailbox).fetched == 1


def test_inactive_and_non_imap_mailboxes_are_not_polled(desk, dovecot, make_mail):
    imap_mailbox(dovecot, org=desk.org_a, is_active=False)
    dovecot.append(make_mail())

    result = imap.fetch_all()

    assert result.reports == []
    assert str(result) == "No active IMAP mailboxes."
    assert dovecot.unseen() == 1


@pytest.mark.django_db(transaction=True)  # the task closes its thread's connection, as in a worker
def test_the_celery_task_fetches_and_is_on_the_beat_schedule(desk, dovecot, acme_imap, make_mail):
    from frontline.celery import app
    from frontline.mail.tasks import mail_fetch

    dovecot.append(make_mail(subject="Via the task"))

    outcome = mail_fetch.delay().get()

    assert outcome == {"fetched": 1, "errors": 0, "mailboxes": {"help@acme.example": "ok"}}
    assert Ticket.objects.get().subject == "Via the task"
    entry = app.conf.beat_schedule["mail-fetch"]
    assert entry["task"] == "frontline.mail.tasks.mail_fetch"
    assert "frontline.mail.tasks.mail_fetch" in app.tasks


def test_beat_interval_follows_the_setting():
    from frontline.celery import beat_schedule

    assert beat_schedule(60, mail_fetch_seconds=15)["mail-fetch"]["schedule"] == 15


def test_the_fetch_command_prints_one_line_per_mailbox(desk, dovecot, acme_imap, make_mail):
    from io import StringIO

    from django.core.management import call_command

    dovecot.append(make_mail(), make_mail(subject="Second"))
    out = StringIO()

    call_command("mail", "fetch", stdout=out)

    assert out.getvalue().strip() == "help@acme.example: 2 message(s) (ticket 2)"


def test_a_missing_server_program_skips_with_a_reason_and_fails_under_ci(monkeypatch):
    from frontline.mail.tests import servers

    monkeypatch.setattr(servers, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install dovecot-imapd"):
        servers.require_program("/nonexistent/dovecot-for-test", package="dovecot-imapd")

    monkeypatch.setattr(servers, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        servers.require_program("/nonexistent/dovecot-for-test", package="dovecot-imapd")
