"""Loading the demo desk in one transaction, with its history dated in the past."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from frontline.accounts.models import User
from frontline.tickets.demo.directory import directory_create
from frontline.tickets.demo.stories import Sim, stories_plan, stories_run, story_for
from frontline.tickets.models import Ticket
from frontline.tickets.services import number_sequences_restart

# Every demo account signs in with this password (documented in the README).
DEMO_PASSWORD = "frontline-demo"  # noqa: S105 (a published demo password, not a secret)
MAX_TICKETS = 20_000
SETUP_DAYS = 120  # organisations and people exist from this long ago; tickets span 90 days


class DemoUnavailable(RuntimeError):
    """The demo cannot run here (a missing package); the message says what to do."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    accounts: list[User]
    organizations: int
    groups: int
    tickets: int
    statuses: dict[str, int]
    steps: int


def demo_load(*, tickets: int, seed: int, now: datetime | None = None) -> DemoResult:
    """Create the demo desk and `tickets` tickets with their history, deterministically from
    `seed`. Call on an empty database; everything is written in one transaction.

    Each step runs with the clock moved to its moment in the past (time-machine), because the
    audit trail is append-only: events cannot be back-dated afterwards."""
    if not 0 <= tickets <= MAX_TICKETS:
        raise ValueError(f"tickets must be between 0 and {MAX_TICKETS}")
    try:
        import time_machine
    except ImportError:  # pragma: no cover - a dev dependency, installed by `make run`
        raise DemoUnavailable(
            "The demo needs the time-machine package to date its history: "
            "run `make install` or `.venv/bin/pip install -e '.[dev]'`."
        ) from None

    now = now or timezone.now()
    plans = stories_plan(tickets=tickets, rng=_rng(seed))
    with transaction.atomic():
        # PostgreSQL's number sequences do not roll back: start them after the numbers in
        # the (empty) database, so the same seed gives the same numbers.
        number_sequences_restart()
        traveller = time_machine.travel(now - timedelta(days=SETUP_DAYS), tick=False)
        coordinates = traveller.start()
        try:
            directory = directory_create(password=DEMO_PASSWORD)
            sim = Sim(directory, now=now)
            stories = [
                (plan.scenario.name, story_for(sim, plan, _rng(f"{seed}:{plan.index}")))
                for plan in plans
            ]
            steps = stories_run(
                stories, move_to=coordinates.move_to, cutoff=now - timedelta(minutes=1)
            )
        finally:
            traveller.stop()
        created = Ticket.objects.count()
        if created != tickets:  # pragma: no cover - a planning bug; roll everything back
            raise RuntimeError(f"the demo planned {tickets} tickets but created {created}")
        statuses = dict(
            Ticket.objects.values_list("status").annotate(n=Count("id")).order_by("status")
        )
    return DemoResult(
        accounts=directory.accounts,
        organizations=1 + len(directory.clients),
        groups=len(directory.groups),
        tickets=created,
        statuses=statuses,
        steps=steps,
    )


def _rng(seed: int | str) -> random.Random:
    """Repeatable randomness for made-up data (never for anything secret)."""
    return random.Random(seed)  # noqa: S311
