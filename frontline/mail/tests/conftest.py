"""Fixtures for the mail tests: a mailbox per test on the root `desk`, media in a temporary
folder, a small builder of raw RFC 822 messages, the local SMTP sink and `run` (a service and
the mail it enqueued on commit; from smtp_sink.py), and the admin's list actions."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, TypeVar

import pytest
from django.urls import reverse
from django.utils import timezone

from frontline.core.access import Actor
from frontline.mail.models import Mailbox, OrganizationMailDomain
from frontline.mail.tests.smtp_sink import desk_mailbox, run, sink  # noqa: F401  (fixtures)

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _mail_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def pipe_mailbox(org, *, name: str, address: str, **extra: Any) -> Mailbox:
    """An active mailbox fed by the MTA pipe."""
    return Mailbox.objects.create(
        name=name, address=address, organization=org, source=Mailbox.Source.PIPE, **extra
    )


@pytest.fixture
def mailbox(desk) -> Mailbox:
    """help@acme.example: organisation A's mailbox; unknown senders become end users."""
    return pipe_mailbox(
        desk.org_a, name="Acme help desk", address="help@acme.example", default_group=desk.tier1
    )


@pytest.fixture
def mailbox_b(desk) -> Mailbox:
    return pipe_mailbox(desk.org_b, name="Globex help desk", address="help@globex.example")


@pytest.fixture
def shared_mailbox(desk) -> Mailbox:
    """A shared mailbox routed by the sender's mail domain."""
    OrganizationMailDomain.objects.create(organization=desk.org_a, domain="acme.example")
    OrganizationMailDomain.objects.create(organization=desk.org_b, domain="globex.example")
    return Mailbox.objects.create(
        name="Shared desk", address="support@provider.test", source=Mailbox.Source.PIPE
    )


MakeMail = Callable[..., bytes]
T = TypeVar("T")


def stored(value: T | None) -> T:
    """The row an ingest result must have (a test failure, not a type error, if it has none)."""
    assert value is not None
    return value


def part(msg: EmailMessage, index: int) -> EmailMessage:
    """The index-th subpart of a multipart message being built."""
    parts = msg.get_payload()
    assert isinstance(parts, list)
    found = parts[index]
    assert isinstance(found, EmailMessage)
    return found


def build_mail(
    *,
    sender: str = "alice@acme.example",
    to: str = "help@acme.example",
    subject: str = "Printer on floor 2 is jammed",
    body: str = "The printer shows error E-42 and will not print.",
    html: str | None = None,
    message_id: str | None = "auto",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    if message_id == "auto":
        msg["Message-ID"] = make_msgid(idstring=f"t{next(_counter)}", domain="client.example")
    elif message_id:
        msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


@pytest.fixture
def make_mail() -> MakeMail:
    def make(**kwargs: Any) -> bytes:
        return build_mail(**kwargs)

    return make


def ticket_for(desk, *, requester=None, subject: str = "VPN drops every hour"):
    """A ticket opened through the service, as the desk would (agent1 logs it)."""
    from frontline.tickets import services

    requester = requester or desk.user_a
    return services.ticket_create(
        actor=desk.actor(desk.agent1),
        subject=subject,
        description="Opened on the phone.",
        requester_id=requester.pk,
    )


def outbound_for(ticket, *, message_id: str, recipient: str = "alice@acme.example", **fields):
    """A notification we sent about `ticket` (a reply, sent; `fields` change any column)."""
    from frontline.mail.models import OutboundMail

    values = {
        "event": "reply",
        "subject": f"[{ticket.number}] {ticket.subject}",
        "body_text": "An agent replied.",
        "status": OutboundMail.Status.SENT,
        **fields,
    }
    return OutboundMail.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        recipient=recipient,
        message_id=message_id,
        **values,
    )


def imap_mailbox(
    *,
    org,
    port: int,
    name: str = "",
    host: str = "127.0.0.1",
    security: str = Mailbox.Security.NONE,
    address: str = "help@acme.example",
    user: str = "helpdesk",
    password: str = "secret",
    **extra: Any,
) -> Mailbox:
    """An active IMAP mailbox of `org` on host:port, its password stored encrypted."""
    from frontline.mail.credentials import mailbox_password_set

    box = Mailbox.objects.create(
        name=name or f"IMAP {address}",
        address=address,
        organization=org,
        source=Mailbox.Source.IMAP,
        imap_host=host,
        imap_port=port,
        imap_security=security,
        imap_username=user,
        **extra,
    )
    mailbox_password_set(actor=Actor.system(), mailbox=box, password=password)
    box.refresh_from_db()
    return box


@pytest.fixture
def admin_action():
    """Run an action of a mail model's admin list: `admin_action(client, "outboundmail",
    "resend", pk, ...)`, following the redirect back to the list (the messages are on it)."""

    def post(client, model: str, action: str, *pks: int):
        return client.post(
            reverse(f"admin:mail_{model}_changelist"),
            {"action": action, "_selected_action": list(pks)},
            follow=True,
        )

    return post
