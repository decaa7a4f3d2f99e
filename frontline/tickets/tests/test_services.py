"""Ticket services: creation and numbering, assignment, links, merge, watchers, status links,
and the rule that every change and its audit events commit (or roll back) together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from frontline.core.errors import NotFound, PermissionDenied, ValidationError
from frontline.core.events import event_record as real_event_record
from frontline.core.events import event_record_changes as real_event_record_changes
from frontline.core.models import AuditEvent
from frontline.tickets import selectors, services
from frontline.tickets.models import StatusLink, Ticket, TicketSequence
from frontline.tickets.tests.factories import CategoryFactory, UserFactory
from frontline.tickets.tests.helpers import (
    db_state,
    drive_to,
    escalate,
    events_of,
    fresh,
    open_ticket,
    upload,
)

S = Ticket.Status
Kind = AuditEvent.Kind


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# --- numbering ---------------------------------------------------------------------------------


def _sequence(name: str) -> int:
    return services.number_last_issued(name)


def test_numbers_are_sequential_per_type_and_unique(desk):
    inc, req = _sequence("INC"), _sequence("REQ")
    kinds = ["incident", "request", "incident", "incident", "request"]
    numbers = [
        open_ticket(desk, type=kind, by=desk.user_a if i % 2 else desk.agent1).number
        for i, kind in enumerate(kinds)
    ]
    assert numbers == [
        f"INC-{inc + 1:06d}",
        f"REQ-{req + 1:06d}",
        f"INC-{inc + 2:06d}",
        f"INC-{inc + 3:06d}",
        f"REQ-{req + 2:06d}",
    ]
    assert len(set(Ticket.objects.values_list("number", flat=True))) == Ticket.objects.count()


def test_the_database_refuses_a_duplicate_number(desk):
    ticket = open_ticket(desk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(
            tenant=desk.org_a, number=ticket.number, subject="Copy", requester=desk.user_a
        )


def test_a_refused_create_does_not_use_up_a_number(desk):
    start = _sequence("INC")
    with pytest.raises(ValidationError):
        open_ticket(desk, subject="   ")
    with pytest.raises(ValidationError):
        open_ticket(desk, category_id=999_999)
    assert _sequence("INC") == start
    assert open_ticket(desk).number == f"INC-{start + 1:06d}"


@pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="PostgreSQL numbers come from a SEQUENCE per type, not the counter row",
)
def test_a_missing_counter_row_starts_again_at_one(desk):
    TicketSequence.objects.filter(name="REQ").delete()
    assert open_ticket(desk, type="request").number == "REQ-000001"
    assert open_ticket(desk, type="request").number == "REQ-000002"


# --- creating ----------------------------------------------------------------------------------


def test_an_end_user_opens_a_ticket_for_themselves_only(desk):
    ticket = services.ticket_create(
        actor=desk.actor(desk.user_a),
        subject="  Printer\x00 jams  ",
        requester_id=desk.user_b.pk,
        organization_id=desk.org_b.pk,
        group_id=desk.tier3.pk,
        assignee_id=desk.agent2.pk,
        channel=Ticket.Channel.PHONE,
    )
    row = fresh(ticket)
    assert (row.tenant_id, row.requester_id, row.created_by_id) == (
        desk.org_a.pk,
        desk.user_a.pk,
        desk.user_a.pk,
    )
    assert row.subject == "Printer jams"
    assert (row.group_id, row.assignee_id, row.status, row.tier) == (desk.tier1.pk, None, S.NEW, 1)
    assert row.channel == Ticket.Channel.PORTAL
    created = events_of(ticket)
    assert [(e.kind, e.actor_id, e.tenant_id) for e in created] == [
        (Kind.CREATED, desk.user_a.pk, desk.org_a.pk)
    ]


def test_an_agent_logs_a_ticket_for_a_requester_and_may_assign_it(desk):
    ticket = open_ticket(desk, assignee_id=desk.agent1.pk, group_id=desk.tier1.pk)
    row = fresh(ticket)
    assert (row.status, row.assignee_id, row.channel) == (
        S.ASSIGNED,
        desk.agent1.pk,
        Ticket.Channel.PHONE,
    )
    assert events_of(ticket)[0].data["assignee"] == desk.agent1.full_name


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"requester_id": None}, "requester_id"),
        ({"requester_id": 999_999}, "requester_id"),
        ({"organization_id": -1}, "organization_id"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 256}, "subject"),
        ({"type": "problem"}, "type"),
        ({"channel": "pigeon"}, "channel"),
        ({"group_id": 999_999}, "group_id"),
        ({"assignee_id": -5}, "assignee_id"),
    ],
)
def test_bad_input_to_ticket_create_is_refused_with_the_field_named(desk, kwargs, field):
    with pytest.raises(ValidationError) as refused:
        open_ticket(desk, **kwargs)
    assert field in refused.value.errors
    assert not Ticket.objects.exists()


def test_an_inactive_requester_is_refused(desk):
    gone = UserFactory(organization=desk.org_a, is_active=False)
    with pytest.raises(ValidationError, match="requester"):
        open_ticket(desk, requester=gone)


def test_categories_route_to_their_default_group(desk):
    network = CategoryFactory(name="Network", default_group=desk.network)
    vpn = CategoryFactory(name="VPN", parent=network)
    other = CategoryFactory(name="Hardware")
    ticket = open_ticket(desk, by=desk.user_a, category_id=network.pk, subcategory_id=vpn.pk)
    assert (fresh(ticket).group_id, fresh(ticket).tier) == (desk.network.pk, 3)
    with pytest.raises(ValidationError, match="does not belong"):
        open_ticket(desk, category_id=other.pk, subcategory_id=vpn.pk)
    with pytest.raises(ValidationError, match="top-level"):
        open_ticket(desk, category_id=vpn.pk)


# --- updating and assigning --------------------------------------------------------------------


def test_ticket_update_records_old_and_new_values(desk):
    ticket = open_ticket(desk)
    services.ticket_update(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=ticket.version,
        changes={"subject": "Outlook crashes for everyone", "location": "Floor 3"},
    )
    changed = {(e.field, e.old_value, e.new_value) for e in events_of(ticket)[1:]}
    assert changed == {
        ("subject", "Outlook crashes on start", "Outlook crashes for everyone"),
        ("location", "", "Floor 3"),
    }


@pytest.mark.parametrize("field", ["status", "tenant_id", "requester_id", "number", "version"])
def test_ticket_update_refuses_fields_that_have_their_own_service(desk, field):
    ticket = open_ticket(desk)
    before = db_state(ticket)
    with pytest.raises(ValidationError) as refused:
        services.ticket_update(
            actor=desk.actor(desk.agent1),
            ticket=ticket,
            expected_version=ticket.version,
            changes={field: 1},
        )
    assert field in refused.value.errors
    assert db_state(ticket) == before


def test_assigning_a_new_ticket_moves_it_to_assigned_and_records_both(desk):
    ticket = open_ticket(desk)
    services.ticket_assign(
        actor=desk.actor(desk.lead),
        ticket=ticket,
        expected_version=ticket.version,
        group_id=desk.tier2.pk,
        assignee_id=desk.agent2.pk,
    )
    row = fresh(ticket)
    assert (row.group_id, row.assignee_id, row.tier, row.status) == (
        desk.tier2.pk,
        desk.agent2.pk,
        2,
        S.ASSIGNED,
    )
    assigned, status = events_of(ticket)[1:]
    assert (assigned.kind, assigned.old_value, assigned.new_value) == (
        Kind.ASSIGNED,
        "Service Desk",
        "Tier 2 / Tom Tier-Two",
    )
    assert (status.old_value, status.new_value) == (S.NEW, S.ASSIGNED)


@pytest.mark.parametrize(
    ("group", "assignee", "message"),
    [
        (None, None, "Choose a group or an agent"),
        ("tier2", "agent1", "is not in Tier 2"),
        (None, "user_a", "Unknown agent"),
    ],
)
def test_bad_assignments_are_refused(desk, group, assignee, message):
    ticket = open_ticket(desk)
    before = db_state(ticket)
    with pytest.raises(ValidationError, match=message):
        services.ticket_assign(
            actor=desk.actor(desk.agent1),
            ticket=ticket,
            expected_version=ticket.version,
            group_id=getattr(desk, group).pk if group else None,
            assignee_id=getattr(desk, assignee).pk if assignee else None,
        )
    assert db_state(ticket) == before


def test_end_users_cannot_update_or_assign(desk):
    ticket = open_ticket(desk)
    before = db_state(ticket)
    user = desk.actor(desk.user_a)
    with pytest.raises(PermissionDenied):
        services.ticket_update(
            actor=user, ticket=ticket, expected_version=None, changes={"subject": "Mine"}
        )
    with pytest.raises(PermissionDenied):
        services.ticket_assign(
            actor=user,
            ticket=ticket,
            expected_version=None,
            group_id=desk.tier2.pk,
            assignee_id=None,
        )
    assert db_state(ticket) == before


# --- links, merge, watchers --------------------------------------------------------------------


def test_link_parent_and_refuse_loops(desk):
    parent, child, grandchild = open_ticket(desk), open_ticket(desk), open_ticket(desk)
    agent = desk.actor(desk.agent1)
    services.ticket_link_parent(actor=agent, ticket=child, parent=parent)
    services.ticket_link_parent(actor=agent, ticket=grandchild, parent=fresh(child))
    assert fresh(child).parent_id == parent.pk
    assert [(e.field, e.new_value) for e in events_of(parent)[1:]] == [("child", child.number)]
    before = db_state(parent, child, grandchild)
    with pytest.raises(ValidationError, match="loop"):
        services.ticket_link_parent(actor=agent, ticket=fresh(parent), parent=fresh(grandchild))
    with pytest.raises(ValidationError, match="own parent"):
        services.ticket_link_parent(actor=agent, ticket=fresh(parent), parent=fresh(parent))
    assert db_state(parent, child, grandchild) == before
    services.ticket_link_parent(actor=agent, ticket=fresh(child), parent=None)
    assert fresh(child).parent_id is None


def test_merge_closes_the_duplicate_and_moves_its_people_to_the_target(desk):
    target = open_ticket(desk)
    source = open_ticket(desk, requester=desk.user_a2)
    services.watcher_add(actor=desk.actor(desk.agent1), ticket=source, user_id=desk.contact_a.pk)
    result = services.ticket_merge(
        actor=desk.actor(desk.agent1), source=fresh(source), target=target
    )
    assert result.pk == target.pk
    src = fresh(source)
    assert (src.status, src.duplicate_of_id, src.resolution_code) == (
        S.CLOSED,
        target.pk,
        Ticket.ResolutionCode.DUPLICATE,
    )
    assert src.closed_at is not None
    assert set(fresh(target).watchers.values_list("pk", flat=True)) == {
        desk.user_a2.pk,
        desk.contact_a.pk,
    }
    assert [e.kind for e in events_of(source)][-2:] == [Kind.MERGED, Kind.CLOSED]
    assert events_of(target)[-1].data == {"from": source.number}


def test_merge_refuses_closed_duplicate_or_self_targets(desk):
    agent = desk.actor(desk.agent1)
    source, closed, dup, other = (open_ticket(desk) for _ in range(4))
    drive_to(desk, closed, S.CLOSED)
    services.ticket_merge(actor=agent, source=dup, target=other)
    before = db_state(source, closed, dup, other)
    with pytest.raises(ValidationError, match="closed ticket"):
        services.ticket_merge(actor=agent, source=source, target=closed)
    with pytest.raises(ValidationError, match="closed ticket"):  # a merged duplicate is closed
        services.ticket_merge(actor=agent, source=source, target=fresh(dup))
    with pytest.raises(ValidationError, match="into itself"):
        services.ticket_merge(actor=agent, source=source, target=source)
    with pytest.raises(ValidationError, match="closed ticket cannot be merged"):
        services.ticket_merge(actor=agent, source=fresh(closed), target=other)
    assert db_state(source, closed, dup, other) == before


def test_merge_decides_on_the_committed_target_not_a_stale_copy(desk):
    agent = desk.actor(desk.agent1)
    source, target = open_ticket(desk), open_ticket(desk)
    stale_target = fresh(target)
    drive_to(desk, target, S.CLOSED)
    with pytest.raises(ValidationError, match="closed ticket"):
        services.ticket_merge(actor=agent, source=source, target=stale_target)
    assert fresh(source).status == S.NEW


def test_watchers_are_added_once_and_removed(desk):
    ticket = open_ticket(desk)
    agent = desk.actor(desk.agent1)
    services.watcher_add(actor=agent, ticket=ticket, user_id=desk.user_a2.pk)
    services.watcher_add(actor=agent, ticket=ticket, user_id=desk.user_a2.pk)
    services.watcher_add(actor=agent, ticket=ticket, user_id=desk.agent_a.pk)  # serves Acme
    assert set(ticket.watchers.values_list("pk", flat=True)) == {desk.user_a2.pk, desk.agent_a.pk}
    assert len([e for e in events_of(ticket) if e.kind == Kind.WATCHER]) == 2
    services.watcher_remove(actor=agent, ticket=ticket, user_id=desk.user_a2.pk)
    services.watcher_remove(actor=agent, ticket=ticket, user_id=desk.user_a2.pk)
    assert set(ticket.watchers.values_list("pk", flat=True)) == {desk.agent_a.pk}
    with pytest.raises(ValidationError, match="Watchers"):
        services.watcher_add(actor=agent, ticket=ticket, user_id=desk.user_b.pk)
    with pytest.raises(PermissionDenied):
        services.watcher_add(actor=desk.actor(desk.user_a), ticket=ticket, user_id=desk.user_a.pk)


# --- status links ------------------------------------------------------------------------------


def test_a_status_link_is_random_hashed_expiring_and_revocable(desk, settings):
    settings.FRONTLINE_STATUS_LINK_DAYS = 5
    ticket = open_ticket(desk)
    raw = services.status_link_create(actor=desk.actor(desk.agent1), ticket=ticket)
    link = StatusLink.objects.get(ticket=ticket)
    assert link.token_hash == services.status_link_hash(raw) != raw
    assert selectors.status_link_ticket(raw_token=raw).pk == ticket.pk
    with pytest.raises(NotFound):
        selectors.status_link_ticket(raw_token=raw + "x")
    with (
        time_machine.travel(timezone.now() + timedelta(days=5, minutes=1)),
        pytest.raises(NotFound),
    ):
        selectors.status_link_ticket(raw_token=raw)
    assert services.status_link_revoke_all(actor=desk.actor(desk.agent1), ticket=ticket) == 1
    with pytest.raises(NotFound):
        selectors.status_link_ticket(raw_token=raw)
    assert [e.is_public for e in events_of(ticket) if e.kind == Kind.SECURITY] == [False, False]


# --- every change and its events commit together -----------------------------------------------

Call = Callable[[Any, Ticket, Ticket], Any]


def _as(desk: Any, who: str) -> Any:
    return desk.actor(getattr(desk, who))


# name -> (status to prepare the ticket in, who acts, the call)
SERVICES: dict[str, tuple[str, str, Call]] = {
    "ticket_create": (S.NEW, "agent1", lambda desk, t, o: open_ticket(desk)),
    "ticket_create_with_file": (
        S.NEW,
        "user_a",
        lambda desk, t, o: open_ticket(desk, by=desk.user_a, files=[upload()]),
    ),
    "ticket_update": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.ticket_update(
            actor=_as(desk, "agent1"),
            ticket=t,
            expected_version=t.version,
            changes={"subject": "New subject", "impact": 1},
        ),
    ),
    "ticket_assign": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.ticket_assign(
            actor=_as(desk, "agent1"),
            ticket=t,
            expected_version=t.version,
            group_id=desk.tier2.pk,
            assignee_id=desk.agent2.pk,
        ),
    ),
    "ticket_transition": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.ticket_transition(
            actor=_as(desk, "agent1"),
            ticket=t,
            expected_version=t.version,
            status=S.PENDING_CUSTOMER,
        ),
    ),
    "ticket_resolve": (
        S.IN_PROGRESS,
        "agent1",
        lambda desk, t, o: services.ticket_resolve(
            actor=_as(desk, "agent1"),
            ticket=t,
            expected_version=t.version,
            resolution_code=Ticket.ResolutionCode.FULFILLED,
            resolution_notes="Done",
        ),
    ),
    "ticket_close": (
        S.RESOLVED,
        "agent1",
        lambda desk, t, o: services.ticket_close(
            actor=_as(desk, "agent1"), ticket=t, expected_version=t.version
        ),
    ),
    "ticket_confirm_resolution": (
        S.RESOLVED,
        "user_a",
        lambda desk, t, o: services.ticket_confirm_resolution(actor=_as(desk, "user_a"), ticket=t),
    ),
    "ticket_reopen": (
        S.RESOLVED,
        "user_a",
        lambda desk, t, o: services.ticket_reopen(
            actor=_as(desk, "user_a"), ticket=t, reason="Still broken"
        ),
    ),
    "ticket_escalate": (S.ASSIGNED, "agent1", lambda desk, t, o: escalate(desk, t)),
    "comment_add": (
        S.NEW,
        "user_a",
        lambda desk, t, o: services.comment_add(
            actor=_as(desk, "user_a"), ticket=t, body="Hi", files=[upload()]
        ),
    ),
    "comment_add_note": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.comment_add(
            actor=_as(desk, "agent1"), ticket=t, body="Note", is_internal=True
        ),
    ),
    "attachment_add": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.attachment_add(
            actor=_as(desk, "agent1"), ticket=t, new_file=upload()
        ),
    ),
    "ticket_link_parent": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.ticket_link_parent(
            actor=_as(desk, "agent1"), ticket=t, parent=o
        ),
    ),
    "ticket_merge": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.ticket_merge(actor=_as(desk, "agent1"), source=t, target=o),
    ),
    "watcher_add": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.watcher_add(
            actor=_as(desk, "agent1"), ticket=t, user_id=desk.user_a2.pk
        ),
    ),
    "watcher_remove": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.watcher_remove(
            actor=_as(desk, "agent1"), ticket=t, user_id=desk.contact_a.pk
        ),
    ),
    "status_link_create": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.status_link_create(actor=_as(desk, "agent1"), ticket=t),
    ),
    "status_link_revoke_all": (
        S.NEW,
        "agent1",
        lambda desk, t, o: services.status_link_revoke_all(actor=_as(desk, "agent1"), ticket=t),
    ),
}


@pytest.fixture
def prepared(desk):
    def make(status: str) -> tuple[Ticket, Ticket]:
        ticket = drive_to(desk, open_ticket(desk), status)
        ticket.watchers.add(desk.contact_a)
        other = open_ticket(desk, subject="The other ticket")
        return fresh(ticket), fresh(other)

    return make


def _everything(ticket: Ticket, other: Ticket) -> dict[str, Any]:
    state = db_state(ticket, other)
    state["status_links"] = list(StatusLink.objects.values_list("pk", "revoked_at"))
    state["sequences"] = list(TicketSequence.objects.order_by("name").values_list("value"))
    return state


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_service_records_audit_events_for_its_change(desk, prepared, name):
    status, who, call = SERVICES[name]
    ticket, other = prepared(status)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    call(desk, ticket, other)

    new = list(AuditEvent.objects.filter(id__gt=last))
    assert new, f"{name} wrote no audit event"
    assert {e.actor_id for e in new} == {getattr(desk, who).pk}
    assert {e.tenant_id for e in new} == {desk.org_a.pk}


@pytest.mark.parametrize("name", list(SERVICES))
def test_a_service_failing_after_its_first_event_leaves_no_trace(desk, prepared, monkeypatch, name):
    """The audit events are written in the same transaction as the change: when anything fails
    after an event was written, the event goes too, and so does the change."""
    status, who, call = SERVICES[name]
    ticket, other = prepared(status)
    before = _everything(ticket, other)

    class Boom(Exception):
        pass

    def event_then_fail(**kwargs: Any) -> Any:
        real_event_record(**kwargs)
        raise Boom

    def changes_then_fail(**kwargs: Any) -> Any:
        real_event_record_changes(**kwargs)
        raise Boom

    monkeypatch.setattr(services, "event_record", event_then_fail)
    monkeypatch.setattr(services, "event_record_changes", changes_then_fail)
    with pytest.raises(Boom):
        call(desk, ticket, other)

    assert _everything(ticket, other) == before


REFUSED_HALF_WAY: dict[str, Call] = {
    "resolve-without-notes": lambda desk, t, o: services.ticket_resolve(
        actor=_as(desk, "agent1"),
        ticket=t,
        expected_version=t.version,
        resolution_code=Ticket.ResolutionCode.WORKAROUND,
        resolution_notes="",
    ),
    "escalate-to-unknown-group": lambda desk, t, o: escalate(desk, t, to_group_id=999_999),
    "assign-to-non-member": lambda desk, t, o: services.ticket_assign(
        actor=_as(desk, "agent1"),
        ticket=t,
        expected_version=t.version,
        group_id=desk.network.pk,
        assignee_id=desk.agent1.pk,
    ),
}


@pytest.mark.parametrize("failing", list(REFUSED_HALF_WAY))
def test_a_service_refusing_half_way_leaves_no_event(desk, prepared, failing):
    ticket, other = prepared(S.ASSIGNED)
    before = _everything(ticket, other)
    with pytest.raises(ValidationError):
        REFUSED_HALF_WAY[failing](desk, ticket, other)
    assert _everything(ticket, other) == before


def test_an_end_users_ticket_is_theirs_whatever_requester_is_handed_over(desk):
    """Callers may hand an end user's own User to save a query; anyone else's is ignored."""
    mine = services.ticket_create(
        actor=desk.actor(desk.user_a), subject="Mine", requester=desk.user_a
    )
    assert mine.requester_id == desk.user_a.pk
    assert mine.tenant_id == desk.user_a.organization_id
    other = services.ticket_create(
        actor=desk.actor(desk.user_a), subject="Someone else's?", requester=desk.user_b
    )
    assert other.requester_id == desk.user_a.pk
    assert other.tenant_id == desk.org_a.pk
