"""Self-service pages for end users, and the status page that mailed links open.

Each view checks the input's shape with a form and calls the tickets app's services and
selectors, which scope everything to the actor (another organisation's ticket: 404) and leave
internal notes and internal attachments out for end users."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontline.core.errors import Conflict, NotFound, ValidationError
from frontline.core.http import ActorRequest, actor_required
from frontline.portal.forms import (
    STATUS_FILTERS,
    ConfirmForm,
    ReopenForm,
    ReplyForm,
    TicketCreateForm,
    TicketListForm,
    add_service_errors,
)
from frontline.tickets import selectors, services
from frontline.tickets.models import Ticket

PAGE_SIZE = 25
CONFLICT_MESSAGE = (
    "This ticket changed while you were reading it, so nothing was saved. "
    "The latest version is shown below: please check it and try again."
)

V = TypeVar("V", bound=Callable[..., HttpResponse])


def end_users_only(view: V) -> V:
    """The portal shows tickets as their requesters see them; agents go to the desk instead.

    (Agents' timelines include internal notes, which must never appear on a portal page.)"""

    @wraps(view)
    def wrapper(request: ActorRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.actor.is_agent:
            if "ref" in kwargs:
                return redirect("tickets:ticket-detail", ref=kwargs["ref"])
            return redirect("tickets:queue")
        return view(request, *args, **kwargs)

    return cast(V, wrapper)


def _new_files(uploads: Sequence[UploadedFile]) -> list[services.NewFile]:
    return [
        services.NewFile(name=f.name or "attachment", content=f, content_type=f.content_type or "")
        for f in uploads
    ]


# --- My tickets ------------------------------------------------------------------------------


@actor_required
@end_users_only
@require_GET
def ticket_list(request: ActorRequest) -> HttpResponse:
    form = TicketListForm(request.GET or None)
    status = form.value("status", "open")
    can_see_organisation = request.actor.has_role("org_contact", "org_admin")
    scope = form.value("scope", "mine") if can_see_organisation else "mine"
    q = form.value("q", "")
    filters = selectors.TicketFilters(
        # "Open" for a requester includes tickets waiting for them to confirm the fix;
        # "Resolved" means done: resolved or already closed.
        status={"open": "unclosed", "resolved": "done"}.get(status, ""),
        requester_id=request.actor.user_id if scope == "mine" else None,
        q=q,
        sort="-updated",
    )
    tickets = selectors.ticket_list(actor=request.actor, filters=filters)
    rows = selectors.ticket_rows(tickets, selectors.PORTAL_ROW)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/ticket_list.html",
        {
            "page_obj": page,
            "status": status,
            "scope": scope,
            "q": q,
            "can_see_organisation": can_see_organisation,
            "status_filters": STATUS_FILTERS,
        },
    )


# --- New ticket ------------------------------------------------------------------------------


@actor_required
@end_users_only
@require_http_methods(["GET", "POST"])
def ticket_create(request: ActorRequest) -> HttpResponse:
    categories = list(selectors.category_list())
    if request.method != "POST":
        form = TicketCreateForm(categories=categories)
        return render(request, "portal/ticket_create.html", {"form": form})
    form = TicketCreateForm(request.POST, request.FILES, categories=categories)
    if form.is_valid():
        data = form.cleaned_data
        try:
            # Organisation, requester and routing are never taken from the portal's POST.
            ticket = services.ticket_create(
                actor=request.actor,
                channel=Ticket.Channel.PORTAL,
                type=data["type"],
                subject=data["subject"],
                description=data["description"],
                category_id=data["category"],
                subcategory_id=data["subcategory"],
                impact=data["impact"],
                urgency=data["urgency"],
                files=_new_files(data["attachments"]),
            )
        except ValidationError as exc:
            add_service_errors(form, exc.errors)
        else:
            messages.success(
                request,
                f"Thank you. Your ticket {ticket.number} has been opened; "
                "we will reply here and by email.",
            )
            return redirect("portal:ticket-detail", ref=ticket.number)
    return render(request, "portal/ticket_create.html", {"form": form}, status=422)


# --- One ticket ------------------------------------------------------------------------------


def _detail_page(
    request: ActorRequest,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    reopen_form: ReopenForm | None = None,
    error: str = "",
    conflict: bool = False,
    status: int = 200,
) -> HttpResponse:
    timeline = selectors.ticket_timeline(actor=request.actor, ticket=ticket)
    return render(
        request,
        "portal/ticket_detail.html",
        {
            "ticket": ticket,
            "timeline": timeline,
            "reply_form": reply_form or ReplyForm(),
            "reopen_form": reopen_form or ReopenForm(initial={"version": ticket.version}),
            "error": CONFLICT_MESSAGE if conflict else error,
            "conflict": conflict,
        },
        status=status,
    )


def _conflict_page(request: ActorRequest, ref: str) -> HttpResponse:
    ticket = selectors.ticket_get(actor=request.actor, ref=ref)  # re-read: it has changed
    return _detail_page(request, ticket, conflict=True, status=409)


@actor_required
@end_users_only
@require_GET
def ticket_detail(request: ActorRequest, ref: str) -> HttpResponse:
    ticket = selectors.ticket_get(actor=request.actor, ref=ref)
    return _detail_page(request, ticket)


@actor_required
@end_users_only
@require_POST
def ticket_reply(request: ActorRequest, ref: str) -> HttpResponse:
    ticket = selectors.ticket_get(actor=request.actor, ref=ref)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_page(request, ticket, reply_form=form, status=422)
    try:
        services.comment_add(
            actor=request.actor,
            ticket=ticket,
            body=form.cleaned_data["body"],
            is_internal=False,
            files=_new_files(form.cleaned_data["attachments"]),
            channel=Ticket.Channel.PORTAL,
        )
    except ValidationError as exc:
        add_service_errors(form, exc.errors)
        return _detail_page(request, ticket, reply_form=form, status=422)
    messages.success(request, "Your reply has been sent.")
    return redirect(reverse("portal:ticket-detail", args=[ticket.number]) + "#latest")


@actor_required
@end_users_only
@require_POST
def ticket_confirm(request: ActorRequest, ref: str) -> HttpResponse:
    ticket = selectors.ticket_get(actor=request.actor, ref=ref)
    form = ConfirmForm(request.POST)
    version = form.cleaned_data.get("version") if form.is_valid() else None
    try:
        services.ticket_confirm_resolution(
            actor=request.actor, ticket=ticket, expected_version=version
        )
    except Conflict:
        return _conflict_page(request, ref)
    except ValidationError as exc:
        return _detail_page(request, ticket, error=" ".join(exc.errors.values()), status=422)
    messages.success(request, f"Thank you for confirming. {ticket.number} is now closed.")
    return redirect("portal:ticket-detail", ref=ticket.number)


@actor_required
@end_users_only
@require_POST
def ticket_reopen(request: ActorRequest, ref: str) -> HttpResponse:
    ticket = selectors.ticket_get(actor=request.actor, ref=ref)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, ticket, reopen_form=form, status=422)
    try:
        services.ticket_reopen(
            actor=request.actor,
            ticket=ticket,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except Conflict:
        return _conflict_page(request, ref)
    except ValidationError as exc:
        add_service_errors(form, exc.errors)
        return _detail_page(request, ticket, reopen_form=form, status=422)
    messages.success(request, f"{ticket.number} has been reopened; we will look at it again.")
    return redirect("portal:ticket-detail", ref=ticket.number)


# --- Mailed status link (no sign-in) ---------------------------------------------------------


@require_GET
def status(request: HttpRequest, token: str) -> HttpResponse:
    """What a mailed link shows without signing in: number, subject, status, last update and
    the resolution notes; never comments and never who asked."""
    try:
        ticket = selectors.status_link_ticket(raw_token=token)
    except NotFound:
        response = render(request, "portal/status_invalid.html", status=404)
    else:
        response = render(request, "portal/status.html", {"ticket": ticket})
    # The token is in the URL: don't send it on as a Referer, and don't keep the page in caches.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
