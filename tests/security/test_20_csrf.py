"""SECURITY.md 20: A cross-site POST/PATCH/DELETE without CSRF token: 403; API tokens are not
cookies.

A signed-in browser (Django's test client with CSRF checks on, as a real browser would be)
sends every state-changing form of the UI without the token, as a forged cross-site form would:
403 and nothing changed. The API, authenticated by the session cookie, refuses unsafe methods
without the X-CSRFToken header. An API token is only read from the Authorization header: put in
a cookie (or the query string) it authenticates nobody."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from frontline.accounts.services import token_create
from frontline.core.access import Actor
from frontline.tickets import services
from frontline.tickets.models import Ticket

from .conftest import signed_in, snapshot, ticket_of, upload


@pytest.fixture
def tickets(desk) -> tuple[Ticket, Ticket]:
    open_ticket = ticket_of(desk, desk.user_a, subject="Open one")
    resolved = ticket_of(desk, desk.user_a, subject="Resolved one")
    resolved = services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=resolved,
        expected_version=None,
        resolution_code="workaround",
        resolution_notes="Done",
    )
    return Ticket.objects.get(pk=open_ticket.pk), resolved


def _desk_forms(desk, ticket: Ticket, other: Ticket) -> list[tuple[str, list[str], dict]]:
    n, v = ticket.number, ticket.version
    return [
        ("tickets:comment-add", [n], {"visibility": "public", "body": "Forged", "version": v}),
        ("tickets:ticket-assign", [n], {"group_id": desk.tier2.pk, "version": v}),
        (
            "tickets:ticket-escalate",
            [n],
            {"kind": "functional", "symptoms": "s", "steps_tried": "t", "version": v},
        ),
        ("tickets:ticket-transition", [n], {"status": "in_progress", "version": v}),
        (
            "tickets:ticket-update",
            [n],
            {"subject": "Forged", "type": "incident", "impact": 1, "urgency": 1, "version": v},
        ),
        ("tickets:ticket-merge", [n], {"target": other.number, "version": v}),
        ("tickets:ticket-link-parent", [n], {"parent": other.number, "version": v}),
        ("tickets:watcher-add", [n], {"user_id": desk.agent2.pk, "version": v}),
        ("tickets:watcher-remove", [n], {"user_id": desk.agent1.pk, "version": v}),
        (
            "tickets:phone-log",
            [],
            {"subject": "Forged", "requester_id": desk.user_a.pk, "type": "incident",
             "impact": 3, "urgency": 3, "channel": "phone"},
        ),
    ]  # fmt: skip


def test_every_desk_form_refuses_a_forged_post(desk, tickets):
    ticket, other = tickets
    services.watcher_add(actor=desk.actor(desk.agent1), ticket=ticket, user_id=desk.agent1.pk)
    browser = signed_in(desk.agent1, csrf=True)
    before = snapshot(ticket, other, desk.agent1)
    for name, args, data in _desk_forms(desk, ticket, other):
        url = reverse(name, args=args)
        for headers in ({}, {"HX-Request": "true"}, {"Origin": "https://evil.example"}):
            response = browser.post(url, data, headers=headers)
            assert response.status_code == 403, (name, headers)
        # A forged multipart upload too.
        if name == "tickets:comment-add":
            response = browser.post(url, {**data, "attachments": [upload("a.html")]})
            assert response.status_code == 403
    assert snapshot(ticket, other, desk.agent1) == before


def test_the_same_posts_with_the_token_go_through(desk, tickets):
    """The control: the 403s above are the CSRF check, not a broken form."""
    ticket, _ = tickets
    browser = signed_in(desk.agent1, csrf=True)
    page = browser.get(reverse("tickets:ticket-detail", args=[ticket.number]))
    token = page.context["csrf_token"]
    response = browser.post(
        reverse("tickets:comment-add", args=[ticket.number]),
        {"visibility": "public", "body": "Real", "version": 1, "csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302
    assert ticket.comments.filter(body="Real").exists()


def test_every_portal_form_refuses_a_forged_post(desk, tickets):
    ticket, resolved = tickets
    browser = signed_in(desk.user_a, csrf=True)
    before = snapshot(ticket, resolved)
    forms = [
        (reverse("portal:ticket-create"),
         {"type": "incident", "subject": "Forged", "description": "x", "impact": 3, "urgency": 3}),
        (reverse("portal:ticket-reply", args=[ticket.number]), {"body": "Forged"}),
        (reverse("portal:ticket-confirm", args=[resolved.number]), {"version": resolved.version}),
        (reverse("portal:ticket-reopen", args=[resolved.number]),
         {"reason": "Forged", "version": resolved.version}),
    ]  # fmt: skip
    for url, data in forms:
        assert browser.post(url, data).status_code == 403, url
    assert snapshot(ticket, resolved) == before


def test_account_forms_refuse_a_forged_post(desk, mailoutbox):
    browser = signed_in(desk.user_a, csrf=True)
    before = snapshot(desk.user_a)
    password_before = desk.user_a.password
    new = "Forged-Passphrase-2026-xyz"
    response = browser.post(
        reverse("accounts:password-change"),
        {"old_password": desk.password, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 403
    # A forged sign-out (logout CSRF) does not end the session.
    assert browser.post(reverse("accounts:logout")).status_code == 403
    assert browser.get(reverse("portal:ticket-list")).status_code == 200
    # Login CSRF: signing the victim's browser into the attacker's account.
    stranger = Client(enforce_csrf_checks=True)
    response = stranger.post(
        reverse("accounts:login"), {"username": desk.user_b.email, "password": desk.password}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in stranger.session
    # A forged password-reset request sends no mail.
    response = stranger.post(reverse("accounts:password-reset"), {"email": desk.user_a.email})
    assert response.status_code == 403
    assert mailoutbox == []
    desk.user_a.refresh_from_db()
    assert desk.user_a.password == password_before
    assert snapshot(desk.user_a) == before


# --- API -------------------------------------------------------------------------------------


def test_api_with_the_session_cookie_needs_the_csrf_header(desk, tickets):
    ticket, resolved = tickets
    browser = signed_in(desk.agent1, csrf=True)
    browser.get(reverse("tickets:queue"))  # the CSRF cookie is set, as in a real browser
    before = snapshot(ticket, resolved, desk.agent1)
    calls = [
        ("post", "/api/v1/tickets", {"subject": "Forged", "requester_id": desk.user_a.pk}),
        ("patch", f"/api/v1/tickets/{ticket.number}", {"subject": "Forged", "version": 1}),
        ("post", f"/api/v1/tickets/{ticket.number}/comments", {"body": "Forged"}),
        ("post", f"/api/v1/tickets/{ticket.number}/assign", {"group_id": desk.tier2.pk}),
        ("post", f"/api/v1/tickets/{ticket.number}/transition", {"status": "in_progress"}),
        ("post", f"/api/v1/tickets/{resolved.number}/reopen", {"reason": "Forged"}),
        ("post", f"/api/v1/tickets/{resolved.number}/close", {}),
        ("patch", "/api/v1/users/me", {"full_name": "Forged"}),
        ("post", "/api/v1/users", {"organization_id": desk.org_a.pk, "email": "f@acme.example",
                                   "full_name": "Forged"}),
    ]  # fmt: skip
    for method, path, body in calls:
        for content_type in ("application/json", "text/plain"):
            response = getattr(browser, method)(
                path, body if content_type != "text/plain" else str(body), content_type=content_type
            )
            assert response.status_code == 403, (method, path, content_type)
            assert "CSRF" in response.json()["detail"]
        response = browser.delete(path)
        assert response.status_code in {403, 404, 405}, path
    response = browser.post(
        f"/api/v1/tickets/{ticket.number}/attachments", {"file": upload("forged.html")}
    )
    assert response.status_code == 403
    assert snapshot(ticket, resolved, desk.agent1) == before
    # The control: with the header, the same session request is accepted.
    response = browser.post(
        f"/api/v1/tickets/{ticket.number}/comments",
        {"body": "Real"},
        content_type="application/json",
        headers={"X-CSRFToken": browser.cookies["csrftoken"].value},
    )
    assert response.status_code == 201


def test_an_api_token_in_a_cookie_or_query_authenticates_nobody(desk, tickets):
    ticket, _ = tickets
    _, raw = token_create(actor=Actor.system(), user=desk.agent1, name="tests")
    before = snapshot(ticket)
    for cookie in ("Authorization", "authorization", "token", "api_token", "access_token"):
        client = Client(enforce_csrf_checks=True)
        client.cookies[cookie] = f"Bearer {raw}" if cookie.lower() == "authorization" else raw
        assert client.get(f"/api/v1/tickets/{ticket.number}").status_code == 401, cookie
        response = client.post(
            f"/api/v1/tickets/{ticket.number}/comments",
            {"body": "x"},
            content_type="application/json",
        )
        assert response.status_code == 401, cookie
        # The UI does not take it either.
        page = client.get(reverse("tickets:ticket-detail", args=[ticket.number]))
        assert page.status_code == 302
    client = Client(enforce_csrf_checks=True)
    for param in ("token", "access_token", "api_key", "bearer", "Authorization"):
        assert client.get(f"/api/v1/tickets/{ticket.number}", {param: raw}).status_code == 401
    assert snapshot(ticket) == before
    # The control: the header works, and needs no CSRF token (a browser cannot forge it).
    response = client.post(
        f"/api/v1/tickets/{ticket.number}/comments",
        {"body": "By token"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201


def test_cookies_are_not_readable_by_script_and_not_sent_cross_site(settings):
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE in {"Lax", "Strict"}
    assert settings.CSRF_COOKIE_SAMESITE in {"Lax", "Strict"}
