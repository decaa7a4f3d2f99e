"""Who may see an organisation's tickets is one rule (accounts.selectors.organization_access_q),
asked in three ways: per user by the services (an assignee, a new watcher), as a query for the
watchers a ticket's mail goes to, and as the signed-in user's Actor. These tests fail as soon as
any two of them disagree about any kind of user."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from frontline.accounts.models import User
from frontline.accounts.selectors import (
    actor_for_user,
    organization_access_q,
    user_has_organization_access,
)
from frontline.core.errors import ValidationError
from frontline.tickets import selectors, services
from frontline.tickets.tests.helpers import fresh, open_ticket

R = User.Role


@dataclass(frozen=True)
class Kind:
    """A kind of user, described against the desk's organisations "a", "b" and "provider"."""

    role: str
    home: str = "provider"
    serves_all: bool = False
    served: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    active: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


# kind of user -> (may see organisation A's tickets, queries the per-user check costs)
KINDS: dict[str, tuple[Kind, bool, int]] = {
    "agent serving every organisation": (Kind(R.AGENT, serves_all=True), True, 0),
    "agent serving organisation A": (Kind(R.AGENT, served=("a",)), True, 1),
    "agent serving A and B": (Kind(R.AGENT, served=("a", "b")), True, 1),
    "agent employed by organisation A": (Kind(R.AGENT, home="a"), True, 0),
    "administrator serving organisation A": (Kind(R.ADMIN, served=("a",)), True, 1),
    "agent of the service desk group serving only B": (
        Kind(R.AGENT, served=("b",), groups=("tier1",)),
        False,
        1,
    ),
    "team lead of a group, serving no organisation": (
        Kind(R.TEAM_LEAD, groups=("tier1", "tier2")),
        False,
        1,
    ),
    "inactive agent serving every organisation": (
        Kind(R.AGENT, serves_all=True, active=False),
        False,
        0,
    ),
    "inactive agent serving organisation A": (Kind(R.AGENT, served=("a",), active=False), False, 0),
    "end user of organisation A": (Kind(R.END_USER, home="a"), True, 0),
    "designated contact of organisation A": (Kind(R.ORG_CONTACT, home="a"), True, 0),
    "inactive end user of organisation A": (Kind(R.END_USER, home="a", active=False), False, 0),
    "end user of organisation B": (Kind(R.END_USER, home="b"), False, 0),
    "end user of B flagged as serving every organisation": (
        Kind(R.END_USER, home="b", serves_all=True),
        False,
        0,
    ),
    "end user of B linked to A as a served organisation": (
        Kind(R.ORG_ADMIN, home="b", served=("a",)),
        False,
        0,
    ),
}


def _organizations(desk: Any) -> dict[str, Any]:
    return {"a": desk.org_a, "b": desk.org_b, "provider": desk.provider}


def _make(desk: Any, kind: Kind, n: int) -> User:
    orgs = _organizations(desk)
    user = User.objects.create(
        email=f"kind{n}@example.test",
        full_name=f"Kind {n}",
        organization=orgs[kind.home],
        role=kind.role,
        serves_all_organizations=kind.serves_all,
        is_active=kind.active,
    )
    user.served_organizations.add(*(orgs[slug] for slug in kind.served))
    groups = {"tier1": desk.tier1, "tier2": desk.tier2}
    for name in kind.groups:
        groups[name].members.add(user)
    return User.objects.get(pk=user.pk)  # as the services load it: no cached relations


@pytest.mark.parametrize("name", list(KINDS))
def test_each_kind_of_user_gets_the_same_answer_from_every_path(
    desk, name, django_assert_num_queries
):
    kind, expected, queries = KINDS[name]
    user = _make(desk, kind, 0)
    ticket = open_ticket(desk)
    tenant_id = desk.org_a.pk

    with django_assert_num_queries(queries):
        assert user_has_organization_access(user, tenant_id) is expected
    assert User.objects.filter(organization_access_q(tenant_id), pk=user.pk).exists() is expected
    ticket.watchers.add(user)
    assert (user.pk in {w.pk for w in selectors.watchers_with_access(ticket)}) is expected
    if kind.active:  # inactive users cannot sign in, so they never get an Actor
        assert actor_for_user(user).can_see_tenant(tenant_id) is expected


@pytest.mark.parametrize("name", list(KINDS))
def test_the_services_apply_the_same_rule(desk, name):
    kind, expected, _ = KINDS[name]
    user = _make(desk, kind, 0)
    ticket = open_ticket(desk)
    actor = desk.actor(desk.agent1)

    if expected:
        services.watcher_add(actor=actor, ticket=fresh(ticket), user_id=user.pk)
        assert fresh(ticket).watchers.filter(pk=user.pk).exists()
    else:
        with pytest.raises(ValidationError):
            services.watcher_add(actor=actor, ticket=fresh(ticket), user_id=user.pk)
    if kind.role in (R.AGENT, R.TEAM_LEAD, R.ADMIN) and kind.active:
        if expected:
            assert open_ticket(desk, assignee_id=user.pk).assignee_id == user.pk
        else:
            with pytest.raises(ValidationError, match="does not serve"):
                open_ticket(desk, assignee_id=user.pk)


def test_every_combination_of_role_flags_and_organisations_agrees(desk):
    """Not only the kinds above: every role, activity, flag, home and served set, asked about
    organisations A and B, gives one answer per user from the check and from the query."""
    orgs = _organizations(desk)
    served_sets = [(), ("a",), ("b",), ("a", "b")]
    roles = [R.END_USER, R.ORG_CONTACT, R.AGENT, R.ADMIN]
    kinds = [
        Kind(role, home=home, serves_all=serves_all, served=served, active=active)
        for role, home, serves_all, served, active in itertools.product(
            roles, list(orgs), (False, True), served_sets, (True, False)
        )
    ]
    users = [_make(desk, kind, n) for n, kind in enumerate(kinds)]
    a_ticket = open_ticket(desk)
    b_ticket = open_ticket(desk, requester=desk.user_b)
    for ticket in (a_ticket, b_ticket):
        ticket.watchers.add(*users)

    for ticket in (a_ticket, b_ticket):
        tenant_id = ticket.tenant_id
        by_check = {u.pk for u in users if user_has_organization_access(u, tenant_id)}
        by_query = set(
            User.objects.filter(organization_access_q(tenant_id), pk__in=[u.pk for u in users])
            .distinct()
            .values_list("pk", flat=True)
        )
        watching = {w.pk for w in selectors.watchers_with_access(ticket)}
        by_actor = {
            u.pk for u in users if u.is_active and actor_for_user(u).can_see_tenant(tenant_id)
        }
        assert by_check == by_query
        assert by_check == watching & {u.pk for u in users}
        assert by_check == by_actor
        # The rule has both answers in this population, so the comparisons above mean something.
        assert 0 < len(by_check) < len(users)
