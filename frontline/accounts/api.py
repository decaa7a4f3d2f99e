"""REST API for people and support groups (mounted at /api/v1/ by frontline.api)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from frontline.accounts import selectors, services
from frontline.accounts.models import SupportGroup, User
from frontline.api.auth import request_actor
from frontline.api.pagination import page_out
from frontline.api.schemas import (
    InSchema,
    ListQuery,
    OneOf,
    OrganizationRefOut,
    errors,
    omittable,
    organization_ref,
)
from frontline.core.access import Actor
from frontline.core.errors import ValidationError

router = Router(tags=["people and groups"])

RoleName = Annotated[str, OneOf(User.Role.values)]
GroupKind = Annotated[str, OneOf(SupportGroup.Kind.values)]

REFUSED_DOC = (
    "Cannot be changed through the API: a request to change it is refused with 403 and the "
    "attempt is recorded in the audit trail."
)


# --- output ----------------------------------------------------------------------------------


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    role: RoleName
    is_agent: bool
    organization: OrganizationRefOut
    phone: str
    time_zone: str
    is_active: bool
    date_joined: datetime


class UserPageOut(Schema):
    items: list[UserOut]
    next_cursor: str | None


class GroupOut(Schema):
    id: int
    name: str
    kind: GroupKind
    tier: int
    description: str
    email: str
    is_active: bool
    escalates_to_id: int | None = Field(description="Default group for functional escalation.")


class GroupPageOut(Schema):
    items: list[GroupOut]
    next_cursor: str | None


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.pk,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        is_agent=user.is_agent,
        organization=organization_ref(user.organization),
        phone=user.phone,
        time_zone=user.time_zone,
        is_active=user.is_active,
        date_joined=user.date_joined,
    )


def _group_out(group: SupportGroup) -> GroupOut:
    return GroupOut(
        id=group.pk,
        name=group.name,
        kind=group.kind,
        tier=group.tier,
        description=group.description,
        email=group.email,
        is_active=group.is_active,
        escalates_to_id=group.escalates_to_id,
    )


# --- input -----------------------------------------------------------------------------------


def _email(value: str) -> str:
    value = value.strip().lower()
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("Enter a valid email address.") from None
    return value


def _refused() -> Any:
    return omittable(REFUSED_DOC)


class UserUpdateIn(InSchema):
    """Everyone may change their own name, phone and time zone; administrators (and an
    organisation's admin, for its end users) also e-mail, role and active flag."""

    full_name: str = omittable()
    phone: str = omittable()
    time_zone: str = omittable("IANA name, e.g. Europe/Berlin.")
    email: str = omittable()
    role: RoleName = omittable()
    is_active: bool = omittable()
    # Named so that an attempt is refused *and audited* by the service (SECURITY item 6),
    # rather than bounced by the schema without a trace.
    is_staff: bool = _refused()
    is_superuser: bool = _refused()
    organization_id: int = _refused()
    groups: list[int] = _refused()
    serves_all_organizations: bool = _refused()
    served_organizations: list[int] = _refused()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("This field cannot be null.")
        return value

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        return _email(value)

    @field_validator("time_zone")
    @classmethod
    def _valid_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("Unknown time zone; use an IANA name such as Europe/Berlin.") from None
        return value


class UserCreateIn(InSchema):
    """Administrators and managers create anyone; an organisation's admin creates end users of
    its own organisation only (anything else: 403)."""

    organization_id: int
    email: str
    full_name: str
    role: RoleName = "end_user"
    password: str | None = Field(None, description="Optional; the person can reset it later.")
    phone: str = ""


# --- operations ------------------------------------------------------------------------------


def _update(actor: Actor, user: User, payload: UserUpdateIn) -> UserOut:
    changes = payload.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationError({"__all__": "Send at least one field to change."})
    return _user_out(services.user_update(actor=actor, user=user, changes=changes))


@router.get(
    "/users",
    response={200: UserPageOut, **errors(401, 422)},
    summary="People the caller may see, by name",
)
def user_list(request: HttpRequest, query: Query[ListQuery]) -> UserPageOut:
    users = selectors.user_list(actor=request_actor(request))
    return page_out(UserPageOut, users, query, _user_out)


@router.post(
    "/users",
    response={201: UserOut, **errors(401, 403, 409, 422)},
    summary="Create a person",
)
def user_create(request: HttpRequest, payload: UserCreateIn) -> Status[UserOut]:
    user = services.user_create(actor=request_actor(request), **payload.model_dump())
    return Status(201, _user_out(user))


@router.get(
    "/users/me",
    response={200: UserOut, **errors(401)},
    summary="The caller",
)
def user_me(request: HttpRequest) -> UserOut:
    actor = request_actor(request)
    return _user_out(selectors.user_get(actor=actor, user_id=actor.user_id or 0))


@router.patch(
    "/users/me",
    response={200: UserOut, **errors(401, 403, 409, 422)},
    summary="Change the caller's own profile",
)
def user_me_update(request: HttpRequest, payload: UserUpdateIn) -> UserOut:
    actor = request_actor(request)
    user = selectors.user_get(actor=actor, user_id=actor.user_id or 0)
    return _update(actor, user, payload)


@router.get(
    "/users/{user_id}",
    response={200: UserOut, **errors(401, 404, 422)},
    summary="One person",
)
def user_detail(request: HttpRequest, user_id: int) -> UserOut:
    return _user_out(selectors.user_get(actor=request_actor(request), user_id=user_id))


@router.patch(
    "/users/{user_id}",
    response={200: UserOut, **errors(401, 403, 404, 409, 422)},
    summary="Change a person's profile",
)
def user_update(request: HttpRequest, user_id: int, payload: UserUpdateIn) -> UserOut:
    actor = request_actor(request)
    user = selectors.user_get(actor=actor, user_id=user_id)
    return _update(actor, user, payload)


@router.get(
    "/groups",
    response={200: GroupPageOut, **errors(401, 422)},
    summary="Support groups, by tier (agents; empty for end users)",
)
def group_list(request: HttpRequest, query: Query[ListQuery]) -> GroupPageOut:
    groups = selectors.group_list(actor=request_actor(request))
    return page_out(GroupPageOut, groups, query, _group_out)


@router.get(
    "/groups/{group_id}",
    response={200: GroupOut, **errors(401, 404, 422)},
    summary="One support group (agents)",
)
def group_detail(request: HttpRequest, group_id: int) -> GroupOut:
    return _group_out(selectors.group_get(actor=request_actor(request), group_id=group_id))
