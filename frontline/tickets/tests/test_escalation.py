"""Functional and hierarchical escalation with a handoff note, and first-contact resolution."""

from __future__ import annotations

import pytest

from frontline.core.errors import PermissionDenied, ValidationError
from frontline.core.models import AuditEvent
from frontline.tickets import selectors, services
from frontline.tickets.models import Escalation, Ticket
from frontline.tickets.tests.helpers import (
    db_state,
    drive_to,
    escalate,
    events_of,
    fresh,
    open_ticket,
    transition,
)

S = Ticket.Status
Kind = AuditEvent.Kind


def _assigned_to_agent1(desk):
    return drive_to(desk, open_ticket(desk), S.ASSIGNED)


@pytest.mark.parametrize(
    ("note", "field", "message"),
    [
        ({"symptoms": ""}, "symptoms", "required"),
        ({"symptoms": "  \n "}, "symptoms", "required"),
        ({"steps_tried": []}, "steps_tried", "steps already tried"),
        ({"steps_tried": ["", "   "]}, "steps_tried", "steps already tried"),
        ({"steps_tried": ""}, "steps_tried", "steps already tried"),
    ],
    ids=["no-symptoms", "blank-symptoms", "no-steps", "blank-steps", "empty-text"],
)
@pytest.mark.parametrize("kind", [Escalation.Kind.FUNCTIONAL, Escalation.Kind.HIERARCHICAL])
def test_escalation_without_a_handoff_note_is_refused_and_changes_nothing(
    desk, note, field, message, kind
):
    ticket = _assigned_to_agent1(desk)
    before = db_state(ticket)
    with pytest.raises(ValidationError) as refused:
        escalate(desk, ticket, kind=kind, to_group_id=desk.tier2.pk, **note)
    assert message in refused.value.errors[field]
    assert db_state(ticket) == before


def test_functional_escalation_moves_group_and_tier_and_keeps_the_handoff_note(desk):
    ticket = _assigned_to_agent1(desk)
    assert (ticket.tier, ticket.assignee_id) == (1, desk.agent1.pk)

    escalation = escalate(
        desk,
        ticket,
        to_group_id=desk.network.pk,
        symptoms="VPN drops every 10 minutes.",
        diagnosis="Only on the new firewall firmware.",
        steps_tried=["Reinstalled the VPN client", "Tried another network"],
        reason="Needs firewall access",
    )

    row = fresh(ticket)
    assert row.group_id == desk.network.pk
    assert row.tier == 3
    assert row.assignee_id is None
    assert row.status == S.ASSIGNED
    assert row.escalation_count == 1
    assert row.escalated_to_manager is False
    stored = Escalation.objects.get(pk=escalation.pk)
    assert stored.kind == Escalation.Kind.FUNCTIONAL
    assert (stored.from_group_id, stored.to_group_id) == (desk.tier1.pk, desk.network.pk)
    assert (stored.from_tier, stored.to_tier) == (1, 3)
    assert stored.symptoms == "VPN drops every 10 minutes."
    assert stored.diagnosis == "Only on the new firewall firmware."
    assert stored.steps_tried == ["Reinstalled the VPN client", "Tried another network"]
    assert stored.created_by_id == desk.agent1.pk
    event = [e for e in events_of(ticket) if e.kind == Kind.ESCALATED][-1]
    assert (event.field, event.old_value, event.new_value) == ("group", "Service Desk", "Network")
    assert event.is_public is False


def test_the_next_groups_agent_sees_the_handoff_note_and_the_escalated_event(desk):
    ticket = _assigned_to_agent1(desk)
    escalation = escalate(desk, ticket, to_group_id=desk.tier2.pk)
    tier2_agent = desk.actor(desk.agent2)
    assert desk.tier2.pk in tier2_agent.group_ids

    # Tier 2 finds it in its group queue ...
    queue = selectors.ticket_list(
        actor=tier2_agent, filters=selectors.TicketFilters(queue="groups")
    )
    assert ticket.pk in {t.pk for t in queue}
    loaded = selectors.ticket_get(actor=tier2_agent, ref=ticket.number)
    # ... reads the note first ...
    latest = selectors.escalation_latest(actor=tier2_agent, ticket=loaded)
    assert latest is not None
    assert latest.pk == escalation.pk
    assert latest.symptoms == "Outlook closes two seconds after start."
    assert latest.steps_tried == ["Restarted Outlook", "Ran Office repair"]
    # ... and the timeline shows the escalation with its note attached.
    timeline = selectors.ticket_timeline(actor=tier2_agent, ticket=loaded)
    escalated = [e for e in timeline if e.event.kind == Kind.ESCALATED]
    assert len(escalated) == 1
    assert escalated[0].escalation is not None
    assert escalated[0].escalation.pk == escalation.pk
    assert escalated[0].escalation.to_group == desk.tier2


