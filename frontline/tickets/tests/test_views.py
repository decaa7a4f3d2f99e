"""The agent desk as agents (and intruders) meet it: pages, actions, errors, downloads."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from frontline.tickets import selectors, services
from frontline.tickets.models import Attachment, Comment, Escalation, Ticket
from frontline.tickets.templatetags.tickets_ui import SORT_CYCLES

HX = {"HX-Request": "true"}
CONFLICT = "This ticket was changed by someone else since you opened it."


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def agent(client, desk):
    client.force_login(desk.agent1)
    return client


def make_ticket(desk, *, agent=None, requester=None, **fields):
    fields.setdefault("subject", "Outlook keeps crashing")
    return services.ticket_create(
        actor=desk.actor(agent or desk.agent1),
        requester_id=(requester or desk.user_a).pk,
        **fields,
    )


def detail_url(ticket, name="ticket-detail"):
    return reverse(f"tickets:{name}", args=[ticket.number])


def found(pattern, text, flags=0):
    match = re.search(pattern, text, flags)
    assert match is not None, pattern
    return match


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def numbers_in(response):
    """Ticket numbers in the order they first appear on the page."""
    found = re.findall(r"(?:INC|REQ)-\d{6}", response.content.decode())
    return list(dict.fromkeys(found))


# --- access ----------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client, desk):
    response = client.get(reverse("tickets:queue"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_end_user_gets_403_on_the_desk(client, desk):
    ticket = make_ticket(desk)
    client.force_login(desk.user_a)
    assert client.get(reverse("tickets:queue")).status_code == 403
    assert client.get(detail_url(ticket)).status_code == 403
    assert client.get(reverse("tickets:phone-log")).status_code == 403


def test_org_restricted_agent_gets_404_for_another_organisations_ticket(client, desk):
    theirs = make_ticket(desk, requester=desk.user_b)
    ours = make_ticket(desk, requester=desk.user_a)
    client.force_login(desk.agent_a)
    assert client.get(detail_url(theirs)).status_code == 404
    assert client.get(reverse("tickets:ticket-detail", args=[theirs.pk])).status_code == 404
    response = client.post(
        detail_url(theirs, "ticket-transition"), {"version": theirs.version, "status": "resolved"}
    )
    assert response.status_code == 404
    assert client.get(detail_url(ours)).status_code == 200


# --- queue -----------------------------------------------------------------------------------


def test_queue_lists_only_tickets_the_agent_may_see(client, desk):
    acme = make_ticket(desk, subject="Acme VPN down", requester=desk.user_a)
    globex = make_ticket(desk, subject="Globex printer", requester=desk.user_b)
    client.force_login(desk.agent_a)
    response = client.get(reverse("tickets:queue"))
    assert response.status_code == 200
    assert acme.number in numbers_in(response)
    assert globex.number not in numbers_in(response)


def test_queue_filters_by_status_priority_type_and_organisation(agent, desk):
    urgent = make_ticket(desk, subject="Server room hot", impact=1, urgency=1)
    calm = make_ticket(desk, subject="New mouse please", type="request")
    other_org = make_ticket(desk, subject="Globex laptop", requester=desk.user_b)
    services.ticket_resolve(
        actor=desk.actor(desk.agent1),
        ticket=calm,
        expected_version=calm.version,
        resolution_code="fulfilled",
        resolution_notes="Sent one.",
    )
    url = reverse("tickets:queue")
    assert numbers_in(agent.get(url, {"priority": 1})) == [urgent.number]
    assert calm.number not in numbers_in(agent.get(url, {"status": "open"}))
    assert numbers_in(agent.get(url, {"status": "resolved"})) == [calm.number]
    assert numbers_in(agent.get(url, {"type": "request"})) == [calm.number]
    assert numbers_in(agent.get(url, {"organization": desk.org_b.pk})) == [other_org.number]


def test_queue_keyword_search_matches_subject_and_comments(agent, desk):
    vpn = make_ticket(desk, subject="VPN drops every hour")
    other = make_ticket(desk, subject="Printer jam")
    services.comment_add(actor=desk.actor(desk.agent1), ticket=other, body="Toner smudge too")
    url = reverse("tickets:queue")
    assert numbers_in(agent.get(url, {"q": "vpn"})) == [vpn.number]
    assert numbers_in(agent.get(url, {"q": "smudge"})) == [other.number]
    assert numbers_in(agent.get(url, {"q": vpn.number})) == [vpn.number]


def test_queue_tabs_select_mine_and_unassigned(agent, desk):
    mine = make_ticket(desk, subject="Mine", group_id=desk.tier1.pk, assignee_id=desk.agent1.pk)
    nobody = make_ticket(desk, subject="Nobody's")
    url = reverse("tickets:queue")
    assert numbers_in(agent.get(url, {"queue": "mine"})) == [mine.number]
    assert numbers_in(agent.get(url, {"queue": "unassigned"})) == [nobody.number]


def test_queue_sorts_by_clickable_headers(agent, desk):
    low = make_ticket(desk, subject="Low", impact=3, urgency=3)
    high = make_ticket(desk, subject="High", impact=1, urgency=1)
    mid = make_ticket(desk, subject="Mid", impact=2, urgency=2)
    url = reverse("tickets:queue")
    response = agent.get(url, {"sort": "priority"})
    assert numbers_in(response)[:3] == [high.number, mid.number, low.number]
    # The header link toggles to the other direction and keeps the other filters.
    assert 'href="/desk/?sort=-priority' in response.content.decode()
    response = agent.get(url, {"sort": "-priority", "status": "open"})
    assert numbers_in(response)[:3] == [low.number, mid.number, high.number]
    toggle = found(r'<a href="([^"]*sort=priority[^"]*)"', response.content.decode())
    assert "status=open" in toggle[1]


def test_queue_sort_headers_only_use_known_sorts():
    assert {key for cycle in SORT_CYCLES.values() for key in cycle} <= set(selectors.SORTS)


def test_queue_paginates_fifty_per_page(agent, desk):
    for n in range(55):
        make_ticket(desk, subject=f"Ticket {n}")
    url = reverse("tickets:queue")
    first = agent.get(url)
    assert len(numbers_in(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = agent.get(url, {"page": 2})
    assert len(numbers_in(second)) == 5
    assert "Page 2 of 2" in second.content.decode()


def test_queue_count_stops_at_the_cap(agent, desk, monkeypatch):
    """No exact COUNT(*) over a whole desk: past the cap the queue says "N+" and still pages."""
    from frontline.tickets import views

    for n in range(7):
        make_ticket(desk, subject=f"Capped {n}")
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(selectors, "COUNT_PAGES_AHEAD", 1)
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    body = agent.get(reverse("tickets:queue"), {"q": "capped"}).content.decode()
    assert "<strong>4+</strong> tickets" in body  # the cap, or 2 pages of 2 if more
    assert 'rel="next"' in body
    # Further on, the count reaches further (the requested page and one more).
    body = agent.get(reverse("tickets:queue"), {"q": "capped", "page": 3}).content.decode()
    assert "<strong>7</strong> tickets" in body
    assert numbers_in(agent.get(reverse("tickets:queue"), {"q": "capped", "page": 3}))
    monkeypatch.setattr(selectors, "COUNT_CAP", 7)
    body = agent.get(reverse("tickets:queue"), {"q": "capped"}).content.decode()
    assert "<strong>7</strong> tickets" in body
    assert "page 1 of 4" in body


def test_queue_bad_filter_is_a_400_with_the_reason(agent, desk):
    response = agent.get(reverse("tickets:queue"), {"priority": "urgent", "sort": "password"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Must be a whole number." in body
    assert "Unknown value" in body


def test_queue_htmx_request_gets_only_the_results(agent, desk):
    ticket = make_ticket(desk)
    response = agent.get(reverse("tickets:queue"), {"q": "outlook"}, headers=HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="results"' in body
    assert ticket.number in body
    assert "HX-Request" in response["Vary"]
    restore = agent.get(
        reverse("tickets:queue"), headers={**HX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.content.decode()


@pytest.mark.parametrize("rows", [5, 60])
def test_queue_query_count_does_not_grow_with_rows(
    agent, desk, rows, django_assert_max_num_queries
):
    for n in range(rows):
        make_ticket(desk, subject=f"Ticket {n}", group_id=desk.tier1.pk, assignee_id=desk.agent1.pk)
    # The first page after a configuration change reads the filter bar's groups, categories
    # and organisations (3 queries) into the process's configuration cache.
    with django_assert_max_num_queries(7 + 3):
        agent.get(reverse("tickets:queue"), {"q": "ticket", "sort": "-priority"})
    # Session and actor (3), the configuration stamp (1), the filter bar's agents (1), count and
    # page (2); the session is not saved on every request (core/sessions.py).
    with django_assert_max_num_queries(7):
        response = agent.get(reverse("tickets:queue"), {"q": "ticket", "sort": "-priority"})
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [5, 60])
def test_queue_search_query_count_does_not_grow_with_matches(
    agent, desk, rows, django_assert_max_num_queries
):
    """Tickets found by a word of their comments (a note and a reply): the same queries for 5
    matches as for 60 (a page and a count capped, not one query per match)."""
    actor = desk.actor(desk.agent1)
    for n in range(rows):
        ticket = make_ticket(desk, subject=f"Ticket {n}", group_id=desk.tier1.pk)
        services.comment_add(actor=actor, ticket=ticket, body="Zebra", is_internal=n % 2 == 0)
    agent.get(reverse("tickets:queue"))  # the configuration cache, as on a running desk
    # Session and actor (3), the configuration stamp (1), the filter bar's agents (1), the
    # page's ids and its rows (2).
    with django_assert_max_num_queries(7):
        response = agent.get(reverse("tickets:queue"), {"q": "zebra", "queue": "all"})
    assert response.status_code == 200
    assert len(numbers_in(response)) == min(rows, 50)


# --- ticket page -----------------------------------------------------------------------------


def test_ticket_page_shows_the_ticket_and_a_readable_timeline(agent, desk):
    ticket = make_ticket(desk, description="Since **Monday**.", affected_service="Mail")
    services.ticket_assign(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=ticket.version,
        group_id=desk.tier1.pk,
        assignee_id=desk.agent1.pk,
    )
    response = agent.get(detail_url(ticket))
    body = response.content.decode()
    assert response.status_code == 200
    assert ticket.number in body
    assert "Alice Acme" in body
    assert desk.user_a.email in body
    assert "<strong>Monday</strong>" in body
    assert "Tess Tier-One changed status from New to Assigned" in body
    assert "Tess Tier-One assigned the ticket to Service Desk / Tess Tier-One" in body
    assert 'name="version" value="2"' in body


def test_ticket_page_also_accepts_the_numeric_id(agent, desk):
    ticket = make_ticket(desk)
    response = agent.get(reverse("tickets:ticket-detail", args=[ticket.pk]))
    assert response.status_code == 200
    assert ticket.number in response.content.decode()


def test_reply_and_internal_note_appear_in_the_timeline(agent, desk):
    ticket = make_ticket(desk)
    url = detail_url(ticket, "comment-add")
    response = agent.post(
        url, {"version": ticket.version, "visibility": "public", "body": "Please restart."}
    )
    assert response.status_code == 302
    assert response["Location"] == detail_url(ticket)
    response = agent.post(
        url,
        {"version": ticket.version, "visibility": "internal", "body": "Looks like a bad profile."},
        headers=HX,
    )
    assert response.status_code == 200
    assert 'id="ticket-body"' in response.content.decode()
    body = agent.get(detail_url(ticket)).content.decode()
    assert "Please restart." in body
    assert "Tess Tier-One replied" in body
    note = re.search(r'<li id="event-\d+" class="([^"]*)">\s*<div class="ev-head">\s*'
                     r'<span class="tag tag-internal">Internal note</span>', body)  # fmt: skip
    assert note is not None
    assert "internal" in note[1].split()
    assert "Looks like a bad profile." in body
    assert Comment.objects.filter(ticket=ticket, is_internal=True).count() == 1


def test_reply_with_files_attaches_them(agent, desk):
    ticket = make_ticket(desk)
    files = [
        SimpleUploadedFile("log.txt", b"error 42", content_type="text/plain"),
        SimpleUploadedFile("screen.png", b"\x89PNG....", content_type="image/png"),
    ]
    response = agent.post(
        detail_url(ticket, "comment-add"),
        {"version": ticket.version, "visibility": "public", "body": "Logs", "attachments": files},
    )
    assert response.status_code == 302
    assert sorted(a.filename for a in Attachment.objects.filter(ticket=ticket)) == [
        "log.txt",
        "screen.png",
    ]
    body = agent.get(detail_url(ticket)).content.decode()
    assert found(r'<input type="file" name="attachments" multiple', body)
    assert "log.txt" in body
    assert "/attachments/" in body


def test_attachment_over_the_limit_is_422_and_saves_nothing(agent, desk, settings):
    settings.FRONTLINE_MAX_ATTACHMENT_BYTES = 10
    ticket = make_ticket(desk)
    big = SimpleUploadedFile("dump.bin", b"x" * 11, content_type="application/octet-stream")
    response = agent.post(
        detail_url(ticket, "comment-add"),
        {
            "version": ticket.version,
            "visibility": "public",
            "body": "See file",
            "attachments": [big],
        },
        headers=HX,
    )
    assert response.status_code == 422
    assert "the limit is 10 bytes" in response.content.decode()
    assert response["HX-Retarget"] == "#action-reply"
    assert not Comment.objects.filter(ticket=ticket).exists()
    assert not Attachment.objects.filter(ticket=ticket).exists()


def test_empty_reply_is_422_without_js_too(agent, desk):
    ticket = make_ticket(desk)
    response = agent.post(
        detail_url(ticket, "comment-add"), {"version": ticket.version, "visibility": "public"}
    )
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert "<html" in response.content.decode()


def test_escalate_without_steps_is_422_and_changes_nothing(agent, desk):
    ticket = make_ticket(desk, group_id=desk.tier1.pk)
    response = agent.post(
        detail_url(ticket, "ticket-escalate"),
        {"version": ticket.version, "kind": "functional", "symptoms": "Outlook dies on start"},
        headers=HX,
    )
    assert response.status_code == 422
    assert "List the steps already tried" in response.content.decode()
    assert response["HX-Retarget"] == "#action-escalate"
    after = fresh(ticket)
    assert (after.group_id, after.escalation_count, after.version) == (
        desk.tier1.pk,
        0,
        ticket.version,
    )
    assert not Escalation.objects.exists()


def test_escalation_handoff_is_at_the_top_for_the_next_tier(client, desk):
    ticket = make_ticket(desk, group_id=desk.tier1.pk)
    client.force_login(desk.agent1)
    response = client.post(
        detail_url(ticket, "ticket-escalate"),
        {
            "version": ticket.version,
            "kind": "functional",
            "symptoms": "Outlook dies on start",
            "diagnosis": "Corrupt OST file, probably",
            "steps_tried": ["Restarted the laptop", "Ran Office repair", ""],
        },
    )
    assert response.status_code == 302
    assert fresh(ticket).group_id == desk.tier2.pk
    client.force_login(desk.agent2)
    body = client.get(detail_url(ticket)).content.decode()
    handoff = body.index('class="card handoff"')
    assert handoff < body.index('class="desk-ticket-head')
    assert handoff < body.index('class="timeline"')
    section = body[handoff : body.index("</section>", handoff)]
    assert "Service Desk" in section
    assert "Tier 2" in section
    assert "Tess Tier-One" in section
    assert "Corrupt OST file, probably" in section
    assert re.search(
        r'<ul class="checklist"><li>Restarted the laptop</li><li>Ran Office repair</li></ul>',
        section,
    )


def test_assign_to_a_group_and_agent(agent, desk):
    ticket = make_ticket(desk)
    response = agent.post(
        detail_url(ticket, "ticket-assign"),
        {"version": ticket.version, "group_id": desk.tier2.pk, "assignee_id": desk.agent2.pk},
        headers=HX,
    )
    assert response.status_code == 200
    assert "Tom Tier-Two" in response.content.decode()
    after = fresh(ticket)
    assert (after.group_id, after.assignee_id, after.status) == (
        desk.tier2.pk,
        desk.agent2.pk,
        "assigned",
    )


def test_assign_to_me_button(agent, desk):
    ticket = make_ticket(desk, group_id=desk.tier1.pk)
    response = agent.post(
        detail_url(ticket, "ticket-assign"),
        {"version": ticket.version, "assignee_id": desk.agent1.pk, "take": "1"},
    )
    assert response.status_code == 302
    assert fresh(ticket).assignee_id == desk.agent1.pk


LAZY_ACTIONS = [
    ("ticket-assign", "assign", 'name="assignee_id"'),
    ("ticket-escalate", "escalate", 'name="to_group_id"'),
    ("ticket-update", "edit", 'name="category_id"'),
    ("ticket-merge", "merge", 'name="target"'),
    ("ticket-link-parent", "parent", 'name="parent"'),
    ("watcher-add", "watcher", 'name="user_id"'),
]


def test_ticket_page_draws_the_pick_list_forms_only_when_opened(agent, desk):
    ticket = make_ticket(desk, group_id=desk.tier1.pk)
    body = agent.get(detail_url(ticket)).content.decode()
    for url_name, name, field in LAZY_ACTIONS:
        stub = found(rf'<details id="action-{name}"[^>]*>(.*?)</details>', body, re.S)
        url = detail_url(ticket, url_name)
        # htmx fetches the form when the agent opens it; without JavaScript the link opens it.
        assert f'hx-get="{url}"' in stub[0]
        assert 'hx-trigger="toggle once"' in stub[0]
        assert f'href="{url}"' in stub[1]
        assert field not in stub[1]
    # The pick lists (agents, groups) are not on the page at all.
    assert "Tom Tier-Two" not in body
    assert 'name="status"' in body  # the status and reply forms stay on the page
    assert 'name="body"' in body


@pytest.mark.parametrize(("url_name", "name", "field"), LAZY_ACTIONS)
def test_an_action_form_opens_in_place_with_htmx_and_as_a_page_without(
    agent, desk, url_name, name, field
):
    ticket = make_ticket(desk, group_id=desk.tier1.pk)
    url = detail_url(ticket, url_name)
    partial = agent.get(url, headers=HX)
    html = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith(f'<details id="action-{name}" class="action" open>')
    assert field in html
    assert f'name="version" value="{ticket.version}"' in html
    assert f'hx-post="{url}"' in html
    page = agent.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" in html
    assert f'<form method="post" action="{url}"' in html
    assert field in html
    assert f'href="{detail_url(ticket)}"' in html
    assert ticket.subject in html


def test_fast_select_renderer_writes_what_django_writes(desk):
    from frontline.tickets.forms import DeskChoices, QueueFilterForm, UpdateForm
    from frontline.tickets.tests.factories import CategoryFactory
    from frontline.tickets.views import FAST_SELECTS

    parent = CategoryFactory(name="Software & <Email>")
    CategoryFactory(name='Outlook "classic"', parent=parent)
    ticket = make_ticket(desk, category_id=parent.pk)
    choices = DeskChoices(desk.actor(desk.agent1))
    data = {"status": "open", "organization": str(desk.org_a.pk), "q": "x"}
    for slow, fast in [
        (
            QueueFilterForm(data, choices=choices),
            QueueFilterForm(data, choices=choices, renderer=FAST_SELECTS),
        ),
        (
            UpdateForm(ticket=ticket, choices=choices),
            UpdateForm(ticket=ticket, choices=choices, renderer=FAST_SELECTS),
        ),
    ]:
        for name in slow.fields:
            assert str(fast[name]) == str(slow[name]), name
    assert "&lt;Email&gt;" in str(fast["subcategory_id"])  # optgroup labels escaped


def test_assign_form_lists_the_groups_and_agents(agent, desk):
    ticket = make_ticket(desk, group_id=desk.tier1.pk)
    html = agent.get(detail_url(ticket, "ticket-assign"), headers=HX).content.decode()
    assert "Tom Tier-Two" in html
    assert f'<option value="{desk.tier2.pk}">' in html


def test_action_forms_of_another_organisations_ticket_are_404(client, desk):
    theirs = make_ticket(desk, requester=desk.user_b)
    client.force_login(desk.agent_a)
    for url_name, _name, _field in LAZY_ACTIONS:
        assert client.get(detail_url(theirs, url_name), headers=HX).status_code == 404
        assert client.get(detail_url(theirs, url_name)).status_code == 404


def test_failed_action_without_js_shows_its_form_open_on_the_ticket_page(agent, desk):
    ticket = make_ticket(desk)
    response = agent.post(detail_url(ticket, "ticket-merge"), {"version": ticket.version})
    assert response.status_code == 422
    body = response.content.decode()
    merge = found(r'<details id="action-merge"[^>]*>(.*?)</details>', body, re.S)
    assert " open" in merge[0]
    assert 'name="target"' in merge[1]
    assert 'hx-get="' in found(r'<details id="action-assign"[^>]*>', body)[0]


def test_illegal_status_change_is_422_with_the_workflow_message(agent, desk):
    ticket = make_ticket(desk)
    response = agent.post(
        detail_url(ticket, "ticket-transition"), {"version": ticket.version, "status": "closed"}
    )
    assert response.status_code == 422
    assert "A ticket cannot go from new to closed." in response.content.decode()
    assert fresh(ticket).status == "new"
    assert fresh(ticket).version == ticket.version


def test_status_select_offers_only_allowed_moves(agent, desk):
    ticket = make_ticket(desk)
    body = agent.get(detail_url(ticket)).content.decode()
    select = found(r'<select name="status"[^>]*>(.*?)</select>', body, re.S)[1]
    assert 'value="in_progress"' in select
    assert 'value="closed"' not in select


def test_resolving_needs_a_code_and_then_records_it(agent, desk):
    ticket = make_ticket(desk)
    url = detail_url(ticket, "ticket-transition")
    response = agent.post(url, {"version": ticket.version, "status": "resolved"})
    assert response.status_code == 422
    assert "Choose a resolution code." in response.content.decode()
    response = agent.post(
        url,
        {
            "version": ticket.version,
            "status": "resolved",
            "resolution_code": "solved_remotely",
            "resolution_notes": "Reset the profile.",
        },
    )
    assert response.status_code == 302
    body = agent.get(detail_url(ticket)).content.decode()
    assert "Tess Tier-One resolved the ticket: Solved (remotely)" in body
    assert "Reset the profile." in body


def test_stale_version_is_409_and_overwrites_nothing(client, desk):
    ticket = make_ticket(desk)
    seen = ticket.version
    client.force_login(desk.agent1)
    first = client.post(
        detail_url(ticket, "ticket-assign"), {"version": seen, "group_id": desk.tier2.pk}
    )
    assert first.status_code == 302
    client.force_login(desk.agent2)
    second = client.post(
        detail_url(ticket, "ticket-update"),
        {"version": seen, "subject": "Overwritten?", "type": "incident", "impact": 1, "urgency": 1},
        headers=HX,
    )
    assert second.status_code == 409
    body = second.content.decode()
    assert CONFLICT in body
    assert "Reload to see their changes." in body
    assert f'href="{detail_url(ticket)}"' in body
    after = fresh(ticket)
    assert (after.subject, after.impact, after.group_id) == (
        "Outlook keeps crashing",
        3,
        desk.tier2.pk,
    )


def test_stale_version_without_js_shows_the_page_with_the_conflict(agent, desk):
    ticket = make_ticket(desk)
    agent.post(
        detail_url(ticket, "ticket-transition"),
        {"version": ticket.version, "status": "in_progress"},
    )
    response = agent.post(
        detail_url(ticket, "ticket-transition"),
        {"version": ticket.version, "status": "pending_customer"},
    )
    assert response.status_code == 409
    assert CONFLICT in response.content.decode()
    assert fresh(ticket).status == "in_progress"


def test_edit_fields_recomputes_priority(agent, desk):
    ticket = make_ticket(desk)
    response = agent.post(
        detail_url(ticket, "ticket-update"),
        {
            "version": ticket.version,
            "subject": ticket.subject,
            "type": "incident",
            "impact": 1,
            "urgency": 2,
            "affected_service": "Exchange",
            "location": "HQ 3rd floor",
        },
    )
    assert response.status_code == 302
    after = fresh(ticket)
    assert (after.priority, after.affected_service, after.location) == (
        2,
        "Exchange",
        "HQ 3rd floor",
    )
    body = agent.get(detail_url(ticket)).content.decode()
    assert "Tess Tier-One changed impact from 3 - Low to 1 - High" in body


def test_merge_into_another_ticket_by_number(agent, desk):
    duplicate = make_ticket(desk, subject="Outlook broken", requester=desk.user_a2)
    original = make_ticket(desk, subject="Outlook crashes")
    response = agent.post(
        detail_url(duplicate, "ticket-merge"),
        {"version": duplicate.version, "target": original.number.lower()},
    )
    assert response.status_code == 302
    after = fresh(duplicate)
    assert (after.status, after.duplicate_of_id) == ("closed", original.pk)
    unknown = agent.post(
        detail_url(original, "ticket-merge"), {"version": original.version, "target": "INC-999999"}
    )
    assert unknown.status_code == 422
    assert "No ticket INC-999999 was found." in unknown.content.decode()


def test_merge_target_of_another_organisation_is_not_revealed(client, desk):
    ours = make_ticket(desk)
    theirs = make_ticket(desk, requester=desk.user_b)
    client.force_login(desk.agent_a)
    response = client.post(
        detail_url(ours, "ticket-merge"), {"version": ours.version, "target": theirs.number}
    )
    assert response.status_code == 422
    assert f"No ticket {theirs.number} was found." in response.content.decode()
    assert fresh(ours).status == "new"


def test_set_parent_and_see_the_link_both_ways(agent, desk):
    parent = make_ticket(desk, subject="Mail server down")
    child = make_ticket(desk, subject="Cannot send mail")
    response = agent.post(
        detail_url(child, "ticket-link-parent"), {"version": child.version, "parent": parent.number}
    )
    assert response.status_code == 302
    assert fresh(child).parent_id == parent.pk
    assert parent.number in agent.get(detail_url(child)).content.decode()
    assert child.number in agent.get(detail_url(parent)).content.decode()


def test_add_and_remove_a_watcher(agent, desk):
    ticket = make_ticket(desk)
    add = agent.post(
        detail_url(ticket, "watcher-add"), {"version": ticket.version, "user_id": desk.user_a2.pk}
    )
    assert add.status_code == 302
    assert list(fresh(ticket).watchers.all()) == [desk.user_a2]
    outsider = agent.post(
        detail_url(ticket, "watcher-add"), {"version": ticket.version, "user_id": desk.user_b.pk}
    )
    assert outsider.status_code == 422
    assert "Watchers must belong to the ticket&#x27;s organisation." in outsider.content.decode()
    remove = agent.post(
        detail_url(ticket, "watcher-remove"),
        {"version": ticket.version, "user_id": desk.user_a2.pk},
        headers=HX,
    )
    assert remove.status_code == 200
    assert not fresh(ticket).watchers.exists()


def test_user_text_is_rendered_escaped(agent, desk):
    script = "<script>alert(1)</script>"
    ticket = make_ticket(desk, subject=f"Help {script}", description=f"Desc {script}")
    services.comment_add(actor=desk.actor(desk.agent1), ticket=ticket, body=f"Hi {script}")
    services.comment_add(
        actor=desk.actor(desk.agent1), ticket=ticket, body="[x](javascript:alert(1))"
    )
    for url in (detail_url(ticket), reverse("tickets:queue")):
        body = agent.get(url).content.decode()
        assert script not in body
        assert "javascript:alert" not in body
    body = agent.get(detail_url(ticket)).content.decode()
    assert "Help &lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize("events", [2, 40])
def test_ticket_page_query_count_does_not_grow_with_events(
    agent, desk, events, django_assert_max_num_queries
):
    ticket = make_ticket(desk, group_id=desk.tier1.pk)
    actor = desk.actor(desk.agent1)
    for n in range(events):
        upload = SimpleUploadedFile(f"f{n}.txt", b"x", content_type="text/plain")
        services.comment_add(
            actor=actor,
            ticket=ticket,
            body=f"Note {n}",
            is_internal=n % 2 == 0,
            files=[services.NewFile(f"f{n}.txt", content=upload)],
        )
    services.watcher_add(actor=actor, ticket=ticket, user_id=desk.user_a2.pk)
    child = make_ticket(desk, subject="Child")
    services.ticket_link_parent(actor=actor, ticket=child, parent=fresh(ticket))
    services.ticket_escalate(
        actor=actor,
        ticket=fresh(ticket),
        expected_version=fresh(ticket).version,
        symptoms="Slow",
        steps_tried=["Rebooted"],
    )
    # The ticket's organisation, group, categories and SLA policy and calendar come from the
    # process's configuration cache: the first page after a configuration change reads those
    # tables once (at most 5 queries), later pages not at all.
    with django_assert_max_num_queries(12 + 5):
        assert agent.get(detail_url(ticket)).status_code == 200
    # Session and actor (3), ticket (1), children and duplicates (1), watchers (1), timeline
    # with the handoff (4), SLA calendar hours and holidays (2): none of them per event. (Category
    # names are read only when an event names a category.)
    with django_assert_max_num_queries(12):
        response = agent.get(detail_url(ticket))
    assert response.status_code == 200


# --- phone log -------------------------------------------------------------------------------


def phone_data(desk, **extra):
    data = {
        "subject": "Cannot log in to SAP",
        "requester_id": desk.user_a.pk,
        "description": "Password expired.",
        "type": "incident",
        "impact": 3,
        "urgency": 3,
        "channel": "phone",
    }
    return data | extra


def test_phone_log_form_defaults(agent, desk):
    body = agent.get(reverse("tickets:phone-log")).content.decode()
    assert re.search(r'<input type="text" name="subject"[^>]*autofocus', body)
    assert re.search(r'<option value="phone" selected>', body)
    assert re.search(r'<optgroup label="Acme Corp">', body)
    assert "Alice Acme" in body


def test_phone_log_creates_a_ticket_and_redirects_to_it(agent, desk):
    response = agent.post(reverse("tickets:phone-log"), phone_data(desk))
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(ticket)
    assert (ticket.channel, ticket.status, ticket.requester_id) == ("phone", "new", desk.user_a.pk)


def test_phone_log_resolved_on_the_call_is_first_contact_resolution(agent, desk):
    response = agent.post(
        reverse("tickets:phone-log"),
        phone_data(
            desk,
            resolved_on_call="on",
            resolution_code="solved_remotely",
            resolution_notes="Reset the password with the caller.",
        ),
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.status == "resolved"
    assert ticket.first_contact_resolution is True
    assert ticket.resolved_by_id == desk.agent1.pk


def test_phone_log_resolved_without_a_code_creates_nothing(agent, desk):
    response = agent.post(reverse("tickets:phone-log"), phone_data(desk, resolved_on_call="on"))
    assert response.status_code == 422
    assert "Choose how it was resolved." in response.content.decode()
    assert not Ticket.objects.exists()


def test_phone_log_for_a_requester_of_an_unserved_organisation_is_422(client, desk):
    client.force_login(desk.agent_a)
    response = client.post(
        reverse("tickets:phone-log"), phone_data(desk, requester_id=desk.user_b.pk)
    )
    assert response.status_code == 422
    assert "Unknown requester." in response.content.decode()
    assert not Ticket.objects.exists()


def test_requester_search_returns_matching_options(client, desk):
    client.force_login(desk.agent_a)
    url = reverse("tickets:requester-search")
    body = client.get(url, {"q": "acme"}, headers=HX).content.decode()
    assert "Alice Acme" in body
    assert "<option" in body
    assert "Bob Globex" not in client.get(url, {"q": "bob"}).content.decode()
    assert "Alice Acme" in client.get(url, {"q": "alice@acme"}).content.decode()


# --- attachments -----------------------------------------------------------------------------


def _attach(desk, ticket, name, content, content_type, *, internal=False, actor_user=None):
    comment = services.comment_add(
        actor=desk.actor(actor_user or desk.agent1),
        ticket=ticket,
        body="file",
        is_internal=internal,
        files=[
            services.NewFile(
                name,
                content=SimpleUploadedFile(name, content, content_type=content_type),
                content_type=content_type,
            )
        ],
    )
    return comment.attachments.get()


def _download(client, ticket, attachment):
    return client.get(reverse("tickets:attachment-download", args=[ticket.number, attachment.uid]))


def test_attachment_download_is_a_download_and_never_rendered(agent, desk):
    ticket = make_ticket(desk)
    page = _attach(desk, ticket, "evil.html", b"<script>alert(1)</script>", "text/html")
    response = _download(agent, ticket, page)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="evil.html"' in response["Content-Disposition"]
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    svg = _attach(desk, ticket, "logo.svg", b"<svg onload=alert(1)/>", "image/svg+xml")
    assert _download(agent, ticket, svg)["Content-Type"] == "application/octet-stream"
    png = _attach(desk, ticket, "shot.png", b"\x89PNG", "image/png")
    response = _download(agent, ticket, png)
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")


def test_end_user_downloads_public_attachments_of_own_tickets_only(client, desk):
    own = make_ticket(desk, requester=desk.user_a)
    public = _attach(desk, own, "guide.pdf", b"%PDF", "application/pdf")
    internal = _attach(desk, own, "notes.txt", b"secret", "text/plain", internal=True)
    foreign_ticket = make_ticket(desk, requester=desk.user_b)
    foreign = _attach(desk, foreign_ticket, "globex.txt", b"theirs", "text/plain")
    client.force_login(desk.user_a)
    assert _download(client, own, public).status_code == 200
    assert _download(client, own, internal).status_code == 404
    assert _download(client, foreign_ticket, foreign).status_code == 404
    # Another ticket's attachment through your own ticket's URL: also not found.
    url = reverse("tickets:attachment-download", args=[own.number, foreign.uid])
    assert client.get(url).status_code == 404
