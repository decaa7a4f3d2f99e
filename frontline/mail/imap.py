"""IMAP polling (imap-tools): fetch each active IMAP mailbox's unseen mail and ingest it.

No lost and no doubled mail:
- messages are read with BODY.PEEK (mark_seen=False), so reading alone acknowledges nothing;
- a message is flagged \\Seen (or moved to `imap_done_folder`) only after `ingest_message`
  returned, i.e. after its outcome was committed;
- if `ingest_message` raises (database or storage down) the message stays unseen and this
  mailbox's run stops: the next poll picks it up again;
- a connection dropped between the commit and the flag leaves a committed message unseen; the
  next poll ingests it again and gets "duplicate" (idempotent by Message-ID), then flags it.
One mailbox's failure (wrong password, server down) is recorded in its `last_error` and does not
stop the others.

TLS (IMAPS, STARTTLS) verifies the server's certificate chain and host name, against the system's
CAs or the mailbox's `imap_ca_file`: Python's imaplib alone would accept any certificate, and with
it anyone on the path could read the IMAP password. `imap_allow_untrusted` is the admin's explicit
way out for a server with a certificate nobody can check (a test box, an appliance).
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from django.utils import timezone
from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage
from imap_tools import MailMessageFlags as Flags
from imap_tools.errors import ImapToolsError

from frontline.mail.credentials import MailCredentialError, mailbox_password
from frontline.mail.ingest import ingest_message
from frontline.mail.models import Mailbox

logger = logging.getLogger(__name__)

BATCH_SIZE = 10
DEFAULT_LIMIT = 200
TIMEOUT_SECONDS = 30.0

# What a broken connection or a refusing server raises (as opposed to a bug in our code).
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    ImapToolsError,
    imaplib.IMAP4.error,
    OSError,  # includes socket.timeout, ConnectionError, ssl.SSLError
    EOFError,
)
_CLOSE_ERRORS: tuple[type[Exception], ...] = (*CONNECTION_ERRORS, AttributeError)
_FETCH_ERRORS: tuple[type[Exception], ...] = (MailCredentialError, *CONNECTION_ERRORS)


class _RawMessage(MailMessage):
    """imap-tools' message, keeping the exact bytes the server sent (ingest stores those)."""

    raw: bytes

    def __init__(self, fetch_data: list[bytes | tuple[bytes, bytes]]) -> None:
        super().__init__(fetch_data)
        raw, _uid, _flags = self._get_message_data_parts(fetch_data)
        self.raw = raw


@dataclass
class FetchReport:
    """One mailbox's poll: how many messages were ingested (by outcome), and the error that
    stopped it, if any. `remaining` is True when unseen mail was left for the next poll."""

    mailbox: str
    fetched: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    error: str = ""
    remaining: bool = False

    @property
    def ok(self) -> bool:
        return not self.error

    def __str__(self) -> str:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(self.outcomes.items()))
        text = f"{self.mailbox}: {self.fetched} message(s)" + (f" ({counts})" if counts else "")
        if self.remaining:
            text += "; more left for the next poll"
        if self.error:
            text += f"; error: {self.error}"
        return text


@dataclass
class FetchAllReport:
    reports: list[FetchReport] = field(default_factory=list)

    @property
    def fetched(self) -> int:
        return sum(r.fetched for r in self.reports)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.reports if r.error)

    def __str__(self) -> str:
        if not self.reports:
            return "No active IMAP mailboxes."
        return "\n".join(str(r) for r in self.reports)


def tls_context(mailbox: Mailbox) -> ssl.SSLContext:
    """How `mailbox` checks its IMAP server's certificate: the system's CAs (or `imap_ca_file`)
    and the host name, unless the admin allowed an untrusted certificate. MailCredentialError
    when the CA file cannot be read."""
    if mailbox.imap_allow_untrusted:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    ca_file = mailbox.imap_ca_file.strip()
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:  # missing, unreadable, or not PEM certificates
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise MailCredentialError(
            f"Mailbox {mailbox.address}: the IMAP CA file {ca_file} cannot be used ({detail})."
        ) from exc


def _client(mailbox: Mailbox) -> BaseMailBox:
    host, port = mailbox.imap_host, mailbox.imap_port
    if not host:
        raise MailCredentialError(f"Mailbox {mailbox.address} has no IMAP host.")
    box: BaseMailBox
    if mailbox.imap_security == Mailbox.Security.SSL:
        box = MailBox(host, port=port, timeout=TIMEOUT_SECONDS, ssl_context=tls_context(mailbox))
    elif mailbox.imap_security == Mailbox.Security.STARTTLS:
        box = MailBoxStartTls(
            host, port=port, timeout=TIMEOUT_SECONDS, ssl_context=tls_context(mailbox)
        )
    else:
        box = MailBoxUnencrypted(host, port=port, timeout=TIMEOUT_SECONDS)
    box.email_message_class = _RawMessage
    return box


