"""Schemas shared by every app's router: the error shape, base classes, small references."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from frontline.accounts.models import SupportGroup, User
from frontline.tenants.models import Organization

LIMIT_DEFAULT = 50
LIMIT_MAX = 100
# A cursor carries the sort values of one row: a 255-character subject of 4-byte characters,
# base64-encoded, is about 1,400 characters.
MAX_CURSOR = 2000


class OneOf:
    """`Annotated[str, OneOf(Ticket.Status.values)]`: a value of a model's choices, listed as an
    `enum` in the OpenAPI schema. The models stay the only place the choices are written."""

    __slots__ = ("values",)

    def __init__(self, values: Iterable[str | int]) -> None:
        self.values: tuple[str | int, ...] = tuple(values)

    def _check(self, value: Any) -> Any:
        if value not in self.values:
            raise PydanticCustomError(
                "one_of",
                "Must be one of: {allowed}.",
                {"allowed": ", ".join(str(v) for v in self.values)},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["enum"] = list(self.values)
        return json_schema


class InSchema(Schema):
    """Base of every request body: a field that is not declared (organization, tenant,
    created_by, status on create …) is refused with 422 naming the field, never ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    """The one error shape of the API."""

    detail: str = Field(description="What went wrong, for a person to read.")
    errors: dict[str, str] = Field(
        description="Messages per input field ('__all__' for the request as a whole); "
        "empty when the error is not about a field."
    )


class ListQuery(Schema):
    """Keyset pagination: pass the previous page's `next_cursor` to get the next page."""

    limit: int = Field(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX, description="Items per page (1-100).")
    cursor: str | None = Field(
        None, max_length=MAX_CURSOR, description="`next_cursor` of the last page."
    )


class OrganizationRefOut(Schema):
    id: int
    name: str


class PersonRefOut(Schema):
    id: int
    name: str


class PersonOut(Schema):
    id: int
    name: str
    email: str


class GroupRefOut(Schema):
    id: int
    name: str
    tier: int


def organization_ref(organization: Organization) -> OrganizationRefOut:
    return OrganizationRefOut(id=organization.pk, name=organization.name)


def person(user: User) -> PersonOut:
    return PersonOut(id=user.pk, name=user.full_name, email=user.email)


def person_ref(user: User | None) -> PersonRefOut | None:
    return PersonRefOut(id=user.pk, name=user.full_name) if user is not None else None


def group_ref(group: SupportGroup | None) -> GroupRefOut | None:
    return GroupRefOut(id=group.pk, name=group.name, tier=group.tier) if group is not None else None


def no_default(schema: dict[str, Any]) -> None:
    """`json_schema_extra` for optional fields of a PATCH: omitting a field leaves it unchanged,
    which a `default` in the schema would misstate."""
    schema.pop("default", None)


def omittable(description: str | None = None) -> Any:
    """A PATCH field: omit it to leave the value unchanged. Combine with a before-validator
    that refuses an explicit null (the default None is never validated, nor returned, since
    PATCH handlers read `model_dump(exclude_unset=True)`)."""
    return Field(None, description=description, json_schema_extra=no_default)


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """Declare the error responses an operation can give, for an exact OpenAPI schema."""
    return dict.fromkeys(codes, ErrorOut)
