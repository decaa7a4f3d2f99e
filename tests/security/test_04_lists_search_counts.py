"""SECURITY.md 4: Lists, search, autocomplete, counts, reports, CSV exports, knowledge search: no
row of B, and no figure that counts B.

Frontline has lists (desk queue, portal list, API lists of tickets, people and organisations),
search (the queue's and the portal's q=, the API's q), autocomplete (the desk's requester
search) and counts (the queue's "N tickets", the portal pager's "N tickets"). There are no
reports, exports or knowledge base yet."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import pytest
from django.urls import reverse

from frontline.portal import views as portal_views
from frontline.tickets import services
from frontline.tickets.models import Ticket

from .conftest import signed_in, ticket_of

WORD = "Photocopier"  # in tickets of both organisations
B_WORD = "Globex"  # in B's tickets and B's organisation name only


@dataclass
class World:
    a_tickets: list[Ticket]
    b_tickets: list[Ticket]


@pytest.fixture
def world(desk) -> World:
    a = [ticket_of(desk, desk.user_a, subject=f"{WORD} on floor {n}") for n in range(2)]
    a.append(ticket_of(desk, desk.user_a2, subject="Arnold's monitor flickers"))
    b = [ticket_of(desk, desk.user_b, subject=f"{B_WORD} {WORD} {n}") for n in range(4)]
    # B's words also in a comment and in an internal note, which search reads.
    services.comment_add(actor=desk.actor(desk.agent1), ticket=b[0], body="Zanzibar toner")
    services.comment_add(
        actor=desk.actor(desk.agent1), ticket=b[1], body="Quokka firmware", is_internal=True
    )
    return World(a_tickets=a, b_tickets=b)


def _count(html: str) -> int:
    match = re.search(r"<strong>(\d+)</strong> tickets?", html)
    assert match, "no count on the page"
    return int(match.group(1))


def _assert_no_b(html: str, world: World, echo: object = "") -> None:
    """No trace of B in `html`, apart from the search words the page echoes back."""
    if echo:
        for form in (str(echo), quote_plus(str(echo)), quote(str(echo))):
            html = html.replace(form, "")
    assert B_WORD not in html
    assert "bob@globex" not in html
    for t in world.b_tickets:
        assert t.number not in html
        assert reverse("tickets:ticket-detail", args=[t.number]) not in html


# --- desk ------------------------------------------------------------------------------------


def test_desk_queue_lists_and_counts_only_served_organisations(desk, world):
    agent = signed_in(desk.agent_a)
    for queue in ("all", "open", "unassigned", "groups", "mine"):
        headers = {} if queue == "all" else {"HX-Request": "true"}  # full page, then fragments
        response = agent.get(reverse("tickets:queue"), {"queue": queue}, headers=headers)
        assert response.status_code == 200
        html = response.content.decode()
        _assert_no_b(html, world)
        if queue in {"all", "open", "unassigned"}:
            assert _count(html) == len(world.a_tickets), queue
    # The control: an agent serving everyone sees and counts both organisations.
    everyone = signed_in(desk.agent1).get(reverse("tickets:queue"), {"queue": "all"})
    assert _count(everyone.content.decode()) == len(world.a_tickets) + len(world.b_tickets)
    assert B_WORD in everyone.content.decode()


def test_desk_search_and_filters_find_nothing_of_b(desk, world):
    agent = signed_in(desk.agent_a)
    searches: list[dict[str, str]] = [
        {"q": WORD},
        {"q": B_WORD},
        {"q": "Zanzibar"},  # a word of B's public reply
        {"q": "Quokka"},  # a word of B's internal note
        {"q": "globex.example"},
        {"q": "Bob"},
        {"organization": str(desk.org_b.pk)},
        {"requester": str(desk.user_b.pk)},
        {"q": world.b_tickets[0].number},
        {"q": world.b_tickets[0].number.lower(), "queue": "open", "status": "new"},
    ]
    for params in searches:
        expected = 2 if params.get("q") == WORD else 0
        # The full page for the first, then the htmx fragment (the same parsing and query).
        headers = {} if params is searches[0] else {"HX-Request": "true"}
        response = agent.get(reverse("tickets:queue"), params, headers=headers)
        assert response.status_code == 200
        html = response.content.decode()
        _assert_no_b(html, world, echo=params.get("q"))
        assert _count(html) == expected, params


def test_desk_pick_lists_offer_nothing_of_b(desk, world):
    agent = signed_in(desk.agent_a)
    for name in ("tickets:queue", "tickets:phone-log"):
        html = agent.get(reverse(name)).content.decode()
        _assert_no_b(html, world)
        assert "Bob Globex" not in html
    ticket_page = agent.get(reverse("tickets:ticket-detail", args=[world.a_tickets[0].number]))
    _assert_no_b(ticket_page.content.decode(), world)


def test_requester_autocomplete_offers_nobody_of_b(desk, world):
    agent = signed_in(desk.agent_a)
    for params in ({}, {"q": "Bob"}, {"q": "Globex Inc"}, {"q": "bob@globex.example"}):
        for extra in ({}, {"organization": str(desk.org_b.pk)}):
            response = agent.get(reverse("tickets:requester-search"), {**params, **extra})
            assert response.status_code == 200
            html = response.content.decode().replace(f"Nobody matches “{params.get('q')}”", "")
            assert "Bob" not in html
            assert "Globex" not in html
            assert f'value="{desk.user_b.pk}"' not in html
    # The control: the same search finds Alice of A.
    found = agent.get(reverse("tickets:requester-search"), {"q": "alice"}).content.decode()
    assert f'value="{desk.user_a.pk}"' in found


# --- portal ----------------------------------------------------------------------------------


def test_portal_lists_and_search_show_nothing_of_b(desk, world):
    searches: tuple[dict[str, str], ...] = (
        {},
        {"status": "all", "scope": "org"},
        {"status": "all", "scope": "org", "q": WORD},
        {"status": "all", "scope": "org", "q": B_WORD},
        {"status": "all", "scope": "org", "q": "Zanzibar"},
        {"status": "all", "scope": "org", "q": world.b_tickets[0].number},
    )
    for who in ("user_a", "contact_a", "orgadmin_a"):
        user = signed_in(getattr(desk, who))
        for params in searches:
            response = user.get(reverse("portal:ticket-list"), params)
            assert response.status_code == 200
            html = response.content.decode()
            _assert_no_b(html, world, echo=params.get("q"))
            for t in world.b_tickets:
                assert reverse("portal:ticket-detail", args=[t.number]) not in html


def test_portal_pager_counts_only_the_organisations_tickets(desk, world, monkeypatch):
    # Two per page: A's 3 tickets make two pages; B's 4 must not add to the figures.
    monkeypatch.setattr(portal_views, "PAGE_SIZE", 2)
    html = (
        signed_in(desk.contact_a)
        .get(reverse("portal:ticket-list"), {"status": "all", "scope": "org"})
        .content.decode()
    )
    assert "Page 1 of 2 · 3 tickets" in html
    _assert_no_b(html, world)


# --- API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["contact_a", "agent_a"])
def test_api_lists_and_search_show_nothing_of_b(desk, world, api_as, who):
    client = api_as(getattr(desk, who))
    b_ids = {t.pk for t in world.b_tickets}
    for params in (
        {},
        {"q": WORD},
        {"q": B_WORD},
        {"q": "Zanzibar"},
        {"q": "Quokka"},
        {"q": world.b_tickets[0].number},
        {"organization": desk.org_b.pk},
        {"requester": desk.user_b.pk},
        {"status": "open", "sort": "subject", "limit": 100},
    ):
        response = client.get("/tickets", params)
        assert response.status_code == 200, params
        body = response.json()
        assert not {t["id"] for t in body["items"]} & b_ids, params
        assert B_WORD not in response.content.decode()
        assert body["next_cursor"] is None

    users = client.get("/users", {"limit": 100}).json()["items"]
    assert desk.user_b.pk not in {u["id"] for u in users}
    assert all(u["organization"]["id"] != desk.org_b.pk for u in users)
    organizations = client.get("/organizations", {"limit": 100}).json()["items"]
    assert desk.org_b.pk not in {o["id"] for o in organizations}
    assert client.get(f"/organizations/{desk.org_b.pk}").status_code == 404
    assert client.get(f"/users/{desk.user_b.pk}").status_code == 404


def test_api_people_lists_by_role(desk, world, api_as):
    def people(user):
        return {u["id"] for u in api_as(user).get("/users", {"limit": 100}).json()["items"]}

    assert people(desk.user_a) == {desk.user_a.pk}
    org_a = {desk.user_a.pk, desk.user_a2.pk, desk.contact_a.pk, desk.orgadmin_a.pk}
    assert people(desk.orgadmin_a) == org_a
    assert people(desk.contact_a) == org_a
    assert desk.user_b.pk not in people(desk.agent_a)
    assert org_a <= people(desk.agent_a)
    for user in (desk.user_a, desk.contact_a):
        assert api_as(user).get("/groups").json()["items"] == []
