"""Answering with data that is already in a response schema's shape."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def schema_data_response(request: HttpRequest, data: Any, *, status: int = 200) -> HttpResponse:
    """`data` rendered as the API renders an operation's result (its JSON renderer and content
    type), without validating it against the declared response schema again.

    For lists whose items are built as plain dicts (e.g. tickets.api.ticket_data): validating
    each item through django-ninja's schemas cost more than the rest of the request. The caller
    keeps `data` in the declared schema's shape; the OpenAPI schema still comes from the
    operation's `response=` declaration."""
    from frontline.api.urls import api  # the NinjaAPI mounts the routers that call this

    return api.create_response(request, data, status=status)
