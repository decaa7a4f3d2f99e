"""SECURITY.md 1: A's user asks for B's ticket by id or number (UI, API, export): 404, the same
as a missing ticket.

Attacked through every entry point that takes a ticket reference: the desk's ticket page and
its actions (as an agent who serves only A), the portal's ticket page and its actions (as an
end user, a designated contact and an organisation admin of A), and the API with a Bearer token
and with the browser session. There is no export yet."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from frontline.tickets import services
from frontline.tickets.models import Ticket

from .conftest import ApiClient, signed_in, snapshot, ticket_of

MISSING_ID = "999999"
MISSING_NUMBER = "INC-999999"
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value="|name="csrf-token" content=")[^"]*"')


def _page(response, number: str) -> str:
    """The page without what differs between any two requests (CSRF tokens, the number)."""
    return CSRF.sub(r'\1"', response.content.decode()).replace(number, "INC-X")


@pytest.fixture
def foreign(desk) -> Ticket:
    """An open ticket of organisation B, with a public reply and a watcher."""
    ticket = ticket_of(desk, desk.user_b, subject="Globex payroll server down")
    services.comment_add(actor=desk.actor(desk.agent1), ticket=ticket, body="Looking into it.")
    services.watcher_add(actor=desk.actor(desk.agent1), ticket=ticket, user_id=desk.user_b.pk)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def foreign_resolved(desk) -> Ticket:
    ticket = ticket_of(desk, desk.user_b, subject="Globex VPN")
    return services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        resolution_code=Ticket.ResolutionCode.SOLVED_REMOTELY,
        resolution_notes="Renewed the certificate.",
    )


def _refs(ticket: Ticket) -> list[tuple[str, str]]:
    """(foreign reference, a missing reference of the same kind)."""
    return [
        (str(ticket.pk), MISSING_ID),
        (ticket.number, MISSING_NUMBER),
        (ticket.number.lower(), MISSING_NUMBER.lower()),
    ]


# --- desk ------------------------------------------------------------------------------------


def test_desk_ticket_page_of_another_organisation_is_not_found(desk, foreign):
    agent = signed_in(desk.agent_a)
    for ref, missing in _refs(foreign):
        url = reverse("tickets:ticket-detail", args=[ref])
        response = agent.get(url)
        absent = agent.get(reverse("tickets:ticket-detail", args=[missing]))
        assert response.status_code == 404
        assert absent.status_code == 404
        assert response.content == absent.content
        body = response.content.decode()
        assert foreign.subject not in body
        assert "Globex" not in body
        # htmx asking for the fragment gets the same answer.
        partial = agent.get(url, headers={"HX-Request": "true"})
        assert partial.status_code == 404
        assert partial.content == absent.content


def _desk_actions(desk, own: Ticket) -> list[tuple[str, dict[str, object]]]:
    return [
        ("tickets:comment-add", {"visibility": "public", "body": "Closing this.", "version": 1}),
        ("tickets:comment-add", {"visibility": "internal", "body": "Note.", "version": 1}),
        ("tickets:ticket-assign", {"group_id": desk.tier1.pk, "assignee_id": desk.agent_a.pk}),
        (
            "tickets:ticket-escalate",
            {"kind": "functional", "symptoms": "Down", "steps_tried": "Rebooted"},
        ),
        ("tickets:ticket-transition", {"status": "in_progress"}),
        (
            "tickets:ticket-update",
            {"subject": "Taken over", "type": "incident", "impact": 1, "urgency": 1},
        ),
        ("tickets:ticket-merge", {"target": own.number}),
        ("tickets:ticket-link-parent", {"parent": own.number}),
        ("tickets:watcher-add", {"user_id": desk.agent_a.pk}),
        ("tickets:watcher-remove", {"user_id": desk.user_b.pk}),
    ]


def test_desk_actions_on_another_organisations_ticket_are_not_found(desk, foreign):
    own = ticket_of(desk, desk.user_a)
    agent = signed_in(desk.agent_a)
    before = snapshot(foreign, own)
    for ref, missing in _refs(foreign)[:2]:
        for name, data in _desk_actions(desk, own):
            data = {"version": foreign.version, **data}
            response = agent.post(reverse(name, args=[ref]), data)
            absent = agent.post(reverse(name, args=[missing]), data)
            assert response.status_code == 404, name
            assert response.content == absent.content, name
    assert snapshot(foreign, own) == before


def test_end_user_on_the_desk_gets_the_same_answer_for_foreign_and_missing(desk, foreign):
    # The desk is for agents: an end user is refused, whether or not the ticket exists.
    user = signed_in(desk.user_a)
    response = user.get(reverse("tickets:ticket-detail", args=[foreign.number]))
    absent = user.get(reverse("tickets:ticket-detail", args=[MISSING_NUMBER]))
    assert response.status_code == absent.status_code == 403
    assert response.content == absent.content


def test_naming_a_foreign_ticket_in_a_desk_form_reads_like_a_missing_one(desk, foreign):
    own = ticket_of(desk, desk.user_a)
    agent = signed_in(desk.agent_a)
    before = snapshot(foreign, own)
    for field, name in (
        ("target", "tickets:ticket-merge"),
        ("parent", "tickets:ticket-link-parent"),
    ):
        answers = []
        for number in (foreign.number, "INC-999998"):
            response = agent.post(
                reverse(name, args=[own.number]),
                {field: number, "version": 1},
                headers={"HX-Request": "true"},  # just the form and its message
            )
            assert response.status_code == 422
            answers.append(_page(response, number))
        assert answers[0] == answers[1]
        assert foreign.subject not in answers[0]
    assert snapshot(foreign, own) == before


# --- portal ----------------------------------------------------------------------------------


END_USERS = ("user_a", "contact_a", "orgadmin_a")


def test_portal_ticket_page_of_another_organisation_is_not_found(desk, foreign):
    for who in END_USERS:
        user = signed_in(getattr(desk, who))
        for ref, missing in _refs(foreign):
            response = user.get(reverse("portal:ticket-detail", args=[ref]))
            absent = user.get(reverse("portal:ticket-detail", args=[missing]))
            assert response.status_code == absent.status_code == 404, who
            assert response.content == absent.content
            assert foreign.subject not in response.content.decode()


def test_portal_actions_on_another_organisations_ticket_are_not_found(
    desk, foreign, foreign_resolved
):
    calls = [
        (foreign, "portal:ticket-reply", {"body": "Any news?"}),
        (foreign_resolved, "portal:ticket-reply", {"body": "Thanks"}),
        (foreign_resolved, "portal:ticket-confirm", {"version": foreign_resolved.version}),
        (
            foreign_resolved,
            "portal:ticket-reopen",
            {"reason": "Still broken", "version": foreign_resolved.version},
        ),
    ]
    users = [signed_in(getattr(desk, who)) for who in END_USERS]
    before = snapshot(foreign, foreign_resolved)
    for user in users:
        for ticket, name, data in calls:
            for ref, missing in ((str(ticket.pk), MISSING_ID), (ticket.number, MISSING_NUMBER)):
                response = user.post(reverse(name, args=[ref]), data)
                absent = user.post(reverse(name, args=[missing]), data)
                assert response.status_code == 404, name
                assert response.content == absent.content, name
    assert snapshot(foreign, foreign_resolved) == before


def test_a_colleagues_ticket_is_not_found_for_an_ordinary_end_user(desk):
    colleague = ticket_of(desk, desk.user_a2, subject="Arnold's laptop")
    user = signed_in(desk.user_a)
    before = snapshot(colleague)
    for ref in (str(colleague.pk), colleague.number):
        assert user.get(reverse("portal:ticket-detail", args=[ref])).status_code == 404
        assert (
            user.post(reverse("portal:ticket-reply", args=[ref]), {"body": "x"}).status_code == 404
        )
    assert snapshot(colleague) == before


# --- API -------------------------------------------------------------------------------------

API_CALLS = [
    ("get", "", None),
    ("patch", "", {"subject": "Mine now", "version": 1}),
    ("get", "/comments", None),
    ("post", "/comments", {"body": "hello"}),
    ("get", "/attachments", None),
    ("get", "/timeline", None),
    ("post", "/assign", {"group_id": 1}),
    ("post", "/reopen", {"reason": "again"}),
]


def _api_call(client, method, path, body):
    return client.get(path) if method == "get" else getattr(client, method)(path, body)


def test_api_with_a_token_answers_not_found_like_a_missing_ticket(desk, foreign, api_as):
    # (tests/api/test_isolation.py walks every ticket endpoint; here: both kinds of reference
    # for each kind of person, compared with a missing ticket.)
    clients = [api_as(getattr(desk, who)) for who in ("user_a", "contact_a", "agent_a")]
    before = snapshot(foreign)
    for client in clients:
        for ref, missing in _refs(foreign)[:2]:
            for method, suffix, body in API_CALLS:
                response = _api_call(client, method, f"/tickets/{ref}{suffix}", body)
                absent = _api_call(client, method, f"/tickets/{missing}{suffix}", body)
                assert response.status_code == 404, (method, suffix)
                expected = {"detail": "Ticket not found.", "errors": {}}
                assert response.json() == absent.json() == expected
    assert snapshot(foreign) == before


def test_api_with_the_browser_session_answers_not_found_too(desk, foreign):
    session = signed_in(desk.agent_a)
    for ref, missing in _refs(foreign):
        response = session.get(f"/api/v1/tickets/{ref}")
        absent = session.get(f"/api/v1/tickets/{missing}")
        assert response.status_code == absent.status_code == 404
        assert response.json() == absent.json()


def test_an_unauthenticated_request_learns_nothing(desk, foreign):
    anonymous = ApiClient(None)
    response = anonymous.get(f"/tickets/{foreign.number}")
    absent = anonymous.get(f"/tickets/{MISSING_NUMBER}")
    assert response.status_code == absent.status_code == 401
    assert response.json() == absent.json()
    page = anonymous.client.get(reverse("portal:ticket-detail", args=[foreign.number]))
    assert page.status_code == 302
    assert reverse("accounts:login") in page["Location"]
