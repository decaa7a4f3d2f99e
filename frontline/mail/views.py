"""Mail in the desk, mounted at /desk/mail/: the original of a received message, and the
failed-mail list with retry for administrators.

A received message is reached through the ticket it belongs to (mail.selectors): end users and
other organisations' agents get 404, as for a message that does not exist. The failed-mail
pages answer 403 to everyone but administrators."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from frontline.core.errors import ValidationError
from frontline.core.http import ActorRequest, actor_required, agent_required
from frontline.mail import selectors
from frontline.mail.models import FailedMail, InboundMail

PAGE_SIZE = 50


def _eml_response(stored: InboundMail | FailedMail, filename: str) -> FileResponse:
    """The original message as a download, never rendered in our origin."""
    response = FileResponse(
        selectors.raw_message_open(stored),
        as_attachment=True,
        filename=filename,
        content_type="message/rfc822",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_GET
@actor_required
def inbound_raw(request: ActorRequest, inbound_id: int) -> HttpResponseBase:
    mail = selectors.inbound_mail_get(actor=request.actor, inbound_id=inbound_id)
    return _eml_response(mail, f"message-{mail.pk}.eml")


@require_GET
@agent_required
def failed_list(request: ActorRequest) -> HttpResponse:
    show_resolved = request.GET.get("resolved") == "1"
    failed = selectors.failed_mail_list(actor=request.actor, include_resolved=show_resolved)
    page = Paginator(failed, PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"page": page, "show_resolved": show_resolved}
    return render(request, "mail/desk/failed_list.html", context)


@require_GET
@agent_required
def failed_raw(request: ActorRequest, failed_id: int) -> HttpResponseBase:
    failed = selectors.failed_mail_get(actor=request.actor, failed_id=failed_id)
    return _eml_response(failed, f"failed-message-{failed.pk}.eml")


@require_POST
@agent_required
def failed_retry(request: ActorRequest, failed_id: int) -> HttpResponse:
    """Run the message through intake again; the outcome is shown on the list."""
    from frontline.mail import ingest  # the intake pipeline: parsing libraries, loaded on use

    failed = selectors.failed_mail_get(actor=request.actor, failed_id=failed_id)
    label = failed.subject or failed.message_id or f"message {failed.pk}"
    try:
        result = ingest.failed_mail_retry(actor=request.actor, failed=failed)
    except ValidationError as exc:  # e.g. already processed (a second click, another admin)
        messages.error(request, f"“{label}”: {exc.message}")
        return redirect("mail:failed-list")
    if result.outcome == "failed":
        reason = result.reason or (result.failed.reason if result.failed else "")
        messages.error(request, f"“{label}” failed again: {reason}")
    else:
        ticket = result.inbound.ticket if result.inbound is not None else None
        where = f" ({ticket.number})" if ticket is not None else ""
        messages.success(request, f"“{label}” was processed: {result.outcome}{where}.")
    return redirect("mail:failed-list")
