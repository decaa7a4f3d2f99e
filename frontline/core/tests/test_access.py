"""The gatekeeper: tenant scoping before policies, NotFound for foreign objects, and errors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from frontline.core import access
from frontline.core.access import Actor
from frontline.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from frontline.tickets.models import Ticket
from frontline.tickets.tests.factories import TicketFactory


@pytest.fixture
def policy():
    """A throwaway action whose rule says yes to agents only."""
    name = "tests.poke"
    access._policies.pop(name, None)
    access.register(name)(lambda actor, obj: actor.is_agent)
    yield name
    access._policies.pop(name, None)


def _agent(*tenants: int) -> Actor:
    return Actor(user_id=1, tenant_ids=frozenset(tenants), roles=frozenset({"agent"}))


def test_a_foreign_object_is_not_found_even_when_the_rule_would_allow(policy):
    foreign = SimpleNamespace(tenant_id=2)
    with pytest.raises(NotFound):
        access.require(_agent(1), policy, foreign)
    assert access.allows(_agent(1), policy, foreign) is False


def test_the_rule_decides_inside_the_tenant(policy):
    own = SimpleNamespace(tenant_id=1)
    access.require(_agent(1), policy, own)
    end_user = Actor(user_id=2, tenant_ids=frozenset({1}), roles=frozenset({"end_user"}))
    with pytest.raises(PermissionDenied):
        access.require(end_user, policy, own)
    # A foreign object is NotFound for them too, never PermissionDenied.
    with pytest.raises(NotFound):
        access.require(end_user, policy, SimpleNamespace(tenant_id=2))


def test_unknown_actions_and_double_registration_fail_loudly(policy):
    with pytest.raises(RuntimeError, match="no policy"):
        access.require(_agent(1), "tests.unknown")
    with pytest.raises(RuntimeError, match="registered twice"):
        access.register(policy)(lambda actor, obj: True)


def test_system_actors_are_scoped_to_their_tenant_or_span_all():
    one = Actor.system(7)
    assert one.is_agent
    assert one.is_system
    assert one.can_see_tenant(7)
    assert not one.can_see_tenant(8)
    everywhere = Actor.system()
    assert everywhere.all_tenants
    assert everywhere.can_see_tenant(8)
    assert everywhere.user_id is None


def test_visible_to_filters_by_tenant(db):
    mine, theirs = TicketFactory(), TicketFactory()
    actor = _agent(mine.tenant_id)
    assert list(Ticket.objects.visible_to(actor)) == [mine]
    assert set(Ticket.objects.visible_to(Actor.system())) == {mine, theirs}
    assert not Ticket.objects.visible_to(_agent()).exists()


def test_errors_carry_status_codes_and_messages():
    assert (NotFound().status_code, NotFound().message) == (404, "Not found.")
    assert PermissionDenied().status_code == 403
    assert Conflict().status_code == 409
    single = ValidationError("Bad input")
    assert single.errors == {"__all__": "Bad input"}
    assert single.status_code == 422
    several = ValidationError({"subject": "Required.", "impact": "1 to 3."})
    assert str(several) == "subject: Required.; impact: 1 to 3."
