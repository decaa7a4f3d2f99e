"""SECURITY.md 5: Create/update with `organization`, `owner`, `created_by`, `is_internal`, `links`
or other fields the caller may not set: 400 or ignored; schemas name their writable fields
explicitly.

The API refuses an undeclared field with 422 naming it (InSchema forbids extras), and refuses
agent-only fields from end users with 422; the UI's forms have no such fields, so whatever a
crafted POST adds is ignored. Either way the test reads the rows back to prove nothing
was applied."""

from __future__ import annotations

from django.urls import reverse

from frontline.accounts.models import User
from frontline.tickets.models import Comment, Ticket

from .conftest import signed_in, snapshot, ticket_of

# Columns of a ticket nobody sets through create or update.
FORBIDDEN_TICKET_FIELDS = {
    "organization": "B",
    "tenant": "B",
    "tenant_id": "B",
    "owner": "agent",
    "created_by": "agent",
    "created_by_id": "agent",
    "status": "closed",
    "number": "INC-777777",
    "version": 99,
    "resolved_tier": 3,
    "resolved_at": "2020-01-01T00:00:00Z",
    "resolved_by_id": "agent",
    "first_contact_resolution": True,
    "escalation_count": 7,
    "escalated_to_manager": True,
    "tier": 3,
    "priority": 1,
    "reopen_count": 5,
    "is_internal": True,
    "links": [1],
    "parent_id": "other",
    "duplicate_of_id": "other",
    "watchers": ["agent"],
    "first_response_at": "2020-01-01T00:00:00Z",
    "closed_at": "2020-01-01T00:00:00Z",
    "id": 424242,
    "created_at": "2020-01-01T00:00:00Z",
}


def _value(desk, other: Ticket, raw: object) -> object:
    if raw == "B":
        return desk.org_b.pk
    if raw == "agent":
        return desk.agent1.pk
    if raw == "other":
        return other.pk
    if raw == ["agent"]:
        return [desk.agent1.pk]
    return raw


# --- API: create -----------------------------------------------------------------------------


def test_api_create_refuses_every_unwritable_field_by_name(desk, api_as):
    other = ticket_of(desk, desk.user_a)
    clients = {who: api_as(getattr(desk, who)) for who in ("user_a", "agent_a")}
    before = snapshot(other)
    for who, client in clients.items():
        base: dict[str, object] = {"subject": "Laptop will not boot"}
        if who == "agent_a":
            base["requester_id"] = desk.user_a.pk
        for name, raw in FORBIDDEN_TICKET_FIELDS.items():
            response = client.post("/tickets", {**base, name: _value(desk, other, raw)})
            assert response.status_code == 422, (who, name)
            assert name in response.json()["errors"], (who, name)
    assert snapshot(other) == before


def test_api_create_refuses_agent_only_fields_from_an_end_user(desk, api_as):
    client = api_as(desk.user_a)
    before = snapshot()
    for name, value in (
        ("organization_id", desk.org_b.pk),
        ("organization_id", desk.org_a.pk),
        ("requester_id", desk.user_a2.pk),
        ("requester_id", desk.user_b.pk),
        ("group_id", desk.tier3.pk),
        ("assignee_id", desk.agent1.pk),
    ):
        response = client.post("/tickets", {"subject": "x", name: value})
        assert response.status_code == 422, name
        assert name in response.json()["errors"]
    assert snapshot() == before


