"""SECURITY.md 23: passwords stored only as Argon2 hashes; no token or secret in logs."""

from __future__ import annotations

import logging

from django.contrib.auth.hashers import identify_hasher

from frontline.accounts import services
from frontline.accounts.models import ApiToken
from frontline.core.access import Actor


def test_passwords_are_argon2_hashes(desk):
    desk.user_a.refresh_from_db()
    assert desk.user_a.password.startswith("argon2$")
    assert identify_hasher(desk.user_a.password).algorithm == "argon2"
    assert desk.password not in desk.user_a.password


def test_production_setting_uses_argon2_only():
    from frontline import settings as project_settings

    assert project_settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]


def test_api_token_is_stored_hashed_and_never_logged(desk, caplog):
    caplog.set_level(logging.DEBUG)
    token, raw = services.token_create(actor=Actor.system(), user=desk.agent1)
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in (stored.key_hash, stored.prefix, stored.name)
    assert len(stored.key_hash) == 64
    assert raw not in caplog.text


def test_login_failure_does_not_log_the_password(desk, client, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Very-Secret-Attempt-42"
    client.post("/accounts/login/", {"username": desk.user_a.email, "password": secret})
    assert secret not in caplog.text
