"""SECURITY.md 32: Two agents saving the same ticket at once: the second gets 409 Conflict;
nothing is overwritten.

Both agents open the ticket (desk page or API) and read the same version; the first saves; the
second's save with the version it read is refused with 409, writes nothing (not even an audit
event), and the first agent's change is intact."""

from __future__ import annotations

import re

from django.urls import reverse

from frontline.tickets import services
from frontline.tickets.models import Ticket

from .conftest import signed_in, snapshot, ticket_of


def _version_on_page(html: str) -> int:
    versions = set(re.findall(r'name="version" value="(\d+)"', html))
    assert len(versions) == 1, versions
    return int(versions.pop())


def _stale_desk_actions(desk, ticket: Ticket, other: Ticket, version: int):
    return [
        (
            "tickets:ticket-update",
            {"subject": "Agent two's subject", "type": "incident", "impact": 3, "urgency": 3},
        ),
        ("tickets:ticket-assign", {"group_id": desk.tier2.pk, "assignee_id": desk.agent2.pk}),
        ("tickets:ticket-transition", {"status": "pending_vendor"}),
        (
            "tickets:ticket-escalate",
            {
                "kind": "functional",
                "symptoms": "s",
                "steps_tried": "t",
                "to_group_id": desk.tier3.pk,
            },
        ),
        ("tickets:ticket-merge", {"target": other.number}),
        ("tickets:ticket-link-parent", {"parent": other.number}),
    ]


def test_second_desk_save_gets_409_and_changes_nothing(desk):
    ticket = ticket_of(desk, desk.user_a, subject="Original subject")
    other = ticket_of(desk, desk.user_a)
    one, two = signed_in(desk.agent1), signed_in(desk.agent2)
    url = reverse("tickets:ticket-detail", args=[ticket.number])
    version_one = _version_on_page(one.get(url).content.decode())
    version_two = _version_on_page(two.get(url).content.decode())
    assert version_one == version_two == ticket.version

    first = one.post(
        reverse("tickets:ticket-update", args=[ticket.number]),
        {
            "subject": "Agent one's subject",
            "type": "incident",
            "impact": 2,
            "urgency": 2,
            "version": version_one,
        },
    )
    assert first.status_code == 302
    saved = snapshot(ticket, other)
    for n, (name, data) in enumerate(_stale_desk_actions(desk, ticket, other, version_two)):
        # The htmx post (the form fragment) and, for the first, the plain one (full page).
        for headers in [{"HX-Request": "true"}, *([{}] if n == 0 else [])]:
            response = two.post(
                reverse(name, args=[ticket.number]),
                {**data, "version": version_two},
                headers=headers,
            )
            assert response.status_code == 409, (name, headers)
            assert "changed by someone else" in response.content.decode()
    assert snapshot(ticket, other) == saved
    ticket.refresh_from_db()
    assert ticket.subject == "Agent one's subject"
    assert (ticket.impact, ticket.urgency) == (2, 2)
    assert ticket.version == version_one + 1
    # Reloading gives agent two the new version, and then their save goes through.
    version_two = _version_on_page(two.get(url).content.decode())
    retry = two.post(
        reverse("tickets:ticket-transition", args=[ticket.number]),
        {"status": "in_progress", "version": version_two},
    )
    assert retry.status_code == 302


def test_second_api_save_gets_409_and_changes_nothing(desk, api_as):
    ticket = ticket_of(desk, desk.user_a, subject="Original subject")
    other = ticket_of(desk, desk.user_a)
    one, two = api_as(desk.agent1), api_as(desk.agent2)
    version = one.get(f"/tickets/{ticket.number}").json()["version"]
    assert two.get(f"/tickets/{ticket.number}").json()["version"] == version

    first = one.patch(
        f"/tickets/{ticket.number}", {"subject": "Agent one's subject", "version": version}
    )
    assert first.status_code == 200
    assert first.json()["version"] == version + 1
    saved = snapshot(ticket, other)
    stale = [
        ("patch", "", {"subject": "Agent two's subject", "impact": 1}),
        ("post", "/assign", {"group_id": desk.tier2.pk, "assignee_id": desk.agent2.pk}),
        ("post", "/transition", {"status": "pending_vendor"}),
        (
            "post",
            "/escalate",
            {"symptoms": "s", "steps_tried": ["t"], "to_group_id": desk.tier3.pk},
        ),
        ("post", "/resolve", {"resolution_code": "workaround", "resolution_notes": "n"}),
    ]
    for method, suffix, body in stale:
        response = getattr(two, method)(
            f"/tickets/{ticket.number}{suffix}", {**body, "version": version}
        )
        assert response.status_code == 409, suffix
        assert response.json()["errors"] == {}
        assert "changed by someone else" in response.json()["detail"]
    assert snapshot(ticket, other) == saved
    body = two.get(f"/tickets/{ticket.number}").json()
    assert body["subject"] == "Agent one's subject"
    assert body["version"] == version + 1


def test_desk_and_api_conflict_with_each_other(desk, api_as):
    ticket = ticket_of(desk, desk.user_a, subject="Original subject")
    desk_agent = signed_in(desk.agent1)
    url = reverse("tickets:ticket-detail", args=[ticket.number])
    version = _version_on_page(desk_agent.get(url).content.decode())
    api = api_as(desk.agent2)
    assert (
        api.patch(
            f"/tickets/{ticket.number}", {"location": "Room 4", "version": version}
        ).status_code
        == 200
    )
    saved = snapshot(ticket)
    response = desk_agent.post(
        reverse("tickets:ticket-update", args=[ticket.number]),
        {
            "subject": "Desk subject",
            "type": "incident",
            "impact": 3,
            "urgency": 3,
            "version": version,
        },
    )
    assert response.status_code == 409
    assert snapshot(ticket) == saved
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.location) == ("Original subject", "Room 4")


def test_requester_confirming_a_reopened_ticket_gets_409(desk):
    ticket = ticket_of(desk, desk.user_a)
    ticket = services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        resolution_code="workaround",
        resolution_notes="Restarted",
    )
    user = signed_in(desk.user_a)
    page = user.get(reverse("portal:ticket-detail", args=[ticket.number])).content.decode()
    version = int(re.search(r'name="version" value="(\d+)"', page).group(1))
    # Meanwhile an agent reopens it and resolves it again, differently.
    fresh = Ticket.objects.get(pk=ticket.pk)
    fresh = services.ticket_transition(
        actor=desk.actor(desk.agent1), ticket=fresh, expected_version=version, status="in_progress"
    )
    services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=fresh,
        expected_version=fresh.version,
        resolution_code="workaround",
        resolution_notes="Replaced the toner",
    )
    saved = snapshot(ticket)
    response = user.post(
        reverse("portal:ticket-confirm", args=[ticket.number]), {"version": version}
    )
    # The requester confirmed what they saw, not the new resolution: refused, nothing closed.
    assert response.status_code == 409
    assert "Replaced the toner" in response.content.decode()
    assert snapshot(ticket) == saved
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
