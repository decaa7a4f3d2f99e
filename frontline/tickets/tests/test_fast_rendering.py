"""The desk's rows written in Python draw exactly what the template loops drew, escaped."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template import engines
from django.utils import timezone, translation

from frontline.tickets import selectors, services
from frontline.tickets.models import Ticket
from frontline.tickets.templatetags.tickets_ui import fast_naturaltime, queue_rows

pytestmark = pytest.mark.django_db

# The row loop of tickets/partials/_queue_results.html before it became {% queue_rows %}.
TEMPLATE_ROWS = """{% load humanize tickets_ui sla_ui %}{% for t in tickets %}
          <tr>{% url 'tickets:ticket-detail' t.number as detail_url %}
            <td class="nowrap hide-sm"><a href="{{ detail_url }}">{{ t.number }}</a></td>
            <td class="col-subject">
              <a class="subject" href="{{ detail_url }}">{{ t.subject }}</a>
              <div class="row-sub">
                {% if t.type == "request" %}<span class="tag">Request</span>{% endif %}
                <span class="show-sm">{{ t.number }} · {{ t.tenant.name }} · {{ t.assignee.full_name|default:"Unassigned" }}</span>
              </div>
            </td>
            <td class="hide-sm">{{ t.tenant.name }}</td>
            <td class="hide-sm">{{ t.requester.full_name }}</td>
            <td><span class="badge p{{ t.priority }}" title="{{ t.get_priority_display }}">P{{ t.priority }}</span></td>
            <td><span class="badge status-{{ t.status }}">{{ t.get_status_display }}</span></td>
            <td class="nowrap">{% sla_due t %}</td>
            <td class="hide-sm">{{ t.group.name|default:"—" }}<div class="muted small">{{ t.assignee.full_name|default:"Unassigned" }}</div></td>
            <td class="hide-sm nowrap"><time datetime="{{ t.updated_at|date:'c' }}" title="{{ t.updated_at|date:'Y-m-d H:i' }}">{{ t.updated_at|naturaltime }}</time></td>
          </tr>
        {% endfor %}"""  # noqa: E501


def _tickets(desk) -> list[Ticket]:
    actor = desk.actor(desk.agent1)
    made = [
        services.ticket_create(
            actor=actor, requester_id=desk.user_a.pk, subject="<script>alert('x')</script> & co"
        ),
        services.ticket_create(
            actor=actor,
            requester_id=desk.user_b.pk,
            subject="Quote \" and apostrophe '",
            type="request",
            impact=1,
            urgency=1,
        ),
        services.ticket_create(
            actor=actor,
            requester_id=desk.user_a.pk,
            subject="Assigned",
            group_id=desk.tier1.pk,
            assignee_id=desk.agent1.pk,
        ),
    ]
    # A ticket without an SLA clock, and names with markup.
    Ticket.objects.filter(pk=made[0].pk).update(updated_at=timezone.now() - timedelta(days=40))
    desk.tier1.name = "Tier <1>"
    desk.tier1.save()
    desk.agent1.full_name = "Tess <b>One</b>"
    desk.agent1.save()
    made[1].sla.delete()
    rows = selectors.ticket_list(actor=actor).order_by("id")
    return list(rows)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_queue_rows_match_the_template(desk, zone):
    tickets = _tickets(desk)
    later = timezone.now() + timedelta(hours=3)
    with time_machine.travel(later, tick=False), timezone.override(zone):
        expected = engines["django"].from_string(TEMPLATE_ROWS).render({"tickets": tickets})
        drawn = str(queue_rows(tickets))
    assert drawn == expected
    # The queue page's rows, read as values by id (selectors.queue_rows), draw the same.
    by_id = {row.pk: row for row in selectors.queue_rows([t.pk for t in tickets])}
    with time_machine.travel(later, tick=False), timezone.override(zone):
        assert str(queue_rows([by_id[t.pk] for t in tickets])) == expected
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in drawn
    assert "<script>" not in drawn
    assert "Tess &lt;b&gt;One&lt;/b&gt;" in drawn and "Tier &lt;1&gt;" in drawn


SECONDS = [0, 1, 59, 60, 61, 3599, 3600, 7300, 86399, 86400, 90000, 6 * 86400, 8 * 86400]
SECONDS += [31 * 86400, 45 * 86400, 365 * 86400, 400 * 86400, 3 * 365 * 86400 + 5]


@pytest.mark.parametrize("language", ["en-gb", "de", "fr"])
def test_fast_naturaltime_matches_humanize(language):
    now = timezone.now()
    with time_machine.travel(now, tick=False), translation.override(language):
        for seconds in SECONDS:
            for value in (now - timedelta(seconds=seconds), now + timedelta(seconds=seconds)):
                assert fast_naturaltime(value) == str(naturaltime(value)), (language, seconds)


# The head and the closing notes of a timeline entry in tickets/partials/_timeline.html before
# they became {% timeline_entry_head %} and {% timeline_entry_notes %}.
TEMPLATE_HEAD = """{% load tickets_ui %}{% with ev=entry.event %}<li id="event-{{ ev.pk }}" class="ev ev-{{ ev.kind }}{% if entry.comment.is_internal or not ev.is_public %} internal{% elif entry.comment %} public{% endif %}">
    <div class="ev-head">
      {% if entry.comment.is_internal %}<span class="tag tag-internal">Internal note</span>{% elif not ev.is_public %}<span class="tag tag-internal">Agents only</span>{% endif %}
      <span class="ev-text">{{ ev|event_text:category_names }}</span>
      {% with number=ev|linked_number %}{% if number %}<a class="small" href="{% url 'tickets:ticket-detail' number %}">open {{ number }}</a>{% endif %}{% endwith %}
      <time class="when" datetime="{{ ev.created_at|date:'c' }}">{{ ev.created_at|date:"j M Y, H:i" }}</time>
    </div>{% endwith %}"""  # noqa: E501
TEMPLATE_NOTES = """{% if ev.kind == "resolved" and ev.data.resolution_notes %}<div class="ev-body">{{ ev.data.resolution_notes|linebreaksbr }}</div>{% endif %}
    {% if ev.data.reason %}<p class="ev-reason muted small">Reason: {{ ev.data.reason }}</p>{% endif %}"""  # noqa: E501


def _busy_ticket(desk) -> Ticket:
    from frontline.tickets.tests.factories import CategoryFactory

    actor = desk.actor(desk.agent1)
    ticket = services.ticket_create(actor=actor, requester_id=desk.user_a.pk, subject="Busy")
    other = services.ticket_create(actor=actor, requester_id=desk.user_a.pk, subject="Other")
    child = services.ticket_create(actor=actor, requester_id=desk.user_a.pk, subject="Child")

    def fresh() -> Ticket:
        return Ticket.objects.get(pk=ticket.pk)

    services.comment_add(actor=actor, ticket=fresh(), body="Public <b>reply</b>")
    services.comment_add(actor=actor, ticket=fresh(), body="A note", is_internal=True)
    category = CategoryFactory(name="Network <&>")
    services.ticket_update(
        actor=actor,
        ticket=fresh(),
        expected_version=fresh().version,
        changes={"category_id": category.pk, "subject": "Busy <i>one</i>"},
    )
    services.ticket_link_parent(
        actor=actor,
        ticket=Ticket.objects.get(pk=child.pk),
        parent=fresh(),
        expected_version=child.version,
    )
    services.watcher_add(actor=actor, ticket=fresh(), user_id=desk.user_a2.pk)
    services.ticket_resolve(
        actor=actor,
        ticket=fresh(),
        expected_version=fresh().version,
        resolution_code=Ticket.ResolutionCode.SOLVED_REMOTELY,
        resolution_notes="Line one <script>\nline two & 'three'",
    )
    services.ticket_reopen(
        actor=desk.actor(desk.user_a),
        ticket=fresh(),
        expected_version=fresh().version,
        reason='Still <broken> "really"',
    )
    services.ticket_merge(
        actor=actor,
        source=Ticket.objects.get(pk=other.pk),
        target=fresh(),
        expected_version=other.version,
    )
    return fresh()


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
@pytest.mark.parametrize("who", ["agent1", "user_a"])
def test_timeline_entries_match_the_template(desk, zone, who):
    from frontline.tickets.forms import DeskChoices
    from frontline.tickets.templatetags.tickets_ui import timeline_entry_head, timeline_entry_notes

    ticket = _busy_ticket(desk)
    actor = desk.actor(getattr(desk, who))
    timeline = selectors.ticket_timeline(actor=actor, ticket=ticket)
    kinds = {entry.event.kind for entry in timeline}
    if who == "agent1":
        assert {"note", "commented", "changed", "linked", "resolved", "reopened"} <= kinds
    names = DeskChoices(actor).category_names
    engine = engines["django"]
    with timezone.override(zone):
        for entry in timeline:
            context = {"entry": entry, "ev": entry.event, "category_names": names}
            head = engine.from_string(TEMPLATE_HEAD).render(context)
            notes = engine.from_string(TEMPLATE_NOTES).render(context)
            assert str(timeline_entry_head(entry, names)) == head
            assert str(timeline_entry_notes(entry.event)) == notes
    body = "".join(str(timeline_entry_notes(e.event)) for e in timeline)
    assert "Line one &lt;script&gt;<br>line two &amp; &#x27;three&#x27;" in body
    assert "Reason: Still &lt;broken&gt; &quot;really&quot;" in body


def test_ticket_page_names_categories_only_when_an_event_does(client, desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from frontline.tickets.tests.factories import CategoryFactory

    actor = desk.actor(desk.agent1)
    ticket = services.ticket_create(actor=actor, requester_id=desk.user_a.pk, subject="Cat")
    client.force_login(desk.agent1)
    url = reverse("tickets:ticket-detail", args=[ticket.number])
    with CaptureQueriesContext(connection) as plain:
        assert client.get(url).status_code == 200
    assert not [q for q in plain.captured_queries if 'FROM "tickets_category"' in q["sql"]]
    category = CategoryFactory(name="Network <&>")
    services.ticket_update(
        actor=actor,
        ticket=Ticket.objects.get(pk=ticket.pk),
        expected_version=Ticket.objects.get(pk=ticket.pk).version,
        changes={"category_id": category.pk},
    )
    body = client.get(url).content.decode()
    assert "set the category to Network &lt;&amp;&gt;" in body


def test_fast_widgets_write_what_django_writes(desk):
    """Every field of the desk's forms, unbound and bound to hostile input, drawn by the fast
    renderer and by Django's templates: the same markup (widgets, radio choices, field
    groups)."""
    from django.forms import RadioSelect

    from frontline.tickets import forms as desk_forms
    from frontline.tickets.views import FAST_SELECTS

    actor = desk.actor(desk.agent1)
    ticket = services.ticket_create(
        actor=actor, requester_id=desk.user_a.pk, subject="<b>x</b>", location='"Floor" 3'
    )
    choices = desk_forms.DeskChoices(actor)
    hostile = {
        "body": "</textarea><script>alert(1)</script>",
        "visibility": "internal",
        "status": "resolved",
        "resolution_notes": "<i>notes</i> & more",
        "reason": '"><img src=x>',
        "version": "<1>",
        "subject": "</textarea>&",
        "target": "'INC-1'",
        "parent": "<p>",
        "symptoms": "<s>",
        "steps_tried": "a\nb",
        "q": '"><script>',
    }
    makers = [
        lambda **kw: desk_forms.ReplyForm(ticket=ticket, **kw),
        lambda **kw: desk_forms.TransitionForm(ticket=ticket, **kw),
        lambda **kw: desk_forms.AssignForm(ticket=ticket, choices=choices, **kw),
        lambda **kw: desk_forms.EscalateForm(ticket=ticket, choices=choices, **kw),
        lambda **kw: desk_forms.UpdateForm(ticket=ticket, choices=choices, **kw),
        lambda **kw: desk_forms.MergeForm(ticket=ticket, **kw),
        lambda **kw: desk_forms.ParentForm(ticket=ticket, **kw),
        lambda **kw: desk_forms.WatcherForm(ticket=ticket, choices=choices, **kw),
        lambda **kw: desk_forms.PhoneLogForm(choices=choices, **kw),
        lambda **kw: desk_forms.QueueFilterForm(choices=choices, **kw),
    ]
    for make in makers:
        for args in ((), (hostile,)):
            slow, fast = make(), make(renderer=FAST_SELECTS)
            if args:
                slow, fast = make(data=args[0]), make(data=args[0], renderer=FAST_SELECTS)
                slow.is_valid()
                fast.is_valid()
            for name in slow.fields:
                if not getattr(slow.fields[name].widget, "template_name", None):
                    continue  # drawn by the page's template itself (the escalation's steps)
                assert str(fast[name]) == str(slow[name]), (type(slow).__name__, name)
                assert fast[name].as_field_group() == slow[name].as_field_group(), name
                if isinstance(slow.fields[name].widget, RadioSelect):
                    for fast_sub, slow_sub in zip(fast[name], slow[name], strict=True):
                        assert str(fast_sub.tag()) == str(slow_sub.tag()), name
                        assert str(fast_sub) == str(slow_sub), name
    reply = desk_forms.ReplyForm(hostile, ticket=ticket, renderer=FAST_SELECTS)
    assert "&lt;/textarea&gt;&lt;script&gt;" in str(reply["body"])
