"""Reads of people and groups, and building the Actor for a user."""

from __future__ import annotations

import hashlib

from django.db.models import Q, QuerySet
from django.utils import timezone

from frontline.accounts.models import ApiToken, SupportGroup, User
from frontline.core.access import Actor
from frontline.core.errors import NotFound


def actor_for_user(user: User) -> Actor:
    """The Actor for a signed-in user, read fresh from the database on every request, so a
    removal or downgrade takes effect on the next request."""
    if user.is_agent:
        all_tenants = user.serves_all_organizations
        tenant_ids: set[int] = {user.organization_id}
        if not all_tenants:
            tenant_ids |= set(user.served_organizations.values_list("pk", flat=True))
        group_ids = frozenset(user.support_groups.values_list("pk", flat=True))
        roles = {user.role}
    else:
        all_tenants = False
        tenant_ids = {user.organization_id}
        group_ids = frozenset()
        roles = {user.role}
    return Actor(
        user_id=user.pk,
        tenant_ids=frozenset(tenant_ids),
        roles=frozenset(roles),
        all_tenants=all_tenants,
        home_tenant_id=user.organization_id,
        group_ids=group_ids,
        label=user.full_name or user.email,
    )


def user_list(*, actor: Actor) -> QuerySet[User]:
    """People the actor may see: agents see users of served organisations and all agents;
    end users see only themselves (organisation admins and contacts: their organisation)."""
    qs = User.objects.select_related("organization")
    if actor.is_agent:
        if actor.all_tenants:
            return qs
        return qs.filter(Q(organization_id__in=actor.tenant_ids) | Q(role__in=_agent_roles()))
    if actor.has_role("org_admin", "org_contact"):
        return qs.filter(organization_id=actor.home_tenant_id or 0)
    return qs.filter(pk=actor.user_id or 0)


def _agent_roles() -> list[str]:
    return [User.Role.AGENT, User.Role.TEAM_LEAD, User.Role.MANAGER, User.Role.ADMIN]


def user_get(*, actor: Actor, user_id: int) -> User:
    try:
        return user_list(actor=actor).get(pk=user_id)
    except User.DoesNotExist:
        raise NotFound("User not found.") from None


def agent_list(*, actor: Actor) -> QuerySet[User]:
    if not actor.is_agent:
        return User.objects.none()
    return User.objects.filter(role__in=_agent_roles(), is_active=True).order_by("full_name")


def group_list(*, actor: Actor) -> QuerySet[SupportGroup]:
    if not actor.is_agent:
        return SupportGroup.objects.none()
    return SupportGroup.objects.filter(is_active=True).order_by("tier", "name")


def group_get(*, actor: Actor, group_id: int) -> SupportGroup:
    try:
        return group_list(actor=actor).get(pk=group_id)
    except SupportGroup.DoesNotExist:
        raise NotFound("Group not found.") from None


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def user_for_token(raw: str) -> User | None:
    """The active user owning API token `raw`, or None."""
    if not raw or len(raw) > 200:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
