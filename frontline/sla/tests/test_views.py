"""The clocks where people meet them: the desk queue (Due column, colours, sort), the ticket
page, the portal's target, the API, the timeline and the admin."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from frontline.accounts.services import token_create
from frontline.core.access import Actor
from frontline.sla import services as sla_services
from frontline.sla.models import SlaPolicy
from frontline.tickets import services
from frontline.tickets.models import Ticket
from frontline.tickets.tests.helpers import fresh, open_ticket, transition

S = Ticket.Status
API = "/api/v1"
MONDAY_9 = datetime(2026, 6, 8, 9, tzinfo=UTC)


@pytest.fixture
def desk_tickets(sla_desk):
    """Four tickets opened Mon 08 Jun 2026 09:00, viewed at 12:30: on track, due soon,
    overdue and paused (business hours Mon-Fri 08:00-18:00 UTC)."""
    desk = sla_desk
    with time_machine.travel(MONDAY_9, tick=False):
        ok = open_ticket(desk, subject="On track", impact=3, urgency=3)  # P5: 20 h, Wed 09:00
        soon = open_ticket(desk, subject="Due soon", impact=2, urgency=2)  # P3: warn 12:00
        late = open_ticket(desk, subject="Overdue", impact=1, urgency=2)  # P2: due 10:00
        paused = open_ticket(desk, subject="Waiting", impact=2, urgency=2)
        transition(desk, paused, S.PENDING_CUSTOMER)
    return {"ok": ok, "soon": soon, "late": late, "paused": paused}


@pytest.fixture
def api_as(desk):
    """api_as(user): a test client sending `user`'s fresh API token."""

    def make(user):
        _, raw = token_create(actor=Actor.system(), user=user, name="sla tests")
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


@pytest.fixture
def at_half_past_noon():
    with time_machine.travel(datetime(2026, 6, 8, 12, 30, tzinfo=UTC), tick=False):
        yield


def _row(html: str, subject: str) -> str:
    for row in re.findall(r"<tr>.*?</tr>", html, re.S):
        if subject in row:
            return str(row)
    raise AssertionError(f"no row for {subject}")


def test_the_queue_shows_due_times_in_colour(client, sla_desk, desk_tickets, at_half_past_noon):
    client.force_login(sla_desk.agent1)
    html = client.get(reverse("tickets:queue"), {"queue": "all"}).content.decode()
    assert "sort=due" in html and ">Due<" in html
    assert "sla-ok" in _row(html, "On track") and "in 1 d 20 h" in _row(html, "On track")
    assert "sla-warning" in _row(html, "Due soon") and "in 30 min" in _row(html, "Due soon")
    assert "sla-breached" in _row(html, "Overdue") and "2 h 30 min overdue" in _row(html, "Overdue")
    assert "sla-paused" in _row(html, "Waiting")


def test_the_queue_sorts_by_due(client, sla_desk, desk_tickets, at_half_past_noon):
    client.force_login(sla_desk.agent1)
    html = client.get(reverse("tickets:queue"), {"queue": "all", "sort": "due"}).content.decode()
    order = re.findall(r'class="subject"[^>]*>([^<]+)<', html)
    # Soonest first: overdue (10:00), first response due 13:00, Wednesday 09:00; paused last.
    assert order == ["Overdue", "Due soon", "On track", "Waiting"]
    html = client.get(reverse("tickets:queue"), {"queue": "all", "sort": "-due"}).content.decode()
    assert re.findall(r'class="subject"[^>]*>([^<]+)<', html)[:3] == [
        "On track",
        "Due soon",
        "Overdue",
    ]


def test_the_ticket_page_shows_both_clocks(client, sla_desk, desk_tickets, at_half_past_noon):
    client.force_login(sla_desk.agent1)
    ticket = desk_tickets["soon"]
    html = client.get(reverse("tickets:ticket-detail", args=[ticket.number])).content.decode()
    assert "Service level" in html
    response = re.search(r'data-clock="response".*?</li>', html, re.S).group(0)
    assert "sla-warning" in response and "8 Jun 2026, 13:00</time>" in response
    assert "3 h 30 min of 4 h business time used" in response and "30 min left" in response
    # Business time is told in hours (a business "day" has no fixed length).
    assert "3 h 30 min of 30 h business time used" in html
    resolution = re.search(r'data-clock="resolution".*?</li>', html, re.S).group(0)
    assert "11 Jun 2026, 09:00</time>" in resolution and "sla-ok" in resolution
    assert "Default P3" in html and "Business hours" in html

    paused = desk_tickets["paused"]
    html = client.get(reverse("tickets:ticket-detail", args=[paused.number])).content.decode()
    assert "Clock paused since" in html


