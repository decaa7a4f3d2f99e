"""Fill the benchmark's django-helpdesk database with the same desk as a seeded Frontline one.

Run with the helpdesk venv's Python from bench/run.py:
    python hd_seed.py --source-db frontline_bench_100000 --tickets 100000

Reads the first N tickets of the Frontline database (ids 1..N: what `frontline bench seed`
wrote, not what later benchmark runs added), and writes them through django-helpdesk's models in
bulk (bulk_create in batches): one queue per support group, one staff user per agent, the same
subjects, descriptions, statuses, priorities, assignees and submitters, and one FollowUp per
timeline event (comments keep their text and visibility), with the same ids and dates.
`Ticket.created` is auto_now_add, so the dates are set afterwards in one UPDATE.

Prints a JSON line with what the driver needs (API tokens, ids)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hd_settings")
django.setup()

import psycopg  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from helpdesk.models import FollowUp, Queue, Ticket, UserSettings  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

BATCH = 5000
OPEN, RESOLVED, CLOSED = Ticket.OPEN_STATUS, Ticket.RESOLVED_STATUS, Ticket.CLOSED_STATUS
STATUS = {"resolved": RESOLVED, "closed": CLOSED}  # every other (open) status: Open
TITLES = {
    "created": "Ticket Opened",
    "assigned": "Ticket assigned",
    "status": "Status changed",
    "commented": "Comment",
    "note": "Internal note",
    "resolved": "Ticket resolved",
    "closed": "Ticket closed",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-db", required=True)
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument("--password", default="frontline-bench")
    parser.add_argument("--portal-users", default="", help="Comma-separated end-user emails.")
    args = parser.parse_args()
    started = time.monotonic()
    user_model = get_user_model()
    if Ticket.objects.exists():
        print("helpdesk database already seeded", file=sys.stderr)
        sys.exit(2)
    src = psycopg.connect(f"dbname={args.source_db} user=postgres host=127.0.0.1")
    cur = src.cursor()
    password = make_password(args.password)

    cur.execute("SELECT id, name FROM accounts_supportgroup ORDER BY id")
    queues = {}
    for gid, name in cur.fetchall():
        slug = name.lower().replace(" ", "-")
        queues[gid] = Queue.objects.create(
            id=gid, title=name, slug=slug, allow_public_submission=True
        )
    cur.execute(
        "SELECT id, email, full_name FROM accounts_user WHERE role IN "
        "('agent','team_lead','manager','admin') ORDER BY id"
    )
    staff = [
        user_model(
            id=uid,
            username=email,
            email=email,
            first_name=name.split(" ")[0],
            last_name=name.split(" ")[-1],
            is_staff=True,
            is_superuser=False,
            password=password,
        )
        for uid, email, name in cur.fetchall()
    ]
    user_model.objects.bulk_create(staff)
    emails: dict[int, str] = {}
    cur.execute(
        "SELECT id, email FROM accounts_user WHERE role NOT IN "
        "('agent','team_lead','manager','admin')"
    )
    emails = dict(cur.fetchall())
    portal = [e for e in args.portal_users.split(",") if e]
    next_id = max(emails) + 1 if emails else len(staff) + 1
    portal_users = [
        user_model(id=next_id + i, username=email, email=email, is_staff=False, password=password)
        for i, email in enumerate(portal)
    ]
    user_model.objects.bulk_create(portal_users)
    staff_ids = {u.id for u in staff}
    # bulk_create skips the post_save signal that gives every user their helpdesk settings.
    UserSettings.objects.bulk_create(
        [UserSettings(user_id=u.id) for u in [*staff, *portal_users]], batch_size=BATCH
    )

    # Tickets, in batches, with their follow-ups (one per timeline event).
    n = args.tickets
    dates: list[tuple[int, object, object]] = []
    tcur = src.cursor(name="tickets")
    tcur.itersize = BATCH
    tcur.execute(
        "SELECT id, subject, description, status, priority, group_id, assignee_id, "
        "requester_id, resolution_notes, created_at, updated_at FROM tickets_ticket "
        "WHERE id <= %s ORDER BY id",
        [n],
    )
    count = 0
    while True:
        rows = tcur.fetchmany(BATCH)
        if not rows:
            break
        tickets = []
        for tid, subject, desc, status, prio, gid, aid, rid, notes, created, updated in rows:
            tickets.append(
                Ticket(
                    id=tid,
                    title=subject[:200],
                    queue=queues[gid],
                    submitter_email=emails[rid],
                    assigned_to_id=aid if aid in staff_ids else None,
                    status=STATUS.get(status, OPEN),
                    description=desc,
                    resolution=notes or None,
                    priority=prio,
                )
            )
            dates.append((tid, created, updated))
        with transaction.atomic():
            Ticket.objects.bulk_create(tickets)
            lo, hi = rows[0][0], rows[-1][0]
            ecur = src.cursor()
            ecur.execute(
                "SELECT e.id, e.target_id, e.kind, e.field, e.old_value, e.new_value, e.is_public,"
                " e.actor_id, e.created_at, c.body FROM core_auditevent e LEFT JOIN "
                "tickets_comment c ON c.id = (e.data->>'comment_id')::bigint WHERE "
                "e.target_type = 'tickets.ticket' AND e.target_id BETWEEN %s AND %s ORDER BY e.id",
                [lo, hi],
            )
            followups = []
            for _eid, tid, kind, field, old, new, public, actor, when, body in ecur.fetchall():
                text = body if body is not None else (f"{field}: {old} -> {new}" if field else "")
                followups.append(
                    FollowUp(
                        ticket_id=tid,
                        date=when,
                        title=TITLES.get(kind, kind),
                        comment=text,
                        public=public,
                        user_id=actor if actor in staff_ids else None,
                        new_status=STATUS.get(new, OPEN)
                        if kind in {"status", "resolved", "closed"}
                        else None,
                    )
                )
            FollowUp.objects.bulk_create(followups, batch_size=BATCH)
        count += len(tickets)
        print(f"  helpdesk: {count}/{n} tickets", file=sys.stderr, flush=True)
    with connection.cursor() as c:
        # Ticket.created/modified are auto_now(_add): set the real dates in one statement.
        c.execute(
            "CREATE TEMP TABLE hd_dates (id bigint, created timestamptz, modified timestamptz)"
        )
        with c.cursor.copy("COPY hd_dates FROM STDIN") as copy:
            for row in dates:
                copy.write_row(row)
        c.execute(
            "UPDATE helpdesk_ticket t SET created = d.created, modified = d.modified "
            "FROM hd_dates d WHERE d.id = t.id"
        )
        for sql in connection.ops.sequence_reset_sql(
            no_style(), [Ticket, FollowUp, Queue, user_model]
        ):
            c.execute(sql)
        c.execute("VACUUM ANALYZE helpdesk_ticket")
        c.execute("VACUUM ANALYZE helpdesk_followup")
    agent = staff[0]
    token, _ = Token.objects.get_or_create(user=agent)
    print(
        json.dumps(
            {
                "agent_token": token.key,
                "agent_email": agent.email,
                "queues": {q.title: q.id for q in queues.values()},
                "tickets": count,
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