def test_api_create_by_an_end_user_takes_organisation_and_requester_from_the_account(desk, api_as):
    response = api_as(desk.user_a).post(
        "/tickets", {"subject": "Mouse broken", "channel": "phone", "impact": 1, "urgency": 1}
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.tenant_id == desk.org_a.pk
    assert ticket.requester_id == desk.user_a.pk
    assert ticket.created_by_id == desk.user_a.pk
    assert ticket.status == Ticket.Status.NEW
    assert ticket.assignee_id is None
    # The desk's channels (phone, walk-up, mail) are an agent's to record, not an end user's.
    assert ticket.channel in {Ticket.Channel.API, Ticket.Channel.PORTAL}
    assert (ticket.impact, ticket.urgency, ticket.priority) == (1, 1, 1)


def test_agent_cannot_put_a_ticket_in_another_organisation(desk, api_as):
    before = snapshot()
    client = api_as(desk.agent_a)
    response = client.post(
        "/tickets",
        {"subject": "x", "requester_id": desk.user_a.pk, "organization_id": desk.org_b.pk},
    )
    assert response.status_code == 422
    assert "organization_id" in response.json()["errors"]
    response = client.post("/tickets", {"subject": "x", "requester_id": desk.user_b.pk})
    assert response.status_code == 422
    assert "requester_id" in response.json()["errors"]
    assert snapshot() == {**before, "tokens": before["tokens"] + 1, "events": before["events"] + 1}
    assert not Ticket.objects.filter(tenant=desk.org_b).exists()


# --- API: update and comments ----------------------------------------------------------------


def test_api_update_refuses_every_unwritable_field_by_name(desk, api_as):
    ticket = ticket_of(desk, desk.user_a)
    other = ticket_of(desk, desk.user_a2)
    client = api_as(desk.agent1)
    before = snapshot(ticket, other)
    for name, raw in FORBIDDEN_TICKET_FIELDS.items():
        if name == "version":
            continue
        body = {"subject": "Changed", name: _value(desk, other, raw), "version": ticket.version}
        response = client.patch(f"/tickets/{ticket.number}", body)
        assert response.status_code == 422, name
        assert name in response.json()["errors"], name
    for name in ("requester_id", "requester", "group_id", "assignee_id", "organization_id"):
        body = {name: desk.user_a2.pk, "version": ticket.version}
        response = client.patch(f"/tickets/{ticket.number}", body)
        assert response.status_code == 422, name
        assert name in response.json()["errors"], name
    assert snapshot(ticket, other) == before


def test_api_update_by_an_end_user_is_refused(desk, api_as):
    ticket = ticket_of(desk, desk.user_a)
    client = api_as(desk.user_a)
    before = snapshot(ticket)
    response = client.patch(
        f"/tickets/{ticket.number}", {"subject": "Urgent!!", "impact": 1, "version": 1}
    )
    assert response.status_code == 403
    assert snapshot(ticket) == before


def test_api_comment_fields(desk, api_as):
    ticket = ticket_of(desk, desk.user_a)
    client = api_as(desk.user_a)
    before = snapshot(ticket)
    # An end user may not write an internal note: refused, nothing written.
    response = client.post(f"/tickets/{ticket.number}/comments", {"body": "x", "is_internal": True})
    assert response.status_code in {403, 422}
    for name, value in (
        ("author_id", desk.agent1.pk),
        ("author", desk.agent1.pk),
        ("tenant_id", desk.org_b.pk),
        ("organization", desk.org_b.pk),
        ("ticket_id", ticket.pk),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("channel", "email"),
    ):
        response = client.post(f"/tickets/{ticket.number}/comments", {"body": "x", name: value})
        assert response.status_code == 422, name
        assert name in response.json()["errors"], name
    assert snapshot(ticket) == before


# --- UI forms: extra fields are ignored ------------------------------------------------------


def _crafted_extras(desk, other: Ticket) -> dict[str, object]:
    return {
        "organization": desk.org_b.pk,
        "organization_id": desk.org_b.pk,
        "tenant": desk.org_b.pk,
        "tenant_id": desk.org_b.pk,
        "requester": desk.user_b.pk,
        "requester_id": desk.user_b.pk,
        "created_by": desk.agent2.pk,
        "created_by_id": desk.agent2.pk,
        "owner": desk.agent2.pk,
        "group": desk.tier3.pk,
        "group_id": desk.tier3.pk,
        "assignee": desk.agent2.pk,
        "assignee_id": desk.agent2.pk,
        "status": "closed",
        "number": "INC-777777",
        "version": 99,
        "priority": 1,
        "tier": 3,
        "resolved_tier": 3,
        "is_internal": "on",
        "parent": other.number,
        "links": other.pk,
        "channel": "email",
    }


def test_portal_create_ignores_fields_an_end_user_may_not_set(desk):
    other = ticket_of(desk, desk.user_b)
    user = signed_in(desk.user_a)
    data = {
        **_crafted_extras(desk, other),
        "type": "incident",
        "subject": "VPN drops",
        "description": "Every hour.",
        "impact": "3",
        "urgency": "3",
    }
    response = user.post(reverse("portal:ticket-create"), data)
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="VPN drops")
    assert ticket.tenant_id == desk.org_a.pk
    assert ticket.requester_id == desk.user_a.pk
    assert ticket.created_by_id == desk.user_a.pk
    assert ticket.status == Ticket.Status.NEW
    assert ticket.number != "INC-777777"
    assert ticket.version == 1
    assert ticket.priority == 5
    assert ticket.tier == 1
    assert ticket.group_id == desk.tier1.pk  # the service desk routes it, not the form
    assert ticket.assignee_id is None
    assert ticket.channel == Ticket.Channel.PORTAL
    assert ticket.parent_id is None
    assert ticket.resolved_tier is None


