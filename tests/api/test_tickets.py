"""Ticket endpoints: the happy paths, as an agent and as an end user."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from frontline.core.models import AuditEvent
from frontline.tickets.models import Attachment, Comment, Ticket

from .conftest import open_ticket, resolved_ticket

pytestmark = pytest.mark.django_db

INTERNAL_FIELDS = ("tier", "escalation_count", "resolved_tier", "first_contact_resolution")


def test_agent_opens_a_ticket_for_a_requester(desk, api_as):
    response = api_as(desk.agent1).post(
        "/tickets",
        {
            "subject": "VPN drops every 10 minutes",
            "description": "Since this morning.",
            "requester_id": desk.user_a.pk,
            "organization_id": desk.org_a.pk,
            "impact": 1,
            "urgency": 2,
            "assignee_id": desk.agent1.pk,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("INC-")
    assert body["organization"] == {"id": desk.org_a.pk, "name": "Acme Corp"}
    assert body["requester"] == {
        "id": desk.user_a.pk,
        "name": "Alice Acme",
        "email": "alice@acme.example",
    }
    assert body["assignee"] == {"id": desk.agent1.pk, "name": desk.agent1.full_name}
    assert body["status"] == "assigned"
    assert body["priority"] == 2
    assert body["channel"] == "api"
    assert body["group"] == {"id": desk.tier1.pk, "name": "Service Desk", "tier": 1}
    assert body["tier"] == 1
    assert body["escalation_count"] == 0
    ticket = Ticket.objects.get(pk=body["id"])
    assert ticket.tenant_id == desk.org_a.pk
    assert ticket.created_by_id == desk.agent1.pk


def test_agent_must_name_the_requester(desk, api_as):
    response = api_as(desk.agent1).post("/tickets", {"subject": "No requester"})
    assert response.status_code == 422
    assert "requester_id" in response.json()["errors"]
    assert not Ticket.objects.exists()


def test_end_user_opens_a_ticket_for_themselves(desk, api_as):
    response = api_as(desk.user_a).post(
        "/tickets", {"subject": "Laptop will not boot", "type": "incident", "urgency": 1}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["requester"]["id"] == desk.user_a.pk
    assert body["organization"]["id"] == desk.org_a.pk
    assert body["status"] == "new"
    assert body["channel"] == "api"
    for name in INTERNAL_FIELDS:
        assert body[name] is None


def test_end_user_may_not_route_or_pick_the_requester(desk, api_as):
    response = api_as(desk.user_a).post(
        "/tickets",
        {
            "subject": "Route me",
            "requester_id": desk.user_a2.pk,
            "organization_id": desk.org_b.pk,
            "group_id": desk.tier3.pk,
            "assignee_id": desk.agent2.pk,
        },
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"requester_id", "organization_id", "group_id", "assignee_id"}
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("field", ["organization", "tenant", "created_by", "status", "number"])
def test_fields_nobody_may_set_on_create_are_refused(desk, api_as, field):
    response = api_as(desk.agent1).post(
        "/tickets", {"subject": "x", "requester_id": desk.user_a.pk, field: "closed"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {field: "Unknown field; it cannot be set."}
    assert not Ticket.objects.exists()


def test_get_by_id_or_number(desk, api_as):
    ticket = open_ticket(desk)
    client = api_as(desk.user_a)
    for ref in (ticket.pk, ticket.number, ticket.number.lower()):
        response = client.get(f"/tickets/{ref}")
        assert response.status_code == 200
        assert response.json()["id"] == ticket.pk


def test_list_filters_and_search(desk, api_as):
    printer = open_ticket(desk, subject="Printer jams", impact=1, urgency=1)
    vpn = open_ticket(desk, subject="VPN is slow", description="Remote office", type="request")
    other_org = open_ticket(desk, desk.user_b, subject="Globex printer")
    client = api_as(desk.agent1)

    def ids(**params):
        response = client.get("/tickets", params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [other_org.pk, vpn.pk, printer.pk]  # newest first
    assert ids(sort="created") == [printer.pk, vpn.pk, other_org.pk]
    assert ids(organization=desk.org_a.pk) == [vpn.pk, printer.pk]
    assert ids(priority=1) == [printer.pk]
    assert ids(type="request") == [vpn.pk]
    assert ids(q="printer") == [other_org.pk, printer.pk]
    assert ids(q="remote office") == [vpn.pk]
    assert ids(q=printer.number) == [printer.pk]
    assert ids(requester=desk.user_b.pk) == [other_org.pk]
    assert ids(status="open") == [other_org.pk, vpn.pk, printer.pk]
    assert ids(status="closed") == []
    assert ids(queue="unassigned", group=desk.tier1.pk) == [other_org.pk, vpn.pk, printer.pk]


def test_end_user_lists_only_their_own_tickets(desk, api_as):
    mine = open_ticket(desk, desk.user_a)
    colleague = open_ticket(desk, desk.user_a2)
    open_ticket(desk, desk.user_b)
    items = api_as(desk.user_a).get("/tickets").json()["items"]
    assert [t["id"] for t in items] == [mine.pk]
    assert all(t["tier"] is None for t in items)
    contact_items = api_as(desk.contact_a).get("/tickets").json()["items"]
    assert {t["id"] for t in contact_items} == {mine.pk, colleague.pk}


@pytest.mark.parametrize("sort", ["-created", "priority", "-priority", "subject", "status"])
def test_cursor_pagination_walks_every_ticket_once(desk, api_as, sort):
    for n in range(7):
        open_ticket(desk, subject=f"Ticket {n % 3}", impact=1 + n % 3, urgency=1 + n % 2)
    client = api_as(desk.agent1)
    expected = [
        t["id"] for t in client.get("/tickets", {"sort": sort, "limit": 100}).json()["items"]
    ]
    assert len(expected) == 7
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params = {"sort": sort, "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get("/tickets", params).json()
        seen += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


def test_cursor_survives_long_non_ascii_sort_values(desk, api_as):
    subjects = ["𝔓rinter " + "ü" * 240 + f" {n}" for n in range(3)]
    for subject in subjects:
        open_ticket(desk, subject=subject)
    client = api_as(desk.agent1)
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        params = {"sort": "subject", "limit": 1, **({"cursor": cursor} if cursor else {})}
        response = client.get("/tickets", params)
        assert response.status_code == 200, response.content
        seen += [t["subject"] for t in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(subjects)


def test_bad_paging_parameters_are_refused(desk, api_as):
    for n in range(3):
        open_ticket(desk, subject=f"T{n}")
    client = api_as(desk.agent1)
    cursor = client.get("/tickets", {"limit": 1}).json()["next_cursor"]
    assert cursor
    response = client.get("/tickets", {"limit": 1, "cursor": cursor, "sort": "subject"})
    assert response.status_code == 422
    assert "cursor" in response.json()["errors"]
    assert client.get("/tickets", {"cursor": "!!not-a-cursor"}).status_code == 422
    assert "limit" in client.get("/tickets", {"limit": 101}).json()["errors"]
    assert "limit" in client.get("/tickets", {"limit": 0}).json()["errors"]
    assert "sort" in client.get("/tickets", {"sort": "subject; drop table"}).json()["errors"]


def test_agent_updates_descriptive_fields(desk, api_as):
    ticket = open_ticket(desk)
    response = api_as(desk.agent1).patch(
        f"/tickets/{ticket.number}",
        {"subject": "Printer jams on every floor", "impact": 1, "urgency": 1, "version": 1},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["subject"] == "Printer jams on every floor"
    assert body["priority"] == 1
    assert body["version"] == 2
    assert AuditEvent.objects.filter(target_id=ticket.pk, kind="changed", field="subject").exists()


def test_patch_needs_something_to_change_and_refuses_nulls(desk, api_as):
    ticket = open_ticket(desk)
    client = api_as(desk.agent1)
    assert client.patch(f"/tickets/{ticket.pk}", {"version": 1}).status_code == 422
    response = client.patch(f"/tickets/{ticket.pk}", {"subject": None, "version": 1})
    assert response.json()["errors"] == {"subject": "This field cannot be null."}
    response = client.patch(f"/tickets/{ticket.pk}", {"status": "closed", "version": 1})
    assert response.json()["errors"] == {"status": "Unknown field; it cannot be set."}
    response = client.patch(f"/tickets/{ticket.pk}", {"subject": "x"})
    assert "version" in response.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.version == 1
    assert ticket.subject == "Printer jams on floor 3"


def test_end_user_cannot_update_a_ticket(desk, api_as):
    ticket = open_ticket(desk)
    response = api_as(desk.user_a).patch(f"/tickets/{ticket.pk}", {"subject": "x", "version": 1})
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.subject == "Printer jams on floor 3"


def test_comments_public_and_internal(desk, api_as):
    ticket = open_ticket(desk)
    user, agent = api_as(desk.user_a), api_as(desk.agent1)
    reply = user.post(f"/tickets/{ticket.number}/comments", {"body": "Still broken."})
    assert reply.status_code == 201, reply.content
    assert reply.json()["author"] == {"id": desk.user_a.pk, "name": "Alice Acme"}
    note = agent.post(
        f"/tickets/{ticket.number}/comments", {"body": "Toner is fake.", "is_internal": True}
    )
    assert note.status_code == 201
    ticket.refresh_from_db()
    assert note.json()["ticket_version"] == ticket.version
    agent_view = agent.get(f"/tickets/{ticket.number}/comments").json()["items"]
    assert [c["body"] for c in agent_view] == ["Still broken.", "Toner is fake."]
    user_view = user.get(f"/tickets/{ticket.number}/comments").json()["items"]
    assert [c["body"] for c in user_view] == ["Still broken."]


def test_end_user_cannot_write_an_internal_note(desk, api_as):
    ticket = open_ticket(desk)
    client = api_as(desk.user_a)
    before = AuditEvent.objects.count()
    response = client.post(f"/tickets/{ticket.pk}/comments", {"body": "psst", "is_internal": True})
    assert response.status_code == 403
    assert not Comment.objects.exists()
    assert AuditEvent.objects.count() == before


def test_attachments_upload_and_list(desk, api_as, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = open_ticket(desk)
    upload = SimpleUploadedFile("error log.txt", b"disk full", content_type="text/plain")
    response = api_as(desk.user_a).upload(f"/tickets/{ticket.number}/attachments", {"file": upload})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["filename"] == "error log.txt"
    assert body["size"] == 9
    assert body["download_url"] == f"/desk/tickets/{ticket.number}/attachments/{body['uid']}/"
    listed = api_as(desk.agent1).get(f"/tickets/{ticket.pk}/attachments").json()["items"]
    assert [a["uid"] for a in listed] == [body["uid"]]
    assert Attachment.objects.get().ticket_id == ticket.pk
    browser = Client()
    browser.force_login(desk.user_a)
    download = browser.get(body["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"disk full"


def test_assign_and_transition(desk, api_as):
    ticket = open_ticket(desk)
    agent = api_as(desk.agent1)
    response = agent.post(
        f"/tickets/{ticket.pk}/assign",
        {"group_id": desk.tier1.pk, "assignee_id": desk.agent_a.pk, "version": 1},
    )
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == desk.agent_a.pk
    assert response.json()["status"] == "assigned"
    response = agent.post(
        f"/tickets/{ticket.pk}/transition", {"status": "pending_customer", "reason": "Need logs"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "pending_customer"


def test_escalate_with_handoff_note(desk, api_as):
    ticket = open_ticket(desk)
    agent = api_as(desk.agent1)
    response = agent.post(
        f"/tickets/{ticket.pk}/escalate",
        {
            "symptoms": "Jams on tray 2 only",
            "diagnosis": "Worn roller",
            "steps_tried": ["Cleaned rollers", "Power cycled"],
            "version": 1,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["escalation"]["to_group"]["id"] == desk.tier2.pk
    assert body["escalation"]["steps_tried"] == ["Cleaned rollers", "Power cycled"]
    assert body["ticket"]["tier"] == 2
    assert body["ticket"]["escalation_count"] == 1
    assert body["ticket"]["version"] == 2
    listed = agent.get(f"/tickets/{ticket.pk}/escalations").json()["items"]
    assert [e["symptoms"] for e in listed] == ["Jams on tray 2 only"]
    assert api_as(desk.user_a).get(f"/tickets/{ticket.pk}/escalations").json()["items"] == []


def test_resolve_then_close(desk, api_as):
    ticket = open_ticket(desk)
    agent = api_as(desk.agent1)
    response = agent.post(
        f"/tickets/{ticket.pk}/resolve",
        {"resolution_code": "solved_remotely", "resolution_notes": "Replaced roller", "version": 1},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "resolved"
    assert body["resolution_code"] == "solved_remotely"
    assert body["first_contact_resolution"] is True
    response = agent.post(f"/tickets/{ticket.pk}/close", {"version": body["version"]})
    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    assert response.json()["closed_at"]


def test_requester_reopens_a_resolved_ticket(desk, api_as):
    ticket = resolved_ticket(desk)
    response = api_as(desk.user_a).post(
        f"/tickets/{ticket.number}/reopen", {"reason": "It jams again."}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "assigned"
    assert response.json()["reopen_count"] == 1
    assert Comment.objects.get().body == "Reopened: It jams again."


def test_requester_confirms_a_resolution(desk, api_as):
    ticket = resolved_ticket(desk)
    response = api_as(desk.user_a).post(f"/tickets/{ticket.number}/confirm")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"


def test_end_user_cannot_run_desk_actions(desk, api_as):
    ticket = open_ticket(desk)
    user = api_as(desk.user_a)
    calls = [
        ("assign", {"group_id": desk.tier2.pk}),
        ("transition", {"status": "in_progress"}),
        ("resolve", {"resolution_code": "workaround", "resolution_notes": "x"}),
        ("close", {}),
        ("escalate", {"symptoms": "x", "steps_tried": ["y"]}),
    ]
    for action, body in calls:
        assert user.post(f"/tickets/{ticket.pk}/{action}", body).status_code == 403, action
    ticket.refresh_from_db()
    assert ticket.version == 1
    assert ticket.status == "new"


def test_timeline_hides_internal_events_from_end_users(desk, api_as):
    ticket = open_ticket(desk)
    agent = api_as(desk.agent1)
    agent.post(f"/tickets/{ticket.pk}/comments", {"body": "Public answer"})
    agent.post(f"/tickets/{ticket.pk}/comments", {"body": "Secret note", "is_internal": True})
    agent.post(
        f"/tickets/{ticket.pk}/escalate",
        {"symptoms": "s", "steps_tried": ["restart"], "kind": "functional"},
    )
    agent_items = agent.get(f"/tickets/{ticket.pk}/timeline").json()["items"]
    kinds = [item["kind"] for item in agent_items]
    assert {"created", "commented", "note", "escalated"} <= set(kinds)
    escalated = next(i for i in agent_items if i["kind"] == "escalated")
    assert escalated["escalation"]["symptoms"] == "s"
    user_items = api_as(desk.user_a).get(f"/tickets/{ticket.pk}/timeline").json()["items"]
    assert all(item["is_public"] for item in user_items)
    user_kinds = {item["kind"] for item in user_items}
    assert "note" not in user_kinds
    assert "escalated" not in user_kinds
    bodies = [item["comment"]["body"] for item in user_items if item["comment"]]
    assert bodies == ["Public answer"]


def test_attachment_download_through_the_api_with_a_bearer_token(desk):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from frontline.accounts.services import token_create
    from frontline.core.access import Actor
    from frontline.tickets import services

    agent = desk.actor(desk.agent1)
    ticket = services.ticket_create(actor=agent, subject="Scan", requester_id=desk.user_a.pk)
    attachment = services.attachment_add(
        actor=agent,
        ticket=ticket,
        new_file=services.NewFile(
            name="page.html", content=SimpleUploadedFile("page.html", b"<script>x</script>")
        ),
    )
    _, raw = token_create(actor=Actor.system(), user=desk.user_a)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/v1/tickets/{ticket.number}/attachments/{attachment.uid}/download"
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>x</script>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    # Another organisation's user gets the same 404 as for a missing file.
    _, raw_b = token_create(actor=Actor.system(), user=desk.user_b)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {raw_b}").get(url)
    assert other.status_code == 404
