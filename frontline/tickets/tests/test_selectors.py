"""Ticket reads: constant query counts, the sort allowlist, filters and hostile input."""

from __future__ import annotations

import pytest
from django.db import connection

from frontline.core.errors import NotFound, ValidationError
from frontline.tickets import selectors, services
from frontline.tickets.models import Escalation, Ticket
from frontline.tickets.selectors import SORTS, TicketFilters
from frontline.tickets.tests.factories import CategoryFactory
from frontline.tickets.tests.helpers import drive_to, escalate, fresh, open_ticket, upload

S = Ticket.Status


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _fill_queue(desk, count):
    category = CategoryFactory(name="Email")
    people = [desk.user_a, desk.user_a2, desk.contact_a]
    for i in range(count):
        services.ticket_create(
            actor=desk.actor(desk.agent1),
            subject=f"Mailbox full {i}",
            requester_id=people[i % 3].pk,
            category_id=category.pk,
            assignee_id=desk.agent1.pk if i % 2 else None,
            impact=1 + i % 3,
        )


def _render_rows(tickets):
    """Everything a queue row shows."""
    return [
        (
            t.number,
            t.tenant.name,
            t.requester.full_name,
            t.assignee.full_name if t.assignee else "",
            t.group.name if t.group else "",
            t.category.name if t.category else "",
            t.get_priority_display(),
        )
        for t in tickets
    ]


@pytest.mark.parametrize("count", [5, 60])
@pytest.mark.parametrize("who", ["agent1", "agent_a", "contact_a"])
def test_ticket_list_query_count_does_not_grow_with_rows(
    desk, django_assert_max_num_queries, count, who
):
    _fill_queue(desk, count)
    actor = desk.actor(getattr(desk, who))
    filters = TicketFilters.from_params({"q": "Mailbox", "sort": "-priority"})
    with django_assert_max_num_queries(1):
        rows = _render_rows(selectors.ticket_list(actor=actor, filters=filters))
    assert len(rows) == count


@pytest.mark.parametrize("events", [3, 40])
@pytest.mark.parametrize("who", ["agent2", "user_a"])
def test_ticket_timeline_query_count_does_not_grow_with_events(
    desk, django_assert_max_num_queries, events, who
):
    ticket = drive_to(desk, open_ticket(desk), S.ASSIGNED)
    agent, user = desk.actor(desk.agent1), desk.actor(desk.user_a)
    for i in range(events):
        kind = i % 4
        if kind == 0:
            services.comment_add(actor=user, ticket=ticket, body=f"Reply {i}", files=[upload()])
        elif kind == 1:
            services.comment_add(actor=agent, ticket=ticket, body=f"Note {i}", is_internal=True)
        elif kind == 2:
            services.attachment_add(actor=agent, ticket=ticket, new_file=upload(f"{i}.log"))
        else:
            escalate(
                desk,
                ticket,
                kind=Escalation.Kind.HIERARCHICAL,
                symptoms=f"Symptom {i}",
            )
    actor = desk.actor(getattr(desk, who))
    ticket = fresh(ticket)
    with django_assert_max_num_queries(4):
        timeline = selectors.ticket_timeline(actor=actor, ticket=ticket)
        shown = [
            (
                entry.event.get_kind_display(),
                entry.event.actor.full_name if entry.event.actor else "",
                entry.comment.author.full_name if entry.comment and entry.comment.author else "",
                [a.filename for a in entry.attachments],
                str(entry.escalation.created_by) if entry.escalation else "",
                str(entry.escalation.to_group) if entry.escalation else "",
            )
            for entry in timeline
        ]
    assert len(shown) >= events // 4


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_allowed_sort_key_works(desk, sort):
    _fill_queue(desk, 4)
    filters = TicketFilters.from_params({"sort": sort})
    assert filters.sort == sort
    assert len(list(selectors.ticket_list(actor=desk.actor(desk.agent1), filters=filters))) == 4


def test_sorting_by_priority_and_number(desk):
    _fill_queue(desk, 6)
    actor = desk.actor(desk.agent1)
    by_priority = selectors.ticket_list(actor=actor, filters=TicketFilters(sort="priority"))
    priorities = [t.priority for t in by_priority]
    assert priorities == sorted(priorities)
    by_number = selectors.ticket_list(actor=actor, filters=TicketFilters(sort="-number"))
    assert [t.pk for t in by_number] == sorted((t.pk for t in by_number), reverse=True)


