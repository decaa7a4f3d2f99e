"""The Frontline benchmark: seed a desk, serve it with gunicorn on PostgreSQL (127.0.0.1 only),
replay agent and end-user scenarios at several concurrencies, and compare with django-helpdesk
(installed from PyPI into its own venv at run time, its own database on the same server).

    python bench/run.py                        # `make bench`: 100,000 tickets, both systems
    python bench/run.py --tickets 1000000 --systems frontline   # `make bench-full`
    python bench/run.py --tickets 20000 --seconds 3 --concurrency 8   # a quick look

Writes bench/results/<date>-<tickets>.json and prints one table per concurrency. Databases are
named frontline_bench_<N> / helpdesk_bench_<N> and are reused when already seeded with the same
size (--reseed to start again). Work files (venv, logs, server state) live in $BENCH_WORK_DIR
(default /tmp/frontline-bench)."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import Client, Request, ScenarioResult, json_body, run_scenario, wait_for, worker_rss_kb

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = Path(os.environ.get("BENCH_WORK_DIR", "/tmp/frontline-bench"))
PG = "postgres://postgres@127.0.0.1:5432"
HOST = "127.0.0.1"
PASSWORD = "frontline-bench"
HELPDESK_VERSION = "2.6.1"
SCENARIOS = (
    "queue_page",
    "queue_api",
    "ticket_page",
    "search",
    "create_ticket",
    "add_comment",
    "portal_my_tickets",
)
# Keyword searches an agent might type, from frequent to rare (words of the seeded vocabulary,
# an error code, an asset tag, and two words that must both match).
SEARCHES = (
    "printer",
    "vpn",
    "password reset",
    "outlook",
    "0x80070005",
    "LT-04521",
    "battery",
    "invoice",
    "wi-fi",
    "laptop slow",
)


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def psql(db: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(f"{PG}/{db}", autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def db_exists(db: str) -> bool:
    return bool(psql("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", [db]))


def db_recreate(db: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')


def state_path(db: str) -> Path:
    return WORK / "state" / f"{db}.json"


def seeded(db: str, tickets: int) -> bool:
    path = state_path(db)
    if not db_exists(db) or not path.exists():
        return False
    return bool(json.loads(path.read_text()).get("tickets") == tickets)


def mark_seeded(db: str, info: dict[str, Any]) -> None:
    path = state_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info))


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for proc in [self.proc, *self.background]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


@dataclass
class System:
    """One system under test: how to reach it and the scenarios to replay."""

    name: str
    server: Server
    scenarios: dict[str, Callable[[int, int], Request]]
    clients: dict[str, Callable[[int], Client]]
    notes: dict[str, str] = field(default_factory=dict)


# --- Frontline -------------------------------------------------------------------------------


FRONTLINE = str(ROOT / ".venv/bin/frontline")  # the project's command line (frontline/cli.py)
BROKER = "redis://127.0.0.1:6379/13"
CACHE = "redis://127.0.0.1:6379/12"


@dataclass(frozen=True)
class Background:
    """Where Frontline's background work runs (--broker). By default as in production (README
    "Running with PostgreSQL and Redis"): the requests only enqueue it (notification mail...) on
    a Redis broker and one Celery worker process on the same two cores does it. "none": no
    broker, each task runs in the request that caused it (the zero-setup default; mail then goes
    out inside the request)."""

    broker: str = BROKER

    @property
    def in_requests(self) -> bool:
        return self.broker == "none"

    def describe(self) -> str:
        if self.in_requests:
            return "in the requests (no broker)"
        return f"Celery broker {self.broker}, one worker process (-c 1)"


def frontline_env(db: str, background: Background) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{db}",
        FRONTLINE_DEBUG="0",
        FRONTLINE_VAR_DIR=str(WORK / "frontline-var"),
        FRONTLINE_LOG_LEVEL="WARNING",
        # No mail server in the benchmark: messages are built and handed to a backend that
        # drops them (the sending work is done, nothing leaves the machine).
        FRONTLINE_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    if not background.in_requests:
        env.update(CELERY_BROKER_URL=background.broker, FRONTLINE_CACHE_URL=CACHE)
    else:
        env.pop("CELERY_BROKER_URL", None)
    return env


def frontline_worker(db: str, background: Background) -> subprocess.Popen[bytes] | None:
    """One Celery worker process (production's background work), or None without a broker."""
    if background.in_requests:
        return None
    import redis

    for url in (background.broker, CACHE):
        redis.Redis.from_url(url).flushdb()  # nothing left over from an earlier run
    log_path = WORK / "logs" / f"frontline-worker-{db}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            FRONTLINE,
            "worker",
            "-c",
            "1",
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=frontline_env(db, background),
        cwd=ROOT,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )


