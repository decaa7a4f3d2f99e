"""Mail in the desk and the portal: received messages on the ticket timeline (sanitised HTML,
inline images, folded quotes), the original .eml download, and the failed-mail list."""

from __future__ import annotations

import gzip
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from frontline.accounts.models import User
from frontline.mail.models import FailedMail
from frontline.mail.tests.ui_factories import (
    PIXEL_PNG,
    InlineImage,
    Sent,
    failed_mail,
    html_part,
    mail_reply,
    mail_ticket,
    mailbox_for,
)
from frontline.tickets.models import Attachment, Ticket
from frontline.tickets.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

HTML = (
    '<p>Hello, the <b>printer</b> shows <img src="cid:error-photo@acme" alt="the error"></p>'
    "<p>Thanks,<br>Alice</p>"
    "<div>On Mon, 3 Nov 2026 at 09:12, Support &lt;help@frontline.test&gt; wrote:</div>"
    "<blockquote><p>Has the printer been restarted since Friday?</p></blockquote>"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def desk_page(user: User, ticket: Ticket) -> str:
    response = signed_in(user).get(reverse("tickets:ticket-detail", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def portal_page(user: User, ticket: Ticket) -> str:
    response = signed_in(user).get(reverse("portal:ticket-detail", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def html_mail(**extra) -> Sent:
    return Sent(
        subject="Printer error",
        text="Hello, the printer shows an error.",
        html=HTML,
        images=[InlineImage("error-photo@acme", "error.png")],
        **extra,
    )


def _mail_body(page: str) -> str:
    start = page.index('<div class="mail-body">')
    return page[start : page.index("</div>\n", start)]


# --- the timeline -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["desk", "portal"])
def test_a_ticket_opened_by_mail_shows_the_message_html(desk, where):
    ticket, _ = mail_ticket(desk, desk.user_a, html_mail())
    page = desk_page(desk.agent1, ticket) if where == "desk" else portal_page(desk.user_a, ticket)

    assert "Hello, the <b>printer</b> shows" in page
    assert "<p>Thanks,<br>Alice</p>" in page


@pytest.mark.parametrize("where", ["desk", "portal"])
def test_the_opening_message_is_the_description_and_is_not_repeated(desk, where):
    ticket, _ = mail_ticket(desk, desk.user_a, html_mail())
    page = desk_page(desk.agent1, ticket) if where == "desk" else portal_page(desk.user_a, ticket)
    description = page.split("Description</h2>", 1)[1].split("</section>", 1)[0]

    # The mail's HTML stands in for the plain-text description, once on the page.
    assert "Hello, the <b>printer</b> shows" in description
    assert page.count("the <b>printer</b> shows") == 1
    assert page.count("Thanks,<br>Alice") == 1
    assert "shown above, as the description" in page


@pytest.mark.parametrize("where", ["desk", "portal"])
def test_inline_images_point_at_the_attachment_download(desk, where):
    ticket, _ = mail_ticket(desk, desk.user_a, html_mail())
    user = desk.agent1 if where == "desk" else desk.user_a
    page = desk_page(user, ticket) if where == "desk" else portal_page(user, ticket)
    image = Attachment.objects.get(ticket=ticket, filename="error.png")
    url = reverse("tickets:attachment-download", args=[ticket.number, image.uid])

    assert f'<img src="{url}" alt="the error">' in page
    assert "cid:" not in page
    # The address works for the person who sees the page.
    response = signed_in(user).get(url)
    assert response.status_code == 200
    assert response.getvalue() == PIXEL_PNG


def test_end_users_get_no_address_for_an_internal_inline_image(desk):
    ticket, _ = mail_ticket(desk, desk.user_a)
    mail_reply(desk, ticket, desk.user_a, html_mail(), internal_images=True)
    image = Attachment.objects.get(ticket=ticket, filename="error.png")

    portal = portal_page(desk.user_a, ticket)
    assert "Hello, the <b>printer</b> shows" in portal
    assert str(image.uid) not in portal
    assert '<img alt="the error">' in portal  # the image without any source
    # Agents still see it.
    assert str(image.uid) in desk_page(desk.agent1, ticket)


@pytest.mark.parametrize("where", ["desk", "portal"])
def test_a_reply_by_mail_shows_its_html_with_quoted_history_folded(desk, where):
    ticket, _ = mail_ticket(desk, desk.user_a)
    mail_reply(desk, ticket, desk.user_a, html_mail())
    page = desk_page(desk.agent1, ticket) if where == "desk" else portal_page(desk.user_a, ticket)
    body = page[page.index("Hello, the <b>printer</b>") :]

    # The quote is still there, but inside a collapsed <details> after the message.
    details = re.search(r'<details class="mail-quote">(.*?)</details>', body, re.S)
    assert details is not None, body[:2000]
    assert "Has the printer been restarted since Friday?" in details.group(1)
    assert "wrote:" in details.group(1)
    assert "<summary>Show quoted text</summary>" in details.group(1)
    assert "Has the printer been restarted" not in body[: details.start()]
    assert '<details class="mail-quote" open' not in page


def test_a_plain_text_reply_is_escaped_with_signature_and_quotes_folded(desk):
    ticket, _ = mail_ticket(desk, desk.user_a)
    text = (
        "Still broken <b>after</b> the restart.\n\nAlice\n-- \nAlice Acme | Facilities\n\n"
        "On Mon, 3 Nov 2026, Support wrote:\n> Please restart it.\n"
    )
    mail_reply(desk, ticket, desk.user_a, Sent(text=text))
    for page in (desk_page(desk.agent1, ticket), portal_page(desk.user_a, ticket)):
        assert "Still broken &lt;b&gt;after&lt;/b&gt; the restart." in page
        signature = re.search(r'<details class="mail-signature">(.*?)</details>', page, re.S)
        quote = re.search(r'<details class="mail-quote">(.*?)</details>', page, re.S)
        assert signature is not None and "Alice Acme | Facilities" in signature.group(1)
        assert quote is not None and "&gt; Please restart it." in quote.group(1)
        assert "<b>after</b>" not in page


def test_the_stored_html_is_sanitised_again_on_render(desk):
    """Even a row holding unsafe HTML (written by an older version, say) renders inert."""
    ticket, mail = mail_ticket(desk, desk.user_a, html_mail())
    mail.body_html = (
        '<p onclick="alert(1)">Unsafe row</p><script>alert(2)</script>'
        '<a href="javascript:alert(3)">link</a><img src="https://tracker.example/p.gif">'
        '<style>p { color: red }</style><p style="background:url(x)">styled</p>'
    )
    mail.save(update_fields=["body_html"])
    for page in (desk_page(desk.agent1, ticket), portal_page(desk.user_a, ticket)):
        body = _mail_body(page)
        assert "Unsafe row" in body and "styled" in body
        for gone in ("onclick", "<script", "javascript:", "tracker.example", "<style", "style="):
            assert gone not in body, gone


def test_a_ticket_without_html_shows_the_text(desk):
    ticket, _ = mail_ticket(desk, desk.user_a, Sent(text="Line one\nLine <two>"))
    page = portal_page(desk.user_a, ticket)
    assert "Line one<br>\nLine &lt;two&gt;" in _mail_body(page)


def test_mail_on_the_timeline_costs_a_constant_number_of_queries(desk):
    def count(replies: int) -> int:
        ticket, _ = mail_ticket(desk, desk.user_a, html_mail())
        for n in range(replies):
            mail_reply(desk, ticket, desk.user_a, Sent(text=f"Reply {n}", html=f"<p>Reply {n}</p>"))
        client = signed_in(desk.agent1)
        url = reverse("tickets:ticket-detail", args=[ticket.number])
        client.get(url)  # warm up the session
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content.decode()
        assert page.count('<div class="mail-body">') == replies + 1
        return len(queries)

    assert count(1) == count(8)


# --- the original message --------------------------------------------------------------------


def test_agents_download_the_original_message(desk):
    ticket, mail = mail_ticket(desk, desk.user_a, html_mail())
    url = reverse("mail:inbound-raw", args=[mail.pk])
    assert f'href="{url}">Download original .eml</a>' in desk_page(desk.agent1, ticket)

    response = signed_in(desk.agent_a).get(url)

    assert response.status_code == 200
    content = response.getvalue()
    with mail.raw.open("rb") as stored:
        assert content == gzip.decompress(stored.read())
    assert content.startswith(b"From: Alice Acme <alice@acme.example>")
    assert response["Content-Disposition"] == f'attachment; filename="message-{mail.pk}.eml"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "message/rfc822"


def test_the_original_of_a_reply_is_downloadable_too(desk):
    ticket, _ = mail_ticket(desk, desk.user_a)
    _, reply = mail_reply(desk, ticket, desk.user_a, Sent(text="More detail", subject="Re: x"))
    response = signed_in(desk.agent1).get(reverse("mail:inbound-raw", args=[reply.pk]))
    assert response.status_code == 200
    assert b"More detail" in response.getvalue()


@pytest.mark.parametrize("who", ["user_a", "contact_a", "orgadmin_a"])
def test_end_users_cannot_download_the_original(desk, who):
    ticket, mail = mail_ticket(desk, desk.user_a, html_mail())
    assert "Download original" not in portal_page(getattr(desk, who), ticket)
    response = signed_in(getattr(desk, who)).get(reverse("mail:inbound-raw", args=[mail.pk]))
    assert response.status_code == 404


def test_other_organisations_agents_get_404_as_for_a_missing_message(desk):
    _, mail = mail_ticket(desk, desk.user_b, Sent(sender="bob@globex.example"))
    client = signed_in(desk.agent_a)  # serves organisation A only

    foreign = client.get(reverse("mail:inbound-raw", args=[mail.pk]))
    missing = client.get(reverse("mail:inbound-raw", args=[mail.pk + 1000]))

    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


def test_the_original_download_needs_a_session(desk):
    _, mail = mail_ticket(desk, desk.user_a)
    response = Client().get(reverse("mail:inbound-raw", args=[mail.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- failed mail -------------------------------------------------------------------------


def test_admins_see_the_failed_mail_list(desk):
    failed = failed_mail(mailbox_for(desk.org_a), subject="Quarterly <b>report</b>")
    response = signed_in(desk.admin).get(reverse("mail:failed-list"))

    assert response.status_code == 200
    page = response.content.decode()
    row = page[page.index(f'id="failed-{failed.pk}"') :]
    assert "Quarterly &lt;b&gt;report&lt;/b&gt;" in row
    assert "someone@acme.example" in row
    assert "Could not parse the MIME structure." in row
    assert reverse("mail:failed-raw", args=[failed.pk]) in row
    assert f'action="{reverse("mail:failed-retry", args=[failed.pk])}"' in row
    assert "csrfmiddlewaretoken" in row


def test_the_failed_mail_link_is_in_the_desk_navigation_for_admins_only(desk):
    url = reverse("mail:failed-list")
    admin_page = signed_in(desk.admin).get(reverse("tickets:queue")).content.decode()
    agent_page = signed_in(desk.agent1).get(reverse("tickets:queue")).content.decode()
    assert f'href="{url}"' in admin_page
    assert f'href="{url}"' not in agent_page


@pytest.mark.parametrize("who", ["agent1", "lead", "manager", "user_a", "orgadmin_a"])
def test_only_admins_may_open_retry_or_download_failed_mail(desk, who):
    failed = failed_mail(mailbox_for(desk.org_a))
    client = signed_in(getattr(desk, who))

    assert client.get(reverse("mail:failed-list")).status_code == 403
    assert client.get(reverse("mail:failed-raw", args=[failed.pk])).status_code == 403
    assert client.post(reverse("mail:failed-retry", args=[failed.pk])).status_code == 403
    failed.refresh_from_db()
    assert (failed.attempts, failed.resolved_at) == (1, None)


def test_an_admin_serving_some_organisations_sees_only_their_failed_mail(desk):
    admin_a = AgentFactory(
        email="admin-a@provider.test", role=User.Role.ADMIN, serves_all_organizations=False
    )
    admin_a.served_organizations.add(desk.org_a)
    own = failed_mail(mailbox_for(desk.org_a), subject="Acme failure")
    other = failed_mail(mailbox_for(desk.org_b), subject="Globex failure")
    unrouted = failed_mail(None, subject="Unrouted failure")
    client = signed_in(admin_a)

    page = client.get(reverse("mail:failed-list")).content.decode()
    assert "Acme failure" in page
    assert "Globex failure" not in page and "Unrouted failure" not in page
    for hidden in (other, unrouted):
        assert client.get(reverse("mail:failed-raw", args=[hidden.pk])).status_code == 404
        assert client.post(reverse("mail:failed-retry", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("mail:failed-raw", args=[own.pk])).status_code == 200
    # An admin of every organisation sees all three.
    page = signed_in(desk.admin).get(reverse("mail:failed-list")).content.decode()
    assert all(s in page for s in ("Acme failure", "Globex failure", "Unrouted failure"))


def test_admins_download_the_failed_original(desk):
    raw = b"Subject: broken\r\nContent-Type: multipart/mixed\r\n\r\n--no-boundary"
    failed = failed_mail(None, raw=raw)
    response = signed_in(desk.admin).get(reverse("mail:failed-raw", args=[failed.pk]))
    assert response.status_code == 200
    assert response.getvalue() == raw
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_retry_needs_a_csrf_token(desk):
    failed = failed_mail(mailbox_for(desk.org_a))
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.admin)
    assert client.post(reverse("mail:failed-retry", args=[failed.pk])).status_code == 403
    assert FailedMail.objects.get(pk=failed.pk).attempts == 1


def test_retry_is_post_only(desk):
    failed = failed_mail(mailbox_for(desk.org_a))
    response = signed_in(desk.admin).get(reverse("mail:failed-retry", args=[failed.pk]))
    assert response.status_code == 405


def test_admins_retry_a_failed_message_into_a_ticket(desk, mailbox, make_mail):
    raw = make_mail(subject="Scanner offline", body="The scanner on floor 2 is offline.")
    failed = failed_mail(mailbox, subject="Scanner offline", raw=raw)

    response = signed_in(desk.admin).post(
        reverse("mail:failed-retry", args=[failed.pk]), follow=True
    )

    assert response.redirect_chain == [(reverse("mail:failed-list"), 302)]
    ticket = Ticket.objects.get(subject="Scanner offline")
    assert ticket.channel == Ticket.Channel.EMAIL
    page = response.content.decode()
    assert f"“Scanner offline” was processed: ticket ({ticket.number})." in page
    assert f'id="failed-{failed.pk}"' not in page  # resolved: no longer waiting
    failed.refresh_from_db()
    assert failed.resolved_at is not None and failed.attempts == 2
    # Retrying it again (a second click) says so instead of failing.
    again = signed_in(desk.admin).post(reverse("mail:failed-retry", args=[failed.pk]), follow=True)
    assert "already processed" in again.content.decode()
    assert Ticket.objects.filter(subject="Scanner offline").count() == 1


def test_a_retry_that_fails_again_shows_the_reason(desk, make_mail):
    # No mailbox at all: the message still has nowhere to go.
    failed = failed_mail(None, subject="Nowhere", raw=make_mail(subject="Nowhere"))

    response = signed_in(desk.admin).post(
        reverse("mail:failed-retry", args=[failed.pk]), follow=True
    )

    page = response.content.decode()
    assert "“Nowhere” failed again: No active mailbox matches the recipients." in page
    failed.refresh_from_db()
    assert failed.attempts == 2 and failed.resolved_at is None
    assert f'id="failed-{failed.pk}"' in page


# --- through the real intake -----------------------------------------------------------------


def _html_message(*, subject: str, html: str, text: str, in_reply_to: str = "") -> bytes:
    from email.message import EmailMessage
    from email.utils import make_msgid

    msg = EmailMessage()
    msg["From"] = "Alice Acme <alice@acme.example>"
    msg["To"] = "help@acme.example"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="client.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    html_part(msg).add_related(PIXEL_PNG, "image", "png", cid="<error-photo@acme>")
    return msg.as_bytes()


def test_mail_through_ingest_shows_on_the_desk_and_the_portal(desk, mailbox):
    from frontline.mail.ingest import ingest_message

    raw = _html_message(subject="Printer error", html=HTML, text="Hello, the printer.")
    opened = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert opened.outcome == "ticket", opened.reason
    assert opened.inbound is not None and opened.inbound.ticket is not None
    ticket = opened.inbound.ticket
    reply_raw = _html_message(
        subject="Re: Printer error",
        html="<p>It is <i>still</i> broken.</p><script>alert(1)</script>",
        text="It is still broken.",
        in_reply_to=opened.inbound.message_id,
    )
    replied = ingest_message(reply_raw, source="pipe", mailbox=mailbox)
    assert replied.outcome == "reply", replied.reason

    image = Attachment.objects.filter(ticket=ticket, comment=None).get()
    url = reverse("tickets:attachment-download", args=[ticket.number, image.uid])
    for page in (desk_page(desk.agent1, ticket), portal_page(desk.user_a, ticket)):
        assert f'<img src="{url}" alt="the error">' in page
        assert "<p>It is <i>still</i> broken.</p>" in page
        assert "alert(1)" not in page
        quote = re.search(r'<details class="mail-quote">(.*?)</details>', page, re.S)
        assert quote is not None and "restarted since Friday" in quote.group(1)
    # The original comes back byte for byte.
    response = signed_in(desk.agent1).get(reverse("mail:inbound-raw", args=[opened.inbound.pk]))
    assert response.getvalue() == raw
