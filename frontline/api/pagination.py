"""Keyset ("cursor") pagination for any ordered queryset that a selector returns.

No COUNT(*) and no OFFSET: a page is "the next `limit` rows after the last one you saw", so
page 10,000 costs what page 1 costs, and rows inserted meanwhile do not shift pages. The cursor
is opaque to clients: the sort key values of the last row, plus a fingerprint of the ordering so
a cursor cannot be replayed against another sort. Values only ever reach the ORM as filter
arguments, and the filter narrows the selector's (already actor-scoped) queryset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q, QuerySet
from ninja import Schema

from frontline.core.errors import ValidationError

M = TypeVar("M", bound=models.Model)

_BAD_CURSOR = "Not a valid cursor; start again without one."


@dataclass(frozen=True, slots=True)
class Page(Generic[M]):
    items: list[M]
    next_cursor: str | None


def _ordering(qs: QuerySet[M]) -> list[str]:
    """The queryset's ordering as plain field names, ending with the primary key so that the
    order is total (rows with equal sort values still have one place)."""
    meta = qs.model._meta
    raw = list(qs.query.order_by) or (
        list(meta.ordering or ()) if qs.query.default_ordering else []
    )
    pk_name = meta.pk.name if meta.pk is not None else "id"
    names: list[str] = []
    for item in raw:
        if not isinstance(item, str) or item == "?" or "__" in item:
            raise ImproperlyConfigured(f"keyset pagination cannot order by {item!r}")
        name = item.replace("pk", pk_name) if item.lstrip("-") == "pk" else item
        field = meta.get_field(name.lstrip("-"))
        if getattr(field, "null", False):
            raise ImproperlyConfigured(f"keyset pagination cannot order by nullable {name!r}")
        names.append(name)
    if pk_name not in {n.lstrip("-") for n in names}:
        names.append(pk_name)
    return names


def _fingerprint(names: list[str]) -> str:
    return hashlib.sha256(",".join(names).encode()).hexdigest()[:12]


def _encode(qs: QuerySet[M], names: list[str], row: M) -> str:
    meta = qs.model._meta
    values = [meta.get_field(n.lstrip("-")).value_to_string(row) for n in names]  # type: ignore[union-attr]
    raw = json.dumps(
        {"o": _fingerprint(names), "v": values}, separators=(",", ":"), ensure_ascii=False
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(qs: QuerySet[M], names: list[str], cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationError({"cursor": _BAD_CURSOR}) from None
    if not isinstance(data, dict) or not isinstance(data.get("v"), list):
        raise ValidationError({"cursor": _BAD_CURSOR})
    if data.get("o") != _fingerprint(names):
        raise ValidationError(
            {"cursor": "This cursor belongs to another sort order; start again without one."}
        )
    raw_values: list[Any] = data["v"]
    if len(raw_values) != len(names) or not all(isinstance(v, str) for v in raw_values):
        raise ValidationError({"cursor": _BAD_CURSOR})
    if any("\x00" in v for v in raw_values):  # PostgreSQL refuses NUL in a parameter: a 500
        raise ValidationError({"cursor": _BAD_CURSOR})
    meta = qs.model._meta
    try:
        return [
            meta.get_field(n.lstrip("-")).to_python(v)  # type: ignore[union-attr]
            for n, v in zip(names, raw_values, strict=True)
        ]
    except (DjangoValidationError, ValueError, TypeError):
        raise ValidationError({"cursor": _BAD_CURSOR}) from None


def _after(names: list[str], values: list[Any]) -> Q:
    """Rows strictly after `values` in the order `names`:
    (a > x) OR (a = x AND b > y) OR (a = x AND b = y AND c > z) …, with < for descending."""
    condition = Q()
    equal: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        field = name.lstrip("-")
        lookup = "lt" if name.startswith("-") else "gt"
        condition |= Q(**equal, **{f"{field}__{lookup}": value})
        equal[field] = value
    return condition


def keyset_page(qs: QuerySet[M], *, limit: int, cursor: str | None) -> Page[M]:
    """One page of `qs` in its own order (selectors decide the order)."""
    names = _ordering(qs)
    if cursor:
        qs = qs.filter(_after(names, _decode(qs, names, cursor)))
    rows = list(qs.order_by(*names)[: limit + 1])
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    rows = rows[:limit]
    return Page(items=rows, next_cursor=_encode(qs, names, rows[-1]))


# --- a list operation's page ------------------------------------------------------------------

_P = TypeVar("_P", bound=Schema)


class PageQuery(Protocol):
    """What a list operation's query asks for (frontline.api.schemas.ListQuery)."""

    @property
    def limit(self) -> int: ...

    @property
    def cursor(self) -> str | None: ...


def page_out(schema: type[_P], rows: QuerySet[M], query: PageQuery, item: Callable[[M], Any]) -> _P:
    """The page of `rows` (in the selector's order) that `query` asks for, as `schema`, with
    `item(row)` for each row."""
    page = keyset_page(rows, limit=query.limit, cursor=query.cursor)
    return schema.model_validate(
        {"items": [item(row) for row in page.items], "next_cursor": page.next_cursor}
    )
