"""SECURITY.md 11 (mail): internal notes never reach anyone by mail.

Real mail through a local SMTP server: an internal note sends nothing to anybody (requester,
watchers, assignee); a later public reply mails only the reply; and a note's text appears in no
mail and no OutboundMail row."""

from __future__ import annotations

import pytest

from frontline.mail.models import NotificationTemplate, OutboundMail
from frontline.tickets import services

NOTE = "xyzzy-note: the user's mailbox is over quota"


@pytest.fixture
def ticket(desk, run):
    ticket = run(
        services.ticket_create,
        actor=desk.actor(desk.agent1),
        subject="Outlook crashes",
        requester_id=desk.user_a.pk,
        assignee_id=desk.agent1.pk,
    )
    for watcher in (desk.user_a2, desk.agent2):
        run(
            services.watcher_add,
            actor=desk.actor(desk.agent1),
            ticket=ticket,
            user_id=watcher.pk,
        )
    return ticket


def _add_note(run, desk, ticket):
    run(
        services.comment_add,
        actor=desk.actor(desk.agent2),
        ticket=ticket,
        body=NOTE,
        is_internal=True,
    )


def test_internal_note_sends_no_mail_to_anyone(desk, sink, run, ticket):
    sink.handler.received.clear()
    before = OutboundMail.objects.count()

    _add_note(run, desk, ticket)

    assert sink.received == []
    assert OutboundMail.objects.count() == before


def test_note_text_never_appears_in_later_mail(desk, sink, run, ticket):
    # An organisation template that asks for every field it can think of.
    NotificationTemplate.objects.create(
        organization=desk.org_a,
        event="reply",
        subject="{{ number }} {{ note }} {{ notes }} {{ comments }}",
        body="{{ reply_text }} | {{ note }} {{ internal }} {{ ticket.comments }} {{ comment }}",
    )
    _add_note(run, desk, ticket)
    sink.handler.received.clear()

    run(
        services.comment_add,
        actor=desk.actor(desk.agent2),
        ticket=ticket,
        body="We are looking at it.",
    )

    assert sorted(r for m in sink.received for r in m.rcpt_tos) == [
        "alice@acme.example",
        "arnold@acme.example",
        "t1@provider.test",
    ]
    for received in sink.received:
        assert b"We are looking at it." in received.raw
        assert b"xyzzy" not in received.raw
    assert not OutboundMail.objects.filter(body_text__contains="xyzzy").exists()
    assert not OutboundMail.objects.filter(subject__contains="xyzzy").exists()
