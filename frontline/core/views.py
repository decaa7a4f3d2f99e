"""Site-wide views: the landing redirect and the health check."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    actor = getattr(request, "actor", None)
    if actor is None:
        return redirect(settings.LOGIN_URL)
    return redirect("tickets:queue" if actor.is_agent else "portal:ticket-list")


def _broker_state() -> dict[str, str]:
    url = settings.CELERY_BROKER_URL
    if not url:
        return {"state": "ok", "mode": "in-process (no broker configured)"}
    try:
        from kombu.connection import Connection

        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"state": "ok", "mode": "broker"}
    except Exception as exc:  # any failure means "down" for a health check
        return {"state": "down", "mode": "broker", "error": type(exc).__name__}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, with the database and broker state."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = {"state": "ok", "vendor": connection.vendor}
    except Exception as exc:
        database = {"state": "down", "vendor": connection.vendor, "error": type(exc).__name__}
    broker = _broker_state()
    ok = database["state"] == "ok" and broker["state"] == "ok"
    return JsonResponse(
        {"status": "ok" if ok else "degraded", "database": database, "broker": broker},
        status=200 if database["state"] == "ok" else 503,
    )