def test_the_latest_functional_escalation_is_the_one_shown(desk):
    ticket = _assigned_to_agent1(desk)
    escalate(desk, ticket, to_group_id=desk.tier2.pk)
    second = escalate(desk, ticket, by=desk.agent2, symptoms="Also crashes in safe mode.")
    escalate(desk, ticket, by=desk.agent2, kind=Escalation.Kind.HIERARCHICAL)
    latest = selectors.escalation_latest(actor=desk.actor(desk.agent2), ticket=fresh(ticket))
    assert latest is not None
    assert latest.pk == second.pk


def test_escalation_without_a_group_goes_to_the_default_next_tier(desk):
    ticket = _assigned_to_agent1(desk)
    escalate(desk, ticket)  # Service Desk escalates_to Tier 2
    row = fresh(ticket)
    assert (row.group_id, row.tier) == (desk.tier2.pk, 2)
    escalate(desk, row, by=desk.agent2)  # Tier 2 escalates_to Tier 3
    row = fresh(ticket)
    assert (row.group_id, row.tier, row.escalation_count) == (desk.tier3.pk, 3, 2)


def test_escalation_without_a_group_and_no_default_next_tier_is_refused(desk):
    ticket = _assigned_to_agent1(desk)
    escalate(desk, ticket, to_group_id=desk.tier3.pk)  # Tier 3 has no escalates_to
    before = db_state(ticket)
    with pytest.raises(ValidationError) as refused:
        escalate(desk, ticket, by=desk.agent2)
    assert "to_group_id" in refused.value.errors
    with pytest.raises(ValidationError, match="already with this group"):
        escalate(desk, ticket, by=desk.agent2, to_group_id=desk.tier3.pk)
    assert db_state(ticket) == before


def test_hierarchical_escalation_flags_the_manager_without_moving_the_ticket(desk):
    ticket = _assigned_to_agent1(desk)
    escalation = escalate(
        desk, ticket, kind=Escalation.Kind.HIERARCHICAL, reason="VIP, SLA at risk"
    )
    row = fresh(ticket)
    assert row.escalated_to_manager is True
    assert (row.group_id, row.tier, row.assignee_id, row.status) == (
        desk.tier1.pk,
        1,
        desk.agent1.pk,
        S.ASSIGNED,
    )
    assert row.escalation_count == 1
    stored = Escalation.objects.get(pk=escalation.pk)
    assert stored.kind == Escalation.Kind.HIERARCHICAL
    assert stored.reason == "VIP, SLA at risk"
    event = [e for e in events_of(ticket) if e.kind == Kind.ESCALATED][-1]
    assert (event.field, event.new_value) == ("escalated_to_manager", "manager")


def test_steps_tried_as_one_block_of_text_are_one_step_per_line(desk):
    ticket = _assigned_to_agent1(desk)
    escalation = escalate(desk, ticket, steps_tried="Rebooted\n\n  Cleared the cache  \n")
    assert Escalation.objects.get(pk=escalation.pk).steps_tried == ["Rebooted", "Cleared the cache"]


def test_end_users_cannot_escalate_or_read_handoff_notes(desk):
    ticket = _assigned_to_agent1(desk)
    escalate(desk, ticket)
    before = db_state(ticket)
    with pytest.raises(PermissionDenied):
        escalate(desk, ticket, by=desk.user_a)
    assert db_state(ticket) == before
    user = desk.actor(desk.user_a)
    assert selectors.escalation_latest(actor=user, ticket=fresh(ticket)) is None
    assert not selectors.escalation_list(actor=user, ticket=fresh(ticket)).exists()
    timeline = selectors.ticket_timeline(actor=user, ticket=fresh(ticket))
    assert all(e.event.kind != Kind.ESCALATED and e.escalation is None for e in timeline)


