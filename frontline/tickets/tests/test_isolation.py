"""Tenant isolation in the services and selectors: another organisation's tickets do not exist
(NotFound, never PermissionDenied) and nothing is written; end users see only what is theirs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from frontline.core.errors import NotFound, ValidationError
from frontline.tickets import selectors, services
from frontline.tickets.models import Ticket
from frontline.tickets.selectors import TicketFilters
from frontline.tickets.tests.helpers import (
    db_state,
    drive_to,
    escalate,
    fresh,
    open_ticket,
    upload,
)

S = Ticket.Status
OUTSIDERS = ["agent_a", "user_a", "contact_a", "orgadmin_a"]


@pytest.fixture
def tickets(desk):
    """One ticket of Acme (A, Alice's) and one of Globex (B, Bob's), both assigned."""
    a = drive_to(desk, open_ticket(desk, subject="Acme laptop is slow"), S.ASSIGNED)
    b = drive_to(
        desk,
        open_ticket(desk, subject="Globex printer jams", requester=desk.user_b),
        S.ASSIGNED,
    )
    services.comment_add(actor=desk.actor(desk.agent1), ticket=b, body="Globex reply")
    return fresh(a), fresh(b)


Call = Callable[[Any, Any, Ticket, Ticket], Any]

# Every way a service or selector could touch the other organisation's ticket `b`.
CALLS: dict[str, Call] = {
    "get-by-id": lambda desk, actor, a, b: selectors.ticket_get(actor=actor, ref=b.pk),
    "get-by-number": lambda desk, actor, a, b: selectors.ticket_get(actor=actor, ref=b.number),
    "timeline": lambda desk, actor, a, b: selectors.ticket_timeline(actor=actor, ticket=b),
    "comments": lambda desk, actor, a, b: selectors.comment_list(actor=actor, ticket=b),
    "attachments": lambda desk, actor, a, b: selectors.attachment_list(actor=actor, ticket=b),
    "update": lambda desk, actor, a, b: services.ticket_update(
        actor=actor, ticket=b, expected_version=b.version, changes={"subject": "Hacked"}
    ),
    "comment": lambda desk, actor, a, b: services.comment_add(
        actor=actor, ticket=b, body="Hello from A"
    ),
    "note": lambda desk, actor, a, b: services.comment_add(
        actor=actor, ticket=b, body="Hello from A", is_internal=True
    ),
    "attach": lambda desk, actor, a, b: services.attachment_add(
        actor=actor, ticket=b, new_file=upload()
    ),
    "assign": lambda desk, actor, a, b: services.ticket_assign(
        actor=actor,
        ticket=b,
        expected_version=b.version,
        group_id=desk.tier1.pk,
        assignee_id=desk.agent_a.pk,
    ),
    "transition": lambda desk, actor, a, b: services.ticket_transition(
        actor=actor, ticket=b, expected_version=b.version, status=S.IN_PROGRESS
    ),
    "resolve": lambda desk, actor, a, b: services.ticket_resolve(
        actor=actor,
        ticket=b,
        expected_version=b.version,
        resolution_code=Ticket.ResolutionCode.SOLVED_REMOTELY,
        resolution_notes="Done",
    ),
    "escalate": lambda desk, actor, a, b: services.ticket_escalate(
        actor=actor,
        ticket=b,
        expected_version=b.version,
        to_group_id=desk.tier2.pk,
        symptoms="x",
        steps_tried=["y"],
    ),
    "merge-foreign-into-own": lambda desk, actor, a, b: services.ticket_merge(
        actor=actor, source=b, target=a
    ),
    "merge-own-into-foreign": lambda desk, actor, a, b: services.ticket_merge(
        actor=actor, source=a, target=b
    ),
    "link-foreign-under-own": lambda desk, actor, a, b: services.ticket_link_parent(
        actor=actor, ticket=b, parent=a
    ),
    "link-own-under-foreign": lambda desk, actor, a, b: services.ticket_link_parent(
        actor=actor, ticket=a, parent=b
    ),
    "watch": lambda desk, actor, a, b: services.watcher_add(
        actor=actor, ticket=b, user_id=desk.agent_a.pk
    ),
    "unwatch": lambda desk, actor, a, b: services.watcher_remove(
        actor=actor, ticket=b, user_id=desk.user_b.pk
    ),
    "confirm": lambda desk, actor, a, b: services.ticket_confirm_resolution(actor=actor, ticket=b),
    "reopen": lambda desk, actor, a, b: services.ticket_reopen(
        actor=actor, ticket=b, reason="mine"
    ),
    "status-link": lambda desk, actor, a, b: services.status_link_create(actor=actor, ticket=b),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_other_organisations_tickets_do_not_exist_and_stay_unchanged(desk, tickets, call):
    a, b = tickets
    b.watchers.add(desk.user_b)
    before = db_state(a, b)
    # A refused call changes nothing, so one setup serves every outsider in turn.
    for who in OUTSIDERS:
        actor = desk.actor(getattr(desk, who))
        try:
            CALLS[call](desk, actor, a, b)
        except NotFound:
            pass
        except Exception as exc:
            pytest.fail(f"{who}: {call} raised {exc!r} instead of NotFound")
        else:
            pytest.fail(f"{who} could {call} another organisation's ticket")
        assert db_state(a, b) == before, f"{who}: {call} changed the database"


def test_another_organisations_handoff_notes_are_not_found(desk, tickets):
    a, b = tickets
    escalate(desk, b)
    agent_a = desk.actor(desk.agent_a)
    with pytest.raises(NotFound):
        selectors.escalation_latest(actor=agent_a, ticket=b)
    with pytest.raises(NotFound):
        selectors.escalation_list(actor=agent_a, ticket=b)
    for who in ["user_a", "contact_a"]:
        assert selectors.escalation_latest(actor=desk.actor(getattr(desk, who)), ticket=b) is None


@pytest.mark.parametrize("who", OUTSIDERS)
def test_lists_and_search_never_show_other_organisations_tickets(desk, tickets, who):
    a, b = tickets
    actor = desk.actor(getattr(desk, who))
    for params in [{}, {"q": "Globex"}, {"q": "printer"}, {"q": b.number}, {"q": "reply"}]:
        params_all = {**params, "organization": str(desk.org_b.pk)}
        for p in (params, params_all):
            found = selectors.ticket_list(actor=actor, filters=TicketFilters.from_params(p))
            assert b.pk not in {t.pk for t in found}, p
    assert a.pk in {t.pk for t in selectors.ticket_list(actor=actor)}


def test_an_agent_serving_only_a_cannot_log_tickets_for_b_or_assign_b_staff(desk, tickets):
    a, b = tickets
    agent_a = desk.actor(desk.agent_a)
    count = Ticket.objects.count()
    with pytest.raises(ValidationError, match="requester"):
        services.ticket_create(actor=agent_a, subject="x", requester_id=desk.user_b.pk)
    assert Ticket.objects.count() == count
    # agent_a cannot be given B's work by someone who serves both organisations either
    with pytest.raises(ValidationError, match="does not serve"):
        services.ticket_assign(
            actor=desk.actor(desk.agent1),
            ticket=b,
            expected_version=b.version,
            group_id=desk.tier1.pk,
            assignee_id=desk.agent_a.pk,
        )
    # ... nor made a watcher of it (watchers receive every change by mail).
    with pytest.raises(ValidationError, match="Watchers"):
        services.watcher_add(actor=desk.actor(desk.agent1), ticket=b, user_id=desk.agent_a.pk)
    assert desk.agent_a.pk not in set(fresh(b).watchers.values_list("pk", flat=True))


def test_merge_and_link_across_organisations_are_refused_even_for_agents_serving_both(
    desk, tickets
):
    a, b = tickets
    agent = desk.actor(desk.agent1)
    before = db_state(a, b)
    with pytest.raises(ValidationError, match="different organisations"):
        services.ticket_merge(actor=agent, source=a, target=b)
    with pytest.raises(ValidationError, match="different organisations"):
        services.ticket_merge(actor=agent, source=b, target=a)
    with pytest.raises(ValidationError, match="different organisations"):
        services.ticket_link_parent(actor=agent, ticket=a, parent=b)
    with pytest.raises(ValidationError, match="different organisations"):
        services.ticket_link_parent(actor=agent, ticket=b, parent=a)
    assert db_state(a, b) == before


def test_a_ticket_instance_with_a_forged_tenant_is_not_found(desk, tickets):
    a, b = tickets
    forged = fresh(b)
    forged.tenant_id = desk.org_a.pk  # pretends to be Acme's
    before = db_state(a, b)
    with pytest.raises(NotFound):
        services.ticket_update(
            actor=desk.actor(desk.agent_a),
            ticket=forged,
            expected_version=forged.version,
            changes={"subject": "Hacked"},
        )
    assert db_state(a, b) == before


# --- end users within their own organisation ---------------------------------------------------


@pytest.fixture
def acme(desk):
    alice = open_ticket(desk, subject="Alice's VPN")
    arnold = open_ticket(desk, subject="Arnold's VPN", requester=desk.user_a2)
    bob = open_ticket(desk, subject="Bob's VPN", requester=desk.user_b)
    return alice, arnold, bob


def _visible(desk, person, **params):
    actor = desk.actor(person)
    return {t.pk for t in selectors.ticket_list(actor=actor, filters=TicketFilters(**params))}


def test_an_end_user_sees_only_their_own_tickets(desk, acme):
    alice, arnold, bob = acme
    assert _visible(desk, desk.user_a) == {alice.pk}
    assert _visible(desk, desk.user_a, q="VPN") == {alice.pk}
    assert _visible(desk, desk.user_a, requester_id=desk.user_a2.pk) == set()
    with pytest.raises(NotFound):
        selectors.ticket_get(actor=desk.actor(desk.user_a), ref=arnold.number)
    with pytest.raises(NotFound):
        selectors.ticket_get(actor=desk.actor(desk.user_a), ref=bob.pk)


@pytest.mark.parametrize("who", ["contact_a", "orgadmin_a"])
def test_a_designated_contact_sees_the_whole_organisations_tickets(desk, acme, who):
    alice, arnold, bob = acme
    person = getattr(desk, who)
    assert _visible(desk, person) == {alice.pk, arnold.pk}
    assert selectors.ticket_get(actor=desk.actor(person), ref=arnold.number).pk == arnold.pk
    with pytest.raises(NotFound):
        selectors.ticket_get(actor=desk.actor(person), ref=bob.number)


def test_agents_see_the_organisations_they_serve(desk, acme):
    alice, arnold, bob = acme
    assert _visible(desk, desk.agent_a) == {alice.pk, arnold.pk}
    assert _visible(desk, desk.agent1) == {alice.pk, arnold.pk, bob.pk}
    assert _visible(desk, desk.agent1, organization_id=desk.org_b.pk) == {bob.pk}


# --- internal notes never reach end users ------------------------------------------------------


@pytest.fixture
def discussed(desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = open_ticket(desk)
    agent = desk.actor(desk.agent1)
    services.comment_add(
        actor=agent,
        ticket=ticket,
        body="Customer suspected of fraud; zeppelin",
        is_internal=True,
        files=[upload("fraud-report.pdf")],
    )
    services.comment_add(
        actor=agent, ticket=ticket, body="We are looking into it.", files=[upload("howto.pdf")]
    )
    escalate(desk, ticket, symptoms="zeppelin symptoms")
    return fresh(ticket)


@pytest.mark.parametrize("who", ["user_a", "contact_a"])
def test_internal_notes_never_reach_end_users(desk, discussed, who):
    actor = desk.actor(getattr(desk, who))
    ticket = selectors.ticket_get(actor=actor, ref=discussed.pk)

    comments = list(selectors.comment_list(actor=actor, ticket=ticket))
    assert [c.body for c in comments] == ["We are looking into it."]
    assert [a.filename for a in selectors.attachment_list(actor=actor, ticket=ticket)] == [
        "howto.pdf"
    ]
    timeline = selectors.ticket_timeline(actor=actor, ticket=ticket)
    assert all(entry.event.is_public for entry in timeline)
    shown_bodies = [entry.comment.body for entry in timeline if entry.comment]
    shown_files = [a.filename for entry in timeline for a in entry.attachments]
    assert shown_bodies == ["We are looking into it."]
    assert shown_files == ["howto.pdf"]
    internal = discussed.attachments.get(is_internal=True)
    with pytest.raises(NotFound):
        selectors.attachment_get(actor=actor, ticket=ticket, uid=str(internal.uid))
    # Searching for a word that is only in the internal note must not reveal the ticket.
    assert _visible(desk, getattr(desk, who), q="fraud") == set()
    assert _visible(desk, getattr(desk, who), q="zeppelin") == set()
    assert _visible(desk, getattr(desk, who), q="looking") == {discussed.pk}


def test_agents_see_and_find_internal_notes(desk, discussed):
    actor = desk.actor(desk.agent1)
    bodies = [c.body for c in selectors.comment_list(actor=actor, ticket=discussed)]
    assert len(bodies) == 2
    assert len(selectors.attachment_list(actor=actor, ticket=discussed)) == 2
    assert _visible(desk, desk.agent1, q="fraud") == {discussed.pk}
