"""Writes of people and tokens. Every change is audited."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from frontline.accounts.models import ApiToken, User
from frontline.accounts.selectors import token_hash
from frontline.core import access
from frontline.core.access import AGENT_ROLES, END_USER_ROLES, Actor
from frontline.core.errors import PermissionDenied, ValidationError
from frontline.core.events import event_record, event_record_changes
from frontline.core.models import AuditEvent
from frontline.tenants.models import Organization

# What a user may change on their own profile; everything else (role, organisation, staff flags,
# groups) is for administrators.
SELF_EDITABLE_FIELDS = frozenset({"full_name", "phone", "time_zone"})
ADMIN_EDITABLE_FIELDS = SELF_EDITABLE_FIELDS | {"role", "is_active", "email"}


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    organization_id: int,
    email: str,
    full_name: str,
    role: str = User.Role.END_USER,
    password: str | None = None,
    phone: str = "",
) -> User:
    """Create a person. Organisation admins may create end users of their own organisation only."""
    access.require(actor, "accounts.user_create")
    # PostgreSQL refuses a NUL byte in text (a 500 instead of an answer): drop it.
    full_name, phone = full_name.replace("\x00", ""), phone.replace("\x00", "")
    if actor.has_role("org_admin") and not actor.has_role("admin", "manager", "system"):
        if organization_id != actor.home_tenant_id:
            raise PermissionDenied("You may only create users in your own organisation.")
        if role not in END_USER_ROLES:
            raise PermissionDenied("You may not grant an agent or administrator role.")
    if role not in {r.value for r in User.Role}:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if role in AGENT_ROLES and not actor.has_role("admin", "system"):
        raise PermissionDenied("Only administrators may create agents.")
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None or not actor.can_see_tenant(organization_id):
        raise ValidationError({"organization_id": "Unknown organisation."})
    email = email.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    if not full_name.strip():
        raise ValidationError({"full_name": "A name is required."})
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": "A user with this email address already exists."})
    if password:
        try:
            validate_password(password)
        except DjangoValidationError as exc:
            raise ValidationError({"password": " ".join(exc.messages)}) from None
    try:
        user = User.objects.create_user(
            email,
            password,
            full_name=full_name.strip(),
            organization=organization,
            role=role,
            phone=phone,
        )
    except IntegrityError:
        raise ValidationError({"email": "A user with this email address already exists."}) from None
    event_record(
        actor=actor,
        target=user,
        tenant_id=organization.pk,
        kind=AuditEvent.Kind.CREATED,
        data={"email": email, "role": role},
    )
    return user


def user_update(*, actor: Actor, user: User, changes: Mapping[str, Any]) -> User:
    """Change a person's profile. A request to change a field the actor may not set is refused
    and the attempt is audited (security item 6). Only administrators grant or take away an
    agent role (as in user_create); raises PermissionDenied or ValidationError, changing nothing."""
    access.require(actor, "accounts.user_update", user)
    is_full_admin = actor.has_role("admin", "system")
    is_admin = is_full_admin or (actor.has_role("manager") and user.role != User.Role.ADMIN)
    allowed = ADMIN_EDITABLE_FIELDS if is_admin else SELF_EDITABLE_FIELDS
    if actor.has_role("org_admin") and not is_admin and user.pk != actor.user_id:
        # Organisation admins manage their organisation's end users, never agents.
        allowed = SELF_EDITABLE_FIELDS | {"is_active", "role"} if not user.is_agent else frozenset()
    forbidden = sorted(set(changes) - allowed)
    if "role" in changes and "role" not in forbidden and not is_full_admin:
        if changes["role"] in AGENT_ROLES or user.role in AGENT_ROLES:
            forbidden = sorted({*forbidden, "role"})
    if forbidden:
        with transaction.atomic():
            event_record(
                actor=actor,
                target=user,
                tenant_id=user.organization_id,
                kind=AuditEvent.Kind.ACCESS_DENIED,
                data={"refused_fields": forbidden},
                is_public=False,
            )
        raise PermissionDenied(f"You may not change: {', '.join(forbidden)}.")
    # PostgreSQL refuses a NUL byte in text (a 500 instead of an answer): drop it.
    cleaned = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in changes.items()}
    if "full_name" in cleaned:
        cleaned["full_name"] = str(cleaned["full_name"]).strip()
        if not cleaned["full_name"]:
            raise ValidationError({"full_name": "A name is required."})
    if "role" in cleaned and cleaned["role"] not in User.Role.values:
        raise ValidationError({"role": f"Unknown role {str(cleaned['role'])[:40]!r}."})
    if "is_active" in cleaned and not isinstance(cleaned["is_active"], bool):
        raise ValidationError({"is_active": "Must be true or false."})
    if "email" in cleaned:
        cleaned["email"] = str(cleaned["email"]).strip().lower()
        try:
            validate_email(cleaned["email"])
        except DjangoValidationError:
            raise ValidationError({"email": "Enter a valid email address."}) from None
        if User.objects.filter(email=cleaned["email"]).exclude(pk=user.pk).exists():
            raise ValidationError({"email": "A user with this email address already exists."})
    with transaction.atomic():
        before = {name: getattr(user, name) for name in cleaned}
        for name, value in cleaned.items():
            setattr(user, name, value)
        user.save(update_fields=list(cleaned))
        event_record_changes(
            actor=actor,
            target=user,
            tenant_id=user.organization_id,
            changes=[(name, before[name], getattr(user, name)) for name in cleaned],
        )
    return user


@transaction.atomic
def token_create(*, actor: Actor, user: User, name: str = "API token") -> tuple[ApiToken, str]:
    """Create an API token for `user`; returns the row and the raw token (shown only once)."""
    # With `user` as the object, a system job of one tenant cannot mint tokens for another's users.
    access.require(actor, "accounts.token_create", user)
    if actor.user_id is not None and actor.user_id != user.pk and not actor.has_role("admin"):
        raise PermissionDenied("You may only create tokens for yourself.")
    raw = "flt_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100] or "API token", prefix=raw[:12], key_hash=token_hash(raw)
    )
    event_record(
        actor=actor,
        target=user,
        tenant_id=user.organization_id,
        kind=AuditEvent.Kind.SECURITY,
        data={"token_created": token.prefix},
        is_public=False,
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: Actor, user: User, prefix: str | None = None) -> int:
    """Revoke `user`'s active API tokens (only the one starting with `prefix`, if given).

    Returns how many were revoked; each revocation is audited."""
    access.require(actor, "accounts.token_create", user)
    if actor.user_id is not None and actor.user_id != user.pk and not actor.has_role("admin"):
        raise PermissionDenied("You may only revoke your own tokens.")
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if prefix:
        tokens = tokens.filter(prefix=prefix[:12])
    prefixes = list(tokens.values_list("prefix", flat=True))
    count = tokens.update(revoked_at=timezone.now())
    if count:
        event_record(
            actor=actor,
            target=user,
            tenant_id=user.organization_id,
            kind=AuditEvent.Kind.SECURITY,
            data={"tokens_revoked": prefixes},
            is_public=False,
        )
    return int(count)
