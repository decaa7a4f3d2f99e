"""Rules for people and groups."""

from __future__ import annotations

from typing import Any

from frontline.core.access import Actor, register


@register("accounts.user_create")
def _user_create(actor: Actor, obj: Any) -> bool:
    return actor.has_role("admin", "manager", "org_admin", "system")


@register("accounts.user_update")
def _user_update(actor: Actor, obj: Any) -> bool:
    if actor.has_role("admin", "manager", "system"):
        return True
    if actor.has_role("org_admin") and obj is not None:
        return bool(getattr(obj, "organization_id", None) == actor.home_tenant_id)
    return obj is not None and getattr(obj, "pk", None) == actor.user_id


@register("accounts.token_create")
def _token_create(actor: Actor, obj: Any) -> bool:
    return actor.user_id is not None or actor.is_system