def frontline_cli(db: str, *args: str, background: Background, quiet: bool = False) -> str:
    out = subprocess.run(
        [FRONTLINE, *args],
        env=frontline_env(db, background),
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if quiet else None,
    )
    return out.stdout.decode().strip()


def frontline_prepare(
    db: str, tickets: int, seed: int, reseed: bool, background: Background
) -> dict[str, Any]:
    if reseed or not seeded(db, tickets):
        log(f"creating database {db} and seeding {tickets} tickets")
        db_recreate(db)
        frontline_cli(db, "migrate", "--noinput", background=background, quiet=True)
        started = time.monotonic()
        subprocess.run(
            [FRONTLINE, "bench", "seed", "--tickets", str(tickets), "--seed", str(seed)],
            env=frontline_env(db, background),
            cwd=ROOT,
            check=True,
        )
        mark_seeded(
            db,
            {
                "tickets": tickets,
                "seed": seed,
                "seed_seconds": round(time.monotonic() - started, 1),
                "load_after_seed": load_average(),
            },
        )
    else:
        log(f"reusing seeded database {db}")
    log("migrating (new migrations, e.g. indexes, apply to the seeded data)")
    started = time.monotonic()
    frontline_cli(db, "migrate", "--noinput", background=background, quiet=True)
    info = json.loads(state_path(db).read_text())
    info["migrate_seconds"] = round(time.monotonic() - started, 1)
    return info


def frontline_fixtures(db: str, tickets: int) -> dict[str, Any]:
    """What the scenarios use, read from the seeded rows (ids <= N: the seed's own tickets)."""
    f: dict[str, Any] = {}
    f["agents"] = [
        r[0]
        for r in psql(
            db,
            "SELECT email FROM accounts_user WHERE role IN "
            "('agent','team_lead') AND serves_all_organizations ORDER BY id LIMIT 32",
        )
    ]
    # The seed's long-running cases (ids 501, 1501, ...): exactly 20 timeline events each.
    longs = psql(
        db,
        "SELECT t.id, t.number FROM tickets_ticket t WHERE t.id <= %s AND "
        "t.id %% 1000 = 501 AND (SELECT count(*) FROM core_auditevent e WHERE "
        "e.target_type = 'tickets.ticket' AND e.target_id = t.id) = 20 ORDER BY t.id "
        "LIMIT 200",
        [tickets],
    )
    f["long_tickets"] = [number for _id, number in longs]
    f["long_ids"] = [tid for tid, _number in longs]
    f["open_tickets"] = [
        r[0]
        for r in psql(
            db,
            "SELECT number FROM tickets_ticket WHERE id <= %s"
            " AND status IN ('assigned','in_progress') ORDER BY id DESC LIMIT 400",
            [tickets],
        )
    ]
    # End users with the most tickets (the heaviest "my tickets" pages), one per worker.
    f["portal_users"] = [
        r[0]
        for r in psql(
            db,
            "SELECT u.email FROM accounts_user u JOIN "
            "tickets_ticket t ON t.requester_id = u.id WHERE u.role = 'end_user' "
            "GROUP BY u.email ORDER BY count(*) DESC, u.email LIMIT 32",
        )
    ]
    f["orgs"] = [
        r[0]
        for r in psql(
            db, "SELECT id FROM tenants_organization WHERE NOT is_provider ORDER BY id LIMIT 5"
        )
    ]
    f["groups"] = [r[0] for r in psql(db, "SELECT id FROM accounts_supportgroup ORDER BY id")]
    return f


