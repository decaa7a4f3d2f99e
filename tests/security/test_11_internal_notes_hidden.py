"""SECURITY.md 11: Internal notes never appear in portal pages, end-user API payloads or mail to
requesters.

A ticket of Alice carries an internal note with a file, an escalation handoff and a status
link (agents-only events). As Alice, her organisation's designated contact and its admin, none
of it shows on the portal, in any API payload (ticket, comments, timeline, attachments,
escalations), or as a search hit. (Frontline sends no notification mail yet.)"""

from __future__ import annotations

import pytest
from django.urls import reverse

from frontline.tickets import services
from frontline.tickets.models import Ticket

from .conftest import attach, signed_in, ticket_of

SECRETS = ("xyzzy-note", "secret-internal.txt", "plugh-symptom", "Reboot-the-frobnicator")


@pytest.fixture
def ticket(desk) -> Ticket:
    ticket = ticket_of(desk, desk.user_a, subject="Outlook crashes")
    agent = desk.actor(desk.agent1)
    services.comment_add(actor=agent, ticket=ticket, body="We are looking at it.")
    services.comment_add(
        actor=agent,
        ticket=ticket,
        body="xyzzy-note: the user's mailbox is over quota",
        is_internal=True,
    )
    attach(desk, ticket, "secret-internal.txt", internal=True, content=b"INTERNAL BYTES")
    attach(desk, ticket, "public-log.txt", content=b"PUBLIC BYTES")
    ticket.refresh_from_db()
    services.ticket_escalate(
        actor=agent,
        ticket=ticket,
        expected_version=None,
        symptoms="plugh-symptom: crash on start",
        steps_tried=["Reboot-the-frobnicator"],
        to_group_id=desk.tier2.pk,
    )
    ticket.refresh_from_db()
    services.status_link_create(actor=agent, ticket=ticket)
    return Ticket.objects.get(pk=ticket.pk)


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


VIEWERS = ("user_a", "contact_a", "orgadmin_a")


@pytest.mark.parametrize("who", VIEWERS)
def test_portal_pages_show_no_internal_note(desk, ticket, who):
    client = signed_in(getattr(desk, who))
    page = client.get(reverse("portal:ticket-detail", args=[ticket.number]))
    assert page.status_code == 200
    html = page.content.decode()
    _assert_clean(html)
    assert "We are looking at it." in html  # the public reply is there
    assert "public-log.txt" in html
    internal = ticket.attachments.get(is_internal=True)
    assert str(internal.uid) not in html
    listing = client.get(reverse("portal:ticket-list"), {"status": "all", "scope": "org"})
    _assert_clean(listing.content.decode())
    # After the requester replies, the page still hides them.
    client.post(reverse("portal:ticket-reply", args=[ticket.number]), {"body": "Thanks"})
    _assert_clean(
        client.get(reverse("portal:ticket-detail", args=[ticket.number])).content.decode()
    )


def test_portal_search_does_not_match_words_of_internal_notes(desk, ticket):
    for who in VIEWERS:
        client = signed_in(getattr(desk, who))
        for word in ("xyzzy-note", "plugh-symptom", "frobnicator"):
            html = client.get(
                reverse("portal:ticket-list"), {"status": "all", "scope": "org", "q": word}
            ).content.decode()
            assert ticket.number not in html, (who, word)
        found = client.get(
            reverse("portal:ticket-list"), {"status": "all", "scope": "org", "q": "looking"}
        )
        assert ticket.number in found.content.decode()  # public words still match


@pytest.mark.parametrize("who", ["user_a", "contact_a"])
def test_end_user_api_payloads_carry_no_internal_note(desk, ticket, who, api_as):
    viewer = getattr(desk, who)
    client = api_as(viewer)
    base = f"/tickets/{ticket.number}"
    suffixes = ("", "/comments", "/timeline", "/attachments", "/escalations")
    payloads = {suffix: client.get(base + suffix) for suffix in suffixes}
    for suffix, response in payloads.items():
        assert response.status_code == 200, suffix
        _assert_clean(response.content.decode())
    comments = payloads["/comments"].json()["items"]
    assert comments and all(c["is_internal"] is False for c in comments)
    attachments = payloads["/attachments"].json()["items"]
    assert [a["filename"] for a in attachments] == ["public-log.txt"]
    assert all(a["is_internal"] is False for a in attachments)
    assert payloads["/escalations"].json()["items"] == []
    timeline = payloads["/timeline"].json()["items"]
    assert all(e["is_public"] for e in timeline)
    assert all(e["kind"] not in {"note", "escalated", "security"} for e in timeline)
    for entry in timeline:
        assert entry["comment"] is None or entry["comment"]["is_internal"] is False
        assert all(a["is_internal"] is False for a in entry["attachments"])
        assert entry["escalation"] is None
    detail = payloads[""].json()
    assert (detail["tier"], detail["escalation_count"]) == (None, None)
    # Search through the API does not match internal words either.
    for word in ("xyzzy-note", "plugh-symptom"):
        assert client.get("/tickets", {"q": word}).json()["items"] == []
    # The internal file is not downloadable.
    internal = ticket.attachments.get(is_internal=True)
    download = signed_in(viewer).get(
        reverse("tickets:attachment-download", args=[ticket.number, internal.uid])
    )
    assert download.status_code == 404


def test_agents_see_them_and_are_kept_off_the_portal(desk, ticket, api_as):
    """The control: the notes exist and an agent sees them on the desk and in the API. An agent
    opening the portal page is sent to the desk, so no portal page ever renders them."""
    agent = signed_in(desk.agent1)
    html = agent.get(reverse("tickets:ticket-detail", args=[ticket.number])).content.decode()
    for secret in SECRETS:
        assert secret in html
    comments = api_as(desk.agent1).get(f"/tickets/{ticket.number}/comments").json()["items"]
    assert any(c["is_internal"] for c in comments)
    assert api_as(desk.agent1).get("/tickets", {"q": "xyzzy-note"}).json()["items"]
    portal = agent.get(reverse("portal:ticket-detail", args=[ticket.number]))
    assert portal.status_code == 302
    assert portal["Location"] == reverse("tickets:ticket-detail", args=[ticket.number])


def test_the_status_page_shows_no_conversation(desk, ticket):
    raw = services.status_link_create(actor=desk.actor(desk.agent1), ticket=ticket)
    html = signed_in(desk.user_b).get(reverse("portal:status", args=[raw])).content.decode()
    _assert_clean(html)
    assert "We are looking at it." not in html
    assert ticket.subject in html
    assert desk.user_a.email not in html
    assert desk.user_a.full_name not in html
