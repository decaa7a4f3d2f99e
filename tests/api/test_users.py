"""People, organisations and groups; profile changes nobody may make are refused and audited."""

from __future__ import annotations

import pytest

from frontline.accounts.models import User
from frontline.core.models import AuditEvent

from .conftest import assert_error

pytestmark = pytest.mark.django_db


def _refusals(user: User) -> list[list[str]]:
    return [
        e.data["refused_fields"]
        for e in AuditEvent.objects.filter(
            target_type="accounts.user", target_id=user.pk, kind="access_denied"
        )
    ]


def test_me_and_profile_update(desk, api_as):
    client = api_as(desk.user_a)
    me = client.get("/users/me").json()
    assert me["organization"] == {"id": desk.org_a.pk, "name": "Acme Corp"}
    assert me["role"] == "end_user"
    assert me["is_agent"] is False
    response = client.patch(
        "/users/me", {"full_name": "Alice A. Acme", "phone": "+1 555", "time_zone": "Europe/Berlin"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["full_name"] == "Alice A. Acme"
    assert AuditEvent.objects.filter(target_id=desk.user_a.pk, field="time_zone").exists()


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"is_staff": True}, ["is_staff"]),
        ({"is_superuser": True}, ["is_superuser"]),
        ({"role": "admin"}, ["role"]),
        ({"groups": [1]}, ["groups"]),
        ({"organization_id": 999}, ["organization_id"]),
        ({"serves_all_organizations": True, "full_name": "X"}, ["serves_all_organizations"]),
    ],
)
def test_end_user_raising_their_own_privileges_is_refused_and_audited(
    desk, api_as, change, refused
):
    client = api_as(desk.user_a)
    assert_error(client.patch("/users/me", change), 403)
    assert _refusals(desk.user_a) == [refused]
    desk.user_a.refresh_from_db()
    assert (desk.user_a.role, desk.user_a.is_staff, desk.user_a.full_name) == (
        "end_user",
        False,
        "Alice Acme",
    )
    assert not desk.user_a.support_groups.exists()


def test_org_admin_manages_end_users_of_their_organisation_only(desk, api_as):
    client = api_as(desk.orgadmin_a)
    response = client.patch(f"/users/{desk.user_a.pk}", {"role": "org_contact"})
    assert response.status_code == 200, response.content
    assert_error(client.patch(f"/users/{desk.user_a2.pk}", {"role": "agent"}), 403)
    assert _refusals(desk.user_a2) == [["role"]]
    desk.user_a2.refresh_from_db()
    assert desk.user_a2.role == "end_user"


def test_profile_input_is_checked(desk, api_as):
    client = api_as(desk.admin)
    assert_error(client.patch("/users/me", {"time_zone": "Mars/Olympus"}), 422, "time_zone")
    assert_error(client.patch("/users/me", {"email": "not-an-address"}), 422, "email")
    assert_error(client.patch("/users/me", {"full_name": None}), 422, "full_name")
    assert_error(client.patch("/users/me", {"role": "emperor"}), 422, "role")
    assert_error(client.patch("/users/me", {"password": "x"}), 422, "password")
    assert_error(client.patch("/users/me", {}), 422)


def test_changing_email_to_one_in_use_is_refused(desk, api_as):
    client = api_as(desk.admin)
    response = client.patch(f"/users/{desk.user_a.pk}", {"email": "BOB@globex.example"})
    assert_error(response, 422, "email")
    desk.user_a.refresh_from_db()
    assert desk.user_a.email == "alice@acme.example"


def test_org_admin_creates_end_users_in_their_own_organisation(desk, api_as):
    client = api_as(desk.orgadmin_a)
    body = {"organization_id": desk.org_a.pk, "email": "new@acme.example", "full_name": "Nia New"}
    response = client.post("/users", body)
    assert response.status_code == 201, response.content
    assert response.json()["organization"]["id"] == desk.org_a.pk
    assert "password" not in response.json()
    other_org = {**body, "organization_id": desk.org_b.pk, "email": "x@globex.example"}
    assert_error(client.post("/users", other_org), 403)
    agent = {**body, "email": "agent@acme.example", "role": "agent"}
    assert_error(client.post("/users", agent), 403)
    assert not User.objects.filter(email__in=["x@globex.example", "agent@acme.example"]).exists()


def test_end_user_cannot_create_users(desk, api_as):
    body = {"organization_id": desk.org_a.pk, "email": "n@acme.example", "full_name": "N"}
    assert_error(api_as(desk.user_a).post("/users", body), 403)
    assert not User.objects.filter(email="n@acme.example").exists()


def test_admin_creates_an_agent(desk, api_as):
    body = {
        "organization_id": desk.provider.pk,
        "email": "new.agent@provider.test",
        "full_name": "New Agent",
        "role": "agent",
    }
    response = api_as(desk.admin).post("/users", body)
    assert response.status_code == 201, response.content
    assert response.json()["is_agent"] is True
    assert_error(api_as(desk.admin).post("/users", body), 422, "email")


def test_user_list_is_scoped(desk, api_as):
    mine = [u["id"] for u in api_as(desk.user_a).get("/users").json()["items"]]
    assert mine == [desk.user_a.pk]
    org = {u["id"] for u in api_as(desk.orgadmin_a).get("/users").json()["items"]}
    assert org == {desk.user_a.pk, desk.user_a2.pk, desk.contact_a.pk, desk.orgadmin_a.pk}


def test_user_list_pages_by_name(desk, api_as):
    client = api_as(desk.admin)
    everyone = [u["full_name"] for u in client.get("/users", {"limit": 100}).json()["items"]]
    assert everyone == sorted(everyone)
    names: list[str] = []
    cursor = None
    while True:
        body = client.get("/users", {"limit": 4, **({"cursor": cursor} if cursor else {})}).json()
        names += [u["full_name"] for u in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert names == everyone


def test_organizations_are_scoped(desk, api_as):
    def names(user):
        return [o["name"] for o in api_as(user).get("/organizations").json()["items"]]

    assert names(desk.user_a) == ["Acme Corp"]
    assert names(desk.agent_a) == ["Acme Corp", "Provider MSP"]
    assert names(desk.agent1) == ["Acme Corp", "Globex Inc", "Provider MSP"]
    response = api_as(desk.user_a).get(f"/organizations/{desk.org_a.pk}")
    assert response.json()["slug"] == "acme"


def test_groups_are_for_agents(desk, api_as):
    groups = api_as(desk.agent1).get("/groups").json()["items"]
    assert [g["name"] for g in groups][:1] == ["Service Desk"]
    tier1 = api_as(desk.agent1).get(f"/groups/{desk.tier1.pk}").json()
    assert tier1["escalates_to_id"] == desk.tier2.pk
    assert api_as(desk.user_a).get("/groups").json()["items"] == []
    assert_error(api_as(desk.user_a).get(f"/groups/{desk.tier1.pk}"), 404)
    assert_error(api_as(desk.agent1).get("/groups/abc"), 422, "group_id")
