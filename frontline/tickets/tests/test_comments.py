"""Replies, internal notes and attachments: size limit, safe file names, who may write what."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from frontline.core.errors import PermissionDenied, ValidationError
from frontline.core.models import AuditEvent
from frontline.tickets import selectors, services
from frontline.tickets.models import Attachment, Comment, Ticket
from frontline.tickets.tests.helpers import (
    db_state,
    drive_to,
    events_of,
    fresh,
    open_ticket,
    upload,
)

S = Ticket.Status
Kind = AuditEvent.Kind


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FRONTLINE_MAX_ATTACHMENT_BYTES = 1000
    return settings.MEDIA_ROOT


def _stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_a_public_reply_with_files_is_stored_and_recorded(desk, media):
    ticket = open_ticket(desk)
    comment = services.comment_add(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        body="  Please try this.  ",
        files=[upload("fix.txt", 10), upload("log.txt", 20)],
    )
    assert comment.body == "Please try this."
    assert comment.is_internal is False
    attachments = list(Attachment.objects.filter(comment=comment).order_by("id"))
    assert [(a.filename, a.size, a.is_internal) for a in attachments] == [
        ("fix.txt", 10, False),
        ("log.txt", 20, False),
    ]
    assert attachments[0].file.read() == b"x" * 10
    kinds = [e.kind for e in events_of(ticket)]
    assert kinds == [Kind.CREATED, Kind.COMMENTED, Kind.ATTACHED, Kind.ATTACHED]
    assert fresh(ticket).first_response_at is not None


def test_an_internal_note_and_its_files_are_internal_and_do_not_count_as_a_response(desk):
    ticket = open_ticket(desk)
    note = services.comment_add(
        actor=desk.actor(desk.agent1),
        ticket=ticket,
        body="Check the add-in first",
        is_internal=True,
        files=[upload("trace.log")],
    )
    assert note.is_internal is True
    assert Attachment.objects.get(comment=note).is_internal is True
    note_events = events_of(ticket)[1:]
    assert [(e.kind, e.is_public) for e in note_events] == [
        (Kind.NOTE, False),
        (Kind.ATTACHED, False),
    ]
    assert fresh(ticket).first_response_at is None


@pytest.mark.parametrize("size", [1001, 50_000])
@pytest.mark.parametrize("where", ["first", "second"])
def test_an_oversized_attachment_refuses_the_whole_comment(desk, media, size, where):
    ticket = open_ticket(desk)
    files = [upload("big.iso", size)]
    if where == "second":
        files.insert(0, upload("small.txt", 10))
    before = db_state(ticket)
    with pytest.raises(ValidationError) as refused:
        services.comment_add(
            actor=desk.actor(desk.user_a), ticket=ticket, body="Here is the dump", files=files
        )
    assert "big.iso" in refused.value.errors["file"]
    assert "limit is 1,000 bytes" in refused.value.errors["file"]
    assert db_state(ticket) == before
    assert not Comment.objects.exists()
    assert not Attachment.objects.exists()
    assert _stored_files(media) == []


def test_a_file_exactly_at_the_limit_is_accepted(desk):
    ticket = open_ticket(desk)
    attachment = services.attachment_add(
        actor=desk.actor(desk.user_a), ticket=ticket, new_file=upload("ok.bin", 1000)
    )
    assert attachment.size == 1000


def test_ticket_create_with_an_oversized_file_creates_nothing(desk, media):
    start = services.number_last_issued("INC")
    with pytest.raises(ValidationError):
        open_ticket(desk, files=[upload("huge.zip", 1001)])
    assert not Ticket.objects.exists()
    assert not AuditEvent.objects.filter(target_type="tickets.ticket").exists()
    assert _stored_files(media) == []
    # and the number was not used up
    assert services.number_last_issued("INC") == start
    assert open_ticket(desk).number == f"INC-{start + 1:06d}"


def test_attachment_add_refuses_an_oversized_file(desk, media):
    ticket = open_ticket(desk)
    before = db_state(ticket)
    with pytest.raises(ValidationError):
        services.attachment_add(
            actor=desk.actor(desk.agent1), ticket=ticket, new_file=upload("big.bin", 5000)
        )
    assert db_state(ticket) == before
    assert _stored_files(media) == []


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/var/www/../../shell.php", "shell.php"),
        ("evil\x00.txt", "evil.txt"),
        ("report\x00/../../x.pdf", "x.pdf"),
        ("..", "attachment"),
        ("../", "attachment"),
        ("\x00", "attachment"),
        ('a<b>c:"d"|e?f*g.txt', "abcdefg.txt"),
        ("  .hidden.  ", "hidden"),
        ("x" * 300 + ".txt", "x" * 200),
    ],
)
def test_file_names_are_stored_safely(desk, media, given, shown):
    ticket = open_ticket(desk)
    attachment = services.attachment_add(
        actor=desk.actor(desk.user_a), ticket=ticket, new_file=upload(given, 10)
    )
    attachment.refresh_from_db()
    assert attachment.filename == shown
    assert "\x00" not in attachment.filename
    # The stored path is random and lives under the ticket's organisation.
    assert re.fullmatch(rf"attachments/{ticket.tenant_id}/[0-9a-f]{{32}}", attachment.file.name)
    on_disk = Path(attachment.file.path).resolve()
    assert on_disk.is_relative_to((media / "attachments" / str(ticket.tenant_id)).resolve())
    assert on_disk.read_bytes() == b"x" * 10
    assert _stored_files(media) == [on_disk]


def test_two_uploads_with_the_same_name_get_different_stored_paths(desk):
    ticket = open_ticket(desk)
    agent = desk.actor(desk.agent1)
    one = services.attachment_add(actor=agent, ticket=ticket, new_file=upload("same.txt"))
    two = services.attachment_add(actor=agent, ticket=ticket, new_file=upload("same.txt"))
    assert one.filename == two.filename == "same.txt"
    assert one.file.name != two.file.name


def test_an_end_user_cannot_add_internal_notes_and_nothing_is_written(desk, media):
    ticket = open_ticket(desk)
    before = db_state(ticket)
    with pytest.raises(PermissionDenied):
        services.comment_add(
            actor=desk.actor(desk.user_a),
            ticket=ticket,
            body="Let me read the notes",
            is_internal=True,
            files=[upload("x.txt")],
        )
    assert db_state(ticket) == before
    assert _stored_files(media) == []


def test_another_end_user_of_the_organisation_cannot_comment_or_attach(desk):
    ticket = open_ticket(desk)
    before = db_state(ticket)
    with pytest.raises(PermissionDenied):
        services.comment_add(actor=desk.actor(desk.user_a2), ticket=ticket, body="Me too")
    with pytest.raises(PermissionDenied):
        services.attachment_add(actor=desk.actor(desk.user_a2), ticket=ticket, new_file=upload())
    assert db_state(ticket) == before
    # The designated contact may.
    services.comment_add(actor=desk.actor(desk.contact_a), ticket=ticket, body="On it")


def test_empty_comment_is_refused_but_files_alone_are_fine(desk):
    ticket = open_ticket(desk)
    with pytest.raises(ValidationError):
        services.comment_add(actor=desk.actor(desk.user_a), ticket=ticket, body="  \x00 ")
    comment = services.comment_add(
        actor=desk.actor(desk.user_a), ticket=ticket, body="", files=[upload("photo.jpg")]
    )
    assert comment.body == "(attachment)"


def test_the_requesters_reply_takes_a_ticket_off_pending_customer(desk):
    ticket = drive_to(desk, open_ticket(desk), S.ASSIGNED)
    ticket = services.ticket_transition(
        actor=desk.actor(desk.agent1),
        ticket=fresh(ticket),
        expected_version=fresh(ticket).version,
        status=S.PENDING_CUSTOMER,
    )
    services.comment_add(actor=desk.actor(desk.user_a), ticket=fresh(ticket), body="Done")
    row = fresh(ticket)
    assert row.status == S.IN_PROGRESS  # it has an assignee
    event = events_of(ticket)[-1]
    assert (event.kind, event.old_value, event.new_value) == (
        Kind.STATUS,
        S.PENDING_CUSTOMER,
        S.IN_PROGRESS,
    )
    assert event.data == {"reason": "Requester replied"}


def test_an_agents_note_leaves_pending_customer_alone(desk):
    ticket = drive_to(desk, open_ticket(desk), S.PENDING_CUSTOMER)
    services.comment_add(actor=desk.actor(desk.agent1), ticket=fresh(ticket), body="Chased")
    assert fresh(ticket).status == S.PENDING_CUSTOMER


def test_timeline_shows_comment_files_with_their_comment(desk):
    ticket = open_ticket(desk)
    services.comment_add(
        actor=desk.actor(desk.user_a), ticket=ticket, body="Photo", files=[upload("a.jpg")]
    )
    services.attachment_add(actor=desk.actor(desk.user_a), ticket=ticket, new_file=upload("b.jpg"))
    timeline = selectors.ticket_timeline(actor=desk.actor(desk.agent1), ticket=fresh(ticket))
    shown = [
        (entry.event.kind, entry.comment.body if entry.comment else None) for entry in timeline
    ]
    assert shown == [(Kind.CREATED, None), (Kind.COMMENTED, "Photo"), (Kind.ATTACHED, None)]
    assert [a.filename for a in timeline[1].attachments] == ["a.jpg"]
    assert [a.filename for a in timeline[2].attachments] == ["b.jpg"]
