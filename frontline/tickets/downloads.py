"""The one way an attachment's bytes leave Frontline (desk, portal and API share it)."""

from __future__ import annotations

from django.http import FileResponse, Http404

from frontline.tickets.models import Attachment

# Served with their own type; everything else (HTML, SVG, PDFs, ...) as an opaque download.
PLAIN_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})


def attachment_response(attachment: Attachment) -> FileResponse:
    """A download of an attachment the caller was already authorised to see (via selectors)."""
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("Attachment not found.") from None
    content_type = attachment.content_type.split(";")[0].strip().lower()
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type=content_type
        if content_type in PLAIN_IMAGE_TYPES
        else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Even if something opens it in place, it may run nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