def frontline_queue_filters(fx: dict[str, Any]) -> list[str]:
    """The agent's queue, filtered and sorted, 50 rows a page (the desk's page size)."""
    org = fx["orgs"][0]
    group = fx["groups"][0]
    return [
        "queue=open&sort=-priority",
        "queue=groups&sort=-created",
        f"queue=open&organization={org}&sort=-updated",
        f"queue=all&group={group}&status=pending_customer&sort=-created",
        "queue=unassigned&sort=priority",
    ]


def frontline_start(db: str, workers: int, threads: int, background: Background) -> Server:
    port = free_port()
    log_path = WORK / "logs" / f"frontline-{db}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            FRONTLINE,
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        env=frontline_env(db, background),
        cwd=ROOT,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_for(HOST, port, "/healthz", 90)
    worker = frontline_worker(db, background)
    return Server("frontline", proc, port, log_path, [worker] if worker else [])


def frontline_system(
    db: str, tickets: int, workers: int, threads: int, background: Background = Background()
) -> System:
    """Frontline served on the seeded database `db`, with tokens for its API scenarios (bench/spy.py
    uses it too, with production's background work)."""
    fx = frontline_fixtures(db, tickets)

    def token(email: str) -> str:
        return frontline_cli(
            db, "token", "create", "--email", email, "--name", "bench", background=background
        )

    agent_token = token(fx["agents"][0])
    user_tokens = [token(email) for email in fx["portal_users"][:4]]
    server = frontline_start(db, workers, threads, background)
    scenarios, clients, notes = frontline_scenarios(fx, server.port, agent_token, user_tokens)
    return System("frontline", server, scenarios, clients, notes)


def frontline_scenarios(
    fx: dict[str, Any], port: int, agent_token: str, user_tokens: list[str]
) -> tuple[
    dict[str, Callable[[int, int], Request]], dict[str, Callable[[int], Client]], dict[str, str]
]:
    """Frontline's scenarios (also used by the smoke test, on SQLite)."""
    filters = frontline_queue_filters(fx)

    def agent_client(i: int) -> Client:
        c = Client(HOST, port)
        c.login("/accounts/login/", fx["agents"][i % len(fx["agents"])], PASSWORD)
        return c

    def user_client(i: int) -> Client:
        c = Client(HOST, port)
        c.login("/accounts/login/", fx["portal_users"][i % len(fx["portal_users"])], PASSWORD)
        return c

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def queue_page(w: int, n: int) -> Request:
        return Request("GET", f"/desk/?{filters[(w + n) % len(filters)]}")

    def queue_api(w: int, n: int) -> Request:
        q = filters[(w + n) % len(filters)]
        return Request("GET", f"/api/v1/tickets?limit=50&{q}", headers=bearer(agent_token))

    def ticket_page(w: int, n: int) -> Request:
        longs = fx["long_tickets"]
        return Request("GET", f"/desk/tickets/{longs[(w * 7 + n) % len(longs)]}/")

    def search(w: int, n: int) -> Request:
        words = SEARCHES[(w + n) % len(SEARCHES)].replace(" ", "+")
        return Request("GET", f"/desk/?queue=all&q={words}")

    def create_ticket(w: int, n: int) -> Request:
        body = json_body(
            {
                "subject": f"Bench ticket {w}-{n}: printer offline on 2nd floor",
                "description": "Created by the load driver.",
                "impact": 3,
                "urgency": 2,
            }
        )
        return Request(
            "POST", "/api/v1/tickets", body, bearer(user_tokens[w % len(user_tokens)]), ok=(201,)
        )

    def add_comment(w: int, n: int) -> Request:
        opens = fx["open_tickets"]
        ref = opens[(w * 13 + n) % len(opens)]
        body = json_body({"body": f"Bench reply {w}-{n}: checked the logs, no errors since."})
        return Request(
            "POST", f"/api/v1/tickets/{ref}/comments", body, bearer(agent_token), ok=(201,)
        )

    def portal(w: int, n: int) -> Request:
        return Request("GET", "/portal/")

    return (
        {
            "queue_page": queue_page,
            "queue_api": queue_api,
            "ticket_page": ticket_page,
            "search": search,
            "create_ticket": create_ticket,
            "add_comment": add_comment,
            "portal_my_tickets": portal,
        },
        {
            "queue_page": agent_client,
            "ticket_page": agent_client,
            "search": agent_client,
            "portal_my_tickets": user_client,
        },
        {
            "queue_page": "GET /desk/?<filters> (HTML, 50 rows, with the total count)",
            "queue_api": "GET /api/v1/tickets?limit=50&<filters> (Bearer token, keyset page)",
            "ticket_page": "GET /desk/tickets/<number>/ (20-event timeline, all action forms)",
            "search": "GET /desk/?queue=all&q=<words> (subjects, descriptions, comments)",
            "create_ticket": "POST /api/v1/tickets (end users' Bearer tokens)",
            "add_comment": "POST /api/v1/tickets/<number>/comments (agent's Bearer token)",
            "portal_my_tickets": "GET /portal/ (end users with the most tickets)",
        },
    )


