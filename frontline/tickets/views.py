"""The agent desk: the queue, the ticket page and its actions, the phone log, downloads.

Each view parses input with a form, calls one service or selector, and renders: a partial for
htmx requests, the full page otherwise (plain POST + redirect works without JavaScript). Domain
errors map to one response each: ValidationError -> the form again with 422, Conflict -> 409
with nothing written, NotFound -> 404, PermissionDenied -> 403 (core.http)."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.forms.renderers import DjangoTemplates
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontline.core.errors import Conflict, NotFound, ValidationError
from frontline.core.http import ActorRequest, actor_required, agent_required, is_htmx
from frontline.sla import selectors as sla_selectors
from frontline.tickets import selectors, services
from frontline.tickets.downloads import attachment_response
from frontline.tickets.forms import (
    REQUESTER_LIST_LIMIT,
    REQUESTER_SEARCH_LIMIT,
    AssignForm,
    DeskChoices,
    DeskForm,
    EscalateForm,
    MergeForm,
    ParentForm,
    PhoneLogForm,
    QueueFilterForm,
    ReplyForm,
    TransitionForm,
    UpdateForm,
    WatcherForm,
    requester_option_groups,
)
from frontline.tickets.models import Ticket

PAGE_SIZE = 50
QUEUE_TABS = [
    ("mine", "Mine"),
    ("groups", "My groups"),
    ("unassigned", "Unassigned"),
    ("open", "All open"),
    ("all", "All"),
]
QUEUE_TITLES = {
    "mine": "My open tickets",
    "groups": "My groups' open tickets",
    "unassigned": "Unassigned open tickets",
    "open": "All open tickets",
    "all": "All tickets",
}
F = TypeVar("F", bound=DeskForm)


def _partial(request: ActorRequest) -> bool:
    """htmx wants a fragment, except when restoring history (it needs the whole page then)."""
    return is_htmx(request) and request.headers.get("HX-History-Restore-Request") != "true"


def _render(
    request: ActorRequest,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- the queue -------------------------------------------------------------------------------


def _esc(value: Any) -> str:
    """conditional_escape without its SafeString wrapping (this is called per <option>)."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def _attrs_html(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html, in Python."""
    return "".join(
        f" {_esc(name)}" if value is True else f' {_esc(name)}="{_esc(value)}"'
        for name, value in attrs.items()
        if value is not False and value is not None
    )


