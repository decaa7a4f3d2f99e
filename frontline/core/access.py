"""The single gatekeeper: who may see and do what.

Every selector starts from `Model.objects.visible_to(actor)`; every service calls `require()`
before it changes anything. Objects of an organisation the actor may not see raise NotFound
(never PermissionDenied), so their existence is not revealed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from frontline.core.errors import NotFound, PermissionDenied

AGENT_ROLES = frozenset({"agent", "team_lead", "manager", "admin"})
END_USER_ROLES = frozenset({"end_user", "org_contact", "org_admin"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: built once per request (middleware) or from ids in a task."""

    user_id: int | None
    tenant_ids: frozenset[int]
    roles: frozenset[str]
    all_tenants: bool = False
    home_tenant_id: int | None = None
    group_ids: frozenset[int] = field(default_factory=frozenset)
    label: str = ""

    @classmethod
    def system(cls, tenant_id: int | None = None, label: str = "system") -> Actor:
        """Automation and background jobs: all roles of an admin, on one tenant or on all."""
        return cls(
            user_id=None,
            tenant_ids=frozenset({tenant_id}) if tenant_id is not None else frozenset(),
            roles=frozenset({"system", "admin"}),
            all_tenants=tenant_id is None,
            home_tenant_id=tenant_id,
            label=label,
        )

    @property
    def is_agent(self) -> bool:
        return bool(self.roles & AGENT_ROLES) or "system" in self.roles

    @property
    def is_end_user(self) -> bool:
        return not self.is_agent

    @property
    def is_system(self) -> bool:
        return "system" in self.roles

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def can_see_tenant(self, tenant_id: int) -> bool:
        return self.all_tenants or tenant_id in self.tenant_ids


Policy = Callable[[Actor, Any], bool]
_policies: dict[str, Policy] = {}


def register(action: str) -> Callable[[Policy], Policy]:
    """Register the rule for `action` ("<app>.<verb>"); one rule per action."""

    def decorator(func: Policy) -> Policy:
        if action in _policies and _policies[action] is not func:
            raise RuntimeError(f"policy {action!r} registered twice")
        _policies[action] = func
        return func

    return decorator


def allows(actor: Actor, action: str, obj: Any = None) -> bool:
    tenant_id = getattr(obj, "tenant_id", None)
    if tenant_id is not None and not actor.can_see_tenant(tenant_id):
        return False
    try:
        policy = _policies[action]
    except KeyError:
        raise RuntimeError(f"no policy registered for {action!r}") from None
    return bool(policy(actor, obj))


def require(actor: Actor, action: str, obj: Any = None) -> None:
    """Raise NotFound for another tenant's object, PermissionDenied if the rule says no."""
    tenant_id = getattr(obj, "tenant_id", None)
    if tenant_id is not None and not actor.can_see_tenant(tenant_id):
        raise NotFound()
    if not allows(actor, action, obj):
        raise PermissionDenied()
