"""Who may do what to tickets. Tenant scoping is checked before these by core.access."""

from __future__ import annotations

from typing import Any

from frontline.core.access import Actor, register


def _is_viewer_end_user(actor: Actor, ticket: Any) -> bool:
    if ticket is None:
        return False
    if ticket.requester_id == actor.user_id:
        return True
    return bool(
        actor.has_role("org_contact", "org_admin") and ticket.tenant_id == actor.home_tenant_id
    )


@register("tickets.view")
def _view(actor: Actor, ticket: Any) -> bool:
    return actor.is_agent or _is_viewer_end_user(actor, ticket)


@register("tickets.create")
def _create(actor: Actor, obj: Any) -> bool:
    return actor.user_id is not None or actor.is_system


@register("tickets.comment")
def _comment(actor: Actor, ticket: Any) -> bool:
    return actor.is_agent or _is_viewer_end_user(actor, ticket)


@register("tickets.attach")
def _attach(actor: Actor, ticket: Any) -> bool:
    return actor.is_agent or _is_viewer_end_user(actor, ticket)


@register("tickets.requester_action")
def _requester_action(actor: Actor, ticket: Any) -> bool:
    """Confirm a resolution or reopen: the requester, a designated contact, or an agent."""
    return actor.is_agent or _is_viewer_end_user(actor, ticket)


for _action in (
    "tickets.update",
    "tickets.assign",
    "tickets.transition",
    "tickets.escalate",
    "tickets.note",
    "tickets.merge",
    "tickets.link",
    "tickets.watch",
    "tickets.status_link",
):
    register(_action)(lambda actor, obj: actor.is_agent)
