"""Every message of the shared real-world corpus (../shared/corpora/mail/, 108 messages) is
ingested without an exception and ends as a ticket, a recorded bounce, a logged rejection, an
ignored report with its reason, or failed mail with its reason - keeping its text and its
attachments. The per-file table and the counts are printed (pytest -s) and are in the
assertion messages.

Expected outcome per file, and why:
- reports (DSN bounces, read receipts, abuse complaints) whose original Message-ID is one of our
  OutboundMail rows (set up here from the returned headers): "bounce", recorded as an internal
  note on that ticket; reports naming none of our messages: "ignored" with the reason;
- no From/Sender/Return-Path at all (lorem-ipsum, attached-pdf.eml): "rejected", no sender;
- enclosed-endless.eml (3,043 parts) and long-header.eml (210 KB header): "failed" (SECURITY 29);
- everything else: a new "ticket" (the sender becomes an end user of the mailbox's organisation).
Each file goes to its own mailbox, so files that share a Message-ID are judged separately.
"""

from __future__ import annotations

import collections
import email
import email.policy
import re
import sys
import time
from email.message import Message
from pathlib import Path

import pytest
from django.conf import settings

from frontline.mail.ingest import ingest_message, raw_read
from frontline.mail.models import Mailbox
from frontline.mail.tests.conftest import outbound_for, ticket_for
from frontline.tickets.models import Attachment, Comment

CORPUS = Path(settings.BASE_DIR).parent / "shared" / "corpora" / "mail"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (CORPUS / "MANIFEST.tsv").exists(),
        reason=f"mail corpus not found at {CORPUS} (shared test data, never copied here)",
    ),
]

NO_SENDER = {"rt/emails/lorem-ipsum", "flanker/attached-pdf.eml"}
TOO_BIG = {"flanker/enclosed-endless.eml": "parts", "flanker/long-header.eml": "header"}
ENCRYPTED_FLAGS = ("crypto",)


def _manifest() -> list[dict[str, str]]:
    lines = (CORPUS / "MANIFEST.tsv").read_text().splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"), strict=False)) for line in lines[1:] if line]


def _original_ids(raw: bytes) -> list[str]:
    """Message-IDs inside the body of a report: the message that bounced (an oracle written
    without our parser)."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    body = raw[min(ends) :] if ends else b""
    found = re.findall(rb"(?im)^message-id:\s*(<[^>\s]+>)", body)
    return [f.decode("ascii", "replace") for f in found]


def _is_report(row: dict[str, str]) -> bool:
    return "dsn/report" in row["flags"] or "/bounce/" in row["path"]


def _body_parts(part: Message) -> list[Message]:
    """Leaf parts, not descending into attached messages (those are kept as .eml files)."""
    if part.get_content_maintype() == "message":
        return []
    if part.is_multipart():
        children = part.get_payload()
        assert isinstance(children, list)
        return [leaf for c in children if isinstance(c, Message) for leaf in _body_parts(c)]
    return [part]


def _words(raw: bytes) -> list[str]:
    """A few long words of the first readable text part, read with the legacy parser (an
    independent decoder, not ours)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in _body_parts(msg):
        if part.get_content_type() not in {"text/plain", "text/html"}:
            continue
        if part.get_filename() or part.get_content_disposition() == "attachment":
            continue
        data = part.get_payload(decode=True) or b""
        text = data.decode(part.get_content_charset() or "latin-1", "replace")
        if part.get_content_type() == "text/html":
            text = re.sub(r"<[^>]*>|&\w+;", " ", text)
        if "-----BEGIN PGP MESSAGE" in text:
            return []
        words = re.findall(r"\b[A-Za-z]{6,}\b", text[:3000])
        if words:
            return list(dict.fromkeys(words))[:6]
    return []


