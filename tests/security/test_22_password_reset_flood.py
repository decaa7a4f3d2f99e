"""SECURITY.md 22: password-reset floods are rate-limited, with no account enumeration."""

from __future__ import annotations

from django.core import mail
from django.urls import reverse


def _reset(client, email, ip="203.0.113.9"):
    return client.post(reverse("accounts:password-reset"), {"email": email}, REMOTE_ADDR=ip)


def test_same_answer_for_known_and_unknown_addresses(desk, client):
    known = _reset(client, desk.user_a.email)
    unknown = _reset(client, "nobody@nowhere.example")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [desk.user_a.email]


def test_flood_on_one_address_sends_at_most_the_limit(desk, client):
    from frontline.accounts.views import RESET_LIMIT_PER_EMAIL

    responses = [_reset(client, desk.user_a.email, ip=f"203.0.113.{n}") for n in range(1, 21)]
    assert len(mail.outbox) == RESET_LIMIT_PER_EMAIL
    # Every answer looks the same to the caller: no hint that a limit was hit.
    assert {r.status_code for r in responses} <= {200, 302}
    limited = responses[-1]
    assert "Check your mail" in client.get(reverse("accounts:password-reset-done")).content.decode()
    assert "limit" not in limited.content.decode().lower()


def test_flood_from_one_ip_over_many_addresses_is_capped(desk, client):
    from frontline.accounts.views import RESET_LIMIT_PER_IP

    emails = [desk.user_a.email, desk.user_b.email, desk.user_a2.email, desk.contact_a.email]
    for n in range(RESET_LIMIT_PER_IP + 10):
        _reset(client, emails[n % len(emails)], ip="198.51.100.99")
    # Per-address caps also apply, so the total can only be lower than the per-IP cap.
    assert len(mail.outbox) <= RESET_LIMIT_PER_IP
