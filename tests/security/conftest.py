"""Helpers for the security suites: attackers' clients, tickets to attack, and snapshots that
prove a refused request changed nothing; for the mail suites, the local SMTP server (`sink`) and
`run` (a service, then the mail it enqueued on commit)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import Client

from frontline.accounts.models import ApiToken, User
from frontline.core.models import AuditEvent
from frontline.mail.tests.smtp_sink import run, sink  # noqa: F401  (fixtures for the mail suites)
from frontline.tickets import services
from frontline.tickets.models import Attachment, Comment, Escalation, StatusLink, Ticket
from tests.api.conftest import API, ApiClient, api_as  # noqa: F401  (re-exported fixture)

__all__ = ["API", "ApiClient", "signed_in", "snapshot", "ticket_of", "upload"]

# Every table a refused write could touch.
COUNTED: dict[str, type[models.Model]] = {
    "tickets": Ticket,
    "comments": Comment,
    "attachments": Attachment,
    "events": AuditEvent,
    "escalations": Escalation,
    "users": User,
    "status_links": StatusLink,
    "tokens": ApiToken,
}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def snapshot(*rows: models.Model) -> dict[str, Any]:
    """Row counts of every table a ticket or user write touches, plus every column of `rows`
    (and a ticket's watchers): compare before and after a refused request."""
    state: dict[str, Any] = {
        name: model._default_manager.count() for name, model in COUNTED.items()
    }
    for row in rows:
        model = type(row)
        values = dict(model._default_manager.filter(pk=row.pk).values().get())
        if isinstance(row, Ticket):
            values["watchers"] = sorted(row.watchers.values_list("pk", flat=True))
        if isinstance(row, User):
            values["groups"] = sorted(row.groups.values_list("pk", flat=True))
            values["support_groups"] = sorted(row.support_groups.values_list("pk", flat=True))
            values["served"] = sorted(row.served_organizations.values_list("pk", flat=True))
        state[f"{model.__name__}#{row.pk}"] = values
    return state


def signed_in(user: User, *, csrf: bool = False) -> Client:
    """A browser session of `user` (Django's test client; `csrf=True` enforces CSRF checks)."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def ticket_of(desk: Any, requester: User, **fields: Any) -> Ticket:
    """A ticket of `requester`'s organisation, logged by agent1 (who serves everyone)."""
    fields.setdefault("subject", "Printer jams on floor 3")
    return services.ticket_create(
        actor=desk.actor(desk.agent1), requester_id=requester.pk, **fields
    )


def upload(name: str, content: bytes = b"data", content_type: str = "text/plain") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type)


def attach(
    desk: Any,
    ticket: Ticket,
    name: str = "report.txt",
    *,
    internal: bool = False,
    by: User | None = None,
    content: bytes = b"data",
    content_type: str = "text/plain",
) -> Attachment:
    """An attachment on `ticket`, on a public reply or (internal=True) an internal note."""
    comment = services.comment_add(
        actor=desk.actor(by or desk.agent1),
        ticket=ticket,
        body="See the attached file.",
        is_internal=internal,
        files=[services.NewFile(name=name, content=upload(name, content, content_type))],
    )
    return Attachment.objects.get(comment=comment)


class ActiveContent(HTMLParser):
    """Collects what a browser would run or follow in a page: script elements, event handler
    attributes, and javascript:/vbscript:/data: URLs, plus elements that rewrite the page's
    behaviour (base, meta refresh, iframe, object, embed, form posting elsewhere)."""

    URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"})
    DANGEROUS_TAGS = frozenset({"iframe", "object", "embed", "base", "frame", "frameset", "svg"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "script":
            src = values.get("src", "")
            # Only our own static files (and Django's json_script data blocks) may be scripts.
            is_data = values.get("type") == "application/json"
            if not (src.startswith("/static/") or is_data):
                self.found.append(f"<script {attrs}>")
            self._in_script = not is_data
        if tag in self.DANGEROUS_TAGS:
            self.found.append(f"<{tag}>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.found.append("<meta refresh>")
        if tag == "form" and "://" in values.get("action", ""):
            self.found.append(f"<form action={values['action']}>")
        for name, value in values.items():
            if name.startswith("on"):
                self.found.append(f"{tag} {name}=")
            if name == "style" and ("expression" in value.lower() or "url(" in value.lower()):
                self.found.append(f"{tag} style={value}")
            if name in self.URL_ATTRS:
                scheme = "".join(value.split()).lower()
                if scheme.startswith(("javascript:", "vbscript:", "data:")):
                    self.found.append(f"{tag} {name}={value}")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline script: {data[:60]!r}")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found
