"""SECURITY.md 3: Deleting or changing ticket X's attachment through ticket Y's URL: 404.
Children are always looked up through their parent.

Here the attacker may see *both* tickets (same organisation, or an agent serving both), so the
only thing that stops them is that the child is looked up through the ticket in the URL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from frontline.tickets import services
from frontline.tickets.models import Attachment, Escalation, Ticket

from .conftest import attach, signed_in, snapshot, ticket_of


@pytest.fixture
def pair(desk) -> tuple[Ticket, Ticket, Attachment, Escalation]:
    """Tickets X and Y of the same requester (Alice, organisation A); X has a reply with a
    file, an internal note with a file, an escalation and a watcher."""
    x = ticket_of(desk, desk.user_a, subject="X: printer")
    y = ticket_of(desk, desk.user_a, subject="Y: laptop")
    attachment = attach(desk, x, "x-public.txt", content=b"X PUBLIC")
    attach(desk, x, "x-internal.txt", internal=True, content=b"X INTERNAL")
    x.refresh_from_db()
    escalation = services.ticket_escalate(
        actor=desk.actor(desk.agent1),
        ticket=x,
        expected_version=None,
        symptoms="Paper jam",
        steps_tried=["Opened the tray"],
        to_group_id=desk.tier2.pk,
    )
    services.watcher_add(actor=desk.actor(desk.agent1), ticket=x, user_id=desk.user_a2.pk)
    return Ticket.objects.get(pk=x.pk), Ticket.objects.get(pk=y.pk), attachment, escalation


def test_attachment_of_x_through_y_is_not_found(desk, pair):
    x, y, attachment, _ = pair
    for who in ("user_a", "contact_a", "agent1", "agent_a"):
        client = signed_in(getattr(desk, who))
        url = reverse("tickets:attachment-download", args=[x.number, attachment.uid])
        assert client.get(url).status_code == 200  # the control: this person may have it
        for ref in (y.number, str(y.pk)):
            url = reverse("tickets:attachment-download", args=[ref, attachment.uid])
            response = client.get(url)
            assert response.status_code == 404, who
            assert b"X PUBLIC" not in response.content


def test_api_children_of_x_never_appear_under_y(desk, pair, api_as):
    x, y, attachment, escalation = pair
    for who in (desk.user_a, desk.agent1):
        client = api_as(who)
        for suffix in ("/attachments", "/comments", "/escalations"):
            items = client.get(f"/tickets/{y.number}{suffix}").json()["items"]
            assert items == [], suffix
        timeline = client.get(f"/tickets/{y.number}/timeline").json()["items"]
        assert all(e["comment"] is None and not e["attachments"] for e in timeline)
        assert all(e["escalation"] is None for e in timeline)
        assert str(attachment.uid) not in str(timeline)
        response = client.get(f"/tickets/{y.number}/attachments/{attachment.uid}/download")
        assert response.status_code == 404
    # The control: under X, the agent sees them, and the file downloads.
    agent = api_as(desk.agent1)
    response = agent.get(f"/tickets/{x.number}/attachments/{attachment.uid}/download")
    assert response.status_code == 200
    assert {a["uid"] for a in agent.get(f"/tickets/{x.number}/attachments").json()["items"]} >= {
        str(attachment.uid)
    }
    assert [e["id"] for e in agent.get(f"/tickets/{x.number}/escalations").json()["items"]] == [
        escalation.pk
    ]


def test_ticket_page_of_y_shows_nothing_of_x(desk, pair):
    x, y, attachment, escalation = pair
    for client, name in (
        (signed_in(desk.agent1), "tickets:ticket-detail"),
        (signed_in(desk.user_a), "portal:ticket-detail"),
    ):
        html = client.get(reverse(name, args=[y.number])).content.decode()
        assert str(attachment.uid) not in html
        assert "x-public.txt" not in html
        assert "x-internal.txt" not in html
        assert "Paper jam" not in html
        assert "See the attached file." not in html


def test_changing_or_deleting_x_attachment_through_y_is_impossible(desk, pair, api_as):
    x, y, attachment, _ = pair
    agent, client = signed_in(desk.agent1), api_as(desk.agent1)
    before = snapshot(x, y, attachment)
    for ref in (y.number, x.number):
        url = reverse("tickets:attachment-download", args=[ref, attachment.uid])
        for method in ("post", "put", "patch", "delete"):
            response = getattr(agent, method)(url)
            # There is no write on an attachment: the download URL only answers GET.
            assert response.status_code == 405, (ref, method)
    for ref in (y.number, x.number):
        for method in ("DELETE", "PATCH", "PUT", "POST"):
            path = f"/tickets/{ref}/attachments/{attachment.uid}"
            response = client.raw(method, path, "{}", "application/json")
            assert response.status_code in {404, 405}, (ref, method)
    assert snapshot(x, y, attachment) == before
    assert attachment.file.storage.exists(attachment.file.name)


def test_removing_x_watcher_through_y_changes_nothing(desk, pair):
    x, y, _, _ = pair
    before = snapshot(x, y)
    agent = signed_in(desk.agent1)
    response = agent.post(
        reverse("tickets:watcher-remove", args=[y.number]),
        {"user_id": desk.user_a2.pk, "version": y.version},
    )
    assert response.status_code in {200, 302}
    assert snapshot(x, y) == before
    assert list(x.watchers.values_list("pk", flat=True)) == [desk.user_a2.pk]


def test_replies_through_y_land_on_y(desk, pair, api_as):
    """A reply posted to Y's URL is Y's, whatever ids ride along in the body."""
    x, y, _, _ = pair
    x_before = snapshot(x)[f"Ticket#{x.pk}"]
    response = api_as(desk.agent1).post(f"/tickets/{y.number}/comments", {"body": "On Y"})
    assert response.status_code == 201
    refused = api_as(desk.agent1).post(
        f"/tickets/{y.number}/comments", {"body": "On X?", "ticket_id": x.pk}
    )
    assert refused.status_code == 422
    assert "ticket_id" in refused.json()["errors"]
    assert not x.comments.filter(body__startswith="On").exists()
    assert y.comments.filter(body="On Y").count() == 1
    assert snapshot(x)[f"Ticket#{x.pk}"] == x_before
