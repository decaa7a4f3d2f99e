"""A real SMTP server for the outbound tests: aiosmtpd on 127.0.0.1 and a free port, keeping every
message it receives (envelope and bytes). Tests point Django's SMTP backend at it.

The fixtures at the end (`sink`, `run`, `desk_mailbox`) are offered by frontline/mail/tests and
tests/security through their conftest.py."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        message = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    # Replies to give to the next DATA commands instead of "250 OK" (e.g. "451 try later").
    refusals: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refusals:
            return self.refusals.pop(0)
        content = envelope.original_content or envelope.content
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=[str(r) for r in envelope.rcpt_tos],
                raw=bytes(content),
            )
        )
        return "250 OK"


@dataclass
class Sink:
    host: str
    port: int
    handler: SinkHandler

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address.lower() in [a.lower() for a in r.rcpt_tos]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_sink() -> Iterator[Sink]:
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield Sink(host="127.0.0.1", port=port, handler=handler)
    finally:
        controller.stop()


def use_sink(settings: Any, sink: Sink) -> None:
    """Django's real SMTP backend, talking to `sink`."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


# --- fixtures (conftest.py imports them: `from frontline.mail.tests.smtp_sink import ...`) ------


@pytest.fixture
def sink(settings: Any) -> Iterator[Sink]:
    """A running SMTP sink that Django's mail backend sends to; Message-IDs on a known domain."""
    settings.FRONTLINE_MAIL_DOMAIN = "mail.frontline.test"
    settings.DEFAULT_FROM_EMAIL = "Frontline Desk <desk@frontline.test>"
    settings.FRONTLINE_BASE_URL = "https://desk.frontline.test"
    settings.FRONTLINE_MAIL_DAILY_CAP = 40
    with running_sink() as running:
        use_sink(settings, running)
        yield running


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a service and then what it enqueued on commit (the eager send task):
    `run(services.ticket_create, actor=..., subject=...)`."""

    def _run(func: Callable[..., Any], /, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return func(**kwargs)

    return _run


@pytest.fixture
def desk_mailbox(desk: Any) -> Any:
    """Organisation A's mailbox: the identity of A's notifications."""
    from frontline.mail.models import Mailbox

    return Mailbox.objects.create(
        name="Acme help desk",
        address="help@acme.example",
        organization=desk.org_a,
        source=Mailbox.Source.PIPE,
        from_name="Acme IT Service Desk",
        from_address="servicedesk@acme.example",
        reply_to="help@acme.example",
    )
