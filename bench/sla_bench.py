"""SLA benchmark (not a test): due-date arithmetic, and the sweep over many open tickets.

    .venv/bin/python bench/sla_bench.py                          # 100,000 due dates; sweep 1M
    .venv/bin/python bench/sla_bench.py --sweep-tickets 100000   # a smaller sweep
    .venv/bin/python bench/sla_bench.py --skip-sweep             # arithmetic only (no database)

1. Due dates: 100,000 tickets with random start times over two years in a Europe/Berlin
   calendar (Mon-Fri 08:00-12:00 and 13:00-17:00, German public holidays), each getting its
   first-response and resolution warning and due times (4 due-date computations per ticket).
   Pure functions: no database. Target: >= 50,000 due-date computations/s.
2. Sweep: N open tickets with running clocks on PostgreSQL (database `frontline_sla_bench` on
   127.0.0.1, created and migrated here; rows bulk-inserted with generate_series), nothing due:
   time `sla_sweep()`. Target: < 2 s. Then make 500 of them cross their warning and time the
   sweep that acts on them (each through the services, in its own transaction).

Prints the figures as Markdown for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"


def bench_due_dates(tickets: int, seed: int) -> dict[str, float]:
    from frontline.sla import clocks
    from frontline.sla.calendar import CalendarSpec, business_add, compile_calendar
    from frontline.sla.models import TicketSla

    spec = CalendarSpec.weekly(
        {d: [("08:00", "12:00"), ("13:00", "17:00")] for d in range(5)},
        time_zone="Europe/Berlin",
        holiday_country="DE",
    )
    calendar = compile_calendar(spec)
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [base + timedelta(seconds=rng.randrange(0, 2 * 365 * 86400)) for _ in range(tickets)]
    # Targets of the five default priorities, in business seconds (response, resolution).
    targets = [(900, 14400), (3600, 28800), (14400, 108000), (36000, 180000), (72000, 360000)]
    picks = [targets[rng.randrange(5)] for _ in range(tickets)]
    calendar.add(base, 1)  # compile the first year outside the timing
    calendar.add(base + timedelta(days=800), 1)

    started = time.perf_counter()
    for start, (response, resolution) in zip(starts, picks, strict=True):
        calendar.add_many(start, (response * 3 // 4, response, resolution * 3 // 4, resolution))
    per_ticket = time.perf_counter() - started

    started = time.perf_counter()
    for start, (_, resolution) in zip(starts, picks, strict=True):
        business_add(start, resolution, calendar)
    single = time.perf_counter() - started

    # The whole clock start as the services run it (due and warning times, state, the
    # sweep's next_check_at), on unsaved rows.
    clock_rows = [
        TicketSla(response_target_seconds=r, resolution_target_seconds=s, warning_percent=75)
        for r, s in picks
    ]
    started = time.perf_counter()
    for clock, start in zip(clock_rows, starts, strict=True):
        clocks.start(clock, calendar, start)
    full = time.perf_counter() - started
    return {
        "tickets": tickets,
        "add_many_s": per_ticket,
        "due_dates_per_s": 4 * tickets / per_ticket,
        "tickets_per_s": tickets / per_ticket,
        "single_add_per_s": tickets / single,
        "clock_start_per_s": tickets / full,
    }


def _database(name: str, *, fresh: bool) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def seed_open_tickets(n: int) -> None:
    """N open tickets with running clocks, nothing due for at least an hour (plain SQL)."""
    from django.db import connection

    from frontline.accounts.models import User
    from frontline.sla.models import Calendar, SlaPolicy, TicketSla
    from frontline.tenants.models import Organization
    from frontline.tickets.models import Ticket

    have = TicketSla.objects.filter(resolution_stopped_at__isnull=True).count()
    if have == n:
        print(f"  reusing {n:,} open tickets already seeded")
        return
    TicketSla.objects.all().delete()
    Ticket.objects.all().delete()
    org, _ = Organization.objects.get_or_create(name="Bench Client", slug="bench-client")
    user = User.objects.filter(email="requester@bench.example").first() or (
        User.objects.create_user("requester@bench.example", None, full_name="Req", organization=org)
    )
    calendar = Calendar.objects.get(is_default=True)
    policy = SlaPolicy.objects.get(organization=None, ticket_type="", priority=3)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Ticket._meta.db_table} (id, created_at, updated_at, tenant_id, number,
                type, subject, description, requester_id, channel, affected_service, location,
                impact, urgency, priority, status, tier, escalation_count,
                escalated_to_manager, was_pending_customer, resolution_code, resolution_notes,
                reopen_count, version)
            SELECT g, now() - interval '1 hour', now(), %s, 'INC-' || lpad(g::text, 7, '0'),
                'incident', 'Printer jams on floor ' || (g %% 40), 'Paper jam', %s, 'phone',
                '', '', 2, 2, 3, 'in_progress', 1, 0, false, false, '', '', 0, 1
            FROM generate_series(1, %s) AS g
            """,
            [org.pk, user.pk, n],
        )
        # Clocks spread over the next 30 days (a random offset per row), all at least an hour
        # away: the sweep finds nothing to do.
        cursor.execute(
            f"""
            INSERT INTO {TicketSla._meta.db_table} (ticket_id, created_at, updated_at, tenant_id,
                policy_id, calendar_id, response_target_seconds, resolution_target_seconds,
                warning_percent, pause_statuses, started_at, elapsed_seconds, running_since,
                response_state, response_due_at, response_warn_at, response_stopped_at,
                response_elapsed_seconds, resolution_state, resolution_due_at,
                resolution_warn_at, due_at, next_check_at)
            SELECT g, now(), now(), %s, %s, %s, 14400, 108000, 75,
                '["pending_customer", "pending_vendor"]', now() - interval '1 hour', 0,
                now() - interval '1 hour', 'met', NULL, NULL, now(), 600, 'running',
                now() + d + interval '8 hours', now() + d, now() + d + interval '8 hours',
                now() + d
            FROM (SELECT g, interval '1 hour' + random() * interval '30 days' AS d
                  FROM generate_series(1, %s) AS g) AS rows
            """,
            [org.pk, policy.pk, calendar.pk, n],
        )
        cursor.execute(f"ANALYZE {Ticket._meta.db_table}")
        cursor.execute(f"ANALYZE {TicketSla._meta.db_table}")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Ticket._meta.db_table, n]
        )
    print(f"  seeded {n:,} open tickets with clocks in {time.perf_counter() - t0:.1f} s")


