"""SECURITY.md 15: An uploaded .html or .svg: served with Content-Disposition: attachment and
nosniff.

Files that a browser would run in our origin (HTML, SVG, XHTML) are uploaded through every
upload entry point (portal new ticket and reply, desk reply, API) with the content type the
uploader claims, then downloaded by agents and the requester, from the desk's download URL and
the API's: always as an attachment, with
nosniff, a sandboxing CSP, and never with an active content type."""

from __future__ import annotations

from pathlib import Path

from django.urls import reverse

from frontline.tickets.models import Attachment, Ticket

from .conftest import signed_in, ticket_of, upload

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'

# (file name, claimed content type, bytes)
FILES = [
    ("page.html", "text/html", HTML),
    ("page.htm", "text/html; charset=utf-8", HTML),
    ("no-type.html", "", HTML),
    ("drawing.svg", "image/svg+xml", SVG),
    ("page.xhtml", "application/xhtml+xml", HTML),
    ("disguised.png", "text/html", HTML),
    ("disguised.svg", "image/png", SVG),
]
SAFE_TYPES = {"application/octet-stream", "image/png", "image/jpeg", "image/gif"}


def _assert_download(response, name: str) -> None:
    assert response.status_code == 200, name
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;"), name
    assert response["X-Content-Type-Options"] == "nosniff", name
    content_type = response["Content-Type"].split(";")[0].strip().lower()
    assert content_type in SAFE_TYPES, (name, content_type)
    assert "sandbox" in response["Content-Security-Policy"], name
    assert "default-src 'none'" in response["Content-Security-Policy"], name


def _uploads(desk, api_as) -> Ticket:
    """Upload every file through every entry point; returns the ticket they are on."""
    user = signed_in(desk.user_a)
    response = user.post(
        reverse("portal:ticket-create"),
        {
            "type": "incident",
            "subject": "Files",
            "description": "See attached.",
            "impact": 3,
            "urgency": 3,
            "attachments": [upload(f"portal-new-{n}", c, t) for n, t, c in FILES],
        },
    )
    assert response.status_code == 302, response.content
    ticket = Ticket.objects.get(subject="Files")
    response = user.post(
        reverse("portal:ticket-reply", args=[ticket.number]),
        {"body": "More", "attachments": [upload(f"portal-reply-{n}", c, t) for n, t, c in FILES]},
    )
    assert response.status_code == 302
    agent = signed_in(desk.agent1)
    response = agent.post(
        reverse("tickets:comment-add", args=[ticket.number]),
        {
            "visibility": "public",
            "body": "Here",
            "version": 1,
            "attachments": [upload(f"desk-{n}", c, t) for n, t, c in FILES],
        },
    )
    assert response.status_code == 302
    client = api_as(desk.agent1)
    for name, content_type, content in FILES:
        response = client.upload(
            f"/tickets/{ticket.number}/attachments",
            {"file": upload(f"api-{name}", content, content_type)},
        )
        assert response.status_code == 201
    return ticket


def test_active_files_are_only_ever_downloads(desk, api_as):
    ticket = _uploads(desk, api_as)
    attachments = list(Attachment.objects.filter(ticket=ticket))
    assert len(attachments) == 4 * len(FILES)
    requester, agent = signed_in(desk.user_a), signed_in(desk.agent_a)
    token = api_as(desk.user_a)
    for n, attachment in enumerate(attachments):
        # Stored under a random name without the user's extension.
        assert Path(attachment.file.name).suffix == ""
        url = reverse("tickets:attachment-download", args=[ticket.number, attachment.uid])
        client = (requester, agent)[n % 2]  # the requester, then an agent, then ...
        _assert_download(client.get(url), attachment.filename)
        api = token.get(f"/tickets/{ticket.number}/attachments/{attachment.uid}/download")
        _assert_download(api, attachment.filename)


def test_the_bytes_are_unchanged_and_the_name_kept_for_the_save_dialog(desk):
    ticket = ticket_of(desk, desk.user_a)
    agent = signed_in(desk.agent1)
    for name, content_type, content in FILES[:3]:
        response = agent.post(
            reverse("tickets:comment-add", args=[ticket.number]),
            {
                "visibility": "public",
                "body": name,
                "version": 1,
                "attachments": [upload(name, content, content_type)],
            },
        )
        assert response.status_code == 302
        attachment = Attachment.objects.get(ticket=ticket, filename=name)
        url = reverse("tickets:attachment-download", args=[ticket.number, attachment.uid])
        response = agent.get(url)
        _assert_download(response, name)
        assert response.getvalue() == content
        assert f'filename="{name}"' in response["Content-Disposition"]
