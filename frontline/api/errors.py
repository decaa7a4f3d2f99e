"""One JSON error shape for the whole API: {"detail": message, "errors": {field: message}}."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from frontline.core.errors import FrontlineError, ValidationError


def _field_name(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "form")]
    return ".".join(parts) or "__all__"


def install(api: NinjaAPI) -> None:
    @api.exception_handler(FrontlineError)
    def _domain(request: HttpRequest, exc: FrontlineError) -> HttpResponse:
        body: dict[str, Any] = {"detail": exc.message}
        if isinstance(exc, ValidationError):
            body["errors"] = exc.errors
        return api.create_response(request, body, status=exc.status_code)

    @api.exception_handler(NinjaValidationError)
    def _schema(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors: dict[str, str] = {}
        for err in exc.errors:
            name = _field_name(list(err.get("loc", [])))
            message = str(err.get("msg", "Invalid value."))
            if err.get("type") == "extra_forbidden":
                message = "Unknown field; it cannot be set."
            elif err.get("type") == "json_invalid":
                message = "The request body is not valid JSON."
            errors.setdefault(name, message)
        return api.create_response(
            request, {"detail": "The request is not valid.", "errors": errors}, status=422
        )

    @api.exception_handler(AuthenticationError)
    def _auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return api.create_response(
            request, {"detail": "Authentication required: a Bearer token or a session."}, status=401
        )

    @api.exception_handler(HttpError)
    def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