# --- django-helpdesk -------------------------------------------------------------------------


def helpdesk_python() -> Path:
    venv = WORK / "helpdesk-venv"
    python = venv / "bin" / "python"
    marker = venv / f".installed-{HELPDESK_VERSION}"
    if not marker.exists():
        log(f"installing django-helpdesk=={HELPDESK_VERSION} from PyPI into {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin/pip"),
                "install",
                "--quiet",
                f"django-helpdesk=={HELPDESK_VERSION}",
                "Django>=5.2,<5.3",
                "gunicorn",
                "psycopg[binary]",
            ],
            check=True,
        )
        marker.touch()
    return python


def helpdesk_env(db: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HD_DB_NAME=db,
        DJANGO_SETTINGS_MODULE="hd_settings",
        PYTHONPATH=str(BENCH / "helpdesk_site"),
        HD_STATIC_ROOT=str(WORK / "helpdesk-static"),
        HD_MEDIA_ROOT=str(WORK / "helpdesk-media"),
    )
    return env


def helpdesk_prepare(
    db: str, source_db: str, tickets: int, portal_users: list[str], reseed: bool
) -> dict[str, Any]:
    python = helpdesk_python()
    site = BENCH / "helpdesk_site"
    if reseed or not seeded(db, tickets):
        log(f"creating database {db} and loading {tickets} tickets through helpdesk's models")
        db_recreate(db)
        subprocess.run(
            [str(python), "manage.py", "migrate", "--noinput", "-v0"],
            env=helpdesk_env(db),
            cwd=site,
            check=True,
        )
        started = time.monotonic()
        out = subprocess.run(
            [
                str(python),
                "hd_seed.py",
                "--source-db",
                source_db,
                "--tickets",
                str(tickets),
                "--portal-users",
                ",".join(portal_users),
            ],
            env=helpdesk_env(db),
            cwd=site,
            check=True,
            stdout=subprocess.PIPE,
        )
        info = json.loads(out.stdout.decode().strip().splitlines()[-1])
        info.update(tickets=tickets, seed_seconds=round(time.monotonic() - started, 1))
        mark_seeded(db, info)
    else:
        log(f"reusing seeded database {db}")
    return dict(json.loads(state_path(db).read_text()))


