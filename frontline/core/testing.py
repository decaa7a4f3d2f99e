"""Test-only helpers shipped with the package (used by conftest.py)."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with the smallest cost, so each test is not paying 100+ ms per user.

    Same algorithm and hash format as production (the stored value still starts with argon2$)."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1