def test_the_timeline_tells_the_sla_events(client, sla_desk, desk_tickets):
    sla_services.sla_sweep(now=datetime(2026, 6, 8, 13, tzinfo=UTC))
    client.force_login(sla_desk.agent1)
    ticket = desk_tickets["soon"]
    html = client.get(reverse("tickets:ticket-detail", args=[ticket.number])).content.decode()
    assert "SLA: 75% of the first-response target used" in html
    assert "SLA: The first-response target was breached" in html
    assert "SLA notified Tess Tier-One" not in html  # nobody assigned: the lead is told
    assert "SLA notified" in html


def test_the_portal_shows_the_requester_the_targets(client, sla_desk, desk_tickets):
    client.force_login(sla_desk.user_a)
    ticket = desk_tickets["soon"]
    html = client.get(reverse("portal:ticket-detail", args=[ticket.number])).content.decode()
    assert "Target resolution" in html and "11 Jun 2026, 09:00" in html
    assert "We aim to reply by" in html and "8 Jun 2026, 13:00" in html
    paused = desk_tickets["paused"]
    html = client.get(reverse("portal:ticket-detail", args=[paused.number])).content.decode()
    assert "On hold while we wait for your reply" in html
    # Internal measures stay internal.
    assert "warn" not in html.lower()


def test_the_api_exposes_the_clocks(api_as, sla_desk, desk_tickets):
    ticket = desk_tickets["soon"]
    body = api_as(sla_desk.agent1).get(f"{API}/tickets/{ticket.number}").json()
    sla = body["sla"]
    assert sla["policy"] == "Default P3" and sla["calendar"].startswith("Business hours")
    assert sla["response"]["state"] == "running"
    assert sla["response"]["due_at"].startswith("2026-06-08T13:00:00")
    assert sla["response"]["warning_at"].startswith("2026-06-08T12:00:00")
    assert sla["response"]["target_seconds"] == 4 * 3600
    assert sla["resolution"]["due_at"].startswith("2026-06-11T09:00:00")

    mine = api_as(sla_desk.user_a).get(f"{API}/tickets/{ticket.number}").json()["sla"]
    assert mine["resolution"]["due_at"] == sla["resolution"]["due_at"]
    assert mine["response"]["warning_at"] is None  # an internal threshold

    page = api_as(sla_desk.agent1).get(f"{API}/tickets", {"queue": "all"}).json()
    assert {t["subject"]: t["sla"]["response"]["state"] for t in page["items"]}["Waiting"] == (
        "paused"
    )
    assert api_as(sla_desk.agent1).get(f"{API}/tickets", {"sort": "due"}).status_code == 422


def test_a_ticket_without_a_policy_shows_no_sla(client, api_as, sla_desk):
    SlaPolicy.objects.all().update(is_active=False)
    ticket = open_ticket(sla_desk)
    client.force_login(sla_desk.agent1)
    html = client.get(reverse("tickets:ticket-detail", args=[ticket.number])).content.decode()
    assert "No SLA applies to this ticket." in html
    assert api_as(sla_desk.agent1).get(f"{API}/tickets/{ticket.number}").json()["sla"] is None
    queue = client.get(reverse("tickets:queue"), {"queue": "all"}).content.decode()
    assert "sla-none" in queue


def test_policies_and_calendars_are_editable_in_the_admin(client, sla_desk):
    client.force_login(sla_desk.admin)
    for name in ("slapolicy", "calendar", "slacontract", "ticketsla"):
        assert client.get(reverse(f"admin:sla_{name}_changelist")).status_code == 200
    assert client.get(reverse("admin:sla_calendar_add")).status_code == 200
    policy = SlaPolicy.objects.get(organization=None, priority=3)
    page = client.get(reverse("admin:sla_slapolicy_change", args=[policy.pk]))
    assert page.status_code == 200 and "Breach action" in page.content.decode()


def test_queue_and_ticket_page_stay_query_free_in_templates(
    client, sla_desk, desk_tickets, django_assert_max_num_queries
):
    client.force_login(sla_desk.agent1)
    for n in range(10):
        services.ticket_create(
            actor=sla_desk.actor(sla_desk.agent1), requester_id=sla_desk.user_a.pk, subject=f"T{n}"
        )
    with django_assert_max_num_queries(12):
        assert client.get(reverse("tickets:queue"), {"sort": "due"}).status_code == 200
    ticket = fresh(desk_tickets["soon"])
    with django_assert_max_num_queries(20):
        client.get(reverse("tickets:ticket-detail", args=[ticket.number]))
