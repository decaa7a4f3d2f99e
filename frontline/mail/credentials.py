"""The IMAP password of a mailbox, never stored in clear.

Two ways to give it:
- `Mailbox.imap_password_env`: the name of an environment variable that holds the password
  (nothing secret in the database at all);
- `Mailbox.imap_password_encrypted`: a Fernet token (cryptography), set through
  `mailbox_password_set` (the mailbox admin's write-only password field).

The Fernet key is `FRONTLINE_MAIL_KEY` (a key made with
`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`)
when set, else one derived from `FRONTLINE_SECRET_KEY` (SHA-256 of a fixed label and the secret
key). Changing whichever is in use makes the stored passwords unreadable: `mailbox_password`
then raises `MailCredentialError` saying so, and the password must be entered again.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction

from frontline.core.access import Actor
from frontline.core.errors import FrontlineError, PermissionDenied
from frontline.core.events import event_record
from frontline.core.models import AuditEvent
from frontline.mail.models import Mailbox

_DERIVATION_LABEL = b"frontline.mail.imap-password:"


class MailCredentialError(FrontlineError):
    """The mailbox's password cannot be obtained (missing, or encrypted with another key)."""

    status_code = 422
    default_message = "The mailbox password is not available."


def _fernet() -> Fernet:
    key = getattr(settings, "FRONTLINE_MAIL_KEY", "") or ""
    if key:
        try:
            return Fernet(key.encode() if isinstance(key, str) else key)
        except (ValueError, TypeError) as exc:
            raise MailCredentialError(
                "FRONTLINE_MAIL_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes)."
            ) from exc
    digest = hashlib.sha256(_DERIVATION_LABEL + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def password_encrypt(password: str) -> str:
    """The Fernet token stored in `Mailbox.imap_password_encrypted`."""
    return _fernet().encrypt(password.encode("utf-8")).decode("ascii")


def mailbox_password_set(*, actor: Actor, mailbox: Mailbox, password: str) -> Mailbox:
    """Store (or, with an empty password, clear) the mailbox's IMAP password, encrypted.
    Administrators only; audited without the password itself."""
    if not actor.has_role("admin", "system"):
        raise PermissionDenied("Only administrators may set a mailbox password.")
    had_password = bool(mailbox.imap_password_encrypted)
    with transaction.atomic():
        mailbox.imap_password_encrypted = password_encrypt(password) if password else ""
        mailbox.save(update_fields=["imap_password_encrypted", "updated_at"])
        tenant_id = mailbox.organization_id or actor.home_tenant_id
        if tenant_id is not None:
            event_record(
                actor=actor,
                target=mailbox,
                tenant_id=tenant_id,
                kind=AuditEvent.Kind.SECURITY,
                field="imap_password",
                old="set" if had_password else "",
                new="set" if password else "cleared",
                data={"mailbox": mailbox.address},
                is_public=False,
            )
    return mailbox


def mailbox_password(mailbox: Mailbox) -> str:
    """The clear IMAP password, for connecting only: never log or display it."""
    if mailbox.imap_password_env:
        value = os.environ.get(mailbox.imap_password_env)
        if value is None:
            raise MailCredentialError(
                f"Mailbox {mailbox.address}: environment variable "
                f"{mailbox.imap_password_env} is not set."
            )
        return value
    if not mailbox.imap_password_encrypted:
        raise MailCredentialError(f"Mailbox {mailbox.address} has no IMAP password set.")
    try:
        return _fernet().decrypt(mailbox.imap_password_encrypted.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise MailCredentialError(
            f"Mailbox {mailbox.address}: the stored IMAP password cannot be decrypted with the "
            "current key (FRONTLINE_MAIL_KEY, or FRONTLINE_SECRET_KEY when that is unset, has "
            "changed). Enter the password again in the mailbox admin."
        ) from exc
