"""API authentication: `Authorization: Bearer <token>` or the browser session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from frontline.accounts.selectors import actor_for_user, user_for_token


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is None:
            return None
        request.user = user
        request.actor = actor_for_user(user)  # type: ignore[attr-defined]
        return user


class SessionActorAuth(SessionAuth):
    """Session cookie auth; django-ninja checks the CSRF token for unsafe methods."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and getattr(request, "actor", None) is None:
            request.actor = actor_for_user(user)  # type: ignore[attr-defined]
        return user
