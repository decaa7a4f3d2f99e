"""Raw message storage for the inbound pipeline: gzip-compressed files, and the few headers of a
message the parser refused."""

from __future__ import annotations

import gzip
import hashlib
import re

from django.core.files.base import ContentFile

from frontline.mail.parsing import synthetic_message_id


def _read_raw(name: str) -> bytes:
    from django.core.files.storage import default_storage

    with default_storage.open(name, "rb") as fh:
        data = fh.read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _raw_file(raw: bytes) -> ContentFile[bytes]:
    digest = hashlib.sha256(raw).hexdigest()[:32]
    # Level 1: text mail still shrinks ~3x, at a fraction of level 6's time on the ingest path.
    return ContentFile(gzip.compress(raw, compresslevel=1), name=f"{digest}.eml.gz")


def _loose_headers(raw: bytes) -> tuple[str, str, str]:
    """Message-ID, From and Subject of a message the parser refused, read from its first 16 KB
    without the email package (which is what failed)."""
    head = raw[:16384].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("latin-1")

    def grab(name: str) -> str:
        found = re.search(rf"(?im)^{name}:[ \t]*(.{{0,900}})$", head)
        return found.group(1).strip() if found else ""

    return (
        (grab("Message-ID") or synthetic_message_id(raw)).replace("\x00", ""),
        grab("From").replace("\x00", ""),
        grab("Subject").replace("\x00", ""),
    )
