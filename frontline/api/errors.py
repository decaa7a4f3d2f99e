"""One JSON error shape for the whole API: {"detail": message, "errors": {field: message}}."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from frontline.core.errors import FrontlineError, ValidationError

NOT_JSON = "The request body is not valid JSON."


SOURCES = frozenset({"body", "query", "path", "form", "file", "header", "cookie"})
BODY_PARAM = "payload"  # every operation names its JSON body parameter `payload`


def _field_name(loc: list[Any]) -> str:
    """("body", "payload", "subject") -> "subject"; ("query", "limit") -> "limit"."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in SOURCES:
        parts = parts[1:]
    if parts and parts[0] == BODY_PARAM:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def _body(detail: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or {}}


def install(api: NinjaAPI) -> None:
    @api.exception_handler(FrontlineError)
    def _domain(request: HttpRequest, exc: FrontlineError) -> HttpResponse:
        errors = exc.errors if isinstance(exc, ValidationError) else None
        return api.create_response(request, _body(exc.message, errors), status=exc.status_code)

    @api.exception_handler(NinjaValidationError)
    def _schema(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors: dict[str, str] = {}
        for err in exc.errors:
            name = _field_name(list(err.get("loc", [])))
            message = str(err.get("msg", "Invalid value."))
            if err.get("type") == "extra_forbidden":
                message = "Unknown field; it cannot be set."
            elif err.get("type") == "json_invalid":
                message = NOT_JSON
            elif message.startswith("Value error, "):
                message = message.removeprefix("Value error, ")
            errors.setdefault(name, message)
        return api.create_response(request, _body("The request is not valid.", errors), status=422)

    @api.exception_handler(AuthenticationError)
    def _auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(
            request, _body("Authentication required: a Bearer token or a session."), status=401
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # django-ninja raises HttpError(400, "Cannot parse request body") for a broken body.
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            return api.create_response(request, _body(NOT_JSON, {"__all__": NOT_JSON}), status=400)
        return api.create_response(request, _body(str(exc)), status=exc.status_code)

    @api.exception_handler(IntegrityError)
    def _integrity(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        # A unique constraint that a service did not pre-check (two requests racing, or an
        # e-mail address already in use): the transaction rolled back, nothing was written.
        return api.create_response(
            request,
            _body("This conflicts with an existing record; nothing was changed."),
            status=409,
        )
