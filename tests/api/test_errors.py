"""Bad input gets a clear 4xx JSON answer naming the field, and leaves no partial write."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from frontline.tickets.models import Attachment, Ticket

from .conftest import assert_error, db_state, open_ticket

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_400_with_a_clear_message(desk, api_as):
    client = api_as(desk.agent1)
    before = db_state()
    response = client.raw("POST", "/tickets", b'{"subject": "x", ', "application/json")
    body = assert_error(response, 400)
    assert "not valid JSON" in body["detail"]
    assert db_state() == before


def test_a_body_that_is_not_an_object_is_refused(desk, api_as):
    client = api_as(desk.agent1)
    response = client.raw("POST", "/tickets", b'["subject"]', "application/json")
    assert_error(response, 422)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("impact", "high"), ("requester_id", "alice"), ("type", "outage"), ("subject", 42)],
)
def test_wrong_types_name_the_field(desk, api_as, field, value):
    client = api_as(desk.agent1)
    body = {"subject": "Printer", "requester_id": desk.user_a.pk, field: value}
    assert_error(client.post("/tickets", body), 422, field)
    assert not Ticket.objects.exists()


def test_unknown_field_on_comment_is_refused(desk, api_as):
    ticket = open_ticket(desk)
    client = api_as(desk.user_a)
    before = db_state()
    response = client.post(f"/tickets/{ticket.pk}/comments", {"body": "x", "author_id": 1})
    assert_error(response, 422, "author_id")
    assert db_state() == before


def test_bad_filter_values_name_the_parameter(desk, api_as):
    client = api_as(desk.agent1)
    assert_error(client.get("/tickets", {"priority": "abc"}), 422, "priority")
    assert_error(client.get("/tickets", {"priority": 9}), 422, "priority")
    assert_error(client.get("/tickets", {"status": "lost"}), 422, "status")
    assert_error(client.get("/tickets", {"organization": "acme"}), 422, "organization")


def test_oversized_attachment_is_refused_with_the_limit(desk, api_as, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.FRONTLINE_MAX_ATTACHMENT_BYTES = 10
    ticket = open_ticket(desk)
    client = api_as(desk.user_a)
    before = db_state()
    upload = SimpleUploadedFile("dump.bin", b"x" * 11, content_type="application/octet-stream")
    body = assert_error(client.upload(f"/tickets/{ticket.pk}/attachments", {"file": upload}), 422)
    assert "10 bytes" in body["errors"]["file"]
    assert not Attachment.objects.exists()
    assert db_state() == before


def test_upload_without_a_file_names_the_field(desk, api_as):
    ticket = open_ticket(desk)
    assert_error(api_as(desk.user_a).upload(f"/tickets/{ticket.pk}/attachments", {}), 422, "file")


def test_illegal_transition_changes_nothing(desk, api_as):
    ticket = open_ticket(desk)
    client = api_as(desk.agent1)
    before = db_state()
    body = assert_error(
        client.post(f"/tickets/{ticket.pk}/transition", {"status": "closed"}), 422, "status"
    )
    assert "cannot go from new to closed" in body["errors"]["status"]
    assert db_state() == before
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version) == ("new", 1)


def test_resolving_needs_notes(desk, api_as):
    ticket = open_ticket(desk)
    client = api_as(desk.agent1)
    response = client.post(
        f"/tickets/{ticket.pk}/resolve", {"resolution_code": "workaround", "resolution_notes": " "}
    )
    assert_error(response, 422, "resolution_notes")
    ticket.refresh_from_db()
    assert ticket.status == "new"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symptoms": "", "steps_tried": ["Rebooted"]}, "symptoms"),
        ({"symptoms": "Jams", "steps_tried": []}, "steps_tried"),
        ({"symptoms": "Jams", "steps_tried": ["  "]}, "steps_tried"),
        ({"steps_tried": ["Rebooted"]}, "symptoms"),
        ({"symptoms": "Jams"}, "steps_tried"),
    ],
)
def test_escalation_without_handoff_note_changes_nothing(desk, api_as, body, field):
    ticket = open_ticket(desk)
    client = api_as(desk.agent1)
    before = db_state()
    assert_error(client.post(f"/tickets/{ticket.pk}/escalate", body), 422, field)
    assert db_state() == before
    ticket.refresh_from_db()
    assert (ticket.group_id, ticket.tier, ticket.version) == (desk.tier1.pk, 1, 1)


def test_stale_version_is_a_409_and_changes_nothing(desk, api_as):
    ticket = open_ticket(desk)
    first, second = api_as(desk.agent1), api_as(desk.agent2)
    assert (
        first.patch(f"/tickets/{ticket.pk}", {"subject": "Mine", "version": 1}).status_code == 200
    )
    before = db_state()
    calls = [
        ("patch", "", {"subject": "Theirs", "version": 1}),
        ("post", "/assign", {"group_id": desk.tier2.pk, "version": 1}),
        ("post", "/transition", {"status": "in_progress", "version": 1}),
        ("post", "/escalate", {"symptoms": "s", "steps_tried": ["a"], "version": 1}),
        (
            "post",
            "/resolve",
            {"resolution_code": "workaround", "resolution_notes": "n", "version": 1},
        ),
    ]
    for method, suffix, body in calls:
        response = getattr(second, method)(f"/tickets/{ticket.pk}{suffix}", body)
        assert_error(response, 409)
    assert db_state() == before
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.version, ticket.status) == ("Mine", 2, "new")


def test_markup_in_a_subject_is_stored_and_returned_as_plain_text(desk, api_as):
    subject = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client = api_as(desk.user_a)
    response = client.post("/tickets", {"subject": subject})
    assert response.status_code == 201
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["subject"] == subject
    assert Ticket.objects.get().subject == subject
    fetched = client.get(f"/tickets/{response.json()['number']}")
    assert fetched.json()["subject"] == subject
    assert fetched["X-Content-Type-Options"] == "nosniff"


def test_unknown_endpoint_answers_in_the_error_shape(desk, api_as):
    client = api_as(desk.agent1)
    for path in ("/nothing-here", "/tickets/1/explode"):
        body = assert_error(client.get(path), 404)
        assert "no such endpoint" in body["detail"]
