"""SECURITY.md 6: An end user updates their own user with `is_staff`, role or groups: refused,
and audited.

Through PATCH /api/v1/users/me and /api/v1/users/{own id}, with a Bearer token and with the
browser session: 403, an access_denied audit event naming the refused fields, and the user row
(and its groups and served organisations) unchanged, even when a harmless field rides along."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from frontline.core.models import AuditEvent

from .conftest import signed_in, snapshot

ATTEMPTS: list[dict[str, object]] = [
    {"role": "admin"},
    {"role": "agent"},
    {"role": "org_admin"},
    {"role": "end_user"},  # even "no change" of a field one may not set is refused
    {"is_staff": True},
    {"is_superuser": True},
    {"organization_id": "B"},
    {"groups": [1]},
    {"serves_all_organizations": True},
    {"served_organizations": ["B"]},
    {"is_active": True},
    {"email": "someone-else@acme.example"},
    {"full_name": "Still Alice", "role": "admin"},
    {"full_name": "Still Alice", "is_staff": True, "is_superuser": True, "groups": [1]},
]


def _body(desk, attempt: dict[str, object]) -> dict[str, object]:
    def resolve(value: object) -> object:
        if value == "B":
            return desk.org_b.pk
        if value == ["B"]:
            return [desk.org_b.pk]
        return value

    return {k: resolve(v) for k, v in attempt.items()}


def _denials(user) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            target_type="accounts.user", target_id=user.pk, kind=AuditEvent.Kind.ACCESS_DENIED
        ).order_by("id")
    )


@pytest.mark.parametrize("who", ["user_a", "contact_a", "orgadmin_a"])
def test_end_user_cannot_raise_their_own_privileges(desk, api_as, who):
    Group.objects.get_or_create(pk=1, defaults={"name": "Everything"})
    user = getattr(desk, who)
    client = api_as(user)
    attempts = [(url, a) for url in ("/users/me", f"/users/{user.pk}") for a in ATTEMPTS]
    before = snapshot(user)
    for n, (url, attempt) in enumerate(attempts, start=1):
        response = client.patch(url, _body(desk, attempt))
        assert response.status_code == 403, attempt
        assert response.json()["detail"].startswith("You may not change:")
        events = _denials(user)
        assert len(events) == n, attempt  # each refusal is recorded, once
        event = events[-1]
        assert event.actor_id == user.pk
        assert event.is_public is False
        refused = set(event.data["refused_fields"])
        assert refused == set(attempt) - {"full_name"}, attempt
    # Nothing but the refusals was written: the user row, groups and served organisations are
    # as they were.
    assert snapshot(user) == {**before, "events": before["events"] + len(attempts)}
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (
        getattr(desk, who).role,
        False,
        False,
    )
    assert user.organization_id == desk.org_a.pk
    assert not user.groups.exists()


def test_the_browser_session_is_refused_and_audited_too(desk):
    # The session path: with the CSRF token (a same-site page), the service still refuses.
    client = signed_in(desk.user_a, csrf=True)
    client.get("/portal/")  # a page with a form: sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    before = snapshot(desk.user_a)
    response = client.patch(
        "/api/v1/users/me",
        '{"role": "admin", "is_staff": true}',
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 403
    assert snapshot(desk.user_a) == {**before, "events": before["events"] + 1}
    assert set(_denials(desk.user_a)[-1].data["refused_fields"]) == {"role", "is_staff"}


def test_an_agent_cannot_raise_their_own_role_either(desk, api_as):
    client = api_as(desk.agent_a)
    for attempt in ({"role": "admin"}, {"role": "manager"}, {"serves_all_organizations": True}):
        before = snapshot(desk.agent_a)
        response = client.patch("/users/me", attempt)
        assert response.status_code == 403
        assert snapshot(desk.agent_a) == {**before, "events": before["events"] + 1}
    agent = desk.agent_a
    agent.refresh_from_db()
    assert agent.role == "agent"
    assert agent.serves_all_organizations is False


def test_own_harmless_fields_still_work(desk, api_as):
    """The control: the same endpoint accepts the fields a person may change."""
    response = api_as(desk.user_a).patch(
        "/users/me", {"full_name": "Alice A. Acme", "phone": "+44 20 1234", "time_zone": "UTC"}
    )
    assert response.status_code == 200
    desk.user_a.refresh_from_db()
    assert desk.user_a.full_name == "Alice A. Acme"
    assert not _denials(desk.user_a)
