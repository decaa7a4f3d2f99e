"""`frontline export_openapi --output docs/openapi.json`: write the API's OpenAPI schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from frontline.api.openapi import openapi_document


class Command(BaseCommand):
    help = "Write the OpenAPI schema of /api/v1 (sorted keys, indent 2) to a file or stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        document = openapi_document()
        output = options.get("output")
        if not output or output == "-":
            self.stdout.write(document, ending="")
            return
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document, encoding="utf-8")
        self.stderr.write(f"Wrote {path}")