def test_portal_reply_cannot_be_made_internal(desk):
    ticket = ticket_of(desk, desk.user_a)
    user = signed_in(desk.user_a)
    response = user.post(
        reverse("portal:ticket-reply", args=[ticket.number]),
        {"body": "Is it fixed?", "visibility": "internal", "is_internal": "true", "author": 1},
    )
    assert response.status_code == 302
    comment = Comment.objects.get(ticket=ticket, body="Is it fixed?")
    assert comment.is_internal is False
    assert comment.author_id == desk.user_a.pk
    assert comment.tenant_id == desk.org_a.pk


def test_phone_log_ignores_fields_that_are_not_on_the_form(desk):
    other = ticket_of(desk, desk.user_a2)
    agent = signed_in(desk.agent_a)
    data = {
        **_crafted_extras(desk, other),
        "subject": "Caller cannot print",
        "requester_id": desk.user_a.pk,
        "type": "incident",
        "impact": "3",
        "urgency": "3",
        "channel": "phone",
    }
    response = agent.post(reverse("tickets:phone-log"), data)
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Caller cannot print")
    assert ticket.tenant_id == desk.org_a.pk
    assert ticket.requester_id == desk.user_a.pk
    assert ticket.created_by_id == desk.agent_a.pk
    assert ticket.status == Ticket.Status.NEW
    assert ticket.assignee_id is None
    assert ticket.group_id == desk.tier1.pk
    assert ticket.number != "INC-777777"
    assert (ticket.version, ticket.tier, ticket.resolved_tier) == (1, 1, None)
    assert ticket.parent_id is None


def test_phone_log_refuses_a_requester_of_another_organisation(desk):
    agent = signed_in(desk.agent_a)
    before = snapshot()
    data = {"subject": "x", "requester_id": desk.user_b.pk, "type": "incident"}
    response = agent.post(reverse("tickets:phone-log"), {**data, "impact": 3, "urgency": 3})
    assert response.status_code == 422
    assert snapshot() == before


def test_desk_edit_ignores_fields_that_are_not_on_the_form(desk):
    ticket = ticket_of(desk, desk.user_a)
    other = ticket_of(desk, desk.user_a2)
    agent = signed_in(desk.agent1)
    before = snapshot(ticket)[f"Ticket#{ticket.pk}"]
    data = {
        **_crafted_extras(desk, other),
        "subject": "Renamed",
        "type": ticket.type,
        "impact": ticket.impact,
        "urgency": ticket.urgency,
        "version": ticket.version,
    }
    response = agent.post(reverse("tickets:ticket-update", args=[ticket.number]), data)
    assert response.status_code == 302
    after = snapshot(ticket)[f"Ticket#{ticket.pk}"]
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"subject", "version", "updated_at"}
    assert after["subject"] == "Renamed"
    assert after["version"] == before["version"] + 1


def test_desk_reply_ignores_crafted_author_and_ticket(desk):
    ticket = ticket_of(desk, desk.user_a)
    other = ticket_of(desk, desk.user_a2)
    agent = signed_in(desk.agent1)
    data = {
        **_crafted_extras(desk, other),
        "visibility": "public",
        "body": "We are on it.",
        "version": ticket.version,
        "author": desk.agent2.pk,
        "ticket": other.pk,
    }
    response = agent.post(reverse("tickets:comment-add", args=[ticket.number]), data)
    assert response.status_code == 302
    comment = Comment.objects.get(body="We are on it.")
    assert (comment.ticket_id, comment.author_id, comment.tenant_id) == (
        ticket.pk,
        desk.agent1.pk,
        desk.org_a.pk,
    )
    assert comment.is_internal is False
    assert not other.comments.exists()


def test_user_create_cannot_set_flags(desk, api_as):
    client = api_as(desk.admin)
    before = User.objects.count()
    for name, value in (
        ("is_staff", True),
        ("is_superuser", True),
        ("groups", [1]),
        ("serves_all_organizations", True),
        ("tenant_id", desk.org_b.pk),
        ("is_active", False),
    ):
        response = client.post(
            "/users",
            {
                "organization_id": desk.org_a.pk,
                "email": "new@acme.example",
                "full_name": "New Person",
                name: value,
            },
        )
        assert response.status_code == 422, name
        assert name in response.json()["errors"], name
    assert User.objects.count() == before