def bench_sweep(n: int, runs: int, due: int) -> dict[str, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from frontline.sla import services
    from frontline.sla.models import TicketSla

    seed_open_tickets(n)
    now = timezone.now()
    timings = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = services.sla_sweep(now=now)
            timings.append(time.perf_counter() - started)
        assert result.checked == 0, result
        queries = len(captured)
    sql, params = services.sla_due_query(now=now).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # Make `due` clocks cross their warning threshold, and time the sweep that acts on them.
    ids = list(TicketSla.objects.order_by("ticket_id").values_list("ticket_id", flat=True)[:due])
    TicketSla.objects.filter(ticket_id__in=ids).update(
        resolution_warn_at=now - timedelta(minutes=1), next_check_at=now - timedelta(minutes=1)
    )
    started = time.perf_counter()
    acted = services.sla_sweep(now=now)
    acting = time.perf_counter() - started
    again_started = time.perf_counter()
    again = services.sla_sweep(now=now)
    again_s = time.perf_counter() - again_started
    return {
        "tickets": n,
        "idle_median_s": statistics.median(timings),
        "idle_max_s": max(timings),
        "idle_queries": queries,
        "plan": plan,
        "due": due,
        "acted_warnings": acted.warnings,
        "acting_s": acting,
        "again_checked": again.checked,
        "again_s": again_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--due-tickets", type=int, default=100_000)
    parser.add_argument("--sweep-tickets", type=int, default=1_000_000)
    parser.add_argument("--sweep-runs", type=int, default=5)
    parser.add_argument("--acting", type=int, default=500, help="clocks made due for part 2")
    parser.add_argument("--database", default="frontline_sla_bench")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    if not args.skip_sweep:
        os.environ["DATABASE_URL"] = f"{PG}/{args.database}"
        _database(args.database, fresh=args.fresh)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontline.settings")
    os.environ.setdefault("FRONTLINE_VAR_DIR", "/tmp/frontline-sla-bench")
    import django

    django.setup()
    print(f"# SLA benchmark, {date.today()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()})")  # fmt: skip

    due = bench_due_dates(args.due_tickets, args.seed)
    print(f"\nDue dates for {due['tickets']:,} tickets (4 each: response and resolution, "
          f"warning and due), Europe/Berlin, two intervals a day, German holidays:")  # fmt: skip
    print(f"- {due['due_dates_per_s']:,.0f} due-date computations/s "
          f"({due['tickets_per_s']:,.0f} tickets/s, {due['add_many_s']:.2f} s in all)")  # fmt: skip
    print(f"- one business_add() at a time: {due['single_add_per_s']:,.0f}/s")
    print(f"- whole clock start (clocks.start: 4 due dates, states, next check): "
          f"{due['clock_start_per_s']:,.0f} tickets/s")  # fmt: skip

    if args.skip_sweep:
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    sweep = bench_sweep(args.sweep_tickets, args.sweep_runs, args.acting)
    print(f"\nSweep over {sweep['tickets']:,} open tickets on PostgreSQL, nothing due "
          f"({args.sweep_runs} runs):")  # fmt: skip
    print(f"- median {sweep['idle_median_s'] * 1000:.2f} ms, worst "
          f"{sweep['idle_max_s'] * 1000:.2f} ms, {sweep['idle_queries']} query")  # fmt: skip
    print(f"- then {sweep['due']} due warnings: {sweep['acted_warnings']} acted on in "
          f"{sweep['acting_s']:.2f} s; the next sweep found {sweep['again_checked']} "
          f"in {sweep['again_s'] * 1000:.1f} ms")  # fmt: skip
    print("\nPlan of the sweep query (nothing due):\n")
    print("    " + str(sweep["plan"]).replace("\n", "\n    "))


if __name__ == "__main__":
    main()