def helpdesk_start(db: str, workers: int, threads: int) -> Server:
    python = helpdesk_python()
    port = free_port()
    log_path = WORK / "logs" / f"helpdesk-{db}.log"
    proc = subprocess.Popen(
        [
            str(python),
            "-m",
            "gunicorn",
            "hd_wsgi:application",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
            "--timeout",
            "120",
        ],
        env=helpdesk_env(db),
        cwd=BENCH / "helpdesk_site",
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_for(HOST, port, "/login/", 90)
    return Server("django-helpdesk", proc, port, log_path)


def b64query(query: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(query).encode()).decode()


def helpdesk_query(
    filtering: dict[str, Any], sorting: str, *, reverse: bool, search: str = ""
) -> str:
    """A saved query of django-helpdesk's ticket list (base64 JSON, as its URLs carry it)."""
    query: dict[str, Any] = {"filtering": filtering, "sorting": sorting}
    if reverse:
        query["sortreverse"] = True
    query["search_string"] = search
    return b64query(query)


def helpdesk_system(
    db: str, info: dict[str, Any], fx: dict[str, Any], workers: int, threads: int
) -> System:
    server = helpdesk_start(db, workers, threads)
    token = info["agent_token"]
    queues = info["queues"]
    open_tickets = {"status__in": [1, 2]}
    service_desk = {**open_tickets, "queue__id__in": [queues["Service Desk"]]}
    # The same five agent views as Frontline's queue filters, as helpdesk saved queries (it has
    # no organisation or "pending customer" filter: the nearest views stand in for those).
    datatable_queries = [
        helpdesk_query(open_tickets, "priority", reverse=True),
        helpdesk_query(service_desk, "created", reverse=True),
        helpdesk_query(open_tickets, "created", reverse=True),
        helpdesk_query(service_desk, "created", reverse=True),
        helpdesk_query(
            {**open_tickets, "assigned_to__id__isnull": True}, "priority", reverse=False
        ),
    ]
    search_queries = [
        helpdesk_query({}, "created", reverse=True, search=words) for words in SEARCHES
    ]
    long_ids = fx["long_ids"]  # the same tickets (ids are kept), 20 follow-ups each
    open_ids = [
        r[0]
        for r in psql(
            db,
            "SELECT id FROM helpdesk_ticket WHERE status = 1 AND "
            "assigned_to_id IS NOT NULL ORDER BY id DESC LIMIT 400",
        )
    ]
    agents = fx["agents"]
    portal_users = fx["portal_users"]
    datatable_params = "draw=1&start=0&length=50&search%5Bvalue%5D="

    def agent_client(i: int) -> Client:
        c = Client(HOST, server.port, timeout=60)
        c.login("/login/", agents[i % len(agents)], PASSWORD)
        return c

    def user_client(i: int) -> Client:
        c = Client(HOST, server.port, timeout=60)
        c.login("/login/", portal_users[i % len(portal_users)], PASSWORD)
        return c

    def api_headers() -> dict[str, str]:
        return {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def queue_page(w: int, n: int) -> Request:
        q = datatable_queries[(w + n) % len(datatable_queries)]
        return Request("GET", f"/datatables_ticket_list/{q}?{datatable_params}")

    def queue_api(w: int, n: int) -> Request:
        return Request("GET", "/api/tickets/?status=1,2&page_size=50", headers=api_headers())

    def ticket_page(w: int, n: int) -> Request:
        return Request("GET", f"/tickets/{long_ids[(w * 7 + n) % len(long_ids)]}/")

    def search(w: int, n: int) -> Request:
        q = search_queries[(w + n) % len(search_queries)]
        return Request("GET", f"/datatables_ticket_list/{q}?{datatable_params}")

    def create_ticket(w: int, n: int) -> Request:
        body = json_body(
            {
                "queue": queues["Service Desk"],
                "title": f"Bench ticket {w}-{n}: printer offline on 2nd floor",
                "description": "Created by the load driver.",
                "submitter_email": portal_users[w % len(portal_users)],
                "priority": 3,
            }
        )
        return Request("POST", "/api/tickets/", body, api_headers(), ok=(201,))

    def add_comment(w: int, n: int) -> Request:
        tid = open_ids[(w * 13 + n) % len(open_ids)]
        body = json_body(
            {
                "ticket": tid,
                "title": "Comment",
                "public": True,
                "comment": f"Bench reply {w}-{n}: checked the logs, no errors since.",
            }
        )
        return Request("POST", "/api/followups/", body, api_headers(), ok=(201,))

    def portal(w: int, n: int) -> Request:
        return Request("GET", "/api/user_tickets/")

    return System(
        name="django-helpdesk",
        server=server,
        scenarios={
            "queue_page": queue_page,
            "queue_api": queue_api,
            "ticket_page": ticket_page,
            "search": search,
            "create_ticket": create_ticket,
            "add_comment": add_comment,
            "portal_my_tickets": portal,
        },
        clients={
            "queue_page": agent_client,
            "ticket_page": agent_client,
            "search": agent_client,
            "portal_my_tickets": user_client,
        },
        notes={
            "queue_page": "GET /datatables_ticket_list/<saved query>?length=50 (the JSON rows "
            "of its staff ticket list)",
            "queue_api": "GET /api/tickets/?status=1,2&page_size=50 (DRF, token)",
            "ticket_page": "GET /tickets/<id>/ (the same 20-event tickets, as follow-ups)",
            "search": "GET /datatables_ticket_list/<query with search_string> (no comments)",
            "create_ticket": "POST /api/tickets/ (staff token; its API is staff-only)",
            "add_comment": "POST /api/followups/ (staff token)",
            "portal_my_tickets": "GET /api/user_tickets/ (the data of its 'my tickets' page)",
        },
    )


# --- running ---------------------------------------------------------------------------------


def run_system(
    system: System,
    concurrencies: list[int],
    seconds: float,
    max_requests: int,
    scenarios: list[str],
    warmup: float,
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    port = system.server.port
    try:
        for name in scenarios:
            # Warm up: fill connection pools, template caches and the database's buffers.
            run_scenario(
                name,
                system.scenarios[name],
                host=HOST,
                port=port,
                concurrency=2,
                seconds=warmup,
                max_requests=200,
                clients=system.clients.get(name),
            )
        for concurrency in concurrencies:
            for name in scenarios:
                before = load_average()
                res: ScenarioResult = run_scenario(
                    name,
                    system.scenarios[name],
                    host=HOST,
                    port=port,
                    concurrency=concurrency,
                    seconds=seconds,
                    max_requests=max_requests,
                    clients=system.clients.get(name),
                    timeout=60,
                )
                row = res.summary() | {"load_before": before, "load_after": load_average()}
                results.append(row)
                log(
                    f"{system.name:16} c={concurrency:<3} {name:18} "
                    f"{row['throughput_rps']:>8} req/s p50 {row['p50_ms']} p95 {row['p95_ms']} "
                    f"p99 {row['p99_ms']} ms errors {row['errors']}/{row['requests']}"
                )
                if res.first_error:
                    log(f"  first error: {res.first_error}")
        rss = worker_rss_kb(system.server.proc.pid)
    finally:
        system.server.stop()
    return {"results": results, "workers_rss_kb": rss, "notes": system.notes}


def versions(helpdesk: bool) -> dict[str, str]:
    import django

    out = {
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": psql("postgres", "SHOW server_version")[0][0],
        "frontline_commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE, text=True
        ).stdout.strip(),
    }
    if helpdesk:
        out["django_helpdesk"] = HELPDESK_VERSION
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem, 1),
        "kernel": platform.release(),
    }


