"""The session engine (settings.SESSION_ENGINE): Django's database sessions with an idle timeout
that does not write on every request.

SESSION_COOKIE_AGE is an idle timeout: a session not used for that long is signed out. Django
implements that with SESSION_SAVE_EVERY_REQUEST, an UPDATE of the session row (and a new cookie)
on every request, which cost three statements (BEGIN, UPDATE, COMMIT) on every page (benchmark
issue #3). Here a session is saved with a new expiry only when it is read and its stored expiry is
more than REFRESH_SECONDS older than a fresh one would be, i.e. at most about once a minute
per session while it is in use. A session therefore expires between SESSION_COOKIE_AGE minus
REFRESH_SECONDS and SESSION_COOKIE_AGE after its last use, never later.

With a shared cache (settings.FRONTLINE_SESSION_CACHE, on when FRONTLINE_CACHE_URL names Redis),
a session is read from the cache instead of the database on every request after the first. The
database stays the record: every save writes it first, then the cache. A deleted session (sign
out, key cycled at sign-in) leaves a tombstone in the cache for a while, and a reader that found
the row just before the delete may only *add* to the cache, never overwrite: so a request racing
a sign-out cannot put the signed-out session back. Never on a per-process cache (locmem): one
worker would not see another's sign-out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.core.cache import cache
from django.utils import timezone

REFRESH_SECONDS = 60
CACHE_PREFIX = "frontline.session:"
# How long a deleted session's key is refused from the cache (a racing reader's add is refused).
TOMBSTONE_SECONDS = 600
_DELETED = "deleted"


class SessionStore(DbSessionStore):
    def load(self) -> dict[str, Any]:
        found = self._cached() if settings.FRONTLINE_SESSION_CACHE else None
        if found is None:
            stored = self._get_session_from_db()  # type: ignore[attr-defined]  # (not in stubs)
            if stored is None:
                return {}
            data: dict[str, Any] = self.decode(stored.session_data)
            expire_date = stored.expire_date
            if settings.FRONTLINE_SESSION_CACHE:
                # add, not set: a sign-out that deleted the row meanwhile left a tombstone.
                cache.add(self._cache_key(), (data, expire_date), self._timeout(expire_date))
        elif isinstance(found, str):  # _DELETED
            self._session_key = None  # as the database engine does for a missing session
            return {}
        else:
            data, expire_date = found
        if "_session_expiry" in data:
            # An expiry set with set_expiry(): saved on every request, as Django would do.
            self.modified = True
        else:
            fresh = timezone.now() + timedelta(seconds=self.get_session_cookie_age())
            if fresh - expire_date > timedelta(seconds=REFRESH_SECONDS):
                self.modified = True  # SessionMiddleware saves it: a new expiry and cookie
        return data

    def save(self, must_create: bool = False) -> None:
        super().save(must_create=must_create)
        if settings.FRONTLINE_SESSION_CACHE and self.session_key is not None:
            expire_date = self.get_expiry_date()
            data = self._get_session(no_load=True)  # type: ignore[attr-defined]  # (not in stubs)
            cache.set(self._cache_key(), (dict(data), expire_date), self._timeout(expire_date))

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key is not None and settings.FRONTLINE_SESSION_CACHE:
            cache.set(self._cache_key(key), _DELETED, TOMBSTONE_SECONDS)
        super().delete(session_key)

    def _cache_key(self, session_key: str | None = None) -> str:
        return CACHE_PREFIX + str(session_key or self.session_key)

    def _cached(self) -> tuple[dict[str, Any], Any] | str | None:
        if not self.session_key:
            return None
        found: object = cache.get(self._cache_key())
        if found == _DELETED:
            return _DELETED
        if isinstance(found, tuple) and found[1] > timezone.now():
            return found[0], found[1]
        return None  # missing, or expired (read the database, which will not have it)

    @staticmethod
    def _timeout(expire_date: Any) -> int:
        return max(1, int((expire_date - timezone.now()).total_seconds()))
