"""The portal's ticket rows written in Python draw what the template loop drew, escaped."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.template import engines
from django.urls import reverse
from django.utils import timezone

from frontline.portal.templatetags.portal_ui import portal_rows
from frontline.tickets import selectors, services
from frontline.tickets.models import Ticket

pytestmark = pytest.mark.django_db

# The row loop of portal/ticket_list.html before it became {% portal_rows %}.
TEMPLATE_ROWS = """{% load humanize %}{% for ticket in page_obj %}
    <tr>
      <td class="col-number"><a href="{% url 'portal:ticket-detail' ticket.number %}">{{ ticket.number }}</a></td>
      <td class="col-subject"><a href="{% url 'portal:ticket-detail' ticket.number %}">{{ ticket.subject }}</a></td>
      {% if scope == "org" %}<td class="col-requester">{{ ticket.requester.full_name }}</td>{% endif %}
      <td class="col-status">{% include "portal/_status.html" with status=ticket.status %}</td>
      <td class="col-updated"><time datetime="{{ ticket.updated_at|date:'c' }}" title="{{ ticket.updated_at|date:'j M Y, H:i' }}">{{ ticket.updated_at|naturaltime }}</time></td>
    </tr>
    {% endfor %}"""  # noqa: E501


@pytest.mark.parametrize("scope", ["mine", "org"])
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland"])
def test_portal_rows_match_the_template(desk, scope, zone):
    agent = desk.actor(desk.agent1)
    desk.contact_a.full_name = "Carla <Contact>"
    desk.contact_a.save()
    for n, status in enumerate(["new", "in_progress", "pending_customer", "resolved"]):
        ticket = services.ticket_create(
            actor=desk.actor(desk.contact_a), subject=f"<b>Printer</b> & 'jam' {n}"
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            status=status, updated_at=timezone.now() - timedelta(hours=n * 30)
        )
    services.ticket_create(actor=agent, requester_id=desk.user_a.pk, subject="Alice's")
    actor = desk.actor(desk.orgadmin_a)
    rows = list(selectors.ticket_rows(selectors.ticket_list(actor=actor), selectors.PORTAL_ROW))
    assert len(rows) == 5
    with time_machine.travel(timezone.now(), tick=False), timezone.override(zone):
        context = {"page_obj": rows, "scope": scope}
        expected = engines["django"].from_string(TEMPLATE_ROWS).render(context)
        drawn = str(portal_rows(rows, scope))
    assert drawn == expected
    assert "&lt;b&gt;Printer&lt;/b&gt; &amp; &#x27;jam&#x27;" in drawn
    assert "<b>" not in drawn
    assert ("Carla &lt;Contact&gt;" in drawn) is (scope == "org")
    assert reverse("portal:ticket-detail", args=[rows[0].number]) in drawn
