"""SECURITY.md 24: session id rotated at login; logout and password change end sessions; idle
timeout."""

from __future__ import annotations

from django.conf import settings
from django.test import Client
from django.urls import reverse


def test_session_id_rotates_at_login(desk, client):
    client.get(reverse("accounts:login"))
    client.cookies[settings.SESSION_COOKIE_NAME] = "attacker-fixed-session-id"
    session = client.session
    session["planted"] = "yes"
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(
        reverse("accounts:login"), {"username": desk.user_a.email, "password": desk.password}
    )
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert before != after
    assert client.session["_auth_user_id"] == str(desk.user_a.pk)


def test_logout_ends_the_session(desk, client):
    client.post(
        reverse("accounts:login"), {"username": desk.user_a.email, "password": desk.password}
    )
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("accounts:logout"))
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    response = replay.get(reverse("portal:ticket-list"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_logout_by_get_is_refused(desk, client):
    client.force_login(desk.user_a)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert "_auth_user_id" in client.session


def test_password_change_ends_other_sessions(desk):
    laptop, phone = Client(), Client()
    for c in (laptop, phone):
        c.post(
            reverse("accounts:login"), {"username": desk.user_a.email, "password": desk.password}
        )
    new_password = "Another-Long-Passphrase-2026"
    response = laptop.post(
        reverse("accounts:password-change"),
        {
            "old_password": desk.password,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    assert response.status_code == 302
    # The session that changed the password stays signed in; the other one is signed out.
    assert laptop.get(reverse("portal:ticket-list")).status_code == 200
    stale = phone.get(reverse("portal:ticket-list"))
    assert stale.status_code == 302 and reverse("accounts:login") in stale["Location"]


def test_idle_timeout_is_configured_and_refreshed_on_activity():
    # Refreshed by the session engine (at most once a minute), not by saving every request.
    assert settings.SESSION_ENGINE == "frontline.core.sessions"
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_activity_keeps_the_session_alive_past_its_first_expiry(desk, client):
    client.post(
        reverse("accounts:login"), {"username": desk.user_a.email, "password": desk.password}
    )
    age = settings.SESSION_COOKIE_AGE
    with _later(age // 2):
        assert client.get(reverse("portal:ticket-list")).status_code == 200
    # Longer than the idle timeout after signing in, but not after the last request.
    with _later(age // 2 + age - 120):
        assert client.get(reverse("portal:ticket-list")).status_code == 200
    with _later(age // 2 + age - 120 + age + 60):
        response = client.get(reverse("portal:ticket-list"))
    assert response.status_code == 302


def test_expired_session_is_signed_out(desk, client):
    client.post(
        reverse("accounts:login"), {"username": desk.user_a.email, "password": desk.password}
    )
    assert client.get(reverse("portal:ticket-list")).status_code == 200
    with _later(settings.SESSION_COOKIE_AGE + 60):
        response = client.get(reverse("portal:ticket-list"))
    assert response.status_code == 302


def _later(seconds: int):
    import datetime as dt

    import time_machine

    return time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(seconds=seconds))
