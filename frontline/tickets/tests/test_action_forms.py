"""An action's form, drawn open wherever it appears (its own page, the htmx fragment, the ticket
page after a failed post without JavaScript), posts back to that action's URL under its label."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from frontline.tickets import services

HX = {"HX-Request": "true"}

# (URL posted to, the form it fails into, the label, the URL that form posts to)
ACTIONS = [
    ("ticket-assign", "assign", "Assign", "ticket-assign"),
    ("ticket-escalate", "escalate", "Escalate", "ticket-escalate"),
    ("ticket-update", "edit", "Edit details", "ticket-update"),
    ("ticket-merge", "merge", "Merge into another ticket", "ticket-merge"),
    ("ticket-link-parent", "parent", "Set parent", "ticket-link-parent"),
    ("watcher-add", "watcher", "Add a watcher", "watcher-add"),
    ("watcher-remove", "watcher", "Add a watcher", "watcher-add"),
]


@pytest.fixture
def agent(client, desk):
    client.force_login(desk.agent1)
    return client


@pytest.fixture
def ticket(desk):
    return services.ticket_create(
        actor=desk.actor(desk.agent1),
        requester_id=desk.user_a.pk,
        subject="Outlook keeps crashing",
        group_id=desk.tier1.pk,
    )


def _url(ticket, name):
    return reverse(f"tickets:{name}", args=[ticket.number])


def _open_form(html, name):
    match = re.search(
        rf'<details id="action-{name}" class="action" open>(.*?)</details>', html, re.S
    )
    assert match is not None, f"no open form {name}"
    return match[1]


def _posts_to(form_html, url, label):
    assert f"<summary>{label}</summary>" in form_html
    assert f'<form method="post" action="{url}"' in form_html
    assert f'hx-post="{url}"' in form_html


@pytest.mark.parametrize(("posted", "name", "label", "target"), ACTIONS)
def test_a_failed_post_without_javascript_shows_the_form_open_on_the_ticket_page(
    agent, ticket, posted, name, label, target
):
    response = agent.post(_url(ticket, posted), {"version": 0})  # not a version: invalid
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" in html
    _posts_to(_open_form(html, name), _url(ticket, target), label)


@pytest.mark.parametrize(("posted", "name", "label", "target"), ACTIONS)
def test_a_failed_htmx_post_answers_with_the_form_alone(agent, ticket, posted, name, label, target):
    response = agent.post(_url(ticket, posted), {"version": 0}, headers=HX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#action-{name}"
    html = response.content.decode()
    assert html.startswith(f'<details id="action-{name}" class="action" open>')
    assert html.count("<details") == 1
    _posts_to(_open_form(html, name), _url(ticket, target), label)


@pytest.mark.parametrize(("posted", "name", "label", "target"), ACTIONS[:6])
def test_an_action_page_is_titled_by_its_label(agent, ticket, posted, name, label, target):
    html = agent.get(_url(ticket, posted)).content.decode()
    assert f"<title>{label}: {ticket.number} {ticket.subject}" in html
    assert f'<section class="card actions" aria-label="{label}">' in html
    _posts_to(_open_form(html, name), _url(ticket, target), label)


def test_a_stale_version_is_a_conflict_in_the_form_that_was_sent(agent, ticket):
    stale = agent.post(
        _url(ticket, "ticket-assign"),
        {"version": ticket.version + 5, "group_id": ticket.group_id},
        headers=HX,
    )
    assert stale.status_code == 409
    assert "This ticket was changed by someone else" in _open_form(stale.content.decode(), "assign")
