"""Upload handling that never stores more than the attachment limit of one file."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Writes a large upload to a temporary file, but stops writing past the attachment limit.

    The parser still counts every byte, so the file's reported size is its true size and the
    attachment service refuses it with a clear message; meanwhile a multi-gigabyte upload costs
    at most the limit in disk space."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._written = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        room = settings.FRONTLINE_MAX_ATTACHMENT_BYTES + 1 - self._written
        if room > 0:
            piece = raw_data[:room]
            self.file.write(piece)
            self._written += len(piece)
