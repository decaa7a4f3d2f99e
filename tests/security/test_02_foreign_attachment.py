"""SECURITY.md 2: A's user fetches B's attachment or inline image: 404. Files are served only
through a view that checks the ticket; never from a public media URL; identifiers are random.

(Frontline has no inline images: Markdown is rendered without <img>. Every file is an
attachment, downloaded through tickets:attachment-download.)"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views import static

from frontline.tickets.models import Attachment

from .conftest import attach, signed_in, ticket_of


@pytest.fixture
def foreign_file(desk) -> Attachment:
    ticket = ticket_of(desk, desk.user_b, subject="Globex salaries")
    return attach(desk, ticket, "salaries-2026.txt", content=b"GLOBEX SECRET")


def _download(client, ref: str, uid: object):
    return client.get(reverse("tickets:attachment-download", args=[ref, uid]))


def _patterns(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_identifiers_and_stored_names_are_random(desk):
    ticket = ticket_of(desk, desk.user_a)
    files = [attach(desk, ticket, "invoice.pdf") for _ in range(3)]
    uids = {f.uid for f in files}
    assert len(uids) == 3
    for f in files:
        assert isinstance(f.uid, uuid.UUID)
        assert f.uid.version == 4
        stored = Path(f.file.name)
        # The user's file name is kept in the database only; the stored name is random.
        assert "invoice" not in stored.name
        assert len(stored.name) == 32
        int(stored.name, 16)
    assert len({Path(f.file.name).name for f in files}) == 3


def test_files_have_no_public_url(desk, client):
    assert settings.MEDIA_URL is None
    ticket = ticket_of(desk, desk.user_a)
    attachment = attach(desk, ticket, "notes.txt", content=b"private")
    with pytest.raises(ValueError, match="not accessible via a URL"):
        attachment.file.url  # noqa: B018
    # No URL pattern serves files from disk (django.views.static.serve or the like).
    for route, callback in _patterns(get_resolver()):
        assert callback is not static.serve, route
        assert getattr(callback, "__module__", "") != "django.views.static", route
    # Guessing the storage path gives nothing, signed in or not.
    client.force_login(desk.agent1)
    for path in (
        f"/{attachment.file.name}",
        f"/media/{attachment.file.name}",
        f"/static/{attachment.file.name}",
        f"/static/../media/{attachment.file.name}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"private" not in response.getvalue()


def test_another_organisations_attachment_is_not_found(desk, foreign_file):
    foreign_ticket = foreign_file.ticket
    for who in ("user_a", "contact_a", "orgadmin_a", "agent_a"):
        attacker = getattr(desk, who)
        client = signed_in(attacker)
        own = ticket_of(desk, desk.user_a if attacker.is_agent else attacker)
        absent = _download(client, foreign_ticket.number, uuid.uuid4())
        assert absent.status_code == 404
        attempts = [
            # Through B's ticket, by number and by id.
            (foreign_ticket.number, foreign_file.uid),
            (str(foreign_ticket.pk), foreign_file.uid),
            # Through one's own ticket, with B's attachment id.
            (own.number, foreign_file.uid),
            (str(own.pk), foreign_file.uid),
        ]
        for ref, uid in attempts:
            response = _download(client, ref, uid)
            assert response.status_code == 404, (who, ref)
            assert response.content == absent.content
            assert b"GLOBEX SECRET" not in response.content
            assert "Content-Disposition" not in response


def test_api_never_lists_or_serves_another_organisations_attachment(desk, foreign_file, api_as):
    foreign_ticket = foreign_file.ticket
    own = ticket_of(desk, desk.user_a)
    for who in (desk.user_a, desk.agent_a):
        client = api_as(who)
        listing = client.get(f"/tickets/{foreign_ticket.number}/attachments")
        assert listing.status_code == 404
        own_listing = client.get(f"/tickets/{own.number}/attachments")
        assert own_listing.status_code == 200
        assert own_listing.json()["items"] == []
        for ref in (foreign_ticket.number, own.number):
            response = client.get(f"/tickets/{ref}/attachments/{foreign_file.uid}/download")
            assert response.status_code == 404
            assert b"GLOBEX SECRET" not in response.content


def test_own_attachment_is_served_through_the_checking_view(desk, api_as):
    """The control: the same requests for one's own file succeed, so the 404s above are the
    access check and not a broken route."""
    ticket = ticket_of(desk, desk.user_a)
    attachment = attach(desk, ticket, "notes.txt", content=b"mine")
    for who in (desk.user_a, desk.agent_a, desk.agent1):
        response = _download(signed_in(who), ticket.number, attachment.uid)
        assert response.status_code == 200
        assert response.getvalue() == b"mine"
        api = api_as(who).get(f"/tickets/{ticket.number}/attachments/{attachment.uid}/download")
        assert api.status_code == 200
        assert api.getvalue() == b"mine"


def test_internal_attachment_is_not_found_for_the_requester(desk):
    ticket = ticket_of(desk, desk.user_a)
    internal = attach(desk, ticket, "agent-notes.txt", internal=True, content=b"INTERNAL")
    for who in (desk.user_a, desk.contact_a):
        response = _download(signed_in(who), ticket.number, internal.uid)
        assert response.status_code == 404
        assert b"INTERNAL" not in response.content


def test_signed_out_download_goes_to_sign_in(desk, client, foreign_file):
    response = _download(client, foreign_file.ticket.number, foreign_file.uid)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
