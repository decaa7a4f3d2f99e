"""SECURITY.md 21: credential stuffing is throttled per account and per IP, with one message for
an unknown user and a wrong password."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

LOGIN = "accounts:login"
GENERIC = "The email address or password is not correct."


def _login(client: Client, email: str, password: str, ip: str = "203.0.113.5"):
    return client.post(reverse(LOGIN), {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_same_message_for_unknown_user_and_wrong_password(desk, client):
    unknown = _login(client, "nobody@acme.example", "whatever-123")
    wrong = _login(client, desk.user_a.email, "wrong-password-1")
    assert unknown.status_code == wrong.status_code == 200
    assert GENERIC in unknown.content.decode()
    assert GENERIC in wrong.content.decode()


def test_account_is_locked_after_repeated_failures_even_with_the_right_password(
    desk, client, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, desk.user_a.email, "wrong-password-1", ip="198.51.100.1")
    # Correct password, from another IP: the account itself is throttled.
    response = _login(client, desk.user_a.email, desk.password, ip="198.51.100.2")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_one_ip_spraying_many_accounts_is_throttled(desk, client, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"victim{n}@acme.example", "Summer2026!", ip="192.0.2.77")
    response = _login(client, desk.user_b.email, desk.password, ip="192.0.2.77")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_page_does_not_reveal_whether_the_account_exists(desk, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        real = _login(client, desk.user_a.email, "bad-password-9", ip="192.0.2.10")
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        fake = _login(client, "ghost@acme.example", "bad-password-9", ip="192.0.2.11")
    assert real.status_code == fake.status_code == 429

    def _page(response) -> str:  # the masked CSRF token differs on every render
        return re.sub(r'content="[A-Za-z0-9]{64}"', "", response.content.decode())

    assert _page(real) == _page(fake)


@pytest.mark.parametrize("ip", ["192.0.2.200"])
def test_a_successful_login_below_the_limit_works(desk, client, ip):
    _login(client, desk.user_a.email, "typo-password", ip=ip)
    response = _login(client, desk.user_a.email, desk.password, ip=ip)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(desk.user_a.pk)
