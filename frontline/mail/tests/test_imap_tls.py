"""IMAP over TLS against a real Dovecot with ssl = required and a throwaway self-signed
certificate for "localhost" (made per test run, see servers.py): a mailbox that trusts the
certificate fetches over IMAPS and STARTTLS; an untrusted certificate, a certificate for another
name, or another certificate than the one trusted is refused, before the password is sent,
unless the mailbox explicitly allows an untrusted certificate."""

from __future__ import annotations

import time

import pytest

from frontline.mail import imap
from frontline.mail.models import Mailbox
from frontline.mail.tests.conftest import imap_mailbox
from frontline.mail.tests.servers import dovecot_server, self_signed_certificate
from frontline.tickets.models import Ticket

pytestmark = pytest.mark.django_db

SSL = Mailbox.Security.SSL
STARTTLS = Mailbox.Security.STARTTLS


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """The server's certificate, and another one nobody uses (a wrong CA file)."""
    folder = tmp_path_factory.mktemp("tls")
    return self_signed_certificate(folder / "server"), self_signed_certificate(folder / "other")


@pytest.fixture
def server_cert(certificates):
    return certificates[0]


@pytest.fixture
def dovecot_tls(server_cert):
    with dovecot_server(tls=server_cert) as server:
        yield server


def tls_mailbox(desk, server, *, security=SSL, host="localhost", **extra) -> Mailbox:
    port = server.imaps_port if security == SSL else server.port
    return imap_mailbox(
        org=desk.org_a, host=host, port=port, security=security, default_group=desk.tier1, **extra
    )


def fetch_refused(mailbox: Mailbox, dovecot_tls, what: str) -> None:
    """The fetch stops at the handshake: nothing taken, the reason in the mailbox, and the
    server never saw a login (the password did not leave)."""
    log = dovecot_tls.root / "dovecot.log"
    seen = log.stat().st_size

    report = imap.fetch_mailbox(mailbox)

    during = ""
    deadline = time.monotonic() + 10  # Dovecot's log process writes a moment later
    while "SSL_accept() failed" not in during and time.monotonic() < deadline:
        time.sleep(0.05)
        with log.open("rb") as handle:
            handle.seek(seen)
            during = handle.read().decode(errors="replace")
    assert "SSL_accept() failed" in during
    assert "Login:" not in during
    assert report.fetched == 0
    assert "certificate is not trusted" in report.error
    assert what in report.error
    assert "CA file" in report.error  # says what to do about it
    mailbox.refresh_from_db()
    assert mailbox.last_error == report.error
    assert not Ticket.objects.exists()
    assert dovecot_tls.unseen() == 1


@pytest.mark.parametrize("security", [SSL, STARTTLS])
def test_a_mailbox_that_trusts_the_servers_certificate_fetches_over_tls(
    desk, dovecot_tls, server_cert, make_mail, security
):
    mailbox = tls_mailbox(desk, dovecot_tls, security=security, imap_ca_file=str(server_cert.cert))
    dovecot_tls.append(make_mail(subject="Sent over TLS"))

    report = imap.fetch_mailbox(mailbox)

    assert report.error == ""
    assert report.outcomes == {"ticket": 1}
    assert Ticket.objects.get().subject == "Sent over TLS"
    assert dovecot_tls.unseen() == 0
    assert "TLS" in dovecot_tls.log()  # Dovecot logged the login as a TLS session
    assert imap.mailbox_test_connection(mailbox).startswith("help@acme.example: connected;")


@pytest.mark.parametrize("security", [SSL, STARTTLS])
def test_a_self_signed_certificate_is_refused_by_default(desk, dovecot_tls, make_mail, security):
    mailbox = tls_mailbox(desk, dovecot_tls, security=security)
    dovecot_tls.append(make_mail())

    fetch_refused(mailbox, dovecot_tls, "self-signed certificate")


def test_a_certificate_for_another_name_is_refused(desk, dovecot_tls, server_cert, make_mail):
    # Trusted, but issued for "localhost", not for the address the mailbox connects to.
    mailbox = tls_mailbox(desk, dovecot_tls, host="127.0.0.1", imap_ca_file=str(server_cert.cert))
    dovecot_tls.append(make_mail())

    fetch_refused(mailbox, dovecot_tls, "not valid for '127.0.0.1'")


def test_a_certificate_other_than_the_trusted_one_is_refused(
    desk, dovecot_tls, certificates, make_mail
):
    other = certificates[1]
    mailbox = tls_mailbox(desk, dovecot_tls, imap_ca_file=str(other.cert))
    dovecot_tls.append(make_mail())

    fetch_refused(mailbox, dovecot_tls, "self-signed certificate")


@pytest.mark.parametrize("security", [SSL, STARTTLS])
def test_an_untrusted_certificate_is_accepted_only_when_the_mailbox_allows_it(
    desk, dovecot_tls, make_mail, security
):
    mailbox = tls_mailbox(
        desk, dovecot_tls, security=security, host="127.0.0.1", imap_allow_untrusted=True
    )
    dovecot_tls.append(make_mail(subject="Self-signed but allowed"))

    report = imap.fetch_mailbox(mailbox)

    assert report.error == ""
    assert Ticket.objects.get().subject == "Self-signed but allowed"


def test_a_missing_ca_file_is_named_in_the_error(desk, dovecot_tls, make_mail, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    mailbox = tls_mailbox(desk, dovecot_tls, imap_ca_file=str(missing))
    dovecot_tls.append(make_mail())

    report = imap.fetch_mailbox(mailbox)

    assert report.error == (
        f"Mailbox help@acme.example: the IMAP CA file {missing} cannot be used "
        "(No such file or directory)."
    )
    assert dovecot_tls.unseen() == 1


def test_the_admin_form_offers_the_ca_file_and_the_explicit_opt_out(client, desk):
    from django.urls import reverse

    client.force_login(desk.admin)
    page = client.get(reverse("admin:mail_mailbox_add")).content.decode()

    assert 'name="imap_ca_file"' in page
    assert 'name="imap_allow_untrusted"' in page
    assert 'name="imap_allow_untrusted" checked' not in page  # verification is the default
    assert Mailbox().imap_allow_untrusted is False
