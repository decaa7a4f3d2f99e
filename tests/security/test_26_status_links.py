"""SECURITY.md 26: Status links sent by mail: random, ticket-bound, expiring, revocable.

A status link opens portal:status without signing in. Its token has at least 32 bytes of
entropy and is unique; the database keeps only its SHA-256 hash; a link shows its own ticket
only; it stops working when it expires or is revoked; and only agents who may see the ticket
can make or revoke one."""

from __future__ import annotations

import base64
import hashlib
import math
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from frontline.core.errors import NotFound, PermissionDenied
from frontline.core.models import AuditEvent
from frontline.tickets import services
from frontline.tickets.models import StatusLink, Ticket

from .conftest import signed_in, snapshot, ticket_of


def _link(desk, ticket: Ticket, **kwargs) -> str:
    return services.status_link_create(actor=desk.actor(desk.agent1), ticket=ticket, **kwargs)


def _page(client, raw: str):
    return client.get(reverse("portal:status", args=[raw]))


def test_tokens_are_long_random_and_unique(desk):
    ticket = ticket_of(desk, desk.user_a)
    tokens = [_link(desk, ticket) for _ in range(40)]
    assert len(set(tokens)) == len(tokens)
    for raw in tokens:
        # URL-safe base64 of at least 32 random bytes.
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        assert len(decoded) >= 32
        assert raw.replace("-", "").replace("_", "").isalnum()
    # No structure to guess from: characters are spread over the alphabet, no common prefix.
    counts = Counter("".join(tokens))
    assert len(counts) > 50
    assert len({raw[:6] for raw in tokens}) == len(tokens)
    entropy_bits = len(tokens[0]) * math.log2(64)
    assert entropy_bits >= 256


def test_only_the_hash_is_stored(desk):
    ticket = ticket_of(desk, desk.user_a)
    raw = _link(desk, ticket)
    link = StatusLink.objects.get(ticket=ticket)
    assert link.token_hash != raw
    assert raw not in link.token_hash
    assert link.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    # The token is in no other column or audit record either.
    for row in StatusLink.objects.values():
        assert raw not in str(row)
    for event in AuditEvent.objects.values():
        assert raw not in str(event)
    # The hash itself does not open the page.
    assert _page(signed_in(desk.user_b), link.token_hash).status_code == 404


def test_a_link_shows_its_own_ticket_only(desk):
    x = ticket_of(desk, desk.user_a, subject="X: printer jams")
    y = ticket_of(desk, desk.user_b, subject="Y: Globex payroll")
    x_raw, y_raw = _link(desk, x), _link(desk, y)
    anonymous = signed_in(desk.user_a)
    anonymous.logout()
    x_page = _page(anonymous, x_raw).content.decode()
    assert "X: printer jams" in x_page
    assert y.number not in x_page
    assert "Globex" not in x_page
    y_page = _page(anonymous, y_raw).content.decode()
    assert "Y: Globex payroll" in y_page
    assert x.number not in y_page
    # A link cannot be pointed at another ticket: the URL carries only the token.
    tampered = reverse("portal:status", args=[x_raw]) + f"?ticket={y.pk}&number={y.number}"
    html = anonymous.get(tampered).content.decode()
    assert "Y: Globex" not in html
    assert "X: printer jams" in html


def test_the_page_shows_no_conversation_or_people(desk):
    ticket = ticket_of(desk, desk.user_a, subject="Monitor flickers")
    services.comment_add(actor=desk.actor(desk.agent1), ticket=ticket, body="Swapped the cable.")
    raw = _link(desk, ticket)
    response = _page(signed_in(desk.user_b), raw)
    html = response.content.decode()
    assert "Swapped the cable." not in html
    assert desk.user_a.full_name not in html
    assert desk.user_a.email not in html
    assert desk.agent1.full_name not in html
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def test_links_expire(desk):
    ticket = ticket_of(desk, desk.user_a)
    raw = _link(desk, ticket)
    short = _link(desk, ticket, days=1)
    client = signed_in(desk.user_b)
    assert _page(client, raw).status_code == 200
    assert _page(client, short).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        assert _page(client, short).status_code == 404
        assert _page(client, raw).status_code == 200
    with time_machine.travel(
        timezone.now() + timedelta(days=settings.FRONTLINE_STATUS_LINK_DAYS, minutes=1)
    ):
        expired = _page(client, raw)
        assert expired.status_code == 404
        assert ticket.subject not in expired.content.decode()


def test_links_are_revocable_per_ticket(desk):
    x = ticket_of(desk, desk.user_a)
    y = ticket_of(desk, desk.user_a2)
    x_links = [_link(desk, x) for _ in range(3)]
    y_link = _link(desk, y)
    revoked = services.status_link_revoke_all(actor=desk.actor(desk.agent1), ticket=x)
    assert revoked == 3
    client = signed_in(desk.user_b)
    for raw in x_links:
        assert _page(client, raw).status_code == 404
    assert _page(client, y_link).status_code == 200
    # A new link after the revocation works; the revoked ones stay revoked.
    fresh = _link(desk, x)
    assert _page(client, fresh).status_code == 200
    assert _page(client, x_links[0]).status_code == 404


def test_unknown_or_malformed_tokens_are_not_found(desk):
    ticket = ticket_of(desk, desk.user_a)
    _link(desk, ticket)
    client = signed_in(desk.user_b)
    client.raise_request_exception = False
    for raw in (
        "x",
        "A" * 43,
        "A" * 101,
        "' OR 1=1 --",
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "\u00e9" * 43,
    ):
        response = client.get(f"/portal/status/{raw}/")
        assert response.status_code == 404, raw
        assert ticket.subject not in response.content.decode()


def test_only_agents_who_see_the_ticket_make_or_revoke_links(desk):
    foreign = ticket_of(desk, desk.user_b)
    own = ticket_of(desk, desk.user_a)
    before = snapshot(foreign, own)
    with pytest.raises(NotFound):
        services.status_link_create(actor=desk.actor(desk.agent_a), ticket=foreign)
    with pytest.raises(NotFound):
        services.status_link_revoke_all(actor=desk.actor(desk.agent_a), ticket=foreign)
    for user in (desk.user_a, desk.contact_a, desk.orgadmin_a):
        with pytest.raises(PermissionDenied):
            services.status_link_create(actor=desk.actor(user), ticket=own)
        with pytest.raises(PermissionDenied):
            services.status_link_revoke_all(actor=desk.actor(user), ticket=own)
    assert snapshot(foreign, own) == before
