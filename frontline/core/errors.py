"""Domain errors. The UI and the API map each to one response shape (404, 403, 422, 409)."""

from __future__ import annotations

from collections.abc import Mapping


class FrontlineError(Exception):
    status_code = 400
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotFound(FrontlineError):
    """The object does not exist, or exists in an organisation the actor may not see."""

    status_code = 404
    default_message = "Not found."


class PermissionDenied(FrontlineError):
    status_code = 403
    default_message = "You do not have permission to do this."


class Conflict(FrontlineError):
    """Someone else changed the record since it was read (optimistic locking)."""

    status_code = 409
    default_message = (
        "This ticket was changed by someone else since you opened it. "
        "Reload to see their changes, then try again."
    )


class ValidationError(FrontlineError):
    """Input that is well-formed but not acceptable; carries messages per field."""

    status_code = 422
    default_message = "Some fields are not valid."

    def __init__(self, errors: Mapping[str, str] | str) -> None:
        if isinstance(errors, str):
            self.errors: dict[str, str] = {"__all__": errors}
            super().__init__(errors)
        else:
            self.errors = dict(errors)
            super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))
