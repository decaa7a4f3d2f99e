"""The ticket status state machine (pure: no database)."""

from __future__ import annotations

from frontline.core.errors import ValidationError
from frontline.tickets.models import Ticket

S = Ticket.Status
_PENDING = {S.PENDING_CUSTOMER, S.PENDING_VENDOR, S.PENDING_CHANGE}
_WORKING = {S.ASSIGNED, S.IN_PROGRESS}

TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.ASSIGNED, S.IN_PROGRESS, *_PENDING, S.RESOLVED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, *_PENDING, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.ASSIGNED, *_PENDING, S.RESOLVED}),
    S.PENDING_CUSTOMER: frozenset(
        {S.ASSIGNED, S.IN_PROGRESS, S.PENDING_VENDOR, S.PENDING_CHANGE, S.RESOLVED}
    ),
    S.PENDING_VENDOR: frozenset(
        {S.ASSIGNED, S.IN_PROGRESS, S.PENDING_CUSTOMER, S.PENDING_CHANGE, S.RESOLVED}
    ),
    S.PENDING_CHANGE: frozenset(
        {S.ASSIGNED, S.IN_PROGRESS, S.PENDING_CUSTOMER, S.PENDING_VENDOR, S.RESOLVED}
    ),
    # Leaving "resolved" for a working state is a reopen (only inside the reopen window).
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS, S.ASSIGNED}),
    S.CLOSED: frozenset(),
}


def allowed_targets(status: str) -> frozenset[str]:
    return TRANSITIONS.get(status, frozenset())


def is_reopen(current: str, target: str) -> bool:
    return current == S.RESOLVED and target in _WORKING


def check_transition(current: str, target: str) -> None:
    """Raise ValidationError with a message a person understands if current -> target is illegal."""
    if target not in S.values:
        raise ValidationError({"status": f"Unknown status {target!r}."})
    if current == target:
        raise ValidationError({"status": f"The ticket is already {S(current).label.lower()}."})
    if target not in allowed_targets(current):
        allowed = ", ".join(S(t).label.lower() for t in sorted(allowed_targets(current))) or "none"
        raise ValidationError(
            {
                "status": f"A ticket cannot go from {S(current).label.lower()} to "
                f"{S(target).label.lower()}. Allowed from here: {allowed}."
            }
        )
