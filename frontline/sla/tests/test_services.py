"""The clocks as the ticket services drive them: start, pause, resume, priority change,
reassignment, resolve and reopen, each with due times computed by hand.

The calendar is the seeded default: Monday to Friday, 08:00-18:00 UTC (10 business hours a
day). June 2026: Mon 8, Tue 9, Wed 10, Thu 11, Fri 12, Sat 13, Mon 15."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
import time_machine

from frontline.sla import services as sla_services
from frontline.sla.models import SlaContract, SlaPolicy, TicketSla
from frontline.sla.tests.factories import calendar_create
from frontline.tickets import services
from frontline.tickets.models import Ticket
from frontline.tickets.tests.helpers import fresh, open_ticket, transition

S = Ticket.Status
H = 3600
P2 = {"impact": 1, "urgency": 2}
P3 = {"impact": 2, "urgency": 2}
P4 = {"impact": 2, "urgency": 3}
P5 = {"impact": 3, "urgency": 3}


def june(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def clock_of(ticket: Ticket) -> TicketSla:
    return TicketSla.objects.get(pk=ticket.pk)


@pytest.fixture
def clock(sla_desk):
    with time_machine.travel(june(8, 9), tick=False) as traveller:
        yield traveller


def _reply(desk, ticket, who):
    return services.comment_add(actor=desk.actor(who), ticket=fresh(ticket), body="Hello")


def _in_progress(desk, ticket):
    ticket = services.ticket_assign(
        actor=desk.actor(desk.agent1),
        ticket=fresh(ticket),
        expected_version=None,
        group_id=desk.tier1.pk,
        assignee_id=desk.agent1.pk,
    )
    return transition(desk, ticket, S.IN_PROGRESS)


def test_a_new_ticket_gets_both_clocks_from_the_default_policy(sla_desk, clock):
    ticket = open_ticket(sla_desk, **P3)  # P3: response 4 h, resolution 30 h, warning at 75 %
    sla = clock_of(ticket)
    assert sla.policy.priority == 3
    assert (sla.response_state, sla.resolution_state) == ("running", "running")
    assert sla.response_due_at == june(8, 13)
    assert sla.response_warn_at == june(8, 12)  # 3 h
    # 30 h: Mon 09-18 (9 h), Tue (10 h), Wed (10 h), Thu 08-09 (1 h).
    assert sla.resolution_due_at == june(11, 9)
    assert sla.resolution_warn_at == june(10, 11, 30)  # 22.5 h: 9 + 10 + 3.5
    assert sla.due_at == june(8, 13)  # the queue shows the first response while it runs
    assert sla.next_check_at == june(8, 12)
    assert ticket.sla == sla  # the caller's ticket carries its clock


def test_pause_resume_resolve_and_reopen(sla_desk, clock):
    desk = sla_desk
    ticket = _in_progress(desk, open_ticket(desk, **P3))

    clock.move_to(june(8, 10))
    _reply(desk, ticket, desk.agent1)  # first public reply of an agent
    sla = clock_of(ticket)
    assert (sla.response_state, sla.response_elapsed_seconds) == ("met", 1 * H)
    assert sla.due_at == june(11, 9)  # now the resolution clock

    clock.move_to(june(8, 15))
    transition(desk, ticket, S.PENDING_CUSTOMER)
    sla = clock_of(ticket)
    assert sla.resolution_state == "paused"
    assert sla.elapsed_seconds == 6 * H
    assert sla.resolution_due_at is None and sla.next_check_at is None
    assert sla.paused_at == june(8, 15)

    clock.move_to(june(9, 11))
    _reply(desk, ticket, desk.user_a)  # the requester answers: back in progress
    sla = clock_of(ticket)
    assert fresh(ticket).status == S.IN_PROGRESS
    assert sla.resolution_state == "running"
    # 24 h left from Tue 11:00: Tue 7 h, Wed 10 h, Thu 7 h -> Thu 15:00 (the original Thu 09:00
    # plus the 6 business hours spent waiting: Mon 15-18 and Tue 08-11).
    assert sla.resolution_due_at == june(11, 15)
    assert sla.resolution_warn_at == june(10, 17, 30)  # 16.5 h to 22.5 h: Tue 7 h, Wed 9.5 h

    clock.move_to(june(10, 10))
    transition(desk, ticket, S.RESOLVED)
    sla = clock_of(ticket)
    assert sla.resolution_state == "met"
    assert sla.resolution_elapsed_seconds == 15 * H  # 6 + 7 (Tue) + 2 (Wed)
    assert sla.next_check_at is None and sla.due_at is None

    clock.move_to(june(11, 9))
    services.ticket_reopen(
        actor=desk.actor(desk.user_a), ticket=fresh(ticket), reason="It broke again"
    )
    sla = clock_of(ticket)
    assert sla.resolution_state == "running"
    assert sla.response_state == "met"  # a met first response stays met
    # The 15 h used so far carry on (time spent resolved does not count): 15 h left from Thu
    # 09:00: Thu 9 h, Fri 6 h -> Fri 14:00.
    assert sla.resolution_due_at == june(12, 14)


def test_raising_the_priority_pulls_the_due_times_in(sla_desk, clock):
    desk = sla_desk
    ticket = open_ticket(desk, **P5)  # response 20 h, resolution 100 h
    clock.move_to(june(8, 11))
    services.ticket_update(
        actor=desk.actor(desk.agent1), ticket=fresh(ticket), expected_version=None, changes=P2
    )
    sla = clock_of(ticket)
    assert sla.policy.priority == 2
    # As if it had been P2 (response 1 h, resolution 8 h) since Mon 09:00.
    assert sla.response_due_at == june(8, 10)  # already passed: the next sweep breaches it
    assert sla.resolution_due_at == june(8, 17)
    assert sla.resolution_warn_at == june(8, 15)
    assert sla.next_check_at == june(8, 9, 45)


def test_lowering_the_priority_after_a_breach_is_a_new_crossing(sla_desk, clock):
    desk = sla_desk
    ticket = open_ticket(desk, **P2)  # response due 10:00, resolution due 17:00
    result = sla_services.sla_sweep(now=june(8, 10, 5))
    assert (result.warnings, result.breaches, result.escalations) == (1, 1, 0)
    assert clock_of(ticket).response_state == "breached"

    clock.move_to(june(8, 11))
    services.ticket_update(
        actor=desk.actor(desk.agent1), ticket=fresh(ticket), expected_version=None, changes=P4
    )
    sla = clock_of(ticket)
    # P4: response 10 h, resolution 50 h, from Mon 09:00; 2 h used, so no longer breached.
    assert sla.response_state == "running"
    assert sla.response_breached_at is None and sla.response_warned_at is None
    assert sla.response_due_at == june(9, 9)  # Mon 9 h + Tue 1 h
    assert sla.response_warn_at == june(8, 16, 30)  # 7.5 h
    assert sla.resolution_due_at == june(15, 9)  # Mon 9 h, Tue-Fri 40 h, Mon 1 h
    assert sla.resolution_warn_at == june(11, 16, 30)  # 37.5 h: 9 + 10 + 10 + 8.5
    assert sla.next_check_at == june(8, 16, 30)


def test_changing_the_priority_while_paused(sla_desk, clock):
    desk = sla_desk
    ticket = _in_progress(desk, open_ticket(desk, **P3))
    clock.move_to(june(8, 9, 30))
    _reply(desk, ticket, desk.agent1)
    clock.move_to(june(8, 15))
    transition(desk, ticket, S.PENDING_VENDOR)  # 6 h used

    clock.move_to(june(9, 10))
    services.ticket_update(
        actor=desk.actor(desk.agent1), ticket=fresh(ticket), expected_version=None, changes=P2
    )
    sla = clock_of(ticket)
    assert sla.resolution_target_seconds == 8 * H
    assert sla.resolution_state == "paused" and sla.resolution_due_at is None
    assert sla.response_state == "met"  # stopped clocks keep their outcome

    clock.move_to(june(9, 11))
    transition(desk, ticket, S.IN_PROGRESS)
    assert clock_of(ticket).resolution_due_at == june(9, 13)  # 2 h left from Tue 11:00


def test_raising_to_a_24x7_priority_switches_calendar_mid_flight(sla_desk, clock):
    desk = sla_desk
    clock.move_to(june(12, 17))  # Friday 17:00
    ticket = open_ticket(desk, **P3)
    clock.move_to(june(13, 12))  # Saturday noon: 1 business hour used (Fri 17-18)
    services.ticket_update(
        actor=desk.actor(desk.agent1),
        ticket=fresh(ticket),
        expected_version=None,
        changes={"impact": 1, "urgency": 1},
    )
    sla = clock_of(ticket)
    assert sla.calendar.is_24x7
    assert sla.elapsed_seconds == 1 * H and sla.running_since == june(13, 12)
    assert sla.resolution_due_at == june(13, 15)  # P1: 4 h, 3 h left, around the clock
    assert sla.response_due_at == june(13, 12)  # 15 min target already used: due at once


def test_reassignment_keeps_the_customers_clock(sla_desk, clock):
    desk = sla_desk
    ticket = open_ticket(desk, **P3)
    before = clock_of(ticket)
    clock.move_to(june(8, 11))
    services.ticket_assign(
        actor=desk.actor(desk.agent1),
        ticket=fresh(ticket),
        expected_version=None,
        group_id=desk.tier2.pk,
        assignee_id=desk.agent2.pk,
    )
    after = clock_of(ticket)
    assert (after.response_due_at, after.resolution_due_at) == (
        before.response_due_at,
        before.resolution_due_at,
    )
    assert after.next_check_at == before.next_check_at


def test_resolving_meets_both_clocks_and_late_is_breached(sla_desk, clock):
    desk = sla_desk
    ticket = open_ticket(desk, **P2)
    clock.move_to(june(8, 11))  # response was due 10:00; nobody answered
    transition(desk, ticket, S.RESOLVED)
    sla = clock_of(ticket)
    assert sla.response_state == "breached"  # answered late (by the resolution)
    assert sla.resolution_state == "met"
    assert sla.next_check_at is None


def test_merging_a_duplicate_stops_its_clocks(sla_desk, clock):
    desk = sla_desk
    keep, duplicate = open_ticket(desk, **P3), open_ticket(desk, **P3)
    services.ticket_merge(actor=desk.actor(desk.agent1), source=fresh(duplicate), target=keep)
    sla = clock_of(duplicate)
    assert sla.resolution_stopped_at is not None and sla.next_check_at is None
    assert clock_of(keep).next_check_at is not None


def test_the_most_specific_policy_and_the_contract_calendar_apply(sla_desk, clock):
    desk = sla_desk
    berlin = calendar_create(
        "Berlin office",
        time_zone="Europe/Berlin",
        hours={d: [(time(9), time(17))] for d in range(5)},
    )
    SlaContract.objects.create(organization=desk.org_a, calendar=berlin)
    SlaPolicy.objects.create(
        name="Acme P3",
        organization=desk.org_a,
        priority=3,
        response_minutes=60,
        resolution_minutes=600,
    )
    SlaPolicy.objects.create(
        name="Acme P3 requests",
        organization=desk.org_a,
        ticket_type=Ticket.Type.REQUEST,
        priority=3,
        response_minutes=120,
        resolution_minutes=1200,
    )
    incident = open_ticket(desk, **P3)
    request = open_ticket(desk, type=Ticket.Type.REQUEST, **P3)
    other = open_ticket(desk, requester=desk.user_b, **P3)
    assert clock_of(incident).policy.name == "Acme P3"
    assert clock_of(request).policy.name == "Acme P3 requests"
    assert clock_of(other).policy.name == "Default P3"
    assert clock_of(incident).calendar == berlin
    # Mon 09:00 UTC is 11:00 in Berlin (summer): 1 h -> 12:00 Berlin = 10:00 UTC.
    assert clock_of(incident).response_due_at == june(8, 10)
    # The type change follows the same rules as a priority change.
    services.ticket_update(
        actor=desk.actor(desk.agent1),
        ticket=fresh(incident),
        expected_version=None,
        changes={"type": Ticket.Type.REQUEST},
    )
    assert clock_of(incident).policy.name == "Acme P3 requests"
    assert clock_of(incident).response_due_at == june(8, 11)


def test_no_policy_means_no_clock(sla_desk, clock):
    SlaPolicy.objects.filter(priority=5).update(is_active=False)
    ticket = open_ticket(sla_desk, **P5)
    assert not TicketSla.objects.filter(pk=ticket.pk).exists()
    # A later change to a priority with a policy starts the clocks then.
    services.ticket_update(
        actor=sla_desk.actor(sla_desk.agent1),
        ticket=fresh(ticket),
        expected_version=None,
        changes=P3,
    )
    assert clock_of(ticket).response_due_at == june(8, 13)
