"""`frontline demo`: load a living demo desk into an empty database.

frontline demo                  # 300 tickets over the last 90 days, seed 42
frontline demo --tickets 1000 --seed 7
frontline demo --if-empty       # what `make run` calls: skip when data exists
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frontline.accounts.models import User
from frontline.core.errors import FrontlineError
from frontline.tenants.models import Organization
from frontline.tickets.demo import DEMO_PASSWORD, DemoResult, DemoUnavailable, demo_load
from frontline.tickets.demo.load import MAX_TICKETS


class Command(BaseCommand):
    help = (
        "Load demo data: a provider and three client organisations, support tiers, agents and "
        "end users, and tickets with months of history. Every account's password is "
        f"'{DEMO_PASSWORD}'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tickets",
            type=int,
            default=300,
            help=f"How many tickets to create (0-{MAX_TICKETS}; default 300).",
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed: the same seed, the same desk."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds an organisation.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tickets = options["tickets"]
        if not 0 <= tickets <= MAX_TICKETS:
            raise CommandError(
                f"--tickets must be between 0 and {MAX_TICKETS}, not {tickets}.", returncode=2
            )
        if Organization.objects.exists():
            if options["if_empty"]:
                self.stdout.write("Demo data already loaded (organisations exist); nothing to do.")
                return
            raise CommandError(
                "The database already holds organisations; the demo only loads into an empty "
                "database. Use --if-empty to skip quietly, or point FRONTLINE_VAR_DIR (SQLite) "
                "or DATABASE_URL at a fresh database."
            )
        self.stdout.write(f"Loading the demo desk ({tickets} tickets, seed {options['seed']})…")
        started = time.monotonic()
        try:
            result = demo_load(tickets=tickets, seed=options["seed"])
        except DemoUnavailable as exc:
            raise CommandError(str(exc)) from exc
        except FrontlineError as exc:  # a service refused a step: nothing was written
            raise CommandError(f"The demo could not be loaded: {exc}") from exc
        self._summary(result, time.monotonic() - started)

    def _summary(self, result: DemoResult, seconds: float) -> None:
        statuses = ", ".join(f"{name} {count}" for name, count in result.statuses.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo desk loaded in {seconds:.1f} s: {result.organizations} organisations, "
                f"{result.groups} support groups, {len(result.accounts)} accounts, "
                f"{result.tickets} tickets ({result.steps} steps of history)."
            )
        )
        if statuses:
            self.stdout.write(f"Tickets by status: {statuses}.")
        rows = [("EMAIL", "ROLE", "ORGANISATION", "NOTES")]
        for user in result.accounts:
            rows.append((user.email, user.role, user.organization.name, _notes(user)))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        self.stdout.write("")
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, row[3]]).rstrip())
        self.stdout.write("")
        self.stdout.write(f"Every demo account signs in with the password: {DEMO_PASSWORD}")


def _notes(user: User) -> str:
    """What a demo account is for, in a few words."""
    notes = [", ".join(g.name for g in user.support_groups.all())]
    notes.append(", ".join(f"leads {g.name}" for g in user.led_groups.all()))
    notes.append(", ".join(f"manages {g.name}" for g in user.managed_groups.all()))
    if user.is_superuser:
        notes.append("admin site")
    if user.is_agent and not user.serves_all_organizations:
        notes.append(f"serves {', '.join(o.name for o in user.served_organizations.all())} only")
    if user.role == User.Role.ORG_CONTACT:
        notes.append("sees all of the organisation's tickets")
    return "; ".join(n for n in notes if n)
