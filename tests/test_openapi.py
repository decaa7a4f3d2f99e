"""The committed docs/openapi.json is the schema the code generates (clients and reviewers read
the file; a change to the API shows up as a diff of it)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command

from frontline.api.openapi import openapi_document

COMMITTED = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def test_committed_openapi_schema_is_up_to_date():
    assert COMMITTED.exists(), "docs/openapi.json is missing: run `make openapi`"
    generated = openapi_document()
    assert COMMITTED.read_text(encoding="utf-8") == generated, (
        "docs/openapi.json differs from the schema the code generates: run `make openapi` "
        "and commit the result"
    )


def test_export_command_writes_the_same_document(tmp_path):
    target = tmp_path / "out" / "openapi.json"
    call_command("export_openapi", "--output", str(target))
    text = target.read_text(encoding="utf-8")
    assert text == openapi_document()
    assert text.endswith("}\n")
    assert list(json.loads(text)) == sorted(json.loads(text))
