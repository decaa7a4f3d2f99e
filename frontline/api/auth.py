"""API authentication: `Authorization: Bearer <token>` or the browser session (with CSRF).

A token is accepted only in the Authorization header, never from a cookie, so a browser cannot
send it on a cross-site request by itself; session requests must carry the CSRF token."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from frontline.accounts.selectors import actor_for_user, user_for_token
from frontline.core.access import Actor


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

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a signed-in session there is nothing for CSRF to protect: answer 401
        # (e.g. a revoked Bearer token) instead of a misleading "CSRF check failed".
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and getattr(request, "actor", None) is None:
            request.actor = actor_for_user(user)  # type: ignore[attr-defined]
        return user


def request_actor(request: HttpRequest) -> Actor:
    """The Actor that the authentication above attached to `request`."""
    actor = getattr(request, "actor", None)
    if not isinstance(actor, Actor):
        raise AuthenticationError()
    return actor
