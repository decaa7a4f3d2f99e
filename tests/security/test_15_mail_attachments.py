"""SECURITY.md 15, for mail: an .html or .svg that arrives attached to (or inline in) a mail is
served with Content-Disposition: attachment and nosniff, never with an active content type, to
agents and to the requester alike; and so are the original messages (.eml) the desk offers.

The messages go through the real intake (ingest_message), which stores the parts as ticket
attachments with the content type the sender claimed."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from django.urls import reverse

from frontline.mail.ingest import ingest_message
from frontline.mail.models import Mailbox
from frontline.mail.tests.ui_factories import failed_mail, html_part, mailbox_for
from frontline.tickets.models import Attachment

from .conftest import signed_in
from .test_15_uploaded_html_svg import FILES, HTML, SVG, _assert_download


def _message(mailbox: Mailbox, *, in_reply_to: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice Acme <alice@acme.example>"
    msg["To"] = mailbox.address
    msg["Subject"] = "Files from the printer vendor"
    msg["Message-ID"] = make_msgid(domain="client.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content("See the attached files.")
    msg.add_alternative('<p>See the drawing: <img src="cid:drawing@vendor"></p>', subtype="html")
    # An SVG shown inline (a multipart/related part referenced by cid:).
    html_part(msg).add_related(SVG, "image", "svg+xml", cid="<drawing@vendor>")
    for name, content_type, content in FILES:
        maintype, subtype = (content_type or "application/octet-stream").split(";")[0].split("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def _assert_eml(response, name: str) -> None:
    assert response.status_code == 200, name
    assert response["Content-Disposition"].startswith("attachment;"), name
    assert response["X-Content-Type-Options"] == "nosniff", name
    assert response["Content-Type"] == "message/rfc822", name
    assert "sandbox" in response["Content-Security-Policy"], name
    assert "default-src 'none'" in response["Content-Security-Policy"], name


def test_mail_attachments_are_only_ever_downloads(desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    mailbox = mailbox_for(desk.org_a)
    opened = ingest_message(_message(mailbox), source="pipe", mailbox=mailbox)
    assert opened.outcome == "ticket", opened.reason
    assert opened.inbound is not None and opened.inbound.ticket is not None
    ticket = opened.inbound.ticket
    replied = ingest_message(
        _message(mailbox, in_reply_to=opened.inbound.message_id), source="pipe", mailbox=mailbox
    )
    assert replied.outcome == "reply", replied.reason
    assert replied.inbound is not None

    attachments = list(Attachment.objects.filter(ticket=ticket))
    # Every file of both messages, plus each message's inline drawing.
    assert len(attachments) == 2 * (len(FILES) + 1)
    requester, agent = signed_in(desk.user_a), signed_in(desk.agent_a)
    for attachment in attachments:
        url = reverse("tickets:attachment-download", args=[ticket.number, attachment.uid])
        for client in (requester, agent):
            response = client.get(url)
            _assert_download(response, attachment.filename)
            content = response.getvalue()
            assert content in {HTML, SVG}, attachment.filename
            # An SVG is never served as one: the browser would run its script in our origin.
            assert not response["Content-Type"].startswith("image/svg"), attachment.filename

    # The inline drawing is shown through that same download, on both pages.
    inline = [opened.inbound.inline_images["drawing@vendor"]]
    inline.append(replied.inbound.inline_images["drawing@vendor"])
    drawings = Attachment.objects.filter(pk__in=inline, content_type="image/svg+xml")
    assert len(drawings) == 2
    for page_url, client in (
        (reverse("tickets:ticket-detail", args=[ticket.number]), agent),
        (reverse("portal:ticket-detail", args=[ticket.number]), requester),
    ):
        page = client.get(page_url).content.decode()
        for drawing in drawings:
            src = reverse("tickets:attachment-download", args=[ticket.number, drawing.uid])
            assert f'<img src="{src}">' in page, page_url
        assert "cid:" not in page


def test_original_messages_are_only_ever_downloads(desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    mailbox = mailbox_for(desk.org_a)
    raw = _message(mailbox)
    opened = ingest_message(raw, source="pipe", mailbox=mailbox)
    assert opened.inbound is not None
    response = signed_in(desk.agent1).get(reverse("mail:inbound-raw", args=[opened.inbound.pk]))
    _assert_eml(response, "received")
    assert response.getvalue() == raw

    failed = failed_mail(mailbox, raw=HTML)  # an "original" that is really an HTML page
    response = signed_in(desk.admin).get(reverse("mail:failed-raw", args=[failed.pk]))
    _assert_eml(response, "failed")
    assert response.getvalue() == HTML
