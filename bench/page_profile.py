"""Measure the desk's hot pages in one process, without a server: CPU and SQL per request.

    python bench/page_profile.py --database-url postgres://postgres@127.0.0.1:5432/DB \
        --scenario queue_page --requests 20 [--profile 30] [--warmup 5]

The database must be seeded with `frontline bench seed` (bench/run.py does it for the load
benchmark). The scenarios are bench/run.py's, with the same users, filters and tickets:
queue_page (`GET /desk/?<filters>`, cycling through the five filters), queue_api
(`GET /api/v1/tickets?limit=50&<filters>`, Bearer token), ticket_page (`GET
/desk/tickets/<number>/`, 20-event timelines), portal_my_tickets (`GET /portal/`, the end users
with the most tickets), search (`GET /desk/?queue=all&q=<words>`), create_ticket (`POST
/api/v1/tickets` with the end users' Bearer tokens, bench/run.py's body) and add_comment (`POST
/api/v1/tickets/<number>/comments`, agent token, the newest open tickets); `--scenario all` runs
the first four. Requests go through Django's full stack (middleware, sessions, templates) with the
test client; DEBUG is off, as in production.

Printed per scenario: the median and 90th percentile of wall time, of this process's CPU time
(`time.process_time`: the app's share; PostgreSQL's CPU is not in it) and of the time spent
waiting for SQL, plus the number of queries per request. `--profile N` then runs N more
requests under cProfile and prints the top functions by own time and by cumulative time.
At concurrency 8 on two cores the load benchmark needs about 10-15 ms of CPU per request
(app and database) for a p95 under 60 ms (bench/RESULTS.md, issue 3).

The read scenarios make only read requests, but the API scenarios create API tokens (as
bench/run.py does) and every signed-in request may refresh its session row. create_ticket and
add_comment write tickets, comments, audit events and notification rows. As in the load
benchmark, give them a broker and a cache so that the request only enqueues the mail (without
a broker Celery runs the send task inside the request); nothing needs to consume the queue:

    CELERY_BROKER_URL=redis://127.0.0.1:6379/13 FRONTLINE_CELERY_QUEUE=page_profile \
    FRONTLINE_CACHE_URL=redis://127.0.0.1:6379/14 \
    FRONTLINE_EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend \
    python bench/page_profile.py --database-url ... --scenario create_ticket,add_comment,queue_api

(then delete the queue's key: `redis-cli -n 13 del page_profile`).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = (
    "queue_page",
    "queue_api",
    "ticket_page",
    "portal_my_tickets",
    "search",
    "create_ticket",
    "add_comment",
)
DEFAULT_SCENARIOS = ("queue_page", "queue_api", "ticket_page", "portal_my_tickets")
SEARCHES = ["printer", "password reset", "vpn", "outlook", "wi-fi", "LT-04521", "laptop"]


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["FRONTLINE_DEBUG"] = "0"
    os.environ.setdefault("FRONTLINE_VAR_DIR", "/tmp/frontline-page-profile")
    hosts = os.environ.get("FRONTLINE_ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ["FRONTLINE_ALLOWED_HOSTS"] = hosts + ",testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontline.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def _fixtures() -> dict[str, Any]:
    """The users, filters and tickets of bench/run.py's scenarios (frontline_fixtures)."""
    fx: dict[str, Any] = {}
    fx["agents"] = [
        r[0]
        for r in _rows(
            "SELECT email FROM accounts_user WHERE role IN ('agent','team_lead') "
            "AND serves_all_organizations ORDER BY id LIMIT 32"
        )
    ]
    fx["long_tickets"] = [
        r[0]
        for r in _rows(
            "SELECT t.number FROM tickets_ticket t WHERE t.id %% 1000 = 501 AND (SELECT count(*) "
            "FROM core_auditevent e WHERE e.target_type = 'tickets.ticket' "
            "AND e.target_id = t.id) = 20 ORDER BY t.id LIMIT 200"
        )
    ]
    fx["portal_users"] = [
        r[0]
        for r in _rows(
            "SELECT u.email FROM accounts_user u JOIN tickets_ticket t ON t.requester_id = u.id "
            "WHERE u.role = 'end_user' GROUP BY u.email ORDER BY count(*) DESC, u.email LIMIT 32"
        )
    ]
    org = _rows("SELECT id FROM tenants_organization WHERE NOT is_provider ORDER BY id LIMIT 1")
    group = _rows("SELECT id FROM accounts_supportgroup ORDER BY id LIMIT 1")
    fx["open_tickets"] = [
        r[0]
        for r in _rows(
            "SELECT number FROM tickets_ticket WHERE status IN ('assigned','in_progress') "
            "ORDER BY id DESC LIMIT 400"
        )
    ]
    fx["filters"] = [
        "queue=open&sort=-priority",
        "queue=groups&sort=-created",
        f"queue=open&organization={org[0][0]}&sort=-updated",
        f"queue=all&group={group[0][0]}&status=pending_customer&sort=-created",
        "queue=unassigned&sort=priority",
    ]
    return fx


def _client(email: str) -> Any:
    from django.test import Client

    from frontline.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


def _bearer_client(email: str) -> Any:
    from django.test import Client

    from frontline.accounts import services
    from frontline.accounts.models import User
    from frontline.core.access import Actor

    user = User.objects.get(email=email)
    _, raw = services.token_create(
        actor=Actor.system(label="page_profile"), user=user, name="page_profile"
    )
    return Client(headers={"Authorization": f"Bearer {raw}"})


