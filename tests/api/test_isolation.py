"""Tenant isolation: another organisation's objects do not exist for you (SECURITY 1-4).

As an end user of A and as an agent who serves only A, every ticket endpoint asked about a
ticket of B answers 404 exactly like a missing ticket, and nothing is written."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from frontline.tickets.models import Ticket

from .conftest import db_state, open_ticket, resolved_ticket

pytestmark = pytest.mark.django_db

TICKET_CALLS = [
    ("get", "", None),
    ("patch", "", {"subject": "Mine now", "version": 1}),
    ("get", "/comments", None),
    ("post", "/comments", {"body": "hello"}),
    ("get", "/attachments", None),
    ("upload", "/attachments", None),
    ("post", "/assign", {"group_id": 1}),
    ("post", "/escalate", {"symptoms": "s", "steps_tried": ["t"]}),
    ("post", "/transition", {"status": "in_progress"}),
    ("post", "/resolve", {"resolution_code": "workaround", "resolution_notes": "n"}),
    ("post", "/close", {}),
    ("post", "/reopen", {"reason": "again"}),
    ("post", "/confirm", {}),
    ("get", "/timeline", None),
    ("get", "/escalations", None),
]


def _call(client, method, path, body):
    if method == "upload":
        return client.upload(path, {"file": SimpleUploadedFile("a.txt", b"a")})
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, body)


@pytest.fixture(params=["user_a", "agent_a"])
def outsider(request, desk):
    return getattr(desk, request.param)


@pytest.mark.parametrize(("method", "suffix", "body"), TICKET_CALLS)
@pytest.mark.parametrize("by", ["id", "number"])
def test_other_organisations_ticket_is_not_found(
    desk, api_as, outsider, method, suffix, body, by, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    foreign = resolved_ticket(desk, desk.user_b)
    client = api_as(outsider)
    ref = foreign.pk if by == "id" else foreign.number
    missing = _call(
        client, method, f"/tickets/{'999999' if by == 'id' else 'INC-999999'}{suffix}", body
    )
    before = db_state()
    response = _call(client, method, f"/tickets/{ref}{suffix}", body)
    assert response.status_code == 404, response.content
    assert response.json() == missing.json() == {"detail": "Ticket not found.", "errors": {}}
    assert db_state() == before
    foreign.refresh_from_db()
    assert (foreign.version, foreign.status) == (2, "resolved")


def test_an_end_user_does_not_see_a_colleagues_ticket(desk, api_as):
    colleague = open_ticket(desk, desk.user_a2)
    client = api_as(desk.user_a)
    assert client.get(f"/tickets/{colleague.number}").status_code == 404
    assert client.post(f"/tickets/{colleague.pk}/comments", {"body": "hi"}).status_code == 404


def test_lists_and_search_never_show_another_organisation(desk, api_as, outsider):
    foreign = open_ticket(desk, desk.user_b, subject="Globex secret")
    own = open_ticket(desk, desk.user_a, subject="Acme printer")
    client = api_as(outsider)

    def ids(**params):
        return [t["id"] for t in client.get("/tickets", params).json()["items"]]

    assert ids() == [own.pk]
    assert ids(organization=desk.org_b.pk) == []
    assert ids(q="Globex") == []
    assert ids(q=foreign.number) == []
    assert ids(requester=desk.user_b.pk) == []


def test_agent_cannot_open_a_ticket_for_another_organisations_person(desk, api_as):
    client = api_as(desk.agent_a)
    response = client.post("/tickets", {"subject": "x", "requester_id": desk.user_b.pk})
    assert response.status_code == 422
    assert "requester_id" in response.json()["errors"]
    assert not Ticket.objects.filter(tenant=desk.org_b).exists()


def test_other_organisation_and_its_people_are_not_found(desk, api_as, outsider):
    client = api_as(outsider)
    org = client.get(f"/organizations/{desk.org_b.pk}")
    assert org.status_code == 404
    assert org.json()["detail"] == client.get("/organizations/999999").json()["detail"]
    assert client.get(f"/users/{desk.user_b.pk}").status_code == 404
    before = db_state()
    assert client.patch(f"/users/{desk.user_b.pk}", {"full_name": "Hacked"}).status_code == 404
    assert db_state() == before
    org_ids = {o["id"] for o in client.get("/organizations").json()["items"]}
    assert desk.org_b.pk not in org_ids
    user_ids = {u["id"] for u in client.get("/users", {"limit": 100}).json()["items"]}
    assert desk.user_b.pk not in user_ids
    desk.user_b.refresh_from_db()
    assert desk.user_b.full_name == "Bob Globex"
