"""Reads of people and groups, and building the Actor for a user."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, models
from django.db.models import Q, QuerySet
from django.utils import timezone

from frontline.accounts.models import ApiToken, SupportGroup, User
from frontline.core import config_cache
from frontline.core.access import AGENT_ROLES, Actor
from frontline.core.errors import NotFound
from frontline.tenants.models import Organization


def organization_access_q(tenant_id: int) -> Q:
    """The rule for who may see (and act on) organisation `tenant_id`'s tickets, as a filter of
    User: an active user of the organisation itself, or an active agent who serves every
    organisation or this one. Support groups do not grant organisations: an agent's
    served organisations do. The one definition: `user_has_organization_access` evaluates this
    same Q for one user, and `actor_for_user` builds the set form (`Actor.can_see_tenant`)
    from the same columns; tickets/tests/test_organization_access.py keeps the three in step."""
    return Q(is_active=True) & (
        Q(organization_id=tenant_id)
        | (
            Q(role__in=AGENT_ROLES)
            & (Q(serves_all_organizations=True) | Q(served_organizations=tenant_id))
        )
    )


def user_has_organization_access(user: User, tenant_id: int) -> bool:
    """`organization_access_q(tenant_id)` for one loaded user. Evaluated on the user's columns,
    left to right with short-circuits, so the served organisations are read (one query) only
    when nothing before them has decided: for an agent of another organisation who does not
    serve every organisation."""
    return _q_holds(organization_access_q(tenant_id), user)


def _q_holds(q: Q, user: User) -> bool:
    results = (_child_holds(child, user) for child in q.children)
    held = any(results) if q.connector == Q.OR else all(results)
    return held != q.negated


def _child_holds(child: Any, user: User) -> bool:
    """One child of a Q, on `user`: a nested Q, or a `field`, `field__exact` or `field__in`
    lookup (a column compares its loaded value; a many-to-many field asks the database whether
    the row is linked). Anything else (expressions, other lookups) is refused, not guessed."""
    if isinstance(child, Q):
        return _q_holds(child, user)
    if not isinstance(child, tuple) or len(child) != 2:
        raise ValueError(f"Q child {child!r} is not supported here")
    lookup, value = child
    name, _, operator = lookup.partition("__")
    if operator not in ("", "exact", "in"):
        raise ValueError(f"lookup {lookup!r} is not supported here")
    field = User._meta.get_field(name)
    if isinstance(field, models.ManyToManyField):
        related = getattr(user, name).filter(**{f"pk__{operator or 'exact'}": value})
        return bool(related.exists())
    if not isinstance(field, models.Field) or not field.concrete or isinstance(value, models.Model):
        raise ValueError(f"lookup {lookup!r} is not supported here")
    actual = getattr(user, field.attname)
    return actual in value if operator == "in" else bool(actual == value)


def actor_for_user(user: User) -> Actor:
    """The Actor for a signed-in user, read fresh from the database on every request, so a
    removal or downgrade takes effect on the next request. Its organisations are the set form
    of `organization_access_q` (for active users: inactive ones cannot sign in)."""
    if user.is_agent:
        all_tenants = user.serves_all_organizations
        tenant_ids: set[int] = {user.organization_id}
        groups, served = _agent_memberships(user.pk, served=not all_tenants)
        tenant_ids |= served
        group_ids = frozenset(groups)
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


def _agent_memberships(user_id: int, *, served: bool) -> tuple[set[int], set[int]]:
    """An agent's support groups and (if `served`) the organisations they serve, in one query
    of the two link tables (this runs on every request: the ORM's two related-manager queries
    cost more in building the SQL than in running it, benchmark issue #3)."""
    groups_link = SupportGroup.members.through._meta
    served_link = User.served_organizations.through._meta
    members = SupportGroup._meta.get_field("members")
    serving = User._meta.get_field("served_organizations")
    qn = connection.ops.quote_name
    sql = (
        f"SELECT 0, {qn(members.m2m_column_name())} FROM {qn(groups_link.db_table)} "  # noqa: S608 - model metadata, not input
        f"WHERE {qn(members.m2m_reverse_name())} = %s"
    )
    params: list[Any] = [user_id]
    if served:
        sql += (
            f" UNION ALL SELECT 1, {qn(serving.m2m_reverse_name())} "  # noqa: S608
            f"FROM {qn(served_link.db_table)} WHERE {qn(serving.m2m_column_name())} = %s"
        )
        params.append(user_id)
    groups: set[int] = set()
    organizations: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, pk in cursor.fetchall():
            (organizations if kind else groups).add(int(pk))
    return groups, organizations


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


def group_list_cached(*, actor: Actor) -> list[SupportGroup]:
    """group_list as a list, from the process's configuration cache (shared: read-only; in the
    model's order, tier then name)."""
    if not actor.is_agent:
        return []
    return [g for g in config_cache.rows(SupportGroup).values() if g.is_active]


def group_get(*, actor: Actor, group_id: int) -> SupportGroup:
    try:
        return group_list(actor=actor).get(pk=group_id)
    except SupportGroup.DoesNotExist:
        raise NotFound("Group not found.") from None


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# A token's last use is recorded at most this often (one UPDATE per token per interval).
LAST_USED_INTERVAL = timedelta(seconds=300)


@dataclass(frozen=True, slots=True)
class _TokenQuery:
    sql: str
    user_attnames: list[str]
    organization_attnames: list[str]
    # Per selected model column: (the column expression, its converters), as the ORM applies them.
    converters: list[tuple[Any, list[Any]]]


_token_queries: dict[str, _TokenQuery] = {}


def _token_query() -> _TokenQuery:
    """The token lookup's SQL for this connection's database, built once per process: the
    token's id and whether its last use is stale, then the user's and their organisation's
    columns (the organisation: a ticket the user opens is answered with its name, no query)."""
    found = _token_queries.get(connection.vendor)
    if found is not None:
        return found
    qn = connection.ops.quote_name
    token = ApiToken._meta
    user = User._meta
    organization = Organization._meta
    user_fields = list(user.concrete_fields)
    organization_fields = list(organization.concrete_fields)
    columns = ", ".join(
        [f"u.{qn(f.column)}" for f in user_fields]
        + [f"o.{qn(f.column)}" for f in organization_fields]
    )
    user_organization = user.get_field("organization").column
    sql = (
        f"SELECT t.{qn('id')}, CASE WHEN t.{qn('last_used_at')} IS NULL "  # noqa: S608 - metadata
        f"OR t.{qn('last_used_at')} < %s THEN 1 ELSE 0 END, {columns} "
        f"FROM {qn(token.db_table)} t INNER JOIN {qn(user.db_table)} u "
        f"ON u.{qn(user.pk.column)} = t.{qn(token.get_field('user').column)} "
        f"INNER JOIN {qn(organization.db_table)} o "
        f"ON o.{qn(organization.pk.column)} = u.{qn(user_organization)} "
        f"WHERE t.{qn('key_hash')} = %s AND t.{qn('revoked_at')} IS NULL "
        f"AND (t.{qn('expires_at')} IS NULL OR t.{qn('expires_at')} > %s) "
        f"AND u.{qn(user.get_field('is_active').column)} = %s"
    )
    converters = []
    for table, fields in (
        (user.db_table, user_fields),
        (organization.db_table, organization_fields),
    ):
        for f in fields:
            col = f.get_col(table)
            converters.append(
                (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
            )
    query = _TokenQuery(
        sql=sql,
        user_attnames=[f.attname for f in user_fields],
        organization_attnames=[f.attname for f in organization_fields],
        converters=converters,
    )
    _token_queries[connection.vendor] = query
    return query


def user_for_token(raw: str) -> User | None:
    """The active user owning API token `raw`, or None (wrong, revoked or expired token, or an
    inactive user). Read from the database on every call, so a revocation, expiry or
    deactivation takes effect on the next request.

    One hand-written query (token and user together): this runs on every API request, and
    building the equivalent ORM query cost more than running it (benchmark issue #3)."""
    if not raw or len(raw) > 200:
        return None
    now = timezone.now()
    query = _token_query()
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            query.sql, [adapt(now - LAST_USED_INTERVAL), token_hash(raw), adapt(now), True]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, stale, *values = row
    for index, (col, converters) in enumerate(query.converters):
        for convert in converters:
            values[index] = convert(values[index], col, connection)
    split = len(query.user_attnames)
    user = User.from_db(connection.alias, query.user_attnames, values[:split])
    organization = Organization.from_db(
        connection.alias, query.organization_attnames, values[split:]
    )
    User.organization.field.set_cached_value(user, organization)
    if stale:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user