@pytest.mark.parametrize(
    "sort",
    [
        "id",
        "-created_at",
        "tenant__name",
        "requester__password",
        "priority; DROP TABLE tickets_ticket; --",
        "created,id",
        "?",
        "CREATED",
    ],
)
def test_sort_outside_the_allowlist_is_refused(desk, sort):
    with pytest.raises(ValidationError) as refused:
        TicketFilters.from_params({"sort": sort})
    assert set(refused.value.errors) == {"sort"}
    with pytest.raises(ValidationError):
        TicketFilters(sort=sort)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"queue": "everything"}, "queue"),
        ({"status": "deleted"}, "status"),
        ({"priority": "6"}, "priority"),
        ({"priority": "high"}, "priority"),
        ({"type": "problem"}, "type"),
        ({"organization": "1 OR 1=1"}, "organization"),
        ({"assignee": "1.5"}, "assignee"),
        ({"channel": "fax"}, "channel"),
        ({"sort": ["created"]}, "sort"),
        ({"q": {"$ne": ""}}, "q"),
        ({"status": ["new"]}, "status"),
    ],
)
def test_bad_filter_values_are_refused_with_the_field_named(params, field):
    with pytest.raises(ValidationError) as refused:
        TicketFilters.from_params(params)
    assert field in refused.value.errors


def test_from_params_accepts_good_values():
    filters = TicketFilters.from_params(
        {"queue": "mine", "status": "open", "priority": "2", "q": "  vpn  ", "sort": "updated"}
    )
    assert (filters.queue, filters.status, filters.priority, filters.q, filters.sort) == (
        "mine",
        "open",
        2,
        "vpn",
        "updated",
    )
    assert TicketFilters.from_params({}) == TicketFilters()


@pytest.mark.parametrize(
    "q",
    [
        "'; DROP TABLE tickets_ticket; --",
        '" OR 1=1 --',
        "%",
        "_",
        "\\",
        "INC-000001' OR '1'='1",
        "' UNION SELECT password FROM accounts_user --",
    ],
)
def test_sql_metacharacters_in_the_search_are_just_text(desk, q):
    _fill_queue(desk, 3)
    weird = open_ticket(desk, subject=f"Literal {q} in subject")
    actor = desk.actor(desk.agent1)
    found = list(selectors.ticket_list(actor=actor, filters=TicketFilters.from_params({"q": q})))
    # Only the ticket that literally contains the text (LIKE wildcards are escaped).
    assert [t.pk for t in found] == [weird.pk]
    assert Ticket.objects.count() == 4
    assert "tickets_ticket" in connection.introspection.table_names()


def test_search_by_number_and_words(desk):
    _fill_queue(desk, 3)
    target = open_ticket(desk, subject="Projector in room 4", description="HDMI flickers")
    services.comment_add(actor=desk.actor(desk.user_a), ticket=target, body="Still flickering")
    actor = desk.actor(desk.agent1)

    def search(q):
        filters = TicketFilters.from_params({"q": q})
        return [t.pk for t in selectors.ticket_list(actor=actor, filters=filters)]

    assert search(target.number.lower()) == [target.pk]
    assert search("projector hdmi") == [target.pk]
    assert search("flickering") == [target.pk]
    assert search("projector mailbox") == []


def test_queues(desk):
    mine = drive_to(desk, open_ticket(desk), S.ASSIGNED)  # agent1 in the Service Desk
    unassigned = open_ticket(desk)
    done = drive_to(desk, open_ticket(desk), S.RESOLVED)
    tier2 = open_ticket(desk, group_id=desk.tier2.pk)

    def queue(who, **kw):
        filters = TicketFilters(**kw)
        return {t.pk for t in selectors.ticket_list(actor=desk.actor(who), filters=filters)}

    assert queue(desk.agent1, queue="mine") == {mine.pk}
    assert queue(desk.agent1, queue="groups") == {mine.pk, unassigned.pk}
    assert queue(desk.agent2, queue="groups") == {tier2.pk}
    assert queue(desk.agent1, queue="unassigned") == {unassigned.pk, tier2.pk}
    assert queue(desk.agent1, queue="open") == {mine.pk, unassigned.pk, tier2.pk}
    assert queue(desk.agent1, status=S.RESOLVED) == {done.pk}
    assert queue(desk.agent1) == {mine.pk, unassigned.pk, done.pk, tier2.pk}