def test_a_failed_escalation_after_the_lock_rolls_back_completely(desk):
    ticket = _assigned_to_agent1(desk)
    before = db_state(ticket)
    with pytest.raises(ValidationError):
        escalate(desk, ticket, to_group_id=desk.tier2.pk, reason="x" * 5001)
    assert db_state(ticket) == before


# --- first-contact resolution and resolved tier ------------------------------------------------


def _resolve(desk, ticket, by):
    return transition(desk, ticket, S.RESOLVED, by=by)


def test_resolved_by_the_logging_agent_at_tier_1_without_escalation_is_fcr(desk):
    ticket = _assigned_to_agent1(desk)
    _resolve(desk, ticket, desk.agent1)
    row = fresh(ticket)
    assert (row.first_contact_resolution, row.resolved_tier) == (True, 1)


def test_resolved_at_tier_1_by_another_agent_is_not_fcr(desk):
    ticket = _assigned_to_agent1(desk)
    _resolve(desk, ticket, desk.lead)
    row = fresh(ticket)
    assert (row.first_contact_resolution, row.resolved_tier) == (False, 1)


def test_a_ticket_the_requester_opened_is_not_fcr(desk):
    ticket = open_ticket(desk, by=desk.user_a)
    _resolve(desk, ticket, desk.agent1)
    assert fresh(ticket).first_contact_resolution is False


def test_resolved_at_tier_2_after_escalation_is_not_fcr(desk):
    ticket = _assigned_to_agent1(desk)
    escalate(desk, ticket, to_group_id=desk.tier2.pk)
    _resolve(desk, ticket, desk.agent2)
    row = fresh(ticket)
    assert (row.first_contact_resolution, row.resolved_tier) == (False, 2)


def test_hierarchical_escalation_also_rules_out_fcr(desk):
    ticket = _assigned_to_agent1(desk)
    escalate(desk, ticket, kind=Escalation.Kind.HIERARCHICAL)
    _resolve(desk, ticket, desk.agent1)
    assert (fresh(ticket).first_contact_resolution, fresh(ticket).resolved_tier) == (False, 1)


def test_after_pending_customer_it_is_not_fcr(desk):
    ticket = _assigned_to_agent1(desk)
    transition(desk, ticket, S.PENDING_CUSTOMER)
    services.comment_add(actor=desk.actor(desk.user_a), ticket=fresh(ticket), body="Here it is")
    assert fresh(ticket).status == S.IN_PROGRESS  # the reply put it back in progress
    _resolve(desk, ticket, desk.agent1)
    row = fresh(ticket)
    assert (row.first_contact_resolution, row.resolved_tier, row.was_pending_customer) == (
        False,
        1,
        True,
    )


def test_reopened_then_resolved_recomputes_fcr_and_resolved_tier(desk):
    ticket = _assigned_to_agent1(desk)
    _resolve(desk, ticket, desk.agent1)
    assert (fresh(ticket).first_contact_resolution, fresh(ticket).resolved_tier) == (True, 1)

    services.ticket_reopen(actor=desk.actor(desk.user_a), ticket=fresh(ticket), reason="Again")
    row = fresh(ticket)
    assert (row.first_contact_resolution, row.resolved_tier, row.resolved_by_id) == (
        None,
        None,
        None,
    )

    escalate(desk, ticket, to_group_id=desk.tier2.pk)
    _resolve(desk, ticket, desk.agent2)
    row = fresh(ticket)
    assert (row.first_contact_resolution, row.resolved_tier, row.resolved_by_id) == (
        False,
        2,
        desk.agent2.pk,
    )

    # Reopened once more and solved back at the service desk: tier 1, still not FCR.
    transition(desk, ticket, S.IN_PROGRESS)
    services.ticket_assign(
        actor=desk.actor(desk.agent2),
        ticket=fresh(ticket),
        expected_version=fresh(ticket).version,
        group_id=desk.tier1.pk,
        assignee_id=desk.agent1.pk,
    )
    _resolve(desk, ticket, desk.agent1)
    row = fresh(ticket)
    assert (row.first_contact_resolution, row.resolved_tier, row.reopen_count) == (False, 1, 2)