@contextmanager
def _session(mailbox: Mailbox) -> Iterator[BaseMailBox]:
    """Connected and logged in, with the mailbox's folder selected; logs out (or just closes
    the socket if the connection is already gone) afterwards."""
    password = mailbox_password(mailbox)
    box = _client(mailbox)
    try:
        box.login(mailbox.imap_username or mailbox.address, password, initial_folder=None)
        box.folder.set(mailbox.imap_folder or "INBOX")
        yield box
    finally:
        try:
            box.logout()
        except _CLOSE_ERRORS:
            with suppress(*_CLOSE_ERRORS):
                box.client.shutdown()


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, MailCredentialError):
        return exc.message
    if isinstance(exc, socket.timeout | TimeoutError):
        return "IMAP server did not answer in time."
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"The IMAP server's certificate is not trusted: {exc.verify_message or exc}. Set the "
            "mailbox's CA file to the certificate of the CA that issued it (or the server's own), "
            "or, on a network you control, allow an untrusted certificate."
        )[:1000]
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"[:1000]


def _record(mailbox: Mailbox, *, error: str) -> None:
    mailbox.last_fetch_at = timezone.now()
    mailbox.last_error = error
    try:
        Mailbox.objects.filter(pk=mailbox.pk).update(
            last_fetch_at=mailbox.last_fetch_at, last_error=error
        )
    except Exception:  # the database may be what failed; the log still has it
        logger.exception("could not record the fetch result", extra={"mailbox": mailbox.address})


def mailbox_test_connection(mailbox: Mailbox) -> str:
    """Log in and count the unseen messages waiting: a message for the admin. Raises
    MailCredentialError or the connection's error."""
    with _session(mailbox) as box:
        unseen = len(box.uids(AND(seen=False)))
    return f"{mailbox.address}: connected; {unseen} unseen message(s) in {mailbox.imap_folder}."


def fetch_mailbox(mailbox: Mailbox, *, limit: int = DEFAULT_LIMIT) -> FetchReport:
    """Ingest up to `limit` unseen messages of one IMAP mailbox, in batches of BATCH_SIZE, and
    acknowledge each one only after its outcome was committed. Never raises: the error (if any)
    is in the report and in `mailbox.last_error`."""
    report = FetchReport(mailbox=mailbox.address)
    unseen = 0  # unknown until the folder was searched
    try:
        with _session(mailbox) as box:
            done_folder = mailbox.imap_done_folder
            if done_folder and not box.folder.exists(done_folder):
                box.folder.create(done_folder)
            uids = list(box.uids(AND(seen=False)))
            unseen = len(uids)
            report.remaining = unseen > limit
            uids = uids[:limit]
            for start in range(0, len(uids), BATCH_SIZE):
                batch = uids[start : start + BATCH_SIZE]
                messages = list(
                    box.fetch(
                        uid_list=batch,
                        mark_seen=False,
                        bulk=len(batch) if len(batch) >= 2 else False,
                    )
                )
                for message in messages:
                    raw = message.raw if isinstance(message, _RawMessage) else b""
                    if not raw or not message.uid:
                        continue
                    try:
                        result = ingest_message(raw, source="imap", mailbox=mailbox)
                    except Exception as exc:
                        # Not committed: leave it unseen and stop; the next poll retries it.
                        logger.exception(
                            "ingest failed; message left on the IMAP server",
                            extra={"mailbox": mailbox.address, "uid": message.uid},
                        )
                        report.error = f"Message not stored, will retry: {_error_text(exc)}"
                        report.remaining = True
                        _record(mailbox, error=report.error)
                        return report
                    report.fetched += 1
                    report.outcomes[result.outcome] += 1
                    box.flag(message.uid, Flags.SEEN, True)
                    if done_folder:
                        box.move(message.uid, done_folder)
    except _FETCH_ERRORS as exc:
        logger.warning(
            "IMAP fetch failed", extra={"mailbox": mailbox.address, "error": _error_text(exc)}
        )
        report.error = _error_text(exc)
        report.remaining = report.fetched < unseen
    _record(mailbox, error=report.error)
    return report


def fetch_all(*, limit: int = DEFAULT_LIMIT) -> FetchAllReport:
    """Poll every active IMAP mailbox once; a failing mailbox does not stop the others."""
    result = FetchAllReport()
    mailboxes = Mailbox.objects.filter(is_active=True, source=Mailbox.Source.IMAP).order_by("pk")
    for mailbox in mailboxes:
        try:
            report = fetch_mailbox(mailbox, limit=limit)
        except Exception as exc:  # a bug or a database outage: log it, go on with the next
            logger.exception("IMAP fetch crashed", extra={"mailbox": mailbox.address})
            report = FetchReport(mailbox=mailbox.address, error=_error_text(exc))
            _record(mailbox, error=report.error)
        result.reports.append(report)
    return result