def table(report: dict[str, Any], concurrency: int) -> str:
    systems = report["systems"]
    fl = {
        r["scenario"]: r
        for r in systems.get("frontline", {}).get("results", [])
        if r["concurrency"] == concurrency
    }
    hd = {
        r["scenario"]: r
        for r in systems.get("django-helpdesk", {}).get("results", [])
        if r["concurrency"] == concurrency
    }
    lines = [
        f"concurrency {concurrency}",
        "| scenario | Frontline req/s | p50 / p95 / p99 ms | errors | django-helpdesk req/s "
        "| p50 / p95 / p99 ms | errors | ratio (req/s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(r: dict[str, Any] | None) -> tuple[str, str, str]:
        if r is None:
            return "-", "-", "-"
        lat = f"{r['p50_ms']} / {r['p95_ms']} / {r['p99_ms']}"
        return f"{r['throughput_rps']}", lat, f"{r['errors']}/{r['requests']}"

    for name in SCENARIOS:
        a, b = fl.get(name), hd.get(name)
        if a is None and b is None:
            continue
        ratio = "-"
        if a and b:
            ratio = (
                f"{a['throughput_rps'] / b['throughput_rps']:.1f}x"
                if b["throughput_rps"]
                else "inf (peer: 0 ok)"
            )
        lines.append(f"| {name} | {' | '.join(cell(a))} | {' | '.join(cell(b))} | {ratio} |")
    return "\n".join(lines)


def summarize(report: dict[str, Any]) -> str:
    """The Markdown tables of a report: one per concurrency, then memory and load."""
    concurrencies = sorted(
        {r["concurrency"] for s in report["systems"].values() for r in s["results"]}
    )
    parts = [table(report, c) for c in concurrencies]
    for name, data in report["systems"].items():
        peaks = sorted(v["peak_rss_kb"] for v in data["workers_rss_kb"].values())
        parts.append(f"{name}: peak RSS per worker (MiB): {[round(k / 1024, 1) for k in peaks]}")
    parts.append(
        f"load average (1, 5, 15 min) at start {report.get('load_at_start')}, "
        f"at end {report.get('load_at_end')}"
    )
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--systems", default="frontline,helpdesk")
    p.add_argument("--concurrency", default="1,8,32")
    p.add_argument("--seconds", type=float, default=10.0, help="Per scenario and concurrency.")
    p.add_argument("--max-requests", type=int, default=20_000)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (2 cores: 2).")
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker.")
    p.add_argument("--reseed", action="store_true")
    p.add_argument(
        "--broker",
        default=BROKER,
        help="Celery broker for Frontline's background work, with one worker process "
        "(production); 'none': tasks run inside the requests (the zero-setup default).",
    )
    p.add_argument("--label", default="")
    p.add_argument("--results-dir", default=str(BENCH / "results"))
    p.add_argument("--summarize", metavar="JSON", help="Only print the tables of a results file.")
    args = p.parse_args(argv)
    if args.summarize:
        print(summarize(json.loads(Path(args.summarize).read_text())))
        return 0
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown or not set(systems) <= {"frontline", "helpdesk"}:
        p.error(f"unknown scenario or system: {sorted(unknown) or systems}")
    WORK.mkdir(parents=True, exist_ok=True)
    background = Background(broker=args.broker)
    started = dt.datetime.now(dt.UTC)
    fl_db = f"frontline_bench_{args.tickets}"
    report: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "tickets": args.tickets,
        "seed": args.seed,
        "machine": machine(),
        "versions": versions("helpdesk" in systems),
        "server": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread"},
        "frontline_background": background.describe(),
        "seconds_per_scenario": args.seconds,
        "max_requests": args.max_requests,
        "load_at_start": load_average(),
        "systems": {},
    }
    fl_info = frontline_prepare(fl_db, args.tickets, args.seed, args.reseed, background)
    report["frontline_seed"] = fl_info
    report["frontline_rows_at_start"] = {
        t: psql(fl_db, f"SELECT count(*) FROM {t}")[0][0]
        for t in ("tickets_ticket", "tickets_comment", "core_auditevent")
    }
    fx = frontline_fixtures(fl_db, args.tickets)
    if "frontline" in systems:
        system = frontline_system(fl_db, args.tickets, args.workers, args.threads, background)
        log(f"frontline up on port {system.server.port}")
        report["systems"]["frontline"] = run_system(
            system, concurrencies, args.seconds, args.max_requests, scenarios, args.warmup
        )
    if "helpdesk" in systems:
        hd_db = f"helpdesk_bench_{args.tickets}"
        info = helpdesk_prepare(hd_db, fl_db, args.tickets, fx["portal_users"], args.reseed)
        report["helpdesk_seed"] = {k: v for k, v in info.items() if k != "agent_token"}
        system = helpdesk_system(hd_db, info, fx, args.workers, args.threads)
        log(f"django-helpdesk up on port {system.server.port}")
        report["systems"]["django-helpdesk"] = run_system(
            system, concurrencies, args.seconds, args.max_requests, scenarios, args.warmup
        )
    report["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report["load_at_end"] = load_average()
    out_dir = Path(args.results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    label = f"-{args.label}" if args.label else ""
    out = out_dir / f"{started.strftime('%Y-%m-%d')}-{args.tickets}{label}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(summarize(report))
    print(f"\nwritten to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
