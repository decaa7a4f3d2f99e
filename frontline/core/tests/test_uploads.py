"""Oversized uploads are refused with a clear message and never stored whole."""

from __future__ import annotations

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.test import RequestFactory

from frontline.core.uploads import CappedTemporaryFileUploadHandler


def test_large_upload_is_truncated_on_disk_but_reports_its_true_size(settings):
    settings.FRONTLINE_MAX_ATTACHMENT_BYTES = 1000
    request = RequestFactory().post("/")
    handler = CappedTemporaryFileUploadHandler(request)
    handler.new_file("file", "big.bin", "application/octet-stream", 10_000)
    for start in range(0, 10_000, 2_000):
        handler.receive_data_chunk(b"x" * 2_000, start)
    uploaded = handler.file_complete(10_000)
    assert isinstance(uploaded, TemporaryUploadedFile)
    assert uploaded.size == 10_000  # what the size check sees
    uploaded.seek(0)
    assert len(uploaded.read()) == 1001  # what was written to disk


def test_oversized_file_through_the_api_gets_422_with_the_limit(desk, client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from frontline.tickets import services
    from frontline.tickets.models import Attachment

    settings.FRONTLINE_MAX_ATTACHMENT_BYTES = 3 * 1024 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # force the temporary-file handler
    agent = desk.actor(desk.agent1)
    ticket = services.ticket_create(actor=agent, subject="Big log", requester_id=desk.user_a.pk)
    client.force_login(desk.agent1)
    big = SimpleUploadedFile("huge.log", b"y" * (4 * 1024 * 1024))
    response = client.post(f"/api/v1/tickets/{ticket.number}/attachments", {"file": big})
    assert response.status_code == 422
    assert "limit" in response.json()["errors"]["file"]
    assert not Attachment.objects.filter(ticket=ticket).exists()
