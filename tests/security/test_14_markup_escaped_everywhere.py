"""SECURITY.md 14: Markup in subject, sender name, attachment file name, organisation name,
article title: escaped in every page, notification and mail template.

Every name a person controls is set to markup (the requester's and the agent's full names,
the organisation's name, a support group's and a category's name, the subject, an attachment's
file name) and each page that shows them, plus the password-reset mail, must contain it only
as text. (No knowledge base and no notification mail exist yet.)"""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from frontline.accounts.models import SupportGroup, User
from frontline.tenants.models import Organization
from frontline.tickets import services
from frontline.tickets.models import Category, Ticket

from .conftest import active_content, attach, signed_in, ticket_of

MARKUP = {
    "subject": "<script>alert('subject')</script>",
    "requester": "<img src=x onerror=alert('requester')>",
    "agent": "<svg onload=alert('agent')>",
    "organisation": "<iframe src=javascript:alert('org')>",
    "group": "<a href=javascript:alert('group')>Tier</a>",
    "category": "<body onload=alert('category')>",
    "filename": "x' onmouseover='alert(1)' &amp;.txt",
}


@pytest.fixture
def marked(desk) -> Ticket:
    User.objects.filter(pk=desk.user_a.pk).update(full_name=MARKUP["requester"])
    User.objects.filter(pk=desk.agent1.pk).update(full_name=MARKUP["agent"])
    Organization.objects.filter(pk=desk.org_a.pk).update(name=MARKUP["organisation"])
    SupportGroup.objects.filter(pk=desk.tier1.pk).update(name=MARKUP["group"])
    desk.agent1.refresh_from_db()
    desk.user_a.refresh_from_db()
    category = Category.objects.create(name=MARKUP["category"])
    ticket = ticket_of(
        desk, desk.user_a, subject=MARKUP["subject"] + " printer", category_id=category.pk
    )
    services.ticket_assign(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        group_id=desk.tier1.pk,
        assignee_id=desk.agent1.pk,
    )
    attach(desk, ticket, MARKUP["filename"], content=b"log")
    services.comment_add(actor=desk.actor(desk.user_a), ticket=ticket, body="Thanks!")
    ticket.refresh_from_db()
    services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        resolution_code="workaround",
        resolution_notes="Restarted the spooler.",
    )
    return Ticket.objects.get(pk=ticket.pk)


def _assert_escaped(html: str, where: str) -> None:
    assert not active_content(html), f"{where}: {active_content(html)}"
    for name, value in MARKUP.items():
        if name != "filename":
            assert value not in html, f"{where}: raw {name}"
    assert "<script>alert" not in html
    assert "onmouseover='alert" not in html


def test_desk_pages_escape_names(desk, marked):
    agent = signed_in(desk.agent1)
    pages = {
        "queue": agent.get(reverse("tickets:queue"), {"queue": "all"}),
        "queue search": agent.get(reverse("tickets:queue"), {"q": "printer"}),
        "queue fragment": agent.get(reverse("tickets:queue"), headers={"HX-Request": "true"}),
        "ticket": agent.get(reverse("tickets:ticket-detail", args=[marked.number])),
        "ticket fragment": agent.get(
            reverse("tickets:ticket-detail", args=[marked.number]), headers={"HX-Request": "true"}
        ),
        "phone log": agent.get(reverse("tickets:phone-log")),
        "requesters": agent.get(reverse("tickets:requester-search")),
        "requester search": agent.get(reverse("tickets:requester-search"), {"q": "onerror"}),
    }
    for where, response in pages.items():
        assert response.status_code == 200, where
        _assert_escaped(response.content.decode(), where)
    ticket_html = pages["ticket"].content.decode()
    assert "&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt;" in ticket_html
    assert "&lt;svg onload=alert(&#x27;agent&#x27;)&gt;" in ticket_html
    assert "&lt;iframe src=javascript:alert(&#x27;org&#x27;)&gt;" in ticket_html
    assert "x&#x27; onmouseover=&#x27;alert(1)&#x27; &amp;amp;.txt" in ticket_html
    assert (
        "&lt;img src=x onerror=alert(&#x27;requester&#x27;)&gt;"
        in pages["requester search"].content.decode()
    )


def test_portal_and_status_pages_escape_names(desk, marked):
    user = signed_in(desk.user_a)
    raw = services.status_link_create(actor=desk.actor(desk.agent1), ticket=marked)
    contact = signed_in(desk.contact_a)
    pages = {
        "list": user.get(reverse("portal:ticket-list"), {"status": "all"}),
        "org list": contact.get(reverse("portal:ticket-list"), {"status": "all", "scope": "org"}),
        "detail": user.get(reverse("portal:ticket-detail", args=[marked.number])),
        "detail as contact": contact.get(reverse("portal:ticket-detail", args=[marked.number])),
        "create": user.get(reverse("portal:ticket-create")),
        "status": signed_in(desk.user_b).get(reverse("portal:status", args=[raw])),
    }
    for where, response in pages.items():
        assert response.status_code == 200, where
        _assert_escaped(response.content.decode(), where)
    assert "&lt;script&gt;" in pages["status"].content.decode()
    assert "&lt;img src=x onerror" in pages["detail as contact"].content.decode()


def test_api_names_are_json_strings(desk, marked, api_as):
    response = api_as(desk.agent1).get(f"/tickets/{marked.number}")
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["subject"].startswith(MARKUP["subject"])
    assert body["organization"]["name"] == MARKUP["organisation"]


def test_download_name_is_quoted_in_the_header(desk, marked):
    attachment = marked.attachments.get()
    response = signed_in(desk.agent1).get(
        reverse("tickets:attachment-download", args=[marked.number, attachment.uid])
    )
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "\n" not in disposition
    assert "\r" not in disposition


def test_password_reset_mail_carries_no_markup(desk, client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    User.objects.filter(pk=desk.user_a.pk).update(full_name="<script>alert('mail')</script> Alice")
    response = client.post(reverse("accounts:password-reset"), {"email": desk.user_a.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    for text in (message.body, message.subject, *(str(a[0]) for a in message.alternatives)):
        assert "<script" not in text
        assert "alert('mail')" not in text or "&lt;script&gt;" in text
    assert "\n" not in message.subject
