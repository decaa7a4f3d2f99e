"""The OpenAPI document as committed in docs/openapi.json (written by `make openapi`)."""

from __future__ import annotations

import json


def openapi_document() -> str:
    """The schema of /api/v1/openapi.json, serialised stably: sorted keys, indent 2, newline."""
    from frontline.api.urls import api

    return json.dumps(api.get_openapi_schema(), sort_keys=True, indent=2) + "\n"
