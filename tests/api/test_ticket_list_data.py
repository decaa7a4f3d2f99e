"""The ticket list answers with plain dicts (tickets.api.ticket_data), not a validated schema
per ticket: the JSON must be exactly what TicketPageOut of validated TicketOuts renders."""

from __future__ import annotations

import pytest

from frontline.api.urls import api
from frontline.sla.models import TicketSla
from frontline.tickets import selectors, services
from frontline.tickets.api import TicketOut, TicketPageOut, ticket_data, ticket_out
from frontline.tickets.models import Ticket
from frontline.tickets.tests.factories import CategoryFactory

from .conftest import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied(desk):
    agent = desk.actor(desk.agent1)
    hardware = CategoryFactory(name="Hardware <&>")
    printers = CategoryFactory(name="Printers", parent=hardware)
    plain = open_ticket(desk, subject='<script>alert(1)</script> "quoted" ünïcode')
    detailed = open_ticket(
        desk,
        desk.contact_a,
        subject="Categorised",
        category_id=hardware.pk,
        subcategory_id=printers.pk,
        group_id=desk.tier1.pk,
        assignee_id=desk.agent1.pk,
        affected_service="Mail",
        location="Floor 3",
    )
    resolved = open_ticket(desk, subject="Resolved")
    services.ticket_resolve(
        actor=agent,
        ticket=resolved,
        expected_version=resolved.version,
        resolution_code=Ticket.ResolutionCode.SOLVED_REMOTELY,
        resolution_notes="Fixed.",
    )
    no_clock = open_ticket(desk, subject="Without an SLA clock")
    TicketSla.objects.filter(ticket=no_clock).delete()
    return [plain, detailed, resolved, no_clock]


@pytest.mark.parametrize("who", ["agent1", "contact_a", "user_a"])
def test_the_list_is_what_the_schema_renders(desk, api_as, varied, who):
    user = getattr(desk, who)
    actor = desk.actor(user)
    response = api_as(user).get("/tickets", {"limit": 50})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    rows = list(selectors.ticket_list(actor=actor).order_by("-created_at", "-id")[:50])
    assert rows, "the fixture's tickets are visible"
    expected = TicketPageOut(items=[ticket_out(t, actor) for t in rows], next_cursor=None)
    rendered = api.renderer.render(None, expected.model_dump(), response_status=200)
    assert response.content.decode() == rendered


def test_ticket_data_is_the_dump_of_the_validated_schema(desk, varied):
    for who in (desk.agent1, desk.user_a):
        actor = desk.actor(who)
        for ticket in selectors.ticket_list(actor=actor):
            data = ticket_data(ticket, actor)
            assert TicketOut.model_validate(data).model_dump() == data
