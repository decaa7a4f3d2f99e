"""`frontline bench seed --tickets N [--orgs K] [--seed S]`: fill an empty database with a large,
realistic desk for the benchmarks in bench/ (see frontline/tickets/bench_seed.py).

frontline bench seed --tickets 100000            # the standard size of `make bench`
frontline bench seed --tickets 1000000 --seed 7  # `make bench-full`

Every seeded account's password is 'frontline-bench'; agent1@provider.bench serves every
organisation. The same --seed and --until give the same rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from frontline.tickets.bench_seed import BENCH_PASSWORD, DEFAULT_UNTIL, SeedRefused, bench_seed


def _until(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(
            f"--until must be a date (YYYY-MM-DD), not {text!r}.", returncode=2
        ) from None


class Command(BaseCommand):
    help = "Benchmark tools. `seed`: fill an empty database with a large, realistic desk."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        seed = actions.add_parser("seed", help="Fill an empty database with a benchmark desk.")
        seed.add_argument("--tickets", type=int, required=True, help="How many tickets.")
        seed.add_argument("--orgs", type=int, default=None, help="Client organisations.")
        seed.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        seed.add_argument(
            "--until",
            default=DEFAULT_UNTIL.strftime("%Y-%m-%d"),
            help="The day the three years of history end (default %(default)s).",
        )
        seed.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tickets"] < 0:
            raise CommandError("--tickets must be zero or more.", returncode=2)
        until = _until(options["until"])
        total = options["tickets"]
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=options["no_progress"],
        )
        with progress:
            task = progress.add_task("directory", total=total)

            def phase(name: str) -> None:
                progress.update(task, description=name)

            try:
                result = bench_seed(
                    tickets=total,
                    orgs=options["orgs"],
                    seed=options["seed"],
                    until=until,
                    progress=lambda n: progress.advance(task, n),
                    phase=phase,
                )
            except SeedRefused as exc:
                raise CommandError(str(exc), returncode=2) from exc
        phases = ", ".join(f"{name} {sec:.1f} s" for name, sec in result.phases.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded in {result.seconds:.1f} s ({phases}): {result.organizations} "
                f"organisations, {result.groups} groups, {result.agents} agents, "
                f"{result.end_users} end users, {result.tickets} tickets "
                f"({result.long_tickets} with {20}-event timelines), {result.comments} comments, "
                f"{result.events} timeline events, {result.attachments} attachments."
            )
        )
        self.stdout.write(f"Every account's password is {BENCH_PASSWORD!r}.")
