"""The sweep: warnings, breaches and escalations, once per crossing however often it runs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction

from frontline.core.models import AuditEvent
from frontline.sla import services as sla_services
from frontline.sla.models import SlaPolicy, TicketSla
from frontline.sla.tests.factories import sla_defaults_ensure
from frontline.tickets import services
from frontline.tickets.models import Escalation, Ticket
from frontline.tickets.tests.helpers import events_of, fresh, open_ticket

Kind = AuditEvent.Kind
P3 = {"impact": 2, "urgency": 2}
P4 = {"impact": 2, "urgency": 3}
MONDAY_9 = datetime(2026, 6, 8, 9, tzinfo=UTC)
# P3 from Mon 09:00: response warning 12:00, due 13:00; resolution warning Wed 11:30, due
# Thu 09:00 (see test_services).
RESOLUTION_DUE = datetime(2026, 6, 11, 9, tzinfo=UTC)


@pytest.fixture
def monday(sla_desk):
    with time_machine.travel(MONDAY_9, tick=False) as traveller:
        yield traveller


def working_ticket(desk, *, group=None, agent=None, note="", **fields):
    """A P3 ticket in `group` (default Tier 1) with `agent`, first response given at 09:10."""
    ticket = open_ticket(desk, **{**P3, **fields})
    group = group or desk.tier1
    services.ticket_assign(
        actor=desk.actor(desk.agent1),
        ticket=fresh(ticket),
        expected_version=None,
        group_id=group.pk,
        assignee_id=agent.pk if agent else None,
    )
    if note:
        services.comment_add(
            actor=desk.actor(desk.agent1), ticket=fresh(ticket), body=note, is_internal=True
        )
    with time_machine.travel(MONDAY_9 + timedelta(minutes=10), tick=False):
        services.comment_add(actor=desk.actor(desk.agent1), ticket=fresh(ticket), body="On it")
    return fresh(ticket)


def kinds(ticket):
    return [e.kind for e in events_of(ticket) if e.kind in SLA_KINDS]


SLA_KINDS = {Kind.SLA_WARNING, Kind.SLA_BREACH, Kind.NOTIFIED, Kind.ESCALATED}


def test_the_warning_notifies_the_assignee_and_the_team_lead_once(sla_desk, monday):
    desk = sla_desk
    ticket = open_ticket(desk, **P3)
    services.ticket_assign(
        actor=desk.actor(desk.agent1),
        ticket=fresh(ticket),
        expected_version=None,
        group_id=desk.tier1.pk,
        assignee_id=desk.agent1.pk,
    )
    assert sla_services.sla_sweep(now=datetime(2026, 6, 8, 11, 59, tzinfo=UTC)).checked == 0
    result = sla_services.sla_sweep(now=datetime(2026, 6, 8, 12, tzinfo=UTC))
    assert (result.checked, result.warnings, result.breaches) == (1, 1, 0)
    warning, notice = [e for e in events_of(ticket) if e.kind in SLA_KINDS]
    assert (warning.kind, warning.field) == (Kind.SLA_WARNING, "response")
    assert warning.data["reason"] == "75% of the first-response target used"
    assert warning.actor_label == "SLA" and not warning.is_public
    assert notice.kind == Kind.NOTIFIED
    assert set(notice.data["recipient_ids"]) == {desk.agent1.pk, desk.lead.pk}
    assert notice.data["reason"].endswith("used; due 08 Jun 2026 13:00 UTC")
    assert TicketSla.objects.get(pk=ticket.pk).next_check_at == datetime(2026, 6, 8, 13, tzinfo=UTC)
    again = sla_services.sla_sweep(now=datetime(2026, 6, 8, 12, 30, tzinfo=UTC))
    assert (again.checked, again.warnings) == (0, 0)
    assert kinds(ticket) == [Kind.SLA_WARNING, Kind.NOTIFIED]


def test_a_resolution_breach_escalates_to_the_next_tier_with_a_handoff_note(sla_desk, monday):
    desk = sla_desk
    ticket = working_ticket(desk, agent=desk.agent1, note="Cleared the Outlook cache\nno change")
    late = RESOLUTION_DUE + timedelta(minutes=1)
    result = sla_services.sla_sweep(now=late)
    assert (result.warnings, result.breaches, result.escalations) == (1, 1, 1)

    ticket = fresh(ticket)
    assert ticket.group == desk.tier2 and ticket.tier == 2 and ticket.assignee is None
    escalation = Escalation.objects.get(ticket=ticket)
    assert escalation.kind == Escalation.Kind.FUNCTIONAL
    assert (escalation.from_group, escalation.to_group) == (desk.tier1, desk.tier2)
    assert escalation.symptoms == "SLA resolution target breached"
    assert escalation.steps_tried == ["Note: Cleared the Outlook cache"]
    assert "resolution target was breached" in escalation.reason
    assert escalation.created_by is None
    assert kinds(ticket) == [
        Kind.SLA_WARNING,
        Kind.NOTIFIED,
        Kind.SLA_BREACH,
        Kind.ESCALATED,
        Kind.NOTIFIED,
    ]
    breach = next(e for e in events_of(ticket) if e.kind == Kind.SLA_BREACH)
    assert breach.data["action"] == "functional"
    assert breach.data["reason"].startswith("The resolution target was breached")
    sla = TicketSla.objects.get(pk=ticket.pk)
    assert sla.resolution_state == "breached" and sla.next_check_at is None

    # Running again (the same minute, or the next day) acts no more.
    for when in (late, late + timedelta(days=1)):
        assert sla_services.sla_sweep(now=when).checked == 0
    assert Escalation.objects.filter(ticket=ticket).count() == 1
    assert fresh(ticket).escalation_count == 1


def test_breach_escalates_to_the_policys_named_group(sla_desk, monday):
    desk = sla_desk
    SlaPolicy.objects.filter(organization=None, priority=3).update(breach_group=desk.network)
    ticket = working_ticket(desk)
    sla_services.sla_sweep(now=RESOLUTION_DUE)
    assert fresh(ticket).group == desk.network
    assert Escalation.objects.get(ticket=ticket).steps_tried == ["None recorded"]


def test_hierarchical_breach_flags_the_manager(sla_desk, monday):
    desk = sla_desk
    SlaPolicy.objects.filter(organization=None, priority=3).update(breach_action="hierarchical")
    ticket = working_ticket(desk, agent=desk.agent1)
    result = sla_services.sla_sweep(now=RESOLUTION_DUE)
    assert result.escalations == 1
    ticket = fresh(ticket)
    assert ticket.escalated_to_manager and ticket.group == desk.tier1
    assert Escalation.objects.get(ticket=ticket).kind == Escalation.Kind.HIERARCHICAL
    notice = [e for e in events_of(ticket) if e.kind == Kind.NOTIFIED][-1]
    assert notice.field == "sla_manager"
    assert notice.data["recipient_ids"] == [desk.manager.pk]


def test_functional_breach_with_no_tier_above_flags_the_manager_instead(sla_desk, monday):
    desk = sla_desk
    ticket = working_ticket(desk, group=desk.tier3)  # Tier 3 escalates nowhere
    sla_services.sla_sweep(now=RESOLUTION_DUE)
    ticket = fresh(ticket)
    assert ticket.group == desk.tier3 and ticket.escalated_to_manager
    assert Escalation.objects.get(ticket=ticket).kind == Escalation.Kind.HIERARCHICAL


def test_breach_action_none_only_notifies(sla_desk, monday):
    desk = sla_desk
    SlaPolicy.objects.filter(organization=None, priority=3).update(breach_action="none")
    ticket = working_ticket(desk, agent=desk.agent1)
    result = sla_services.sla_sweep(now=RESOLUTION_DUE)
    assert (result.breaches, result.escalations) == (1, 0)
    assert not Escalation.objects.filter(ticket=ticket).exists()
    notice = [e for e in events_of(ticket) if e.kind == Kind.NOTIFIED][-1]
    assert set(notice.data["recipient_ids"]) == {desk.agent1.pk, desk.lead.pk, desk.manager.pk}


def test_a_response_breach_is_recorded_and_told_but_not_escalated(sla_desk, monday):
    desk = sla_desk
    ticket = open_ticket(desk, **P3)
    result = sla_services.sla_sweep(now=datetime(2026, 6, 8, 13, tzinfo=UTC))
    assert (result.warnings, result.breaches, result.escalations) == (1, 1, 0)
    assert TicketSla.objects.get(pk=ticket.pk).response_state == "breached"
    assert kinds(ticket) == [Kind.SLA_WARNING, Kind.NOTIFIED, Kind.SLA_BREACH, Kind.NOTIFIED]
    # Answering late keeps the breach; the resolution clock runs on.
    services.comment_add(actor=desk.actor(desk.agent1), ticket=fresh(ticket), body="Sorry")
    sla = TicketSla.objects.get(pk=ticket.pk)
    assert sla.response_state == "breached" and sla.response_stopped_at is not None
    assert sla.resolution_state == "running"


def test_paused_and_resolved_tickets_are_left_alone(sla_desk, monday):
    desk = sla_desk
    paused = working_ticket(desk)
    services.ticket_transition(
        actor=desk.actor(desk.agent1),
        ticket=fresh(paused),
        expected_version=None,
        status=Ticket.Status.PENDING_CUSTOMER,
    )
    resolved = working_ticket(desk)
    services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=fresh(resolved),
        expected_version=None,
        resolution_code="solved_remotely",
        resolution_notes="Done",
    )
    assert sla_services.sla_sweep(now=RESOLUTION_DUE + timedelta(days=30)).checked == 0


@pytest.mark.parametrize("tickets", [3, 30])
def test_a_sweep_with_nothing_due_is_one_query_whatever_the_number_of_tickets(
    sla_desk, monday, tickets, django_assert_num_queries
):
    for _ in range(tickets):
        open_ticket(sla_desk, **P4)
    with django_assert_num_queries(1):
        result = sla_services.sla_sweep(now=datetime(2026, 6, 8, 9, 30, tzinfo=UTC))
    assert result.checked == 0


def test_the_queries_per_due_ticket_do_not_depend_on_the_other_tickets(sla_desk, monday):
    from django.test.utils import CaptureQueriesContext

    def sweep_count(start: datetime, others: int) -> int:
        with time_machine.travel(start, tick=False):
            due = [open_ticket(sla_desk, **P4) for _ in range(2)]
        with time_machine.travel(start + timedelta(hours=1), tick=False):
            for _ in range(others):
                open_ticket(sla_desk, **P4)  # an hour younger: nothing due yet
        # The P4 response warning (7.5 business hours) of `due`.
        with CaptureQueriesContext(connection) as captured:
            result = sla_services.sla_sweep(now=start + timedelta(hours=7, minutes=30))
        assert result.warnings == len(due)
        for ticket in due:  # out of the way of the next measurement
            TicketSla.objects.filter(pk=ticket.pk).update(next_check_at=None)
        return len(captured)

    alone = sweep_count(datetime(2026, 6, 8, 8, tzinfo=UTC), others=0)
    crowded = sweep_count(datetime(2026, 6, 15, 8, tzinfo=UTC), others=25)
    assert crowded == alone


# --- PostgreSQL: index and concurrency -------------------------------------------------------


def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip(
            "Needs PostgreSQL (run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/"
            "frontline_sla_tests); SQLite has no EXPLAIN plan to check and cannot run two "
            "writing connections in its test database."
        )


def test_the_sweep_query_uses_the_next_check_index(sla_desk, monday):
    _needs_postgresql()
    for _ in range(5):
        open_ticket(sla_desk, **P3)
    query = sla_services.sla_due_query(now=MONDAY_9 + timedelta(hours=5))
    with transaction.atomic(), connection.cursor() as cursor:
        # A handful of rows would be read sequentially anyway; forbid that, so the plan shows
        # whether an index can serve the query at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()
    assert "sla_clock_next_check_idx" in plan, plan
    assert "Index" in plan or "Bitmap" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_act_once_per_crossing(desk):
    _needs_postgresql()
    sla_defaults_ensure()
    with time_machine.travel(MONDAY_9, tick=False):
        tickets = [working_ticket(desk) for _ in range(4)]
    late = RESOLUTION_DUE + timedelta(minutes=5)
    barrier = threading.Barrier(2, timeout=20)
    results: list[object] = []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(sla_services.sla_sweep(now=late))
        except Exception as exc:  # surfaced by the assertions below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(isinstance(r, sla_services.SweepResult) for r in results), results
    assert sum(r.escalations for r in results) == len(tickets)  # type: ignore[attr-defined]
    for ticket in tickets:
        assert Escalation.objects.filter(ticket=ticket).count() == 1
        assert kinds(ticket).count(Kind.SLA_BREACH) == 1
        assert kinds(ticket).count(Kind.SLA_WARNING) == 1
