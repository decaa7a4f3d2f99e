"""Reads of organisations, scoped to the actor."""

from __future__ import annotations

from django.db.models import QuerySet

from frontline.core import config_cache
from frontline.core.access import Actor
from frontline.core.errors import NotFound
from frontline.tenants.models import Organization


def organization_list(*, actor: Actor) -> QuerySet[Organization]:
    qs = Organization.objects.all()
    if not actor.all_tenants:
        qs = qs.filter(pk__in=actor.tenant_ids)
    return qs.order_by("name")


def organization_list_cached(*, actor: Actor) -> list[Organization]:
    """organization_list as a list, from the process's configuration cache (the rows are
    shared: read-only; in the model's order, by name)."""
    everyone = config_cache.rows(Organization).values()
    return [o for o in everyone if actor.all_tenants or o.pk in actor.tenant_ids]


def organization_get(*, actor: Actor, organization_id: int) -> Organization:
    try:
        return organization_list(actor=actor).get(pk=organization_id)
    except Organization.DoesNotExist:
        raise NotFound("Organisation not found.") from None


def organization_cached(organization_id: int) -> Organization | None:
    """The organisation, from this process's configuration cache (core.config_cache): for
    internal use where its name or settings are needed on a hot path (no access check; the
    instance is shared between threads: read-only)."""
    return config_cache.rows(Organization).get(organization_id)
