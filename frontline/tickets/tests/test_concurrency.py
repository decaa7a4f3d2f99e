"""No lost updates: two writers who read the same version of a ticket; the second gets Conflict
and the first writer's change survives intact."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from frontline.core.errors import Conflict
from frontline.tickets import services
from frontline.tickets.models import Escalation, Ticket
from frontline.tickets.tests.helpers import db_state, drive_to, events_of, fresh, open_ticket

S = Ticket.Status


def _update(desk, ticket, version, subject):
    return services.ticket_update(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=version,
        changes={"subject": subject, "impact": 1},
    )


def _assign(desk, ticket, version, group):
    return services.ticket_assign(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=version,
        group_id=getattr(desk, group).pk,
        assignee_id=None,
    )


def _transition(desk, ticket, version, status):
    return services.ticket_transition(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=version,
        status=status,
        resolution_code=Ticket.ResolutionCode.SOLVED_REMOTELY,
        resolution_notes="Fixed",
    )


def _escalate(desk, ticket, version, group):
    return services.ticket_escalate(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=version,
        to_group_id=getattr(desk, group).pk,
        symptoms=f"Escalating to {group}",
        steps_tried=["Rebooted"],
    )


Write = Callable[[Any, Ticket, int, str], Any]
# (first writer, second writer, how to tell the first one's change is still there)
CASES: dict[str, tuple[Write, str, Write, str]] = {
    "update": (_update, "Outlook: first", _update, "Outlook: second"),
    "assign": (_assign, "tier2", _assign, "desktop"),
    "transition": (_transition, S.RESOLVED, _transition, S.PENDING_CUSTOMER),
    "escalate": (_escalate, "tier2", _escalate, "network"),
    "update-then-transition": (_update, "Outlook: first", _transition, S.RESOLVED),
    "transition-then-escalate": (_transition, S.PENDING_VENDOR, _escalate, "network"),
}


def _first_change_kept(desk, case, ticket):
    row = fresh(ticket)
    first, arg = CASES[case][0], CASES[case][1]
    if first is _update:
        assert (row.subject, row.impact, row.priority) == (arg, 1, 3)
    elif first is _assign:
        assert row.group_id == getattr(desk, arg).pk
    elif first is _transition:
        assert row.status == arg
    else:
        assert row.group_id == getattr(desk, arg).pk
        assert Escalation.objects.filter(ticket=ticket).count() == 1


@pytest.mark.parametrize("case", list(CASES))
def test_second_writer_with_the_same_version_gets_conflict_and_loses_nothing(desk, case):
    ticket = drive_to(desk, open_ticket(desk), S.ASSIGNED)
    first, first_arg, second, second_arg = CASES[case]
    # Both people opened the ticket at the same version.
    mine, theirs = fresh(ticket), fresh(ticket)
    assert mine.version == theirs.version

    first(desk, mine, mine.version, first_arg)
    after_first = db_state(ticket)
    assert after_first["tickets"][0]["version"] == theirs.version + 1

    with pytest.raises(Conflict) as conflict:
        second(desk, theirs, theirs.version, second_arg)
    assert "changed by someone else" in conflict.value.message
    assert db_state(ticket) == after_first
    _first_change_kept(desk, case, ticket)


def test_reloading_after_a_conflict_lets_the_second_writer_through(desk):
    ticket = open_ticket(desk)
    stale = fresh(ticket)
    _update(desk, fresh(ticket), stale.version, "First")
    with pytest.raises(Conflict):
        _update(desk, stale, stale.version, "Second")
    reloaded = fresh(ticket)
    _update(desk, reloaded, reloaded.version, "Second")
    assert fresh(ticket).subject == "Second"
    subjects = [(e.old_value, e.new_value) for e in events_of(ticket) if e.field == "subject"]
    assert subjects == [("Outlook crashes on start", "First"), ("First", "Second")]


def test_a_reply_does_not_cause_a_false_conflict_for_an_agent_editing_the_ticket(desk):
    ticket = drive_to(desk, open_ticket(desk), S.IN_PROGRESS)
    editing = fresh(ticket)
    services.comment_add(actor=desk.actor(desk.agent2), ticket=fresh(ticket), body="FYI")
    services.comment_add(actor=desk.actor(desk.user_a), ticket=fresh(ticket), body="Thanks")
    _update(desk, editing, editing.version, "Edited while others replied")
    assert fresh(ticket).subject == "Edited while others replied"


def test_a_reply_that_changes_the_status_does_conflict(desk):
    ticket = drive_to(desk, open_ticket(desk), S.PENDING_CUSTOMER)
    deciding = fresh(ticket)
    services.comment_add(actor=desk.actor(desk.user_a), ticket=fresh(ticket), body="Done")
    with pytest.raises(Conflict):
        _transition(desk, deciding, deciding.version, S.RESOLVED)
    assert fresh(ticket).status == S.ASSIGNED  # back in its group's queue (nobody assigned)


@pytest.mark.django_db(transaction=True)
def test_two_threads_updating_the_same_version_yield_one_success_and_one_conflict(desk):
    if connection.vendor != "postgresql":
        pytest.skip(
            "Needs PostgreSQL: SQLite's test database cannot run two writing connections at "
            "once (run with DATABASE_URL=postgres://...)."
        )
    ticket = open_ticket(desk)
    version = fresh(ticket).version
    barrier = threading.Barrier(2, timeout=10)
    outcomes: dict[str, str] = {}

    def writer(name: str) -> None:
        try:
            mine = Ticket.objects.get(pk=ticket.pk)  # each thread has its own connection
            barrier.wait()
            services.ticket_update(
                actor=desk.actor(desk.agent1),
                ticket=mine,
                expected_version=version,
                changes={"subject": f"Written by {name}"},
            )
            outcomes[name] = "ok"
        except Conflict:
            outcomes[name] = "conflict"
        except Exception as exc:  # surfaced by the assertion below
            outcomes[name] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["conflict", "ok"], outcomes
    winner = next(name for name, outcome in outcomes.items() if outcome == "ok")
    row = fresh(ticket)
    assert row.subject == f"Written by {winner}"
    assert row.version == version + 1
    assert [e.new_value for e in events_of(ticket) if e.field == "subject"] == [
        f"Written by {winner}"
    ]


@pytest.mark.django_db(transaction=True)
def test_a_creation_does_not_wait_for_another_ones_number(desk):
    """PostgreSQL numbers come from a SEQUENCE: a second creation takes its number while the
    first creating transaction is still open (a counter row would make it wait for that
    commit). Numbers stay unique; one taken by a transaction that rolls back is a gap."""
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL (SQLite keeps the gapless counter row: one writer).")
    first_open = threading.Event()
    release = threading.Event()
    numbers: dict[str, str] = {}

    class Rollback(Exception):
        pass

    def first() -> None:
        try:
            with transaction.atomic():
                numbers["first"] = open_ticket(desk).number
                first_open.set()
                release.wait(timeout=20)
                raise Rollback
        except Rollback:
            pass
        finally:
            connection.close()

    def second() -> None:
        try:
            numbers["second"] = open_ticket(desk).number
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert first_open.wait(timeout=20)
    two = threading.Thread(target=second)
    two.start()
    two.join(timeout=5)
    finished_while_first_open = not two.is_alive()
    release.set()
    one.join(timeout=20)
    two.join(timeout=20)

    assert finished_while_first_open, "the second creation waited for the first transaction"
    prefix, first_number = numbers["first"].split("-")
    assert numbers["second"] == f"{prefix}-{int(first_number) + 1:06d}"
    # The first transaction rolled back: its number is a gap, never issued again.
    assert not Ticket.objects.filter(number=numbers["first"]).exists()
    assert open_ticket(desk).number == f"{prefix}-{int(first_number) + 2:06d}"
