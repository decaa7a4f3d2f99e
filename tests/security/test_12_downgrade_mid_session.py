"""SECURITY.md 12: A user removed from an organisation or downgraded mid-session: the next
request is denied.

The same browser session and the same API token are used before and after the change (made
by an administrator in between): the Actor is rebuilt from the database on every request, so
the second request no longer has the old rights."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from frontline.accounts.models import ApiToken, User
from frontline.accounts.services import token_create
from frontline.core.access import Actor

from .conftest import ApiClient, signed_in, snapshot, ticket_of


def _detail(ticket):
    return reverse("tickets:ticket-detail", args=[ticket.number])


def _portal(ticket):
    return reverse("portal:ticket-detail", args=[ticket.number])


def test_agent_removed_from_an_organisation(desk, api_as):
    ticket = ticket_of(desk, desk.user_a)
    session = signed_in(desk.agent_a)
    token = api_as(desk.agent_a)
    assert session.get(_detail(ticket)).status_code == 200
    assert token.get(f"/tickets/{ticket.number}").status_code == 200
    assert token.get("/tickets").json()["items"]

    desk.agent_a.served_organizations.remove(desk.org_a)

    before = snapshot(ticket)
    assert session.get(_detail(ticket)).status_code == 404
    reply = {"visibility": "public", "body": "Still mine?", "version": ticket.version}
    assert (
        session.post(reverse("tickets:comment-add", args=[ticket.number]), reply).status_code == 404
    )
    assert "<strong>0</strong> tickets" in session.get(reverse("tickets:queue")).content.decode()
    assert token.get(f"/tickets/{ticket.number}").status_code == 404
    assert token.post(f"/tickets/{ticket.number}/comments", {"body": "x"}).status_code == 404
    assert token.get("/tickets").json()["items"] == []
    assert desk.org_a.pk not in {o["id"] for o in token.get("/organizations").json()["items"]}
    assert snapshot(ticket) == before


def test_agent_who_served_everyone_is_narrowed(desk, api_as):
    foreign = ticket_of(desk, desk.user_b)
    session = signed_in(desk.agent2)
    token = api_as(desk.agent2)
    assert session.get(_detail(foreign)).status_code == 200

    User.objects.filter(pk=desk.agent2.pk).update(serves_all_organizations=False)
    desk.agent2.served_organizations.add(desk.org_a)

    assert session.get(_detail(foreign)).status_code == 404
    assert token.get(f"/tickets/{foreign.number}").status_code == 404


def test_agent_downgraded_to_end_user(desk, api_as):
    ticket = ticket_of(desk, desk.user_a)
    session = signed_in(desk.agent_a)
    token = api_as(desk.agent_a)
    assert session.get(_detail(ticket)).status_code == 200

    User.objects.filter(pk=desk.agent_a.pk).update(role=User.Role.END_USER)

    before = snapshot(ticket)
    assert session.get(_detail(ticket)).status_code == 403
    assert session.get(reverse("tickets:queue")).status_code == 403
    assert session.get(reverse("tickets:requester-search"), {"q": "alice"}).status_code == 403
    assert token.get(f"/tickets/{ticket.number}").status_code == 404
    assert token.get("/tickets").json()["items"] == []
    assert (
        token.post(f"/tickets/{ticket.number}/assign", {"group_id": desk.tier1.pk}).status_code
        == 404
    )
    assert token.get("/groups").json()["items"] == []
    assert snapshot(ticket) == before


def test_deactivated_user_is_signed_out_and_token_refused(desk, api_as):
    ticket = ticket_of(desk, desk.user_a)
    session = signed_in(desk.user_a)
    token = api_as(desk.user_a)
    assert session.get(_portal(ticket)).status_code == 200
    assert token.get(f"/tickets/{ticket.number}").status_code == 200

    User.objects.filter(pk=desk.user_a.pk).update(is_active=False)

    page = session.get(_portal(ticket))
    assert page.status_code == 302
    assert reverse("accounts:login") in page["Location"]
    assert session.get(f"/api/v1/tickets/{ticket.number}").status_code == 401
    assert token.get(f"/tickets/{ticket.number}").status_code == 401
    assert token.get("/users/me").status_code == 401


def test_end_user_moved_to_another_organisation(desk, api_as):
    colleague = ticket_of(desk, desk.user_a2, subject="Arnold's laptop")
    session = signed_in(desk.contact_a)
    token = api_as(desk.contact_a)
    assert session.get(_portal(colleague)).status_code == 200
    assert token.get(f"/tickets/{colleague.number}").status_code == 200

    User.objects.filter(pk=desk.contact_a.pk).update(organization=desk.org_b)

    assert session.get(_portal(colleague)).status_code == 404
    assert token.get(f"/tickets/{colleague.number}").status_code == 404
    listing = session.get(reverse("portal:ticket-list"), {"status": "all", "scope": "org"})
    assert colleague.number not in listing.content.decode()
    assert token.get("/tickets").json()["items"] == []


def test_designated_contact_downgraded_to_end_user(desk, api_as):
    colleague = ticket_of(desk, desk.user_a2, subject="Arnold's laptop")
    session = signed_in(desk.contact_a)
    token = api_as(desk.contact_a)
    assert session.get(_portal(colleague)).status_code == 200

    User.objects.filter(pk=desk.contact_a.pk).update(role=User.Role.END_USER)

    assert session.get(_portal(colleague)).status_code == 404
    assert token.get(f"/tickets/{colleague.number}").status_code == 404


def test_org_admin_downgraded_can_no_longer_manage_people(desk, api_as):
    token = api_as(desk.orgadmin_a)
    body = {"organization_id": desk.org_a.pk, "email": "one@acme.example", "full_name": "One"}
    assert token.post("/users", body).status_code == 201

    User.objects.filter(pk=desk.orgadmin_a.pk).update(role=User.Role.END_USER)

    before = snapshot(desk.user_a)
    body = {**body, "email": "two@acme.example"}
    assert token.post("/users", body).status_code == 403
    assert token.patch(f"/users/{desk.user_a.pk}", {"is_active": False}).status_code == 404
    assert snapshot(desk.user_a) == before
    assert not User.objects.filter(email="two@acme.example").exists()


def test_revoked_token_is_refused_at_once(desk):
    _, raw = token_create(actor=Actor.system(), user=desk.agent1, name="laptop")
    client = ApiClient(raw)
    assert client.get("/users/me").status_code == 200
    ApiToken.objects.filter(user=desk.agent1).update(revoked_at=timezone.now())
    assert client.get("/users/me").status_code == 401
