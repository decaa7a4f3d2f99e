"""SECURITY.md 7: An organisation's admin creates a user in another organisation or grants a
global role: 403.

Oscar is organisation A's admin. Through POST/PATCH /api/v1/users (Bearer token and session) he
may manage end users of A only: anything else is refused and nothing is created or changed."""

from __future__ import annotations

from frontline.accounts.models import User
from frontline.core.access import AGENT_ROLES

from .conftest import signed_in, snapshot


def _new(desk, **fields):
    body = {
        "organization_id": desk.org_a.pk,
        "email": "newcomer@acme.example",
        "full_name": "New Comer",
        "role": "end_user",
    }
    body.update(fields)
    return body


def test_org_admin_cannot_create_users_in_another_organisation(desk, api_as):
    client = api_as(desk.orgadmin_a)
    before = snapshot()
    for org in (desk.org_b, desk.provider):
        for role in ("end_user", "org_admin", "agent", "admin"):
            response = client.post("/users", _new(desk, organization_id=org.pk, role=role))
            assert response.status_code == 403, (org.name, role)
    assert snapshot() == before
    assert not User.objects.filter(email="newcomer@acme.example").exists()


def test_org_admin_cannot_grant_an_agent_or_global_role(desk, api_as):
    client = api_as(desk.orgadmin_a)
    for role in sorted(AGENT_ROLES):
        before = snapshot()
        response = client.post("/users", _new(desk, role=role))
        assert response.status_code == 403, role
        assert snapshot() == before
        # Nor by promoting someone who already exists.
        before = snapshot(desk.user_a)
        response = client.patch(f"/users/{desk.user_a.pk}", {"role": role})
        assert response.status_code == 403, role
        # Only the refusal is recorded.
        assert snapshot(desk.user_a) == {**before, "events": before["events"] + 1}


def test_org_admin_cannot_touch_people_outside_the_organisation(desk, api_as):
    client = api_as(desk.orgadmin_a)
    for victim in (desk.user_b, desk.agent_a, desk.admin):
        before = snapshot(victim)
        for change in ({"is_active": False}, {"full_name": "Pwned"}, {"role": "end_user"}):
            response = client.patch(f"/users/{victim.pk}", change)
            assert response.status_code == 404, (victim.email, change)
        assert snapshot(victim) == before


def test_org_admin_cannot_take_over_a_colleague_account(desk, api_as):
    # Changing someone's e-mail would let a password reset go to the org admin's mailbox.
    client = api_as(desk.orgadmin_a)
    before = snapshot(desk.user_a)
    response = client.patch(f"/users/{desk.user_a.pk}", {"email": "oscar+alice@acme.example"})
    assert response.status_code == 403
    assert snapshot(desk.user_a) == {**before, "events": before["events"] + 1}


def test_other_end_users_cannot_create_anyone(desk, api_as):
    clients = [api_as(desk.contact_a), api_as(desk.user_a)]
    before = snapshot()
    for client in clients:
        assert client.post("/users", _new(desk)).status_code == 403
    assert snapshot() == before


def test_a_manager_cannot_create_agents(desk, api_as):
    client = api_as(desk.manager)
    before = snapshot()
    for role in sorted(AGENT_ROLES):
        response = client.post("/users", _new(desk, role=role, organization_id=desk.provider.pk))
        assert response.status_code == 403, role
    assert snapshot() == before


def test_org_admin_may_create_an_end_user_of_their_own_organisation(desk, api_as):
    """The control: the allowed case works, so the 403s above are the rule at work."""
    response = api_as(desk.orgadmin_a).post("/users", _new(desk))
    assert response.status_code == 201
    created = User.objects.get(email="newcomer@acme.example")
    assert (created.organization_id, created.role) == (desk.org_a.pk, "end_user")
    assert not created.is_staff
    assert not created.is_superuser


def test_session_request_is_refused_in_the_same_way(desk):
    client = signed_in(desk.orgadmin_a, csrf=True)
    client.get("/portal/")  # sets the CSRF cookie: a same-site request
    before = snapshot()
    response = client.post(
        "/api/v1/users",
        _new(desk, organization_id=desk.org_b.pk),
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == 403
    assert snapshot() == before
