"""SECURITY.md 14 (mail): markup in a subject, a person's name or a reply stays inert in every
notification: the text part carries it as text, the HTML alternative escapes it."""

from __future__ import annotations

from frontline.accounts.models import User
from frontline.mail.models import Mailbox
from frontline.mail.tests import smtp_sink
from frontline.tickets import services

sink = smtp_sink.sink
SUBJECT = '<script>alert("subject")</script> printer'
NAME = '<img src=x onerror=alert("name")>'
REPLY = '<a href="javascript:alert(1)">click</a> <b onmouseover=alert(2)>hi</b>'


def _html_of(received) -> str:
    return received.message.get_body(("html",)).get_content()


def test_markup_in_subject_name_and_reply_is_escaped_in_the_html_part(desk, sink, run):
    User.objects.filter(pk=desk.user_a.pk).update(full_name=NAME)
    User.objects.filter(pk=desk.agent1.pk).update(full_name='<svg onload=alert("agent")>')
    Mailbox.objects.create(
        name="Acme",
        address="help@acme.example",
        organization=desk.org_a,
        from_name='<b>Acme</b> "desk"',
    )
    ticket = run(services.ticket_create, actor=desk.actor(desk.user_a), subject=SUBJECT)
    run(services.comment_add, actor=desk.actor(desk.agent1), ticket=ticket, body=REPLY)

    ack, reply = sink.to("alice@acme.example")
    for received in (ack, reply):
        html = _html_of(received)
        for raw in ("<script", "<img", "<svg", "<b>", '<a href="javascript'):
            assert raw not in html, (raw, html)
        assert "&lt;script&gt;" in html
        assert "&lt;img src=x onerror=alert(&quot;name&quot;)&gt;" in html
        # The text part shows what was typed, as text.
        assert SUBJECT in received.message.get_body(("plain",)).get_content()
        # The name in From is a quoted display name, not markup or extra headers.
        assert received.message["From"].addresses[0].display_name == '<b>Acme</b> "desk"'
    assert "&lt;a href=&quot;javascript:alert(1)&quot;&gt;" in _html_of(reply)
    assert "&lt;svg onload=alert(&quot;agent&quot;)&gt;" in _html_of(reply)
