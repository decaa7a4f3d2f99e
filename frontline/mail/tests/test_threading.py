"""Replies by mail: In-Reply-To, References, the ticket number in the subject, who may reply,
closed tickets, and never across organisations."""

from __future__ import annotations

import pytest

from frontline.accounts.models import User
from frontline.mail.ingest import ingest_message
from frontline.mail.tests.conftest import outbound_for, part, ticket_for
from frontline.tickets import services
from frontline.tickets.models import Attachment, Comment, Ticket

pytestmark = pytest.mark.django_db


def _reply(make_mail, mailbox, **kwargs):
    kwargs.setdefault("subject", "Re: VPN drops every hour")
    kwargs.setdefault("body", "It happened again at 10:15.\n\n> quoted earlier text")
    return ingest_message(make_mail(**kwargs), source="pipe", mailbox=mailbox)


def test_in_reply_to_our_notification_adds_a_public_reply_as_the_requester(
    desk, mailbox, make_mail
):
    ticket = ticket_for(desk)
    outbound_for(ticket, message_id="<out-1@frontline.test>")
    result = _reply(make_mail, mailbox, headers={"In-Reply-To": "<out-1@frontline.test>"})
    assert result.outcome == "reply", result.reason
    comment = result.inbound.comment
    assert comment.ticket == ticket
    assert comment.author == desk.user_a
    assert not comment.is_internal
    assert comment.channel == Ticket.Channel.EMAIL
    assert "It happened again at 10:15." in comment.body
    assert "> quoted earlier text" in result.inbound.body_text
    assert Ticket.objects.count() == 1


def test_references_find_the_ticket_even_when_in_reply_to_is_unknown(desk, mailbox, make_mail):
    ticket = ticket_for(desk)
    outbound_for(ticket, message_id="<out-2@frontline.test>")
    result = _reply(
        make_mail,
        mailbox,
        headers={
            "In-Reply-To": "<someone-elses@client.example>",
            "References": "<root@client.example> <out-2@frontline.test> <x@client.example>",
        },
    )
    assert result.outcome == "reply"
    assert result.inbound.ticket == ticket


def test_a_reply_to_the_message_that_opened_the_ticket_threads_too(desk, mailbox, make_mail):
    first = ingest_message(
        make_mail(message_id="<opening@client.example>"), source="pipe", mailbox=mailbox
    )
    result = _reply(
        make_mail,
        mailbox,
        sender="arnold@acme.example",
        headers={"References": "<opening@client.example>"},
    )
    assert result.outcome == "reply"
    assert result.inbound.ticket == first.inbound.ticket
    # A colleague of the requester, copied on the thread: a public reply as them.
    assert result.inbound.comment.author == desk.user_a2


def test_the_ticket_number_in_the_subject_threads_the_reply(desk, mailbox, make_mail):
    ticket = ticket_for(desk)
    result = _reply(make_mail, mailbox, subject=f"RE: [{ticket.number}] VPN drops every hour")
    assert result.outcome == "reply"
    assert result.inbound.ticket == ticket


def test_an_agent_replying_by_mail_adds_a_public_reply_as_the_agent(desk, mailbox, make_mail):
    ticket = ticket_for(desk)
    result = _reply(make_mail, mailbox, sender=desk.agent2.email, subject=f"[{ticket.number}]")
    assert result.outcome == "reply"
    comment = result.inbound.comment
    assert comment.author == desk.agent2
    assert not comment.is_internal
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None


def test_an_agent_who_does_not_serve_the_organisation_may_not_reply(desk, mailbox_b, make_mail):
    ticket = ticket_for(desk, requester=desk.user_b)
    result = _reply(
        make_mail,
        mailbox_b,
        sender=desk.agent_a.email,
        to="help@globex.example",
        subject=f"[{ticket.number}]",
    )
    assert result.outcome == "rejected"
    assert not Comment.objects.filter(ticket=ticket).exists()


def test_an_unknown_person_of_the_organisation_on_the_thread_is_added_and_replies(
    desk, mailbox, make_mail
):
    ticket = ticket_for(desk)
    result = _reply(
        make_mail, mailbox, sender='"Dan Dev" <dan@acme.example>', subject=f"[{ticket.number}]"
    )
    assert result.outcome == "reply"
    dan = User.objects.get(email="dan@acme.example")
    assert dan.organization == desk.org_a
    assert result.inbound.comment.author == dan


def test_a_requester_reply_to_a_pending_ticket_puts_it_back_in_progress(desk, mailbox, make_mail):
    ticket = ticket_for(desk)
    services.ticket_transition(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        status=Ticket.Status.ASSIGNED,
    )
    ticket.refresh_from_db()
    services.ticket_transition(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        expected_version=None,
        status=Ticket.Status.PENDING_CUSTOMER,
    )
    result = _reply(make_mail, mailbox, subject=f"[{ticket.number}]")
    assert result.outcome == "reply"
    ticket.refresh_from_db()
    assert ticket.status != Ticket.Status.PENDING_CUSTOMER


def test_a_reply_to_a_closed_ticket_opens_a_new_one_that_references_it(desk, mailbox, make_mail):
    ticket = ticket_for(desk)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
    result = _reply(make_mail, mailbox, subject=f"Re: [{ticket.number}] VPN drops every hour")
    assert result.outcome == "ticket"
    new = result.inbound.ticket
    assert new.pk != ticket.pk
    assert f"Follow-up to closed ticket {ticket.number}" in new.description
    assert new.requester == desk.user_a
    assert not Comment.objects.filter(ticket=ticket).exists()


def test_inline_images_of_a_reply_are_mapped_to_its_attachments(desk, mailbox):
    from email.message import EmailMessage

    ticket = ticket_for(desk)
    msg = EmailMessage()
    msg["From"] = "alice@acme.example"
    msg["To"] = "help@acme.example"
    msg["Subject"] = f"Re: [{ticket.number}]"
    msg.set_content("screenshot")
    msg.add_alternative('<img src="cid:s1@x">', subtype="html")
    part(msg, 1).add_related(b"img", maintype="image", subtype="png", cid="<s1@x>")
    result = ingest_message(msg.as_bytes(), source="pipe", mailbox=mailbox)
    assert result.outcome == "reply"
    (att,) = Attachment.objects.filter(comment=result.inbound.comment)
    assert result.inbound.inline_images == {"s1@x": att.pk}
