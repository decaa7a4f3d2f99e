"""Mail rows for the tests of mail in the desk and portal (views, security, browser).

They are built as ingest stores them (the stored data contract of issue #4): a ticket with
channel "email" or a reply Comment with channel "email", an InboundMail pointing at it with the
nh3-sanitised HTML and the full text, inline images as attachments mapped by content-id, and
the original bytes gzip-compressed in storage. Tests that go through the real intake use
frontline.mail.ingest.ingest_message instead."""

from __future__ import annotations

import gzip
import itertools
from dataclasses import dataclass, field
from email.message import EmailMessage, MIMEPart

import nh3
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from frontline.accounts.models import User
from frontline.mail.models import FailedMail, InboundMail, Mailbox
from frontline.tenants.models import Organization
from frontline.tickets import services
from frontline.tickets.models import Attachment, Comment, Ticket

_ids = itertools.count(1)

# A PNG of one pixel: what an inline logo looks like to the download view.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101006f5b2d9e0000000049454e44ae426082"
)


@dataclass
class InlineImage:
    content_id: str
    filename: str = "logo.png"
    content: bytes = PIXEL_PNG
    content_type: str = "image/png"


@dataclass
class Sent:
    """What a message carried: stored as ingest would store it."""

    subject: str = "Printer on floor 3 jams"
    text: str = "The printer jams on every page."
    html: str = ""
    sender: str = "alice@acme.example"
    sender_name: str = "Alice Acme"
    images: list[InlineImage] = field(default_factory=list)

    def raw(self, message_id: str) -> bytes:
        """An RFC 822 message with these contents (for the download: its bytes come back)."""
        body = self.html or self.text
        kind = "html" if self.html else "plain"
        return (
            f"From: {self.sender_name} <{self.sender}>\r\n"
            f"To: help@frontline.test\r\nSubject: {self.subject}\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: text/{kind}; charset="utf-8"\r\n\r\n{body}\r\n'
        ).encode()


def mailbox_for(org: Organization) -> Mailbox:
    mailbox, _ = Mailbox.objects.get_or_create(
        address=f"help-{org.slug}@frontline.test",
        defaults={"name": f"{org.name} help", "organization": org, "source": "pipe"},
    )
    return mailbox


def _files(sent: Sent) -> list[services.NewFile]:
    return [
        services.NewFile(
            image.filename,
            SimpleUploadedFile(image.filename, image.content, content_type=image.content_type),
            image.content_type,
        )
        for image in sent.images
    ]


def _store(
    sent: Sent, *, ticket: Ticket, comment: Comment | None, attachments: list[Attachment]
) -> InboundMail:
    message_id = f"<ui-{next(_ids)}-{ticket.pk}@mail.example>"
    raw = sent.raw(message_id)
    by_name = {a.filename: a for a in attachments}
    mail = InboundMail(
        mailbox=mailbox_for(ticket.tenant),
        tenant=ticket.tenant,
        message_id=message_id,
        sender=sent.sender,
        sender_name=sent.sender_name,
        subject=sent.subject,
        source=Mailbox.Source.PIPE,
        outcome=InboundMail.Outcome.REPLY if comment else InboundMail.Outcome.TICKET,
        ticket=ticket,
        comment=comment,
        body_text=sent.text,
        # Ingest stores nh3's output (with its default allowlist, which keeps cid: nowhere
        # but in img src); the render sanitises again.
        body_html=nh3.clean(sent.html, url_schemes={"http", "https", "mailto", "cid"})
        if sent.html
        else "",
        inline_images={i.content_id: by_name[i.filename].pk for i in sent.images},
        raw_size=len(raw),
    )
    mail.raw.save(f"{message_id.strip('<>')}.eml.gz", ContentFile(gzip.compress(raw)), save=False)
    mail.save()
    return mail


def mail_ticket(desk, requester: User, sent: Sent | None = None) -> tuple[Ticket, InboundMail]:
    """A ticket opened by a message from `requester`."""
    sent = sent or Sent(sender=requester.email, sender_name=requester.full_name)
    ticket = services.ticket_create(
        actor=desk.actor(desk.agent1),
        subject=sent.subject,
        description=sent.text,
        requester_id=requester.pk,
        channel=Ticket.Channel.EMAIL,
        files=_files(sent),
    )
    attachments = list(Attachment.objects.filter(ticket=ticket))
    return ticket, _store(sent, ticket=ticket, comment=None, attachments=attachments)


def mail_reply(
    desk, ticket: Ticket, author: User, sent: Sent, *, internal_images: bool = False
) -> tuple[Comment, InboundMail]:
    """A reply by mail from `author` (its images made internal with `internal_images`)."""
    comment = services.comment_add(
        actor=desk.actor(author),
        ticket=Ticket.objects.get(pk=ticket.pk),
        body=sent.text,
        files=_files(sent),
        channel=Ticket.Channel.EMAIL,
    )
    attachments = list(Attachment.objects.filter(comment=comment))
    if internal_images:
        Attachment.objects.filter(comment=comment).update(is_internal=True)
    return comment, _store(sent, ticket=ticket, comment=comment, attachments=attachments)


def failed_mail(
    mailbox: Mailbox | None, *, subject: str = "Unreadable", raw: bytes = b"Subject: x\r\n\r\n?"
) -> FailedMail:
    failed = FailedMail(
        mailbox=mailbox,
        source=Mailbox.Source.PIPE,
        message_id=f"<failed-{next(_ids)}@mail.example>",
        sender="someone@acme.example",
        subject=subject,
        reason="Could not parse the MIME structure.",
        raw_size=len(raw),
    )
    failed.raw.save("failed.eml.gz", ContentFile(gzip.compress(raw)), save=False)
    failed.save()
    return failed


def html_part(msg: EmailMessage) -> MIMEPart:
    """The text/html part of a message built with EmailMessage (to add inline images to)."""
    part = msg.get_body(preferencelist=("html",))
    assert part is not None, "the message has no HTML part"
    return part
