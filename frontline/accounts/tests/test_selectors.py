"""Building the Actor, API token look-up, and who may see which people."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from frontline.accounts import selectors, services
from frontline.accounts.models import ApiToken, User
from frontline.core.errors import NotFound
from frontline.tickets import selectors as ticket_selectors
from frontline.tickets import services as ticket_services


@pytest.fixture
def acme_ticket(desk):
    return ticket_services.ticket_create(
        actor=desk.actor(desk.agent1), subject="Acme VPN", requester_id=desk.user_a.pk
    )


def _reloaded(user: User) -> User:
    """The user as the next request's middleware would load it."""
    return User.objects.get(pk=user.pk)


def test_actor_for_an_agent_serving_everyone(desk):
    actor = selectors.actor_for_user(desk.agent1)
    assert actor.is_agent
    assert actor.all_tenants
    assert actor.user_id == desk.agent1.pk
    assert actor.group_ids == frozenset({desk.tier1.pk})
    assert actor.label == "Tess Tier-One"


def test_actor_for_an_agent_serving_one_organisation(desk):
    actor = selectors.actor_for_user(desk.agent_a)
    assert not actor.all_tenants
    assert actor.tenant_ids == frozenset({desk.provider.pk, desk.org_a.pk})


def test_actor_for_end_users_is_their_organisation_only(desk):
    for person in [desk.user_a, desk.contact_a, desk.orgadmin_a]:
        actor = selectors.actor_for_user(person)
        assert actor.is_end_user
        assert actor.tenant_ids == frozenset({desk.org_a.pk})
        assert actor.group_ids == frozenset()


def test_removal_from_served_organisations_takes_effect_immediately(desk, acme_ticket):
    actor = selectors.actor_for_user(desk.agent_a)
    assert ticket_selectors.ticket_get(actor=actor, ref=acme_ticket.pk)
    desk.agent_a.served_organizations.remove(desk.org_a)
    actor = selectors.actor_for_user(_reloaded(desk.agent_a))
    assert desk.org_a.pk not in actor.tenant_ids
    with pytest.raises(NotFound):
        ticket_selectors.ticket_get(actor=actor, ref=acme_ticket.pk)
    assert not ticket_selectors.ticket_list(actor=actor).exists()


def test_a_role_downgrade_takes_effect_immediately(desk, acme_ticket):
    # agent1 is downgraded to an end user by an administrator.
    services.user_update(
        actor=desk.actor(desk.admin), user=_reloaded(desk.agent1), changes={"role": "end_user"}
    )
    actor = selectors.actor_for_user(_reloaded(desk.agent1))
    assert not actor.is_agent
    assert not actor.all_tenants
    assert actor.group_ids == frozenset()
    with pytest.raises(NotFound):
        ticket_selectors.ticket_get(actor=actor, ref=acme_ticket.pk)


def test_a_team_lead_demoted_to_agent_loses_the_lead_role(desk):
    services.user_update(
        actor=desk.actor(desk.admin), user=_reloaded(desk.lead), changes={"role": "agent"}
    )
    actor = selectors.actor_for_user(_reloaded(desk.lead))
    assert actor.roles == frozenset({"agent"})


def test_designated_contact_downgraded_to_end_user_sees_only_their_own(desk, acme_ticket):
    contact = selectors.actor_for_user(desk.contact_a)
    assert ticket_selectors.ticket_list(actor=contact).filter(pk=acme_ticket.pk).exists()
    services.user_update(
        actor=desk.actor(desk.orgadmin_a),
        user=_reloaded(desk.contact_a),
        changes={"role": "end_user"},
    )
    contact = selectors.actor_for_user(_reloaded(desk.contact_a))
    assert not ticket_selectors.ticket_list(actor=contact).exists()


# --- API tokens --------------------------------------------------------------------------------


def test_token_lookup_finds_the_user_and_refuses_revoked_expired_or_wrong_tokens(desk):
    token, raw = services.token_create(actor=desk.actor(desk.user_a), user=desk.user_a)
    assert selectors.user_for_token(raw) == desk.user_a
    for wrong in ["", raw[:-1], raw + "x", raw.upper(), token.key_hash, "x" * 500]:
        assert selectors.user_for_token(wrong) is None

    token.expires_at = timezone.now() + timedelta(days=1)
    token.save()
    assert selectors.user_for_token(raw) == desk.user_a
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        assert selectors.user_for_token(raw) is None

    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert selectors.user_for_token(raw) is None


def test_token_lookup_refuses_a_deactivated_user(desk):
    _, raw = services.token_create(actor=desk.actor(desk.user_a), user=desk.user_a)
    User.objects.filter(pk=desk.user_a.pk).update(is_active=False)
    assert selectors.user_for_token(raw) is None


def test_token_lookup_records_last_use(desk):
    token, raw = services.token_create(actor=desk.actor(desk.user_a), user=desk.user_a)
    assert token.last_used_at is None
    selectors.user_for_token(raw)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_hash_is_sha256(desk):
    assert selectors.token_hash("abc") == hashlib.sha256(b"abc").hexdigest()


# --- people ------------------------------------------------------------------------------------


def test_who_sees_which_people(desk):
    def seen(person):
        return {u.pk for u in selectors.user_list(actor=selectors.actor_for_user(person))}

    assert seen(desk.user_a) == {desk.user_a.pk}
    acme = {desk.user_a.pk, desk.user_a2.pk, desk.contact_a.pk, desk.orgadmin_a.pk}
    assert seen(desk.contact_a) == acme
    assert seen(desk.orgadmin_a) == acme
    agent_a_sees = seen(desk.agent_a)
    assert acme <= agent_a_sees
    assert desk.user_b.pk not in agent_a_sees
    assert desk.agent2.pk in agent_a_sees
    with pytest.raises(NotFound):
        selectors.user_get(actor=selectors.actor_for_user(desk.agent_a), user_id=desk.user_b.pk)
    assert not selectors.agent_list(actor=selectors.actor_for_user(desk.user_a)).exists()
    assert not selectors.group_list(actor=selectors.actor_for_user(desk.user_a)).exists()
    with pytest.raises(NotFound):
        selectors.group_get(actor=selectors.actor_for_user(desk.user_a), group_id=desk.tier1.pk)