def _widget_attrs_html(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html exactly (None is written "None", as it does)."""
    return "".join(
        f" {_esc(name)}" if value is True else f' {_esc(name)}="{_esc(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input_html(widget: dict[str, Any]) -> str:
    """django/forms/widgets/input.html (text, hidden, file, … and each radio's input)."""
    value = widget["value"]
    shown = f' value="{_esc(value)}"' if value is not None else ""
    return (
        f'<input type="{_esc(widget["type"])}" name="{_esc(widget["name"])}"{shown}'
        f"{_widget_attrs_html(widget['attrs'])}>"
    )


def _input_option_html(widget: dict[str, Any]) -> str:
    """django/forms/widgets/input_option.html (a radio or checkbox choice)."""
    if not widget.get("wrap_label"):
        return _input_html(widget)
    label_for = widget["attrs"].get("id")
    for_attr = f' for="{_esc(label_for)}"' if label_for else ""
    # input.html's closing newline stays inside the label (only the whole output is stripped).
    return f"<label{for_attr}>{_input_html(widget)}\n {_esc(widget['label'])}</label>"


def _textarea_html(widget: dict[str, Any]) -> str:
    """django/forms/widgets/textarea.html."""
    value = widget["value"]
    return (
        f'<textarea name="{_esc(widget["name"])}"{_widget_attrs_html(widget["attrs"])}>\n'
        f"{_esc(value) if value else ''}</textarea>"
    )


_WIDGET_HTML: dict[str, Callable[[dict[str, Any]], str]] = {
    **{
        f"django/forms/widgets/{name}.html": _input_html
        for name in ("input", "text", "hidden", "number", "email", "url", "password", "file")
    },
    **{
        f"django/forms/widgets/{name}.html": _input_option_html
        for name in ("input_option", "radio_option", "checkbox_option")
    },
    "django/forms/widgets/textarea.html": _textarea_html,
}


class FastSelectRenderer(DjangoTemplates):
    """Django's default form renderer, except that <select>s, <textarea>s, <input>s and radio
    choices are written in Python.

    The template engine renders a select as one include per <option> (~0.1 ms each): the queue's
    filter bar (organisations, groups, agents, categories: hundreds of options) cost ~70 ms of a
    page; an input is three nested templates. The markup is the same as Django's widget
    templates (a test compares them), every value escaped as the templates do. Field groups,
    labels and error lists still come from the templates."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        widget_html = _WIDGET_HTML.get(template_name)
        if widget_html is not None:
            return mark_safe(widget_html(context["widget"]))  # noqa: S308 (escaped)
        if template_name != "django/forms/widgets/select.html":
            return str(super().render(template_name, context, request))
        widget = context["widget"]
        out = [f'<select name="{_esc(widget["name"])}"', _attrs_html(widget["attrs"]), ">"]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                out.append(f'\n  <optgroup label="{_esc(group_name)}">')
            for option in options:
                attrs = _attrs_html(option["attrs"]) if option["attrs"] else ""
                out.append(
                    f'\n  <option value="{_esc(option["value"])}"{attrs}>'
                    f"{_esc(option['label'])}</option>\n"
                )
            if group_name:
                out.append("\n  </optgroup>")
        out.append("\n</select>")
        return mark_safe("".join(out))  # noqa: S308 (every part escaped above)


FAST_SELECTS = FastSelectRenderer()


@require_GET
@agent_required
def queue(request: ActorRequest) -> HttpResponse:
    choices = DeskChoices(request.actor)
    filter_form = QueueFilterForm(request.GET or None, choices=choices, renderer=FAST_SELECTS)
    context: dict[str, Any] = {"filter_form": filter_form, "tabs": QUEUE_TABS}
    try:
        filters = selectors.TicketFilters.from_params(request.GET)
    except ValidationError as exc:
        context |= {"filters": selectors.TicketFilters(), "filter_errors": exc.errors}
        return _queue_response(request, context, status=400)
    tickets = selectors.ticket_list(actor=request.actor, filters=filters)
    paginator = selectors.CappedPaginator(
        tickets, PAGE_SIZE, page=request.GET.get("page"), rows=selectors.queue_rows
    )
    page = paginator.get_page(request.GET.get("page"))
    context |= {"filters": filters, "page": page, "title": QUEUE_TITLES[filters.queue]}
    return _queue_response(request, context)


def _queue_response(
    request: ActorRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    template = "tickets/partials/_queue_results.html" if _partial(request) else "tickets/queue.html"
    return _render(request, template, context, status=status)


# --- the ticket page -------------------------------------------------------------------------


@require_GET
@agent_required
def ticket_detail(request: ActorRequest, ref: str) -> HttpResponse:
    ticket = selectors.ticket_get(actor=request.actor, ref=ref)
    return _detail_response(request, ticket, partial=_partial(request))


def _action_forms(ticket: Ticket) -> dict[str, DeskForm]:
    """The forms drawn on every ticket page: reply and status. The other actions' forms (and
    their pick lists of groups, agents and categories) are drawn when the agent opens one: an
    htmx GET of the action's URL, or that URL as a page of its own without JavaScript."""
    return {
        "reply": ReplyForm(ticket=ticket, renderer=FAST_SELECTS),
        "status": TransitionForm(ticket=ticket, renderer=FAST_SELECTS),
    }


@dataclass(frozen=True, slots=True)
class ActionSlot:
    """An action's place on the ticket page: its closed stub (_action_lazy.html) or its open form
    (_action_<name>.html, framed by _action_form.html)."""

    name: str
    label: str
    url: str


# The actions whose forms the ticket page loads on demand: name -> (label, URL name).
LAZY_ACTIONS: dict[str, tuple[str, str]] = {
    "assign": ("Assign", "tickets:ticket-assign"),
    "escalate": ("Escalate", "tickets:ticket-escalate"),
    "edit": ("Edit details", "tickets:ticket-update"),
    "merge": ("Merge into another ticket", "tickets:ticket-merge"),
    "parent": ("Set parent", "tickets:ticket-link-parent"),
    "watcher": ("Add a watcher", "tickets:watcher-add"),
}
# The forms that offer the pick lists of groups, agents and categories (they take DeskChoices).
PICK_LIST_FORMS = (AssignForm, EscalateForm, UpdateForm, WatcherForm)


def _slot(ticket: Ticket, name: str) -> ActionSlot:
    label, url_name = LAZY_ACTIONS[name]
    return ActionSlot(name=name, label=label, url=reverse(url_name, args=[ticket.number]))


def _desk_form(
    request: ActorRequest, ticket: Ticket, form_class: type[F], *, bound: bool = False
) -> F:
    """`form_class` for `ticket`: bound to what was posted, or empty to be drawn."""
    kwargs: dict[str, Any] = {"ticket": ticket}
    if issubclass(form_class, PICK_LIST_FORMS):
        kwargs["choices"] = DeskChoices(request.actor)
    if bound:
        return form_class(request.POST, request.FILES, **kwargs)
    return form_class(renderer=FAST_SELECTS, **kwargs)


def _action_form_page(
    request: ActorRequest, ticket: Ticket, name: str, form_class: type[DeskForm]
) -> HttpResponse:
    """GET of an action's URL: its form, open. htmx swaps it in place of the closed stub on
    the ticket page; without JavaScript it is a page of its own that posts to the same URL."""
    context = {
        "form": _desk_form(request, ticket, form_class),
        "ticket": ticket,
        "me": request.actor.user_id,
        "open": True,
        "action": _slot(ticket, name),
    }
    if _partial(request):
        return _render(request, f"tickets/partials/_action_{name}.html", context)
    return _render(request, "tickets/ticket_action.html", context)


class _CategoryNames(Mapping[int, str]):
    """Category names for the timeline's sentences, read only if an event names a category
    (most timelines do not: one query fewer per ticket page)."""

    def __init__(self, choices: DeskChoices) -> None:
        self._choices = choices

    def __getitem__(self, key: int) -> str:
        return self._choices.category_names[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._choices.category_names)

    def __len__(self) -> int:
        return len(self._choices.category_names)

    def __bool__(self) -> bool:  # without reading them
        return True


def _detail_response(
    request: ActorRequest,
    ticket: Ticket,
    *,
    partial: bool,
    failed: tuple[str, DeskForm] | None = None,
    status: int = 200,
    notice: str = "",
) -> HttpResponse:
    actor = request.actor
    forms = _action_forms(ticket)
    if failed is not None:
        forms[failed[0]] = failed[1]
    links = selectors.ticket_links(actor=actor, ticket=ticket)
    activity = selectors.ticket_activity(actor=actor, ticket=ticket)
    context = {
        "ticket": ticket,
        "handoff": activity.handoff,
        "sla": sla_selectors.ticket_clocks(actor=actor, ticket=ticket),
        "timeline": activity.timeline,
        "children": links.children,
        "duplicates": links.duplicates,
        "watchers": links.watchers,
        "is_watching": any(w.pk == actor.user_id for w in links.watchers),
        "forms": forms,
        "actions": {name: _slot(ticket, name) for name in LAZY_ACTIONS},
        "category_names": _CategoryNames(DeskChoices(actor)),
        "notice": notice,
        "me": actor.user_id,
    }
    template = "tickets/partials/_detail_body.html" if partial else "tickets/ticket_detail.html"
    return _render(request, template, context, status=status)


def _ticket_action(
    request: ActorRequest,
    ref: str,
    name: str,
    form_class: type[F],
    write: Callable[[Ticket, F], object],
    notice: str,
    *,
    errors_in: str = "",
) -> HttpResponse:
    """One ticket action. GET (the actions of LAZY_ACTIONS): its form, open. POST: the form
    bound to what was sent and, once it is valid, `write(ticket, form)`: the service call.

    Success: the refreshed ticket body (htmx) or a redirect to the ticket page (PRG).
    ValidationError: the form again with its messages, 422. Conflict: the form again with the
    conflict message, 409; the service wrote nothing. The form shows them in the place of the
    action `errors_in` (default: `name`)."""
    ticket = selectors.ticket_get(actor=request.actor, ref=ref)
    if request.method == "GET":
        return _action_form_page(request, ticket, name, form_class)
    form = _desk_form(request, ticket, form_class, bound=True)
    shown_in = errors_in or name
    if not form.is_valid():
        return _failed(request, ticket, shown_in, form, 422)
    try:
        write(ticket, form)
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _failed(request, ticket, shown_in, form, 422)
    except Conflict:
        form.conflict = True
        return _failed(request, ticket, shown_in, form, 409)
    if _partial(request):
        fresh = selectors.ticket_get(actor=request.actor, ref=ticket.pk)
        return _detail_response(request, fresh, partial=True, notice=notice)
    messages.success(request, notice)
    return redirect("tickets:ticket-detail", ref=ticket.number)


def _failed(
    request: ActorRequest, ticket: Ticket, name: str, form: DeskForm, status: int
) -> HttpResponse:
    if _partial(request):
        # Only the action's form is replaced, so what the agent typed stays in place.
        context: dict[str, Any] = {"form": form, "ticket": ticket, "me": request.actor.user_id}
        if name in LAZY_ACTIONS:
            context["action"] = _slot(ticket, name)
        response = _render(request, f"tickets/partials/_action_{name}.html", context, status)
        response["HX-Retarget"] = f"#action-{name}"
        response["HX-Reswap"] = "outerHTML"
        return response
    fresh = selectors.ticket_get(actor=request.actor, ref=ticket.pk)
    return _detail_response(request, fresh, partial=False, failed=(name, form), status=status)


def _ticket_by_number(request: ActorRequest, number: str, field: str) -> Ticket:
    """Another ticket named in a form; unknown or invisible is a form error, not a 404."""
    try:
        return selectors.ticket_get(actor=request.actor, ref=number)
    except NotFound:
        raise ValidationError({field: f"No ticket {number.strip().upper()} was found."}) from None


@require_POST
@agent_required
def comment_add(request: ActorRequest, ref: str) -> HttpResponse:
    def write(ticket: Ticket, form: ReplyForm) -> object:
        data = form.cleaned_data
        files = [services.NewFile(f.name or "", content=f, content_type=f.content_type or "")
                 for f in data["attachments"]]  # fmt: skip
        return services.comment_add(
            actor=request.actor,
            ticket=ticket,
            body=data["body"],
            is_internal=form.is_internal,
            files=files,
        )

    internal = request.POST.get("visibility") == "internal"
    notice = "Internal note added." if internal else "Reply sent."
    return _ticket_action(request, ref, "reply", ReplyForm, write, notice)


@require_http_methods(["GET", "POST"])
@agent_required
def ticket_assign(request: ActorRequest, ref: str) -> HttpResponse:
    def write(ticket: Ticket, form: AssignForm) -> object:
        data = form.cleaned_data
        return services.ticket_assign(
            actor=request.actor,
            ticket=ticket,
            expected_version=data["version"],
            group_id=data["group_id"],
            assignee_id=data["assignee_id"],
        )

    # The same action serves the "Assign to me" button, which shows its errors next to itself.
    take = "take" if request.POST.get("take") else ""
    return _ticket_action(
        request, ref, "assign", AssignForm, write, "Assignment saved.", errors_in=take
    )


@require_http_methods(["GET", "POST"])
@agent_required
def ticket_escalate(request: ActorRequest, ref: str) -> HttpResponse:
    def write(ticket: Ticket, form: EscalateForm) -> object:
        data = form.cleaned_data
        return services.ticket_escalate(
            actor=request.actor,
            ticket=ticket,
            expected_version=data["version"],
            kind=data["kind"],
            to_group_id=data["to_group_id"],
            symptoms=data["symptoms"],
            diagnosis=data["diagnosis"],
            steps_tried=data["steps_tried"],
            reason=data["reason"],
        )

    notice = "Ticket escalated; the handoff note is at the top of the ticket."
    return _ticket_action(request, ref, "escalate", EscalateForm, write, notice)


@require_POST
@agent_required
def ticket_transition(request: ActorRequest, ref: str) -> HttpResponse:
    def write(ticket: Ticket, form: TransitionForm) -> object:
        data = form.cleaned_data
        return services.ticket_transition(
            actor=request.actor,
            ticket=ticket,
            expected_version=data["version"],
            status=data["status"],
            resolution_code=data["resolution_code"],
            resolution_notes=data["resolution_notes"],
            reason=data["reason"],
        )

    return _ticket_action(request, ref, "status", TransitionForm, write, "Status changed.")


@require_http_methods(["GET", "POST"])
@agent_required
def ticket_update(request: ActorRequest, ref: str) -> HttpResponse:
    def write(ticket: Ticket, form: UpdateForm) -> object:
        changes = form.changes()
        if not changes:
            return ticket
        return services.ticket_update(
            actor=request.actor,
            ticket=ticket,
            expected_version=form.cleaned_data["version"],
            changes=changes,
        )

    return _ticket_action(request, ref, "edit", UpdateForm, write, "Ticket details saved.")


@require_http_methods(["GET", "POST"])
@agent_required
def ticket_merge(request: ActorRequest, ref: str) -> HttpResponse:
    def write(ticket: Ticket, form: MergeForm) -> object:
        data = form.cleaned_data
        target = _ticket_by_number(request, data["target"], "target")
        return services.ticket_merge(
            actor=request.actor, source=ticket, target=target, expected_version=data["version"]
        )

    return _ticket_action(request, ref, "merge", MergeForm, write, "Merged; this ticket is closed.")


@require_http_methods(["GET", "POST"])
@agent_required
def ticket_link_parent(request: ActorRequest, ref: str) -> HttpResponse:
    def write(ticket: Ticket, form: ParentForm) -> object:
        data = form.cleaned_data
        number = data["parent"].strip()
        parent = _ticket_by_number(request, number, "parent") if number else None
        return services.ticket_link_parent(
            actor=request.actor, ticket=ticket, parent=parent, expected_version=data["version"]
        )

    return _ticket_action(request, ref, "parent", ParentForm, write, "Parent link saved.")


@require_http_methods(["GET", "POST"])
@agent_required
def watcher_add(request: ActorRequest, ref: str) -> HttpResponse:
    def write(ticket: Ticket, form: WatcherForm) -> object:
        user_id = form.cleaned_data["user_id"]
        return services.watcher_add(actor=request.actor, ticket=ticket, user_id=user_id)

    return _ticket_action(request, ref, "watcher", WatcherForm, write, "Watcher added.")


@require_POST
@agent_required
def watcher_remove(request: ActorRequest, ref: str) -> HttpResponse:
    def write(ticket: Ticket, form: WatcherForm) -> object:
        user_id = form.cleaned_data["user_id"]
        return services.watcher_remove(actor=request.actor, ticket=ticket, user_id=user_id)

    return _ticket_action(request, ref, "watcher", WatcherForm, write, "Watcher removed.")


# --- phone log -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@agent_required
def phone_log(request: ActorRequest) -> HttpResponse:
    choices = DeskChoices(request.actor)
    if request.method != "POST":
        return _phone_log_response(request, PhoneLogForm(choices=choices))
    form = PhoneLogForm(request.POST, choices=choices)
    if not form.is_valid():
        return _phone_log_response(request, form, status=422)
    data = form.cleaned_data
    try:
        # "Resolved on the call" is two services; both happen or neither does.
        # TODO(report): one service (ticket_create(..., resolve=...)) should own this.
        with transaction.atomic():
            ticket = services.ticket_create(
                actor=request.actor,
                subject=data["subject"],
                description=data["description"],
                requester_id=data["requester_id"],
                type=data["type"],
                channel=data["channel"],
                category_id=data["category_id"],
                subcategory_id=data["subcategory_id"],
                impact=data["impact"],
                urgency=data["urgency"],
                affected_service=data["affected_service"],
                location=data["location"],
            )
            if data["resolved_on_call"]:
                ticket = services.ticket_resolve(
                    actor=request.actor,
                    ticket=ticket,
                    expected_version=ticket.version,
                    resolution_code=data["resolution_code"],
                    resolution_notes=data["resolution_notes"],
                )
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _phone_log_response(request, form, status=422)
    done = "logged and resolved on the call" if data["resolved_on_call"] else "logged"
    messages.success(request, f"{ticket.number} {done}.")
    return redirect("tickets:ticket-detail", ref=ticket.number)


def _phone_log_response(
    request: ActorRequest, form: PhoneLogForm, status: int = 200
) -> HttpResponse:
    people = list(selectors.requester_choices(actor=request.actor)[:REQUESTER_LIST_LIMIT])
    selected = form["requester_id"].value() if form.is_bound else None
    context = {
        "form": form,
        "requester_groups": requester_option_groups(people),
        "selected_requester": str(selected or ""),
        "requester_list_full": len(people) >= REQUESTER_LIST_LIMIT,
    }
    return _render(request, "tickets/phone_log.html", context, status=status)


@require_GET
@agent_required
def requester_search(request: ActorRequest) -> HttpResponse:
    """<option>s of people matching ?q= (name, email, phone or organisation), for the selects
    of the phone log and the watcher form (?organization= limits to one organisation)."""
    # No NUL byte (PostgreSQL refuses one in a query parameter), and only an id that fits the
    # column: int("²") raises and a 20-digit number overflows the database driver.
    q = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    organization = request.GET.get("organization", "")
    valid_id = organization.isascii() and organization.isdigit() and len(organization) <= 18
    organization_id = int(organization) if valid_id else None
    people = selectors.requester_choices(actor=request.actor, organization_id=organization_id)
    if q:
        # TODO(report): a `q` argument on selectors.requester_choices should own this match.
        for word in q.split()[:5]:
            people = people.filter(
                Q(full_name__icontains=word)
                | Q(email__icontains=word)
                | Q(phone__icontains=word)
                | Q(organization__name__icontains=word)
            )
        matches = list(people[:REQUESTER_SEARCH_LIMIT])
        context: dict[str, Any] = {"matches": matches, "q": q}
    else:
        listed = list(people[:REQUESTER_LIST_LIMIT])
        context = {"requester_groups": requester_option_groups(listed), "q": q}
    return _render(request, "tickets/partials/_requester_options.html", context)


# --- attachments -----------------------------------------------------------------------------


@require_GET
@actor_required
def attachment_download(request: ActorRequest, ref: str, uid: str) -> HttpResponseBase:
    """Agents and end users alike: the selectors hide other organisations' tickets and (from
    end users) internal attachments, both as 404."""
    ticket = selectors.ticket_get(actor=request.actor, ref=ref)
    attachment = selectors.attachment_get(actor=request.actor, ticket=ticket, uid=str(uid))
    return attachment_response(attachment)
