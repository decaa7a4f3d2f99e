"""Lists cost a fixed number of queries, whatever the page size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontline.tickets import services
from frontline.tickets.tests.factories import CategoryFactory

from .conftest import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_tickets(desk):
    category = CategoryFactory(name="Hardware")
    tickets = [
        open_ticket(
            desk,
            desk.user_a if n % 2 else desk.contact_a,
            subject=f"Ticket {n}",
            category_id=category.pk,
            assignee_id=desk.agent1.pk if n % 3 else None,
        )
        for n in range(55)
    ]
    for n in range(55):
        services.comment_add(actor=desk.actor(desk.agent1), ticket=tickets[0], body=f"Reply {n}")
    return tickets


@pytest.mark.parametrize("who", ["agent_a", "agent1", "contact_a"])
@pytest.mark.parametrize("path", ["/tickets", "/users", "/organizations", "comments"])
def test_list_queries_do_not_grow_with_the_page(
    desk, api_as, many_tickets, django_assert_max_num_queries, who, path
):
    if path == "comments":
        path = f"/tickets/{many_tickets[0].number}/comments"
    client = api_as(getattr(desk, who))
    assert client.get(path).status_code == 200  # the token's last-used stamp is written once
    with CaptureQueriesContext(connection) as small:
        assert client.get(path, {"limit": 5}).status_code == 200
    with django_assert_max_num_queries(len(small)):
        response = client.get(path, {"limit": 50})
    assert response.status_code == 200


def test_a_page_of_fifty_tickets_is_fifty_tickets(desk, api_as, many_tickets):
    body = api_as(desk.agent1).get("/tickets", {"limit": 50}).json()
    assert len(body["items"]) == 50
    assert body["next_cursor"]
    assert body["items"][0]["category"]["name"] == "Hardware"


@pytest.mark.parametrize("who", ["agent1", "contact_a"])
def test_search_queries_do_not_grow_with_the_page(
    desk, api_as, many_tickets, django_assert_max_num_queries, who
):
    """A keyword search (subjects, descriptions and comments) costs the same few queries for
    5 results as for 50 (issue #3)."""
    for ticket in many_tickets[:55]:
        services.comment_add(actor=desk.actor(desk.agent1), ticket=ticket, body="Zebra crossing")
    client = api_as(getattr(desk, who))
    assert client.get("/tickets", {"q": "zebra"}).status_code == 200
    with CaptureQueriesContext(connection) as small:
        assert client.get("/tickets", {"q": "zebra", "limit": 5}).status_code == 200
    with django_assert_max_num_queries(len(small)):
        response = client.get("/tickets", {"q": "zebra", "limit": 50})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 50


def test_opening_a_ticket_by_token_reads_no_person_twice(desk, api_as):
    """An end user's API creation: the token lookup reads the token, the user and their
    organisation in one query; the service and the answer reuse them (benchmark issue #3)."""
    client = api_as(desk.user_a)
    assert client.post("/tickets", {"subject": "First"}).status_code == 201  # last-used stamp
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/tickets", {"subject": "Printer offline"})
    assert response.status_code == 201
    body = response.json()
    assert body["organization"] == {"id": desk.org_a.pk, "name": desk.org_a.name}
    assert body["requester"]["id"] == desk.user_a.pk
    person_reads = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and ('FROM "accounts_user"' in q["sql"] or 'FROM "tenants_organization"' in q["sql"])
    ]
    assert person_reads == []
    assert len(ctx.captured_queries) <= 14


def test_a_reply_by_token_names_its_author_without_a_query(desk, api_as):
    ticket = open_ticket(desk)
    client = api_as(desk.agent1)
    path = f"/tickets/{ticket.number}/comments"
    assert client.post(path, {"body": "First"}).status_code == 201  # last-used stamp
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(path, {"body": "Second"})
    assert response.status_code == 201
    assert response.json()["author"] == {"id": desk.agent1.pk, "name": desk.agent1.full_name}
    assert response.json()["ticket_version"] == ticket.version
    after_commit = [q["sql"] for q in ctx.captured_queries]
    last = max(
        i
        for i, sql in enumerate(after_commit)
        if sql.upper().startswith("COMMIT") or "RELEASE" in sql.upper()
    )
    assert not any(sql.lstrip().upper().startswith("SELECT") for sql in after_commit[last + 1 :])


def test_a_reply_by_token_reads_the_ticket_narrowly_then_locks_it(desk, api_as):
    """The reply endpoint checks the ticket's visibility with one narrow read (no joins): the
    service locks and reads it again with what its notifications need (benchmark issue #3)."""
    ticket = open_ticket(desk)
    client = api_as(desk.agent1)
    path = f"/tickets/{ticket.number}/comments"
    assert client.post(path, {"body": "First"}).status_code == 201
    with CaptureQueriesContext(connection) as ctx:
        assert client.post(path, {"body": "Second"}).status_code == 201
    ticket_reads = [
        q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "tickets_ticket"')
    ]
    assert len(ticket_reads) == 2, ticket_reads
    assert " JOIN " not in ticket_reads[0]
    # The comment itself is never read back (the notifications take the service's own).
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('SELECT "tickets_comment"')]