def _expected_attachments(raw: bytes) -> int:
    """Parts that are not the body: named parts, non-text leaves and attached messages (counted
    once, not descended into), by the legacy parser."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    count = 0

    def walk(part: Message, top: bool) -> None:
        nonlocal count
        ctype = part.get_content_type()
        if part.get_content_maintype() == "message":
            count += 1
            return
        if part.is_multipart():
            children = part.get_payload()
            assert isinstance(children, list)
            for child in children:
                if isinstance(child, Message):
                    walk(child, False)
            return
        named = part.get_filename() or part.get_content_disposition() == "attachment"
        # A top-level application/octet-stream (outlook-express.eml) is the body itself.
        binary = not ctype.startswith("text/") and not (top and ctype == "application/octet-stream")
        if named or binary:
            count += 1

    walk(msg, True)
    return count


def test_every_corpus_message_is_ingested_with_its_text_and_attachments(desk, capsys):
    rows = _manifest()
    assert len(rows) >= 100, f"expected the 108-message corpus, found {len(rows)} rows"
    counts: collections.Counter[str] = collections.Counter()
    table: list[str] = []
    problems: list[str] = []
    slowest = 0.0
    for index, row in enumerate(rows):
        path = row["path"]
        raw = (CORPUS / path).read_bytes()
        mailbox = Mailbox.objects.create(
            name=f"corpus {index}",
            address=f"corpus{index}@acme.example",
            organization=desk.org_a,
            source=Mailbox.Source.PIPE,
            default_group=desk.tier1,
        )
        bounce_ticket = None
        if _is_report(row) and _original_ids(raw):
            bounce_ticket = ticket_for(desk, subject=f"Bounce target {index}")
            outbound_for(bounce_ticket, message_id=_original_ids(raw)[0])
        started = time.monotonic()
        result = ingest_message(raw, source="pipe", mailbox=mailbox)
        took = time.monotonic() - started
        slowest = max(slowest, took)
        counts[result.outcome] += 1
        stored = 0
        inbound = result.inbound
        if inbound is not None and inbound.ticket_id and result.outcome in {"ticket", "reply"}:
            stored = Attachment.objects.filter(ticket_id=inbound.ticket_id).count()
        table.append(f"{path}\t{result.outcome}\t{stored} att\t{took:.2f}s\t{result.reason[:80]}")

        def problem(text: str, path: str = path) -> None:
            problems.append(f"{path}: {text}")

        if took > 10:
            problem(f"took {took:.1f}s")
        if path in TOO_BIG:
            if result.outcome != "failed" or TOO_BIG[path] not in result.reason:
                problem(f"expected failed ({TOO_BIG[path]}), got {result.outcome}")
            elif result.failed is None or raw_read(result.failed) != raw:
                problem("failed mail does not keep the original bytes")
            continue
        if path in NO_SENDER:
            if result.outcome != "rejected" or "sender" not in result.reason.lower():
                problem(f"expected rejected for no sender, got {result.outcome}")
            continue
        if _is_report(row):
            if bounce_ticket is not None:
                note = Comment.objects.filter(ticket=bounce_ticket, is_internal=True).first()
                if result.outcome != "bounce" or inbound.ticket_id != bounce_ticket.pk or not note:
                    problem(f"expected a bounce note on {bounce_ticket.number}: {result}")
            elif result.outcome not in {"bounce", "ignored"} or not result.reason:
                problem(f"expected an ignored report with a reason, got {result.outcome}")
            if inbound is None or not inbound.is_auto:
                problem("a report must be marked is_auto")
            continue
        if result.outcome != "ticket":
            problem(f"expected a ticket, got {result.outcome}: {result.reason}")
            continue
        text = (inbound.body_text + " " + inbound.ticket.description).lower()
        missing = [w for w in _words(raw) if w.lower() not in text]
        if missing:
            problem(f"words of the body not stored: {missing}")
        expected = _expected_attachments(raw)
        if stored < expected:
            problem(f"{stored} attachments stored, {expected} in the message")
    summary = f"{len(rows)} messages: {dict(sorted(counts.items()))}; slowest {slowest:.2f}s"
    with capsys.disabled():
        sys.stdout.write("\n" + "\n".join(table) + "\n" + summary + "\n")
    assert not problems, summary + "\n" + "\n".join(problems)
