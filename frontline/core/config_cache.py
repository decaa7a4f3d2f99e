"""Configuration read on every ticket or mail (SLA policies and calendars, the priority matrix,
support groups, categories, mailboxes, notification templates), cached in each process and kept
exact by a stamp in the database.

Every write to a configuration model through the ORM (save, delete, and the querysets' update,
bulk_create, bulk_update of `ConfigQuerySet`) writes a new random stamp into `core_configstamp`
in the same transaction. `cached(key, load)` reads the stamp (one primary-key read of one row)
and drops everything this process cached when the stamp differs from the one it was cached
under. So:

- a change is seen by every process as soon as it commits, and by the changing transaction at
  once (it reads its own stamp);
- a change that rolls back leaves the old stamp, which differs from the one the process may have
  cached under while the change was visible: that is dropped too. Stamps are random, never
  reused, so a later commit cannot meet an entry cached from rolled-back rows;
- with no stamp row (a flushed test database), nothing is cached: every call loads.

Writes that bypass the ORM (raw SQL, data migrations through historical models) must call
`config_changed()` themselves. Values handed out are shared by every thread of the process:
treat them as read-only.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")
_M = TypeVar("_M", bound=models.Model)

_TABLE = "core_configstamp"
_lock = threading.Lock()
_stamp: int | None = None
_values: dict[Any, Any] = {}


# The stamp read in the current transaction of this thread: (that transaction's on-commit list,
# stamp). Django gives each transaction a new `run_on_commit` list (replaced on commit, on
# rollback and on a savepoint rollback), so the memo can only serve the transaction that read it
# (test_config_cache checks this against the installed Django).
_memo = threading.local()
# Outside a transaction, the stamp read in the current request (request_scope), if any.
_scope: ContextVar[dict[str, int | None] | None] = ContextVar("config_cache_scope", default=None)


def config_changed() -> None:
    """Write a new stamp (in the caller's transaction): every process reloads its cache."""
    token = secrets.randbits(62)
    with connection.cursor() as cursor:
        # An upsert, so a flushed table (tests) gets its row back.
        cursor.execute(
            f"INSERT INTO {_TABLE} (id, token) VALUES (1, %s) "  # noqa: S608 - constant name
            "ON CONFLICT (id) DO UPDATE SET token = excluded.token",
            [token],
        )
    _memo.value = None
    scope = _scope.get()
    if scope is not None:
        scope.clear()  # this request's later reads see its own change


def _current_stamp() -> int | None:
    """The stamp, read once per transaction; outside a transaction, once per request_scope (a
    request: its reads see one configuration), else on every call."""
    in_transaction = connection.in_atomic_block
    scope = None
    if in_transaction:
        memo = getattr(_memo, "value", None)
        if memo is not None and memo[0] is connection.run_on_commit:
            return memo[1]  # type: ignore[no-any-return]
    else:
        scope = _scope.get()
        if scope is not None and "stamp" in scope:
            return scope["stamp"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {_TABLE} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    stamp = int(row[0]) if row else None
    _memo.value = (connection.run_on_commit, stamp) if in_transaction else None
    if scope is not None:
        scope["stamp"] = stamp
    return stamp


@contextmanager
def request_scope() -> Iterator[None]:
    """Read the stamp at most once outside transactions while this is active (one request, by
    ConfigCacheMiddleware). A configuration change made meanwhile (config_changed) is seen at
    once; one committed by another process is seen by the next request, as a transaction would
    see it."""
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


def cached(key: Any, load: Callable[[], T]) -> T:
    """`load()`'s value for `key`, computed once per configuration stamp in this process."""
    global _stamp, _values
    stamp = _current_stamp()
    if stamp is None:
        return load()
    with _lock:
        if stamp != _stamp:
            _stamp, _values = stamp, {}
        values = _values
        if key in values:
            return values[key]  # type: ignore[no-any-return]
    value = load()
    with _lock:
        if _stamp == stamp:
            values.setdefault(key, value)
    return value


def rows(model: type[_M]) -> dict[Any, _M]:
    """Every row of a tracked configuration model, by primary key (cached like the rest: the
    instances are shared by the process's threads, read-only)."""
    if model not in _tracked:
        raise TypeError(f"{model.__name__} is not a tracked configuration model")
    label = model._meta.label
    return cached(("rows", label), lambda: {row.pk: row for row in model._default_manager.all()})


def clear() -> None:
    """Forget this process's cache (tests that change configuration behind the ORM's back)."""
    global _stamp, _values
    with _lock:
        _stamp, _values = None, {}
    _memo.value = None


class ConfigQuerySet(models.QuerySet[_M]):
    """The queryset of a configuration model: bulk writes change the stamp too."""

    def update(self, **kwargs: Any) -> int:
        changed = super().update(**kwargs)
        if changed:
            config_changed()
        return changed

    def bulk_create(self, objs: Iterable[_M], *args: Any, **kwargs: Any) -> list[_M]:
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            config_changed()
        return created

    def bulk_update(self, objs: Iterable[_M], fields: Any, *args: Any, **kwargs: Any) -> int:
        changed = super().bulk_update(objs, fields, *args, **kwargs)
        config_changed()
        return changed

    def _raw_delete(self, using: Any) -> int:
        deleted = super()._raw_delete(using)
        if deleted:
            config_changed()
        return deleted


def _on_change(sender: type[models.Model], **kwargs: Any) -> None:
    config_changed()


def _on_m2m(sender: Any, action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        config_changed()


_tracked: set[type[models.Model]] = set()


def track(*config_models: type[models.Model]) -> None:
    """Register configuration models (in AppConfig.ready): their saves and deletes change the
    stamp. Give each `objects = ConfigQuerySet.as_manager()` so bulk writes do too."""
    for model in config_models:
        if model in _tracked:
            continue
        _tracked.add(model)
        post_save.connect(_on_change, sender=model, weak=False)
        post_delete.connect(_on_change, sender=model, weak=False)
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(_on_m2m, sender=field.remote_field.through, weak=False)


def tracked_models() -> frozenset[type[models.Model]]:
    return frozenset(_tracked)
