"""SECURITY.md 17: SQL metacharacters in every filter, sort and search parameter: only the ORM;
sort fields allowlisted.

Every parameter of the desk queue, the requester search, the portal list and the API lists (and
the ticket reference in every URL) gets quotes, comments, LIKE wildcards, backslashes, NUL bytes,
huge and non-ASCII numbers: never a 500, a sort outside the allowlist is refused (400 on the
desk, 422 in the API), wildcards match only themselves, and the tables are intact afterwards.

SQLite tolerates a NUL byte in a query parameter where PostgreSQL refuses it (a 500 there), so
the tests also check that no NUL byte ever reaches the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from frontline.tickets.models import Ticket

from .conftest import signed_in, snapshot, ticket_of

NASTY = [
    "' OR 1=1 --",
    '"; DROP TABLE tickets_ticket; --',
    "1 UNION SELECT password FROM accounts_user --",
    "%",
    "_",
    "\\%",
    "\x00",
    "INC-\x00",
    "a\x00b",
    "99999999999999999999",
    "\u00b2",  # superscript two: str.isdigit() is True, int() refuses it
    "\u0661",  # Arabic-Indic one: str.isdigit() and int() both accept it
    "[1]",
]

# Which values to try where: free text gets everything; numbers get what int() might accept
# (or nearly); allowlisted choices get a few (they never reach the database unless valid).
NUMERIC = ["99999999999999999999", "-99999999999999999999", "\u00b2", "\x00"]
CHOICE = ["' OR 1=1 --", "open\x00"]
QUEUE_PARAMS: dict[str, list[str]] = {
    "q": NASTY,
    **dict.fromkeys(("priority", "organization", "group", "assignee", "requester"), NUMERIC),
    **dict.fromkeys(("category", "page"), NUMERIC),
    **dict.fromkeys(("status", "type", "channel", "sort", "queue"), CHOICE),
}
PORTAL_PARAMS: dict[str, list[str]] = {
    "q": NASTY,
    "page": NUMERIC,
    "status": CHOICE,
    "scope": CHOICE,
}
API_PARAMS: dict[str, list[str]] = {
    **{p: v for p, v in QUEUE_PARAMS.items() if p != "page"},
    "limit": NUMERIC,
    "cursor": NASTY,
}
SORT_ATTEMPTS = [
    "tenant_id",
    "-tenant__name",
    "requester__password",
    "subject; DROP TABLE tickets_ticket",
    "?",
    "id",
    "created_at",
    "RANDOM()",
    "(SELECT 1)",
]


@pytest.fixture
def tickets(desk) -> list[Ticket]:
    return [
        ticket_of(desk, desk.user_a, subject="CPU at 100% all day"),
        ticket_of(desk, desk.user_a, subject="Cannot open file_name.docx"),
        ticket_of(desk, desk.user_a, subject="Mapped drive C:\\temp missing"),
        ticket_of(desk, desk.user_a, subject="Printer jams"),
        ticket_of(desk, desk.user_b, subject="Globex 50% packet loss"),
    ]


def _no_server_error(response, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code}"


class NulGuard:
    """Records every query parameter holding a NUL byte, as the database driver receives it
    (captured SQL text is no use: SQLite's quote() cuts a string at its NUL)."""

    def __init__(self) -> None:
        self.offending: list[tuple[str, object]] = []
        self._wrapper = connection.execute_wrapper(self)

    def __call__(self, execute, sql, params, many, context):
        rows = params if many else [params]
        for row in rows or []:
            values = row.values() if isinstance(row, dict) else (row or [])
            for value in values:
                # A NUL in text, or escaped inside JSON (which jsonb refuses just the same).
                if isinstance(value, str) and ("\x00" in value or "\\u0000" in value):
                    self.offending.append((sql, value))
        return execute(sql, params, many, context)

    def __enter__(self) -> NulGuard:
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._wrapper.__exit__(*exc)


def _no_nul_reached_the_database(guard: NulGuard) -> None:
    assert not guard.offending, guard.offending[:3]


def _tables_intact(before: dict[str, object]) -> None:
    tables = connection.introspection.table_names()
    for table in ("tickets_ticket", "tickets_comment", "accounts_user", "core_auditevent"):
        assert table in tables
    assert snapshot() == before


def test_desk_queue_parameters(desk, tickets):
    agent = signed_in(desk.agent_a)
    agent.raise_request_exception = False
    before = snapshot()
    fragment = {"HX-Request": "true"}  # the same parsing as the full page, cheaper to render
    with NulGuard() as queries:
        for name, values in QUEUE_PARAMS.items():
            for value in values:
                response = agent.get(reverse("tickets:queue"), {name: value}, headers=fragment)
                _no_server_error(response, f"queue {name}={value!r}")
        for value in NASTY[:2]:  # and the full page
            response = agent.get(reverse("tickets:queue"), {"q": value})
            _no_server_error(response, f"queue page q={value!r}")
    _no_nul_reached_the_database(queries)
    _tables_intact(before)


def test_requester_search_parameters(desk, tickets):
    agent = signed_in(desk.agent_a)
    agent.raise_request_exception = False
    with NulGuard() as queries:
        for name in ("q", "organization"):
            for value in NASTY:
                response = agent.get(reverse("tickets:requester-search"), {name: value})
                _no_server_error(response, f"requesters {name}={value!r}")
                assert "Bob Globex" not in response.content.decode()
    _no_nul_reached_the_database(queries)


def test_portal_list_parameters(desk, tickets):
    before = snapshot()
    user = signed_in(desk.contact_a)
    user.raise_request_exception = False
    with NulGuard() as queries:
        for name, values in PORTAL_PARAMS.items():
            for value in values:
                params = {"scope": "org", "status": "all", name: value}
                response = user.get(reverse("portal:ticket-list"), params)
                _no_server_error(response, f"portal {name}={value!r}")
                assert "Globex" not in response.content.decode()
    _no_nul_reached_the_database(queries)
    _tables_intact(before)


def test_api_list_parameters(desk, tickets, api_as):
    client = api_as(desk.agent_a)
    client.client.raise_request_exception = False
    before = snapshot()
    with NulGuard() as queries:
        for name, values in API_PARAMS.items():
            for value in values:
                response = client.get("/tickets", {name: value})
                _no_server_error(response, f"api {name}={value!r}")
                if response.status_code == 200:
                    subjects = [t["subject"] for t in response.json()["items"]]
                    assert not any("Globex" in s for s in subjects)
        for path in ("/users", "/organizations", "/groups"):
            for value in NASTY:
                response = client.get(path, {"cursor": value, "limit": value})
                _no_server_error(response, f"{path} {value!r}")
    _no_nul_reached_the_database(queries)
    _tables_intact(before)


def test_ticket_reference_in_every_url(desk, tickets, api_as):
    agent, user = signed_in(desk.agent1), signed_in(desk.user_a)
    agent.raise_request_exception = user.raise_request_exception = False
    client = api_as(desk.agent1)
    client.client.raise_request_exception = False
    before = snapshot()
    with NulGuard() as queries:
        for value in NASTY:
            if value.strip().isascii() and value.strip().isdigit():
                continue  # " 1 " is ticket 1
            for url in (
                reverse("tickets:ticket-detail", args=[value]),
                reverse("portal:ticket-detail", args=[value]),
                f"/api/v1/tickets/{value}",
                f"/api/v1/users/{value}",
                f"/api/v1/organizations/{value}",
            ):
                who = user if url.startswith("/portal") else agent
                response = client.get(url) if url.startswith("/api") else who.get(url)
                _no_server_error(response, url)
                assert response.status_code in {404, 422}, (url, response.status_code)
            response = agent.post(
                reverse("tickets:comment-add", args=[value]),
                {"visibility": "public", "body": "x", "version": 1},
            )
            assert response.status_code == 404
    _no_nul_reached_the_database(queries)
    _tables_intact(before)


def test_sort_outside_the_allowlist_is_refused(desk, tickets, api_as):
    agent = signed_in(desk.agent1)
    client = api_as(desk.agent1)
    fragment = {"HX-Request": "true"}
    for sort in SORT_ATTEMPTS:
        response = agent.get(reverse("tickets:queue"), {"sort": sort}, headers=fragment)
        assert response.status_code == 400, sort
        response = client.get("/tickets", {"sort": sort})
        assert response.status_code == 422, sort
        assert "sort" in response.json()["errors"]
    # The allowlisted sorts work.
    for sort in ("priority", "-updated"):
        assert agent.get(reverse("tickets:queue"), {"sort": sort}).status_code == 200
        assert client.get("/tickets", {"sort": sort}).status_code == 200


def test_wildcards_and_quotes_match_only_themselves(desk, tickets, api_as):
    agent = signed_in(desk.agent_a)
    client = api_as(desk.agent_a)
    expected = {
        "%": {tickets[0].pk},
        "100%": {tickets[0].pk},
        "_": {tickets[1].pk},
        "\\": {tickets[2].pk},
        "C:\\temp": {tickets[2].pk},
        "' OR 1=1 --": set(),
        "' OR '1'='1": set(),
    }
    contact = signed_in(desk.contact_a)
    for q, ids in expected.items():
        found = {t["id"] for t in client.get("/tickets", {"q": q}).json()["items"]}
        assert found == ids, q
        html = agent.get(
            reverse("tickets:queue"), {"q": q}, headers={"HX-Request": "true"}
        ).content.decode()
        assert f"<strong>{len(ids)}</strong> ticket" in html, q
        portal = contact.get(
            reverse("portal:ticket-list"), {"q": q, "scope": "org", "status": "all"}
        )
        numbers = {t.number for t in tickets if t.number in portal.content.decode()}
        assert numbers == {t.number for t in tickets if t.pk in ids}, q


def test_nul_in_api_text_never_reaches_the_database(desk, tickets, api_as):
    """Free text with a NUL byte (which PostgreSQL refuses) is cleaned or refused, not a 500."""
    client, admin = api_as(desk.agent1), api_as(desk.admin)
    client.client.raise_request_exception = admin.client.raise_request_exception = False
    ticket = tickets[3]
    with NulGuard() as queries:
        calls = [
            client.post("/tickets", {"subject": "a\x00b", "requester_id": desk.user_a.pk}),
            client.patch(f"/tickets/{ticket.number}", {"location": "x\x00", "version": 1}),
            client.post(f"/tickets/{ticket.number}/comments", {"body": "c\x00d"}),
            client.post(
                f"/tickets/{ticket.number}/transition",
                {"status": "pending_vendor", "reason": "r\x00"},
            ),
            client.patch("/users/me", {"full_name": "Tess\x00", "phone": "0\x001"}),
            client.patch("/users/me", {"time_zone": "UTC\x00"}),
            admin.post(
                "/users",
                {
                    "organization_id": desk.org_a.pk,
                    "email": "nul@acme.example",
                    "full_name": "N\x00ul",
                    "phone": "1\x00",
                },
            ),
            admin.patch(f"/users/{desk.user_a.pk}", {"full_name": "Alice\x00"}),
        ]
    for response in calls:
        _no_server_error(response, response.request["PATH_INFO"])
    _no_nul_reached_the_database(queries)
    # Cleaned rather than refused, where the text is otherwise fine.
    assert [r.status_code for r in calls] == [201, 200, 201, 200, 200, 422, 201, 200]
    assert Ticket.objects.filter(subject="ab").exists()
