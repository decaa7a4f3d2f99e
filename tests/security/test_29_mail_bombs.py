"""SECURITY.md 29: mail bombs (thousands of nested parts, a 200 KB header) cost bounded time and
memory, are kept in the failed-mail list with the reason, and the next message still goes in."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from frontline.mail.ingest import ingest_message, raw_read
from frontline.mail.models import FailedMail
from frontline.mail.tests import conftest as mail_fixtures

pytestmark = pytest.mark.django_db

# The mail app's fixtures (a mailbox per test on the root `desk`, a raw-message builder).
mailbox = mail_fixtures.mailbox
make_mail = mail_fixtures.make_mail


def _nested_bomb(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nboom\r\n"
    for level in range(depth):
        b = f"n{level}".encode()
        body = (
            b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n--' + b + b"\r\n"
            + body + b"\r\n--" + b + b"--\r\n"
        )  # fmt: skip
    return b"From: alice@acme.example\r\nSubject: nested\r\nMessage-ID: <nest@x>\r\n" + body


def _wide_bomb(parts: int) -> bytes:
    one = b"--w\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return (
        b"From: alice@acme.example\r\nSubject: wide\r\nMessage-ID: <wide@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="w"\r\n\r\n' + one * parts + b"--w--\r\n"
    )


def _header_bomb() -> bytes:
    folded = "\r\n ".join(["x" * 70] * 3000)  # ~220 KB in one folded header
    return (
        f"From: alice@acme.example\r\nSubject: big\r\nMessage-ID: <hdr@x>\r\nX-Big: {folded}\r\n"
        "\r\nbody\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("bomb", "why"),
    [
        (lambda: _nested_bomb(3000), "parts"),
        (lambda: _nested_bomb(900), "nested"),
        (lambda: _wide_bomb(5000), "parts"),
        (_header_bomb, "header"),
    ],
    ids=["3000-nested-parts", "900-nested-parts", "5000-parts", "220KB-header"],
)
def test_a_mail_bomb_is_kept_as_failed_quickly_and_the_next_message_goes_in(
    desk, mailbox, make_mail, bomb, why
):
    raw = bomb()
    tracemalloc.start()
    started = time.monotonic()
    result = ingest_message(raw, source="imap", mailbox=mailbox)
    took = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.outcome == "failed"
    assert why in result.reason
    assert took < 5, f"took {took:.1f}s"
    assert peak < 50 * len(raw) + 20_000_000, f"peak {peak:,} bytes for {len(raw):,}"
    failed = FailedMail.objects.get()
    assert raw_read(failed) == raw
    assert ingest_message(make_mail(), source="imap", mailbox=mailbox).outcome == "ticket"
