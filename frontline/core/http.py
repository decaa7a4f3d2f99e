"""Helpers for views: sign-in gates that attach the Actor, and mapping domain errors to pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase

from frontline.core import errors
from frontline.core.access import Actor


class ActorRequest(HttpRequest):
    """An HttpRequest whose `actor` was set by ActorMiddleware (signed-in users only)."""

    actor: Actor


V = TypeVar("V", bound=Callable[..., HttpResponseBase])


def _map_errors(view: V) -> V:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except errors.NotFound as exc:
            raise Http404(exc.message) from None
        except errors.PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None

    return cast(V, wrapper)


def actor_required(view: V) -> V:
    """Signed-in users only (end users and agents). NotFound -> 404, PermissionDenied -> 403."""
    mapped = _map_errors(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "actor", None) is None:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return mapped(request, *args, **kwargs)

    return cast(V, wrapper)


def agent_required(view: V) -> V:
    """Agents only; a signed-in end user gets 403."""
    mapped = _map_errors(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        actor = getattr(request, "actor", None)
        if actor is None:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not actor.is_agent:
            raise DjangoPermissionDenied("This page is for support agents.")
        return mapped(request, *args, **kwargs)

    return cast(V, wrapper)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
