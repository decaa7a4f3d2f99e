"""Inbound mail benchmark (not a test): generate realistic messages and ingest them one after the
other through `ingest_message`, in one process (one worker), and print messages/s.

    .venv/bin/python bench/mail_ingest_bench.py                       # 10,000 on SQLite (temp dir)
    .venv/bin/python bench/mail_ingest_bench.py --messages 2000       # a quick look
    .venv/bin/python bench/mail_ingest_bench.py \\
        --database-url postgres://postgres@127.0.0.1:5432/frontline_mail_bench   # PostgreSQL
    .venv/bin/python bench/mail_ingest_bench.py --profile 20          # cProfile, top 20 lines

The mix: ~65% new tickets (known end users and first-time senders of the mailbox's domain),
~35% replies (half by In-Reply-To/References to an earlier message, half by the ticket number
in the subject), ~5% with an attachment, ~20% with an HTML alternative, ~5% auto-replies.
A PostgreSQL database named in --database-url is created afresh (dropped first if it exists)
and dropped afterwards unless --keep.

Sending: in production the acknowledgements and reply notifications the ingest queues
(OutboundMail rows + a `mail_send` task enqueued on commit) are sent by a Celery worker, not by
the ingest process. `--send queue` (the default) measures that: Celery gets an in-memory broker
without eager mode, so each commit only enqueues the task; afterwards the queued rows are sent
one by one in this process (as a worker would, to Django's dummy mail backend) and that rate is
printed separately. `--send inline` is the no-broker default of a development install (tasks run
eagerly, each acknowledgement is built and "sent" right after its commit, inside the ingest).
Target: >= 100 messages/s per worker (ingest).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = [
    "printer",
    "vpn",
    "laptop",
    "password",
    "outlook",
    "teams",
    "screen",
    "keyboard",
    "network",
    "slow",
    "crash",
    "error",
    "login",
    "access",
    "folder",
    "share",
    "drive",
    "update",
    "install",
    "license",
    "monitor",
    "phone",
    "meeting",
    "calendar",
    "backup",
    "restore",
    "email",
    "signature",
    "invoice",
    "report",
    "server",
    "timeout",
    "certificate",
    "browser",
    "wifi",
    "docking",
]


def _pg_database(url: str, *, create: bool) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def generate(n: int, seed: int, known: list[str], domain: str, to: str) -> list[bytes]:
    """`n` raw messages. Replies refer to messages generated earlier in the list."""
    rng = random.Random(seed)
    sent: list[tuple[str, str, str]] = []  # (message-id, sender, subject) of ticket openers
    out: list[bytes] = []
    strangers = [f"new{i}@{domain}" for i in range(max(50, n // 20))]
    for i in range(n):
        msg = EmailMessage()
        mid = f"<bench-{seed}-{i}@client.{domain}>"
        roll = rng.random()
        if sent and roll < 0.35:
            index = rng.randrange(len(sent))
            parent_id, sender, subject = sent[index]
            if rng.random() < 0.5:
                msg["Subject"] = f"Re: {subject}"
                msg["In-Reply-To"] = parent_id
                msg["References"] = f"<unrelated-{i}@elsewhere> {parent_id}"
            else:
                # A fresh database numbers the tickets in the order their first messages come.
                msg["Subject"] = f"RE: [INC-{index + 1:06d}] {subject}"
            body = _sentence(rng, 12) + "\n\n> " + _sentence(rng, 20)
        else:
            sender = rng.choice(known) if rng.random() < 0.8 else rng.choice(strangers)
            subject = _sentence(rng, 5)[:-1]
            msg["Subject"] = subject
            sent.append((mid, sender, subject))
            body = "\n".join(_sentence(rng, rng.randint(8, 30)) for _ in range(rng.randint(1, 6)))
        msg["From"] = sender
        msg["To"] = to
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = mid
        if rng.random() < 0.05:
            msg["Auto-Submitted"] = "auto-replied"
        msg.set_content(body)
        if rng.random() < 0.2:
            paragraphs = "".join(f"<p>{line}</p>" for line in body.splitlines() if line)
            msg.add_alternative(
                f'<html><body style="font-family:Arial">{paragraphs}'
                f'<p><a href="https://intranet.{domain}/kb">KB</a></p></body></html>',
                subtype="html",
            )
        if rng.random() < 0.05:
            size = rng.choice([2_000, 20_000, 150_000])
            msg.add_attachment(
                rng.randbytes(size), maintype="application", subtype="pdf", filename=f"doc-{i}.pdf"
            )
        out.append(msg.as_bytes())
    return out


def setup_desk(domain: str) -> tuple[Any, list[str]]:
    from frontline.accounts.models import SupportGroup, User
    from frontline.mail.models import Mailbox
    from frontline.tenants.models import Organization

    org, _ = Organization.objects.get_or_create(
        slug="bench-mail", defaults={"name": "Bench Mail Corp", "email_domains": domain}
    )
    SupportGroup.objects.get_or_create(
        name="Service Desk", defaults={"kind": SupportGroup.Kind.SERVICE_DESK, "tier": 1}
    )
    known = []
    for i in range(200):
        email = f"user{i}@{domain}"
        if not User.objects.filter(email=email).exists():
            User.objects.create_user(
                email, None, full_name=f"User {i}", organization=org, role=User.Role.END_USER
            )
        known.append(email)
    mailbox, _ = Mailbox.objects.get_or_create(
        address=f"help@{domain}",
        defaults={
            "name": "Bench",
            "organization": org,
            "source": Mailbox.Source.PIPE,
            "sender_limit_per_hour": 1_000_000,
        },
    )
    return mailbox, known


def _drain() -> None:
    """Send the queued notifications as a worker would (one after the other) and print the rate."""
    from frontline.mail import outbound
    from frontline.mail.models import OutboundMail

    queued = list(
        OutboundMail.objects.filter(status=OutboundMail.Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    for outbound_id in queued:
        statuses[outbound.outbound_send(outbound_id=outbound_id)] += 1
    elapsed = time.perf_counter() - started
    rate = len(queued) / elapsed if elapsed else 0.0
    print(
        f"worker side: {len(queued):,} queued notifications sent in {elapsed:.1f} s "
        f"({rate:,.1f} mails/s; {dict(statuses)})"
    )


def _statement_kind(sql: str) -> str:
    """ "SELECT tickets_ticket", "INSERT mail_inboundmail", "SAVEPOINT"...: what a statement does
    to which table (the first table named)."""
    words = sql.split(None, 1)
    verb = words[0].upper() if words else "?"
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
    return (
        f"{verb} {table.group(1)}"
        if table and verb in {"SELECT", "INSERT", "UPDATE", "DELETE"}
        else verb
    )


def _statement_timer(times: Counter[str], counts: Counter[str]) -> Any:
    def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = _statement_kind(sql)
            times[kind] += time.perf_counter() - t0
            counts[kind] += 1

    return timer


def _print_statement_times(
    times: Counter[str], counts: Counter[str], messages: int, elapsed: float
) -> None:
    total = sum(times.values())
    print(
        f"--- statements: {sum(counts.values()) / messages:.1f} per message, "
        f"{total / messages * 1000:.2f} ms per message in execute "
        f"({total / elapsed * 100:.0f} % of the wall time; round trip, server work, and the "
        "driver's own conversion)"
    )
    for kind, spent in times.most_common():
        print(
            f"    {spent / messages * 1000:6.3f} ms/msg  {counts[kind] / messages:5.2f}/msg  "
            f"{spent / counts[kind] * 1000:6.3f} ms each  {kind}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL database and the temp dir"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", type=int, default=0, help="print the top N cProfile lines")
    parser.add_argument(
        "--show-queries",
        action="store_true",
        help="print the SQL of the last new ticket and the last reply (among the last 50 messages)",
    )
    parser.add_argument(
        "--statement-times",
        action="store_true",
        help="time every statement (round trip + server) and print the totals per kind",
    )
    parser.add_argument(
        "--send",
        choices=["queue", "inline"],
        default="queue",
        help="queue: notifications are enqueued for a worker (production); inline: sent eagerly",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="frontline-mail-bench-"))
    os.environ["FRONTLINE_VAR_DIR"] = str(work)
    os.environ["FRONTLINE_MEDIA_ROOT"] = str(work / "media")
    # Acknowledgements and reply notifications are queued in the ingest transaction and, with
    # no Celery broker, sent inline after commit: to a backend that discards them here.
    os.environ.setdefault("FRONTLINE_EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        _pg_database(args.database_url, create=True)
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontline.settings")
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from frontline.mail.ingest import ingest_message
    from frontline.sla.tests.factories import sla_defaults_ensure

    if args.send == "queue":
        # As in production: commit enqueues `mail_send` on a broker; a worker sends later.
        from frontline.celery import app as celery_app

        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_url = "memory://"
    call_command("migrate", verbosity=0)
    sla_defaults_ensure()
    domain = "bench.example"
    mailbox, known = setup_desk(domain)
    messages = generate(args.messages, args.seed, known, domain, mailbox.address)
    total_bytes = sum(len(m) for m in messages)
    engine = connection.vendor
    print(
        f"# Mail ingest benchmark: {len(messages):,} messages ({total_bytes / 1e6:.1f} MB), "
        f"{engine}, Python {platform.python_version()}, {os.cpu_count()} CPUs, one worker, "
        f"notifications {'queued for a worker' if args.send == 'queue' else 'sent inline'}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: waits are not counted
        profiler.enable()
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    statement_times: Counter[str] = Counter()
    statement_counts: Counter[str] = Counter()
    if args.statement_times:
        connection.execute_wrappers.append(_statement_timer(statement_times, statement_counts))
    started = time.perf_counter()
    cpu_started = time.process_time()
    shown: dict[str, list[str]] = {}
    for index, raw in enumerate(messages):
        t0 = time.perf_counter()
        if args.show_queries and index >= len(messages) - 50:
            with CaptureQueriesContext(connection) as captured:
                outcome = ingest_message(raw, source="pipe", mailbox=mailbox).outcome
            shown[outcome] = [q["sql"] for q in captured.captured_queries]
        else:
            outcome = ingest_message(raw, source="pipe", mailbox=mailbox).outcome
        outcomes[outcome] += 1
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if profiler is not None:
        import pstats

        profiler.disable()
        if os.environ.get("BENCH_PROFILE_OUT"):
            profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(f"outcomes: {dict(outcomes)}")
    for outcome, queries in shown.items():
        print(f"--- {len(queries)} queries of the last message with outcome {outcome}:")
        for sql in queries:
            print("   ", sql[:300])
    what = "ingest only, sending queued" if args.send == "queue" else "ingest + inline sending"
    print(
        f"{len(messages) / elapsed:,.1f} messages/s per worker ({what}; "
        f"{elapsed:.1f} s; p50 {p50:.1f} ms, p99 {p99:.1f} ms per message)"
    )
    # This process's own CPU time (the rest of the wall time is waiting for the database, and
    # for a CPU when the machine is shared): steadier than the rate on a busy machine.
    print(
        f"ingest process CPU: {cpu / len(messages) * 1000:.2f} ms per message "
        f"({cpu:.1f} s of {elapsed:.1f} s)"
    )
    if statement_times:
        _print_statement_times(statement_times, statement_counts, len(messages), elapsed)
    if args.send == "queue":
        _drain()
    connection.close()
    if args.database_url and not args.keep:
        _pg_database(args.database_url, create=False)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