def test_ticket_get_by_id_or_number_and_unknown_refs(desk):
    ticket = open_ticket(desk)
    actor = desk.actor(desk.agent1)
    assert selectors.ticket_get(actor=actor, ref=ticket.pk).pk == ticket.pk
    assert selectors.ticket_get(actor=actor, ref=str(ticket.pk)).pk == ticket.pk
    assert selectors.ticket_get(actor=actor, ref=ticket.number.lower()).pk == ticket.pk
    refs: list[str | int] = [999_999, "INC-999999", "", "../1", "1; DROP TABLE x", "x" * 500]
    for ref in refs:
        with pytest.raises(NotFound):
            selectors.ticket_get(actor=actor, ref=ref)


def test_attachment_get_with_a_bad_uid_is_not_found(desk):
    ticket = open_ticket(desk)
    for uid in ["not-a-uuid", "", "00000000-0000-0000-0000-000000000000"]:
        with pytest.raises(NotFound):
            selectors.attachment_get(actor=desk.actor(desk.agent1), ticket=ticket, uid=uid)


def test_requester_choices_follow_the_organisations_an_agent_serves(desk):
    only_a = {u.pk for u in selectors.requester_choices(actor=desk.actor(desk.agent_a))}
    assert desk.user_a.pk in only_a
    assert desk.user_b.pk not in only_a
    assert not selectors.requester_choices(actor=desk.actor(desk.user_a)).exists()


@pytest.mark.parametrize("who", ["agent2", "user_a"])
def test_ticket_activity_is_the_timeline_and_the_latest_handoff(
    desk, django_assert_max_num_queries, who
):
    ticket = drive_to(desk, open_ticket(desk), S.ASSIGNED)
    escalate(desk, ticket, symptoms="First")
    escalate(desk, fresh(ticket), kind=Escalation.Kind.HIERARCHICAL, symptoms="To management")
    actor = desk.actor(getattr(desk, who))
    ticket = fresh(ticket)
    with django_assert_max_num_queries(4):
        activity = selectors.ticket_activity(actor=actor, ticket=ticket)
    timeline = selectors.ticket_timeline(actor=actor, ticket=ticket)
    assert [e.event.pk for e in activity.timeline] == [e.event.pk for e in timeline]
    assert [e.escalation for e in activity.timeline] == [e.escalation for e in timeline]
    latest = selectors.escalation_latest(actor=actor, ticket=ticket)
    assert activity.handoff == latest
    assert (latest is not None) is (who == "agent2")
    if latest is not None:
        assert latest.symptoms == "First"  # the functional one, not the hierarchical


def test_ticket_links_are_children_duplicates_and_watchers(desk, django_assert_max_num_queries):
    agent = desk.actor(desk.agent1)
    ticket = open_ticket(desk)
    child = open_ticket(desk, subject="Child")
    services.ticket_link_parent(
        actor=agent, ticket=child, parent=fresh(ticket), expected_version=child.version
    )
    duplicate = open_ticket(desk, subject="Duplicate")
    services.ticket_merge(
        actor=agent, source=duplicate, target=fresh(ticket), expected_version=duplicate.version
    )
    services.watcher_add(actor=agent, ticket=fresh(ticket), user_id=desk.user_a2.pk)
    ticket = fresh(ticket)
    with django_assert_max_num_queries(2):
        links = selectors.ticket_links(actor=agent, ticket=ticket)
    assert [t.pk for t in links.children] == [child.pk]
    assert [t.pk for t in links.duplicates] == [duplicate.pk]
    assert [u.pk for u in links.watchers] == [desk.user_a2.pk]


def test_ticket_activity_reads_escalations_only_when_an_event_names_one(desk):
    from django.test.utils import CaptureQueriesContext

    ticket = drive_to(desk, open_ticket(desk), S.ASSIGNED)
    agent = desk.actor(desk.agent2)
    with CaptureQueriesContext(connection) as ctx:
        activity = selectors.ticket_activity(actor=agent, ticket=fresh(ticket))
    assert activity.handoff is None
    assert not [q for q in ctx.captured_queries if 'FROM "tickets_escalation"' in q["sql"]]
    escalate(desk, ticket, symptoms="Now there is one")
    activity = selectors.ticket_activity(actor=agent, ticket=fresh(ticket))
    assert activity.handoff is not None and activity.handoff.symptoms == "Now there is one"
