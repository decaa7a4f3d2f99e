"""The session engine (settings.SESSION_ENGINE): Django's database sessions with an idle timeout
that does not write on every request.

SESSION_COOKIE_AGE is an idle timeout: a session not used for that long is signed out. Django
implements that with SESSION_SAVE_EVERY_REQUEST, an UPDATE of the session row (and a new cookie)
on every request, which cost three statements (BEGIN, UPDATE, COMMIT) on every page (benchmark
issue #3). Here a session is saved with a new expiry only when it is read and its stored expiry is
more than REFRESH_SECONDS older than a fresh one would be, i.e. at most about once a minute
per session while it is in use. A session therefore expires between SESSION_COOKIE_AGE minus
REFRESH_SECONDS and SESSION_COOKIE_AGE after its last use, never later."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.utils import timezone

REFRESH_SECONDS = 60


class SessionStore(DbSessionStore):
    def load(self) -> dict[str, Any]:
        stored = self._get_session_from_db()  # type: ignore[attr-defined]  # (not in the stubs)
        if stored is None:
            return {}
        data: dict[str, Any] = self.decode(stored.session_data)
        if "_session_expiry" in data:
            # An expiry set with set_expiry(): saved on every request, as Django would do.
            self.modified = True
        else:
            fresh = timezone.now() + timedelta(seconds=self.get_session_cookie_age())
            if fresh - stored.expire_date > timedelta(seconds=REFRESH_SECONDS):
                self.modified = True  # SessionMiddleware saves it: a new expiry and cookie
        return data