Request = Callable[[int], Any]


def _scenario(name: str, fx: dict[str, Any]) -> Request:
    """A function of the request number that makes one request and returns the response."""
    if name == "queue_page":
        agent = _client(fx["agents"][0])
        return lambda n: agent.get(f"/desk/?{fx['filters'][n % len(fx['filters'])]}")
    if name == "search":
        agent = _client(fx["agents"][0])
        return lambda n: agent.get("/desk/", {"queue": "all", "q": SEARCHES[n % len(SEARCHES)]})
    if name == "queue_api":
        api = _bearer_client(fx["agents"][0])
        return lambda n: api.get(f"/api/v1/tickets?limit=50&{fx['filters'][n % 5]}")
    if name == "create_ticket":
        # bench/run.py's body, from the end users' tokens in turn.
        users = [_bearer_client(email) for email in fx["portal_users"][:4]]
        return lambda n: users[n % len(users)].post(
            "/api/v1/tickets",
            {
                "subject": f"Profile ticket {n}: printer offline on 2nd floor",
                "description": "Created by bench/page_profile.py.",
                "impact": 3,
                "urgency": 2,
            },
            content_type="application/json",
        )
    if name == "add_comment":
        api = _bearer_client(fx["agents"][0])
        opens = fx["open_tickets"]
        return lambda n: api.post(
            f"/api/v1/tickets/{opens[(n * 13) % len(opens)]}/comments",
            {"body": f"Profile reply {n}: checked the logs, no errors since."},
            content_type="application/json",
        )
    if name == "ticket_page":
        agent = _client(fx["agents"][0])
        longs = fx["long_tickets"]
        return lambda n: agent.get(f"/desk/tickets/{longs[(n * 7) % len(longs)]}/")
    if name == "portal_my_tickets":
        users = [_client(email) for email in fx["portal_users"][:4]]
        return lambda n: users[n % len(users)].get("/portal/")
    raise SystemExit(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}")


class _SqlTimer:
    """Counts queries and the time spent in the database driver (execute_wrapper)."""

    def __init__(self) -> None:
        self.queries = 0
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(name: str, request: Request, *, requests: int, warmup: int) -> dict[str, Any]:
    from django.db import connection

    for n in range(warmup):
        response = request(n)
        if response.status_code not in (200, 201):
            raise SystemExit(f"{name}: HTTP {response.status_code} for warm-up request {n}")
    wall: list[float] = []
    cpu: list[float] = []
    sql: list[float] = []
    queries: list[int] = []
    for n in range(requests):
        timer = _SqlTimer()
        with connection.execute_wrapper(timer):
            c0, w0 = time.process_time(), time.perf_counter()
            response = request(warmup + n)
            w1, c1 = time.perf_counter(), time.process_time()
        if response.status_code not in (200, 201):
            raise SystemExit(f"{name}: HTTP {response.status_code}")
        wall.append((w1 - w0) * 1000)
        cpu.append((c1 - c0) * 1000)
        sql.append(timer.seconds * 1000)
        queries.append(timer.queries)
    return {
        "scenario": name,
        "requests": requests,
        "wall_ms": (statistics.median(wall), _pct(wall, 0.9)),
        "cpu_ms": (statistics.median(cpu), _pct(cpu, 0.9)),
        "sql_ms": (statistics.median(sql), _pct(sql, 0.9)),
        "queries": (min(queries), max(queries)),
    }


def profile(request: Request, *, requests: int, start: int, top: int = 30) -> None:
    # CPU time, not wall time: waits for PostgreSQL would otherwise top the list.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for n in range(requests):
        request(start + n)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument(
        "--scenario",
        default="all",
        help=f"one of {', '.join(SCENARIOS)}, a comma-separated list, or 'all'",
    )
    parser.add_argument("--requests", type=int, default=20, help="measured requests (median)")
    parser.add_argument("--warmup", type=int, default=5, help="requests before measuring")
    parser.add_argument("--profile", type=int, default=0, help="then N requests under cProfile")
    parser.add_argument("--top", type=int, default=30, help="functions listed per profile")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    _setup(args.database_url)
    names = DEFAULT_SCENARIOS if args.scenario == "all" else tuple(args.scenario.split(","))
    fx = _fixtures()
    print(
        f"{'scenario':<18} {'wall p50/p90 ms':>16} {'cpu p50/p90 ms':>16} "
        f"{'sql p50/p90 ms':>16} {'queries':>8}"
    )
    for name in names:
        request = _scenario(name, fx)
        r = measure(name, request, requests=args.requests, warmup=args.warmup)
        q = r["queries"]
        print(
            f"{name:<18} {r['wall_ms'][0]:>7.1f} /{r['wall_ms'][1]:>7.1f} "
            f"{r['cpu_ms'][0]:>7.1f} /{r['cpu_ms'][1]:>7.1f} "
            f"{r['sql_ms'][0]:>7.1f} /{r['sql_ms'][1]:>7.1f} "
            f"{q[0] if q[0] == q[1] else f'{q[0]}-{q[1]}':>8}",
            flush=True,
        )
        if args.profile:
            profile(request, requests=args.profile, start=args.warmup + args.requests, top=args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
