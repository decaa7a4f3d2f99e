"""The benchmark, tiny: seed 1,000 tickets (SQLite here) and replay every scenario of
bench/run.py for a moment against a live server. No thresholds: this only keeps the seed
command, the scenarios and the load driver from rotting. The real runs: `make bench`."""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from bench import load, run
from frontline.accounts.models import User
from frontline.accounts.services import token_create
from frontline.core.access import Actor
from frontline.core.models import AuditEvent
from frontline.tickets.bench_seed import BENCH_AGENT_EMAIL, LONG_EVENTS
from frontline.tickets.models import Comment, Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TICKETS = 1000


@pytest.fixture
def live_server():
    """A live server for this test only, started as tests/browser/conftest.py explains: with
    MEDIA_URL set while it builds its handlers (settings have MEDIA_URL = None, which breaks
    Django's LiveServerThread), so no request is ever served as media."""
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    with override_settings(MEDIA_URL="http://media.invalid/"):
        server = LiveServer("127.0.0.1")
    yield server
    server.stop()


def _fixtures() -> dict:
    long_ids = [
        t.pk
        for t in Ticket.objects.order_by("pk")
        if AuditEvent.objects.filter(target_type="tickets.ticket", target_id=t.pk).count()
        == LONG_EVENTS
    ]
    tops = (
        User.objects.filter(role=User.Role.END_USER)
        .order_by("-requested_tickets__created_at")
        .values_list("email", flat=True)
    )
    return {
        "agents": [BENCH_AGENT_EMAIL],
        "long_tickets": list(
            Ticket.objects.filter(pk__in=long_ids).values_list("number", flat=True)
        ),
        "long_ids": long_ids,
        "open_tickets": list(
            Ticket.objects.filter(status__in=["assigned", "in_progress"]).values_list(
                "number", flat=True
            )[:50]
        ),
        "portal_users": list(dict.fromkeys(tops))[:2],
        "orgs": list(Ticket.objects.values_list("tenant_id", flat=True).distinct()[:1]),
        "groups": [Ticket.objects.values_list("group_id", flat=True).first()],
    }


def test_seed_then_every_scenario_answers(live_server):
    call_command("bench", "seed", "--tickets", str(TICKETS), "--no-progress")
    assert Ticket.objects.count() == TICKETS
    assert Comment.objects.exists()
    fx = _fixtures()
    assert fx["long_tickets"], "the seed makes one 20-event ticket per thousand"
    assert fx["open_tickets"]
    system = Actor.system(label="bench smoke")
    agent_token = token_create(actor=system, user=User.objects.get(email=BENCH_AGENT_EMAIL))[1]
    user_tokens = [
        token_create(actor=system, user=User.objects.get(email=email))[1]
        for email in fx["portal_users"]
    ]
    port = int(live_server.url.rsplit(":", 1)[1])
    scenarios, clients, _notes = run.frontline_scenarios(fx, port, agent_token, user_tokens)
    for name in run.SCENARIOS:
        result = load.run_scenario(
            name,
            scenarios[name],
            host="127.0.0.1",
            port=port,
            concurrency=1,
            seconds=0.4,
            max_requests=20,
            clients=clients.get(name),
        )
        assert result.requests > 0, name
        assert result.errors == 0, f"{name}: {result.first_error}"
        assert result.summary()["p95_ms"] is not None


SEEDED_TABLES = (
    "tickets_attachment",
    "tickets_comment",
    "core_auditevent",
    "tickets_ticket",
    "tickets_category",
    "accounts_supportgroup_members",
    "accounts_user_served_organizations",
    "accounts_supportgroup",
    "accounts_user",
    "tenants_organization",
)


def _digest() -> str:
    rows = [
        list(Ticket.objects.order_by("pk").values_list()),
        list(Comment.objects.order_by("pk").values_list()),
        list(AuditEvent.objects.order_by("pk").values_list()),
        list(User.objects.order_by("pk").values_list("email", "full_name", "role", "password")),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_the_same_seed_gives_the_same_desk():
    call_command("bench", "seed", "--tickets", "300", "--seed", "7", "--no-progress")
    first = _digest()
    with pytest.raises(CommandError, match="empty"):
        call_command("bench", "seed", "--tickets", "300", "--seed", "7", "--no-progress")
    with connection.cursor() as cursor:  # the audit trail refuses ORM deletes: plain SQL here
        if connection.vendor == "postgresql":
            # A trigger refuses DELETE on the audit table there; TRUNCATE (which row triggers
            # do not see) empties the seeded tables in one statement.
            cursor.execute(f"TRUNCATE {', '.join(SEEDED_TABLES)} CASCADE")
        else:
            for table in SEEDED_TABLES:
                cursor.execute(f"DELETE FROM {table}")
    call_command("bench", "seed", "--tickets", "300", "--seed", "7", "--no-progress")
    assert _digest() == first
    assert Ticket.objects.count() == 300
