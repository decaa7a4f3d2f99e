"""Celery entry points for SLAs (thin: they call the services).

`sla_sweep` runs every minute from the beat schedule (frontline/celery.py). Both tasks are
idempotent: the services claim each crossing with a conditional UPDATE, so a retry, a second
sweep or a second worker never acts twice."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import close_old_connections

from frontline.sla import services


@shared_task(name="frontline.sla.tasks.sla_sweep", ignore_result=True)  # type: ignore[untyped-decorator]
def sla_sweep() -> dict[str, Any]:
    """Warn, breach and escalate every ticket whose next SLA threshold has passed."""
    # Outside a worker (the beat thread of `frontline serve`, eager mode) nothing else recycles
    # the thread's database connection.
    close_old_connections()
    try:
        result = services.sla_sweep()
    finally:
        close_old_connections()
    return {
        "checked": result.checked,
        "warnings": result.warnings,
        "breaches": result.breaches,
        "escalations": result.escalations,
    }


@shared_task(name="frontline.sla.tasks.sla_ticket_check", ignore_result=True)  # type: ignore[untyped-decorator]
def sla_ticket_check(ticket_id: int) -> dict[str, Any]:
    """Act on one ticket's crossings now (the sweep does the same for every due ticket)."""
    result = services.sla_check_ticket(ticket_id=ticket_id)
    return {"warnings": result.warnings, "breaches": result.breaches}
