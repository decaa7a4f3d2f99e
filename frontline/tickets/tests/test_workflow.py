"""The ticket lifecycle, driven through the services: every legal move works and is recorded,
every illegal one is refused with a clear message and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from frontline.core.errors import PermissionDenied, ValidationError
from frontline.core.models import AuditEvent
from frontline.tickets import selectors, services, workflow
from frontline.tickets.models import Comment, Ticket
from frontline.tickets.tests.helpers import (
    RESOLVE,
    db_state,
    drive_to,
    events_of,
    fresh,
    open_ticket,
    transition,
)

S = Ticket.Status
Kind = AuditEvent.Kind

# Sorted: frozenset order varies between processes (xdist workers must collect the same list).
LEGAL = [
    (source, target)
    for source, targets in workflow.TRANSITIONS.items()
    for target in sorted(targets)
]
ILLEGAL = [
    (source, target)
    for source in S.values
    for target in S.values
    if target not in workflow.TRANSITIONS[source]
]


def _ids(pair: tuple[str, str]) -> str:
    return f"{pair[0]}->{pair[1]}"


def _label(status: str) -> str:
    return str(S(status).label).lower()


def test_the_state_machine_covers_every_status_and_closed_is_terminal():
    assert set(workflow.TRANSITIONS) == set(S.values)
    assert workflow.TRANSITIONS[S.CLOSED] == frozenset()
    assert all(S.NEW not in targets for targets in workflow.TRANSITIONS.values())
    assert len(LEGAL) + len(ILLEGAL) == len(S.values) ** 2


@pytest.mark.parametrize(("source", "target"), LEGAL, ids=[_ids(p) for p in LEGAL])
def test_every_legal_transition_succeeds_and_records_a_status_event(desk, source, target):
    ticket = drive_to(desk, open_ticket(desk), source)
    seen = len(events_of(ticket))

    result = transition(desk, ticket, target)

    row = fresh(ticket)
    assert row.status == result.status == target
    assert row.version == ticket.version + 1
    new_events = events_of(ticket)[seen:]
    assert [(e.field, e.old_value, e.new_value) for e in new_events] == [("status", source, target)]
    expected_kind = {S.RESOLVED: Kind.RESOLVED, S.CLOSED: Kind.CLOSED}.get(target, Kind.STATUS)
    if workflow.is_reopen(source, target):
        expected_kind = Kind.REOPENED
    assert new_events[0].kind == expected_kind
    assert new_events[0].actor_id == desk.agent1.pk


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[_ids(p) for p in ILLEGAL])
def test_every_illegal_transition_is_refused_naming_both_states(desk, source, target):
    ticket = drive_to(desk, open_ticket(desk), source)
    before = db_state(ticket)

    with pytest.raises(ValidationError) as refused:
        transition(desk, ticket, target)

    message = refused.value.errors["status"]
    if source == target:
        assert f"already {_label(source)}" in message
    else:
        assert f"from {_label(source)} to {_label(target)}" in message
        assert "Allowed from here:" in message
    assert db_state(ticket) == before


@pytest.mark.parametrize("bogus", ["bogus", "", "RESOLVED", "resolved "])
def test_unknown_target_status_is_refused(desk, bogus):
    ticket = open_ticket(desk)
    before = db_state(ticket)
    with pytest.raises(ValidationError, match="Unknown status"):
        transition(desk, ticket, bogus)
    assert db_state(ticket) == before


def test_end_user_cannot_transition_their_own_ticket(desk):
    ticket = open_ticket(desk)
    before = db_state(ticket)
    with pytest.raises(PermissionDenied):
        transition(desk, ticket, S.RESOLVED, by=desk.user_a)
    assert db_state(ticket) == before


# --- resolving ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "notes", "field"),
    [
        ("", "Replaced the cable.", "resolution_code"),
        ("fixed_it", "Replaced the cable.", "resolution_code"),
        (Ticket.ResolutionCode.SOLVED_ONSITE, "", "resolution_notes"),
        (Ticket.ResolutionCode.SOLVED_ONSITE, "   \n ", "resolution_notes"),
    ],
)
def test_resolving_needs_a_resolution_code_and_notes(desk, code, notes, field):
    ticket = drive_to(desk, open_ticket(desk), S.IN_PROGRESS)
    before = db_state(ticket)
    with pytest.raises(ValidationError) as refused:
        services.ticket_resolve(
            actor=desk.actor(desk.agent1),
            ticket=ticket,
            expected_version=ticket.version,
            resolution_code=code,
            resolution_notes=notes,
        )
    assert field in refused.value.errors
    assert db_state(ticket) == before


def test_resolve_records_who_when_and_how(desk):
    ticket = drive_to(desk, open_ticket(desk), S.IN_PROGRESS)
    when = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    with time_machine.travel(when, tick=False):
        services.ticket_resolve(
            actor=desk.actor(desk.agent1),
            ticket=ticket,
            expected_version=ticket.version,
            resolution_code=Ticket.ResolutionCode.WORKAROUND,
            resolution_notes="  Disabled the add-in.  ",
        )
    row = fresh(ticket)
    assert row.status == S.RESOLVED
    assert row.resolution_code == Ticket.ResolutionCode.WORKAROUND
    assert row.resolution_notes == "Disabled the add-in."
    assert row.resolved_at == when
    assert row.resolved_by_id == desk.agent1.pk
    event = events_of(ticket)[-1]
    assert event.kind == Kind.RESOLVED
    assert event.data["resolution_code"] == Ticket.ResolutionCode.WORKAROUND


def test_close_sets_closed_at(desk):
    ticket = drive_to(desk, open_ticket(desk), S.RESOLVED)
    services.ticket_close(
        actor=desk.actor(desk.agent1), ticket=ticket, expected_version=ticket.version
    )
    row = fresh(ticket)
    assert row.status == S.CLOSED
    assert row.closed_at is not None


# --- reopening and the reopen window -----------------------------------------------------------

RESOLVED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _resolved_at(desk, when=RESOLVED_AT):
    with time_machine.travel(when, tick=False):
        return drive_to(desk, open_ticket(desk), S.RESOLVED)


def _reopen(desk, ticket, how):
    ticket = fresh(ticket)
    if how == "requester":
        return services.ticket_reopen(
            actor=desk.actor(desk.user_a),
            ticket=ticket,
            reason="Outlook crashes again.",
            expected_version=ticket.version,
        )
    return transition(desk, ticket, S.IN_PROGRESS, reason="Customer called back")


@pytest.mark.parametrize("how", ["requester", "agent"])
@pytest.mark.parametrize(
    ("org_days", "site_days", "window"),
    [(3, 7, timedelta(days=3)), (None, 2, timedelta(days=2)), (10, 2, timedelta(days=10))],
    ids=["organisation-window", "site-default", "organisation-longer-than-site"],
)
def test_reopen_works_inside_the_window_and_is_refused_after(
    desk, settings, how, org_days, site_days, window
):
    settings.FRONTLINE_REOPEN_WINDOW_DAYS = site_days
    desk.org_a.reopen_window_days = org_days
    desk.org_a.save()
    inside, outside = _resolved_at(desk), _resolved_at(desk)

    with time_machine.travel(RESOLVED_AT + window - timedelta(minutes=1), tick=False):
        _reopen(desk, inside, how)
    row = fresh(inside)
    assert row.is_open
    assert row.reopen_count == 1
    assert row.resolved_at is None
    assert row.resolution_code == ""
    assert events_of(inside)[-1 if how == "agent" else -2].kind == Kind.REOPENED

    before = db_state(outside)
    with (
        time_machine.travel(RESOLVED_AT + window + timedelta(minutes=1), tick=False),
        pytest.raises(ValidationError, match="reopen window has passed"),
    ):
        _reopen(desk, outside, how)
    assert db_state(outside) == before


def test_requester_reopen_needs_a_reason(desk):
    ticket = drive_to(desk, open_ticket(desk), S.RESOLVED)
    before = db_state(ticket)
    for reason in ["", "   \n\t "]:
        with pytest.raises(ValidationError) as refused:
            services.ticket_reopen(
                actor=desk.actor(desk.user_a), ticket=fresh(ticket), reason=reason
            )
        assert "reason" in refused.value.errors
    assert db_state(ticket) == before


def test_requester_reopen_with_a_reason_goes_back_to_the_desk_and_shows_the_reason(desk):
    ticket = drive_to(desk, open_ticket(desk), S.RESOLVED)
    services.ticket_reopen(
        actor=desk.actor(desk.user_a), ticket=fresh(ticket), reason="Still crashing"
    )
    row = fresh(ticket)
    assert row.status == S.ASSIGNED  # it still has its group: back in that group's queue
    assert row.group_id == desk.tier1.pk
    assert row.reopen_count == 1
    reopened = [e for e in events_of(ticket) if e.kind == Kind.REOPENED]
    assert len(reopened) == 1
    assert reopened[0].data["reason"] == "Still crashing"
    assert reopened[0].actor_id == desk.user_a.pk
    timeline = selectors.ticket_timeline(actor=desk.actor(desk.user_a), ticket=row)
    bodies = [entry.comment.body for entry in timeline if entry.comment]
    assert "Reopened: Still crashing" in bodies


def test_only_a_resolved_ticket_can_be_reopened_or_confirmed(desk):
    ticket = drive_to(desk, open_ticket(desk), S.IN_PROGRESS)
    before = db_state(ticket)
    with pytest.raises(ValidationError, match="Only a resolved ticket"):
        services.ticket_reopen(actor=desk.actor(desk.user_a), ticket=ticket, reason="Again")
    with pytest.raises(ValidationError, match="Only a resolved ticket"):
        services.ticket_confirm_resolution(actor=desk.actor(desk.user_a), ticket=ticket)
    assert db_state(ticket) == before


# --- the requester confirms --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["user_a", "contact_a"])
def test_requester_or_designated_contact_confirming_closes_the_ticket(desk, who):
    ticket = drive_to(desk, open_ticket(desk), S.RESOLVED)
    person = getattr(desk, who)
    services.ticket_confirm_resolution(
        actor=desk.actor(person), ticket=ticket, expected_version=ticket.version
    )
    row = fresh(ticket)
    assert row.status == S.CLOSED
    assert row.closed_at is not None
    event = events_of(ticket)[-1]
    assert (event.kind, event.old_value, event.new_value) == (Kind.CLOSED, S.RESOLVED, S.CLOSED)
    assert event.actor_id == person.pk
    assert event.data["reason"] == "Resolution confirmed by requester"


def test_another_end_user_cannot_confirm_or_reopen_someone_elses_ticket(desk):
    ticket = drive_to(desk, open_ticket(desk), S.RESOLVED)
    before = db_state(ticket)
    with pytest.raises(PermissionDenied):
        services.ticket_confirm_resolution(actor=desk.actor(desk.user_a2), ticket=ticket)
    with pytest.raises(PermissionDenied):
        services.ticket_reopen(actor=desk.actor(desk.user_a2), ticket=ticket, reason="Mine now")
    assert db_state(ticket) == before


# --- closed is terminal ------------------------------------------------------------------------


def test_a_closed_ticket_cannot_be_reopened_assigned_escalated_or_commented(desk):
    ticket = drive_to(desk, open_ticket(desk), S.CLOSED)
    before = db_state(ticket)
    agent = desk.actor(desk.agent1)
    with pytest.raises(ValidationError):
        services.ticket_reopen(actor=desk.actor(desk.user_a), ticket=ticket, reason="Again")
    with pytest.raises(ValidationError):
        services.ticket_confirm_resolution(actor=desk.actor(desk.user_a), ticket=ticket)
    with pytest.raises(ValidationError):
        services.ticket_assign(
            actor=agent,
            ticket=ticket,
            expected_version=ticket.version,
            group_id=desk.tier2.pk,
            assignee_id=None,
        )
    with pytest.raises(ValidationError):
        services.ticket_escalate(
            actor=agent,
            ticket=ticket,
            expected_version=ticket.version,
            symptoms="Crash",
            steps_tried=["Reboot"],
        )
    with pytest.raises(ValidationError, match="closed"):
        services.comment_add(actor=desk.actor(desk.user_a), ticket=ticket, body="Hello?")
    assert db_state(ticket) == before
    assert not Comment.objects.filter(ticket=ticket).exists()


def test_closed_check_uses_the_committed_status_not_a_stale_copy(desk):
    ticket = open_ticket(desk)
    stale = fresh(ticket)
    drive_to(desk, ticket, S.CLOSED)
    with pytest.raises(ValidationError, match="closed"):
        services.comment_add(actor=desk.actor(desk.user_a), ticket=stale, body="Any news?")
    assert not Comment.objects.filter(ticket=ticket).exists()


def test_resolve_fills_first_response_when_nobody_replied(desk):
    ticket = open_ticket(desk)
    assert ticket.first_response_at is None
    transition(desk, ticket, S.RESOLVED, **RESOLVE)
    assert fresh(ticket).first_response_at is not None
