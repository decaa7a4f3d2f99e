"""The session engine: an idle timeout without a write on every request (core/sessions.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from frontline.core.sessions import REFRESH_SECONDS

pytestmark = pytest.mark.django_db


def _session_writes(ctx: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in ctx.captured_queries
        if "django_session" in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
    ]


def _signed_in(client, desk) -> Session:
    response = client.post(
        reverse("accounts:login"), {"username": desk.user_a.email, "password": desk.password}
    )
    assert response.status_code == 302
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def test_requests_within_a_minute_do_not_write_the_session(desk, client):
    stored = _signed_in(client, desk)
    for _ in range(3):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("portal:ticket-list")).status_code == 200
        assert _session_writes(ctx) == []
    assert Session.objects.get(pk=stored.pk).expire_date == stored.expire_date


def test_a_request_after_a_minute_moves_the_expiry(desk, client):
    stored = _signed_in(client, desk)
    later = timezone.now() + timedelta(seconds=REFRESH_SECONDS + 5)
    with time_machine.travel(later), CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("portal:ticket-list"))
    assert response.status_code == 200
    assert len(_session_writes(ctx)) == 1
    refreshed = Session.objects.get(pk=stored.pk).expire_date
    assert refreshed > stored.expire_date + timedelta(seconds=REFRESH_SECONDS)
    # The cookie is sent again with the new expiry.
    assert settings.SESSION_COOKIE_NAME in response.cookies


def test_an_idle_session_expires(desk, client):
    _signed_in(client, desk)
    later = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
    with time_machine.travel(later):
        response = client.get(reverse("portal:ticket-list"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_a_session_with_its_own_expiry_is_saved_on_every_request(desk, client):
    _signed_in(client, desk)
    session = client.session
    session.set_expiry(3600)
    session.save()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("portal:ticket-list")).status_code == 200
    assert len(_session_writes(ctx)) == 1


# --- with a shared cache (FRONTLINE_SESSION_CACHE; Redis in production) -------------------------


@pytest.fixture
def session_cache(settings):
    from django.core.cache import cache

    settings.FRONTLINE_SESSION_CACHE = True
    cache.clear()
    yield cache
    cache.clear()


def _session_reads(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if '"django_session"' in q["sql"]]


def test_with_the_cache_a_signed_in_request_reads_no_session_row(desk, client, session_cache):
    _signed_in(client, desk)
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("portal:ticket-list")).status_code == 200
        assert _session_reads(ctx) == []


def test_with_the_cache_signing_out_ends_the_session_for_every_worker(desk, client, session_cache):
    _signed_in(client, desk)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(reverse("portal:ticket-list")).status_code == 200
    client.post(reverse("accounts:logout"))
    # The old cookie, replayed (another tab, or a copy of the cookie), is signed out.
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = client.get(reverse("portal:ticket-list"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    assert not Session.objects.filter(session_key=cookie).exists()


def test_a_reader_racing_a_sign_out_cannot_put_the_session_back(desk, client, session_cache):
    from frontline.core.sessions import SessionStore

    _signed_in(client, desk)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    session_cache.clear()  # the next reader goes to the database
    racing = SessionStore(key)
    stored = racing._get_session_from_db()  # type: ignore[attr-defined]  # it read the row...
    assert stored is not None
    SessionStore(key).delete()  # ...then the user signs out...
    # ...and only then does the racing reader try to cache what it read.
    session_cache.add(racing._cache_key(), ({"stale": True}, stored.expire_date), 60)
    assert SessionStore(key).load() == {}
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert client.get(reverse("portal:ticket-list")).status_code == 302


def test_with_the_cache_the_idle_timeout_and_the_refresh_still_hold(desk, client, session_cache):
    stored = _signed_in(client, desk)
    later = timezone.now() + timedelta(seconds=REFRESH_SECONDS + 5)
    with time_machine.travel(later), CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("portal:ticket-list")).status_code == 200
    assert len(_session_writes(ctx)) == 1
    refreshed = Session.objects.get(pk=stored.pk).expire_date
    assert refreshed > stored.expire_date
    # The cache holds the new expiry: the next request within the minute writes nothing.
    with time_machine.travel(later), CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("portal:ticket-list")).status_code == 200
    assert _session_reads(ctx) == []
    # Idle past the timeout: signed out, though the cache entry's own lifetime is real time.
    with time_machine.travel(refreshed + timedelta(seconds=1)):
        response = client.get(reverse("portal:ticket-list"))
    assert response.status_code == 302


def test_without_a_shared_cache_sessions_are_read_from_the_database(desk, client, settings):
    settings.FRONTLINE_SESSION_CACHE = False
    _signed_in(client, desk)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("portal:ticket-list")).status_code == 200
    assert len(_session_reads(ctx)) == 1
