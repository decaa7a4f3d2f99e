"""Helpers for the API suites: a JSON client per person (Bearer token) and tickets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from frontline.accounts.services import token_create
from frontline.core.access import Actor
from frontline.core.models import AuditEvent
from frontline.tickets import services
from frontline.tickets.models import Comment, Escalation, Ticket

API = "/api/v1"


class ApiClient:
    """Django's test client speaking JSON to /api/v1 with a Bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _url(self, path: str) -> str:
        return path if path.startswith("/") and path.startswith(API) else f"{API}{path}"

    def get(self, path: str, params: dict[str, Any] | None = None):
        return self.client.get(self._url(path), params or {}, headers=self.headers)

    def post(self, path: str, data: Any = None):
        body = "" if data is None else json.dumps(data)
        return self.client.post(
            self._url(path), body, content_type="application/json", headers=self.headers
        )

    def patch(self, path: str, data: Any):
        return self.client.patch(
            self._url(path), json.dumps(data), content_type="application/json", headers=self.headers
        )

    def raw(self, method: str, path: str, body: bytes | str, content_type: str):
        return self.client.generic(
            method, self._url(path), body, content_type=content_type, headers=self.headers
        )

    def upload(self, path: str, files: dict[str, Any]):
        return self.client.post(self._url(path), files, headers=self.headers)


@pytest.fixture
def api_as(desk):
    """api_as(user) -> ApiClient authenticated with a fresh token of `user`."""
    cache: dict[int, ApiClient] = {}

    def make(user) -> ApiClient:
        if user.pk not in cache:
            _, raw = token_create(actor=Actor.system(), user=user, name="tests")
            cache[user.pk] = ApiClient(raw)
        return cache[user.pk]

    return make


def open_ticket(desk, requester=None, *, agent=None, **fields) -> Ticket:
    """A ticket opened through the service, as an agent who serves everyone by default."""
    actor = desk.actor(agent or desk.agent1)
    fields.setdefault("subject", "Printer jams on floor 3")
    requester = requester or desk.user_a
    return services.ticket_create(actor=actor, requester_id=requester.pk, **fields)


def resolved_ticket(desk, requester=None) -> Ticket:
    ticket = open_ticket(desk, requester)
    return services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        resolution_code=Ticket.ResolutionCode.SOLVED_REMOTELY,
        resolution_notes="Cleared the paper path.",
    )


def db_state() -> dict[str, int]:
    """Counts that must not move when a request is refused."""
    return {
        "tickets": Ticket.objects.count(),
        "comments": Comment.objects.count(),
        "events": AuditEvent.objects.count(),
        "escalations": Escalation.objects.count(),
    }


def assert_error(response, status: int, *fields: str) -> dict[str, Any]:
    """The one error shape, with messages for `fields`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["errors"], dict)
    for name in fields:
        assert body["errors"].get(name), body
    return body
