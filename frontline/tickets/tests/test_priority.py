"""Impact x urgency -> priority, from the configurable matrix (seeded with the ITIL default)."""

from __future__ import annotations

import pytest

from frontline.core.errors import PermissionDenied, ValidationError
from frontline.tickets import services
from frontline.tickets.models import PriorityMatrixEntry, Ticket
from frontline.tickets.tests.helpers import db_state, events_of, fresh, open_ticket

# ITIL's default: (impact, urgency) -> priority, 1 = high.
ITIL = {
    (1, 1): 1, (1, 2): 2, (1, 3): 3,
    (2, 1): 2, (2, 2): 3, (2, 3): 4,
    (3, 1): 3, (3, 2): 4, (3, 3): 5,
}  # fmt: skip
COMBINATIONS = sorted(ITIL)


def _update(desk, ticket, **changes):
    ticket = fresh(ticket)
    return services.ticket_update(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=ticket.version,
        changes=changes,
    )


def test_the_migration_seeds_the_itil_matrix(db):
    seeded = {(e.impact, e.urgency): e.priority for e in PriorityMatrixEntry.objects.order_by("pk")}
    assert seeded == ITIL


@pytest.mark.parametrize(("impact", "urgency"), COMBINATIONS)
def test_every_impact_urgency_combination_gets_the_configured_priority(desk, impact, urgency):
    ticket = open_ticket(desk, impact=impact, urgency=urgency)
    assert fresh(ticket).priority == ITIL[(impact, urgency)]
    assert services.priority_for(impact=impact, urgency=urgency) == ITIL[(impact, urgency)]
    assert events_of(ticket)[0].data["priority"] == ITIL[(impact, urgency)]


def test_an_edited_matrix_row_is_used_by_ticket_create(desk):
    PriorityMatrixEntry.objects.filter(impact=2, urgency=2).update(priority=1)
    assert fresh(open_ticket(desk, impact=2, urgency=2)).priority == 1
    # other cells keep the default
    assert fresh(open_ticket(desk, impact=2, urgency=3)).priority == 4


@pytest.mark.parametrize("changed", ["impact", "urgency", "both"])
def test_an_edited_matrix_row_is_used_when_ticket_update_changes_impact_or_urgency(desk, changed):
    ticket = open_ticket(desk, impact=3, urgency=3)
    assert fresh(ticket).priority == 5
    entry = PriorityMatrixEntry.objects.get(impact=2, urgency=2)
    entry.priority = 1
    entry.save()
    if changed == "impact":
        ticket = _update(desk, ticket, urgency=2)  # 3 x 2 -> P4 (unchanged row)
        assert fresh(ticket).priority == 4
        ticket = _update(desk, ticket, impact=2)  # 2 x 2 -> edited row
    elif changed == "urgency":
        ticket = _update(desk, ticket, impact=2)  # 2 x 3 -> P4
        ticket = _update(desk, ticket, urgency=2)
    else:
        ticket = _update(desk, ticket, impact=2, urgency=2)
    assert fresh(ticket).priority == 1
    last = [e for e in events_of(ticket) if e.field == "priority"][-1]
    assert (last.old_value, last.new_value) == ("5" if changed == "both" else "4", "1")


def test_changing_other_fields_keeps_the_priority(desk):
    ticket = open_ticket(desk, impact=1, urgency=1)
    PriorityMatrixEntry.objects.filter(impact=1, urgency=1).update(priority=4)
    _update(desk, ticket, subject="Outlook crashes for the whole floor")
    assert fresh(ticket).priority == 1


def test_a_missing_matrix_row_falls_back_to_the_itil_default(desk):
    PriorityMatrixEntry.objects.filter(impact=1, urgency=2).delete()
    assert fresh(open_ticket(desk, impact=1, urgency=2)).priority == 2


@pytest.mark.parametrize("bad", [0, 4, "1", None])
def test_impact_or_urgency_outside_1_to_3_is_refused(desk, bad):
    with pytest.raises(ValidationError):
        open_ticket(desk, impact=bad)
    with pytest.raises(ValidationError):
        open_ticket(desk, urgency=bad)
    assert not Ticket.objects.exists()
    ticket = open_ticket(desk)
    before = db_state(ticket)
    with pytest.raises(ValidationError):
        _update(desk, ticket, impact=bad)
    assert db_state(ticket) == before


def test_priority_cannot_be_set_directly_nor_by_end_users(desk):
    ticket = open_ticket(desk)
    before = db_state(ticket)
    with pytest.raises(ValidationError) as refused:
        _update(desk, ticket, priority=1)
    assert "priority" in refused.value.errors
    with pytest.raises(PermissionDenied):
        services.ticket_update(
            actor=desk.actor(desk.user_a),
            ticket=ticket,
            expected_version=ticket.version,
            changes={"impact": 1},
        )
    assert db_state(ticket) == before
