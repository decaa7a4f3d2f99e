"""Creating and changing people, and API tokens. Refused changes are audited."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from frontline.accounts import selectors, services
from frontline.accounts.models import ApiToken, User
from frontline.core.access import Actor
from frontline.core.errors import NotFound, PermissionDenied, ValidationError
from frontline.core.models import AuditEvent

Kind = AuditEvent.Kind


def _row(user: User) -> dict[str, Any]:
    return dict(User.objects.values().get(pk=user.pk))


def _events(user: User, kind: str | None = None) -> list[AuditEvent]:
    qs = AuditEvent.objects.filter(target_type="accounts.user", target_id=user.pk)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("id"))


# --- user_update -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"role": "admin"}, ["role"]),
        ({"role": "org_contact"}, ["role"]),
        ({"is_staff": True}, ["is_staff"]),
        ({"is_superuser": True}, ["is_superuser"]),
        ({"organization": "__org_b__"}, ["organization"]),
        ({"organization_id": "__org_b__"}, ["organization_id"]),
        ({"serves_all_organizations": True}, ["serves_all_organizations"]),
        ({"email": "boss@acme.example", "full_name": "Boss"}, ["email"]),
        ({"full_name": "Alice A.", "role": "agent", "is_staff": True}, ["is_staff", "role"]),
    ],
)
def test_an_end_user_cannot_change_privileged_fields_and_the_attempt_is_audited(
    desk, changes, refused
):
    org_b = {"organization": desk.org_b, "organization_id": desk.org_b.pk}
    changes = {k: org_b[k] if v == "__org_b__" else v for k, v in changes.items()}
    before = _row(desk.user_a)
    with pytest.raises(PermissionDenied) as denied:
        services.user_update(actor=desk.actor(desk.user_a), user=desk.user_a, changes=changes)
    assert all(name in denied.value.message for name in refused)
    assert _row(desk.user_a) == before
    (event,) = _events(desk.user_a)
    assert event.kind == Kind.ACCESS_DENIED
    assert event.data == {"refused_fields": refused}
    assert event.actor_id == desk.user_a.pk
    assert event.is_public is False


def test_an_end_user_may_change_their_own_profile(desk):
    services.user_update(
        actor=desk.actor(desk.user_a),
        user=desk.user_a,
        changes={
            "full_name": "  Alice Anders ",
            "phone": "+44 20 1234",
            "time_zone": "Europe/London",
        },
    )
    row = _row(desk.user_a)
    assert (row["full_name"], row["phone"], row["time_zone"]) == (
        "Alice Anders",
        "+44 20 1234",
        "Europe/London",
    )
    assert {e.field for e in _events(desk.user_a, Kind.CHANGED)} == {
        "full_name",
        "phone",
        "time_zone",
    }


def test_an_end_user_cannot_change_someone_else(desk):
    before = _row(desk.user_a2)
    with pytest.raises(PermissionDenied):
        services.user_update(
            actor=desk.actor(desk.user_a), user=desk.user_a2, changes={"full_name": "Hacked"}
        )
    assert _row(desk.user_a2) == before


def test_other_organisations_people_do_not_exist_for_an_org_admin(desk):
    with pytest.raises(NotFound):
        services.user_update(
            actor=desk.actor(desk.orgadmin_a), user=desk.user_b, changes={"is_active": False}
        )


def test_an_org_admin_manages_end_users_of_their_organisation_but_cannot_grant_agent_roles(desk):
    orgadmin = desk.actor(desk.orgadmin_a)
    services.user_update(actor=orgadmin, user=desk.user_a2, changes={"role": "org_contact"})
    assert _row(desk.user_a2)["role"] == "org_contact"
    before = _row(desk.user_a2)
    for role in ["agent", "admin", "manager"]:
        with pytest.raises(PermissionDenied):
            services.user_update(actor=orgadmin, user=desk.user_a2, changes={"role": role})
    with pytest.raises(PermissionDenied):
        services.user_update(actor=orgadmin, user=desk.user_a2, changes={"email": "x@y.example"})
    assert _row(desk.user_a2) == before
    assert len(_events(desk.user_a2, Kind.ACCESS_DENIED)) == 4


def test_a_manager_cannot_make_anyone_an_administrator(desk):
    """Before the fix a manager could promote themselves (or anyone) to admin."""
    manager = desk.actor(desk.manager)
    for user in [desk.manager, desk.agent1, desk.user_a]:
        before = _row(user)
        with pytest.raises(PermissionDenied):
            services.user_update(actor=manager, user=user, changes={"role": "admin"})
        assert _row(user) == before
        assert _events(user, Kind.ACCESS_DENIED)
    # but may still edit profiles and deactivate an end user
    services.user_update(actor=manager, user=desk.user_a, changes={"is_active": False})
    assert _row(desk.user_a)["is_active"] is False


def test_an_administrator_changes_roles_and_bad_values_are_refused(desk):
    admin = desk.actor(desk.admin)
    services.user_update(actor=admin, user=desk.user_a, changes={"role": "agent"})
    assert _row(desk.user_a)["role"] == "agent"
    before = _row(desk.user_a)
    for changes in [
        {"role": "superhero"},
        {"email": "not-an-address"},
        {"email": desk.user_b.email.upper()},
        {"full_name": "   "},
        {"is_active": "no"},
    ]:
        with pytest.raises(ValidationError):
            services.user_update(actor=admin, user=desk.user_a, changes=changes)
    assert _row(desk.user_a) == before


# --- user_create -------------------------------------------------------------------------------


def test_an_org_admin_creates_end_users_in_their_own_organisation(desk):
    user = services.user_create(
        actor=desk.actor(desk.orgadmin_a),
        organization_id=desk.org_a.pk,
        email=" New.Person@Acme.Example ",
        full_name="New Person",
    )
    assert (user.email, user.organization_id, user.role) == (
        "new.person@acme.example",
        desk.org_a.pk,
        User.Role.END_USER,
    )
    assert _events(user, Kind.CREATED)[0].actor_id == desk.orgadmin_a.pk


@pytest.mark.parametrize(
    ("org", "role"),
    [
        ("org_b", User.Role.END_USER),
        ("provider", User.Role.END_USER),
        ("org_a", User.Role.AGENT),
        ("org_a", User.Role.ADMIN),
        ("org_b", User.Role.MANAGER),
    ],
)
def test_an_org_admin_cannot_create_in_another_organisation_or_with_an_agent_role(desk, org, role):
    count = User.objects.count()
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=desk.actor(desk.orgadmin_a),
            organization_id=getattr(desk, org).pk,
            email="sneaky@example.test",
            full_name="Sneaky",
            role=role,
        )
    assert User.objects.count() == count
    assert not User.objects.filter(email="sneaky@example.test").exists()


def test_only_administrators_create_agents(desk):
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=desk.actor(desk.manager),
            organization_id=desk.provider.pk,
            email="new.agent@provider.test",
            full_name="New Agent",
            role=User.Role.AGENT,
        )
    agent = services.user_create(
        actor=desk.actor(desk.admin),
        organization_id=desk.provider.pk,
        email="new.agent@provider.test",
        full_name="New Agent",
        role=User.Role.AGENT,
    )
    assert agent.is_agent


@pytest.mark.parametrize("who", ["user_a", "contact_a", "agent1", "lead"])
def test_end_users_and_plain_agents_cannot_create_people(desk, who):
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=desk.actor(getattr(desk, who)),
            organization_id=desk.org_a.pk,
            email="x@acme.example",
            full_name="X",
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "alice@acme.example"}, "email"),
        ({"email": "ALICE@ACME.EXAMPLE"}, "email"),
        ({"full_name": "  "}, "full_name"),
        ({"role": "superhero"}, "role"),
        ({"password": "123"}, "password"),
        ({"organization_id": 999_999}, "organization_id"),
    ],
)
def test_user_create_validates_input(desk, kwargs, field):
    base = {"organization_id": desk.org_a.pk, "email": "fresh@acme.example", "full_name": "Fresh"}
    count = User.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.user_create(actor=desk.actor(desk.admin), **{**base, **kwargs})
    assert field in refused.value.errors
    assert User.objects.count() == count


# --- tokens ------------------------------------------------------------------------------------


def test_token_create_stores_only_the_sha256_of_the_raw_token(desk):
    token, raw = services.token_create(actor=desk.actor(desk.user_a), user=desk.user_a, name="CI")
    stored = ApiToken.objects.values().get(pk=token.pk)
    assert stored["key_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {str(v) for v in stored.values()}
    assert raw.startswith(stored["prefix"])
    assert len(raw) > 40
    assert selectors.user_for_token(raw) == desk.user_a
    (event,) = _events(desk.user_a, Kind.SECURITY)
    assert raw not in str(event.data)
    assert event.is_public is False
    _, other = services.token_create(actor=desk.actor(desk.user_a), user=desk.user_a)
    assert other != raw


def test_tokens_are_only_created_for_yourself_unless_admin(desk):
    with pytest.raises(PermissionDenied):
        services.token_create(actor=desk.actor(desk.agent1), user=desk.user_a)
    with pytest.raises(NotFound):
        services.token_create(actor=Actor.system(desk.org_b.pk), user=desk.user_a)
    assert not ApiToken.objects.exists()
    token, _ = services.token_create(actor=desk.actor(desk.admin), user=desk.user_a)
    assert token.user_id == desk.user_a.pk


def test_token_revoke_cli_revokes_and_the_token_stops_working(desk):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from frontline.accounts.selectors import user_for_token

    out = StringIO()
    call_command("token", "create", "--email", desk.agent1.email, stdout=out)
    raw = out.getvalue().strip()
    assert user_for_token(raw) == desk.agent1
    out = StringIO()
    call_command("token", "revoke", "--email", desk.agent1.email, "--prefix", raw[:12], stdout=out)
    assert "Revoked 1" in out.getvalue()
    assert user_for_token(raw) is None
    with pytest.raises(CommandError) as excinfo:
        call_command("token", "revoke", "--email", desk.agent1.email, "--prefix", raw[:12])
    assert excinfo.value.returncode == 2
