"""Forms of the agent desk. They check the *shape* of input only; the services decide what is
allowed and raise core.errors.ValidationError, which `add_service_errors` puts back on the form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from itertools import groupby
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.datastructures import MultiValueDict

from frontline.accounts import selectors as account_selectors
from frontline.accounts.models import SupportGroup, User
from frontline.core.access import Actor
from frontline.core.errors import ValidationError
from frontline.tenants import selectors as tenant_selectors
from frontline.tenants.models import Organization
from frontline.tickets import selectors, workflow
from frontline.tickets.models import Category, Escalation, Level, Priority, Ticket

Choices = list[tuple[Any, Any]]

# The phone-log select lists at most this many people; the search box finds everybody else.
REQUESTER_LIST_LIMIT = 500
REQUESTER_SEARCH_LIMIT = 20


class DeskChoices:
    """The pick lists of the desk's forms, each read at most once per request through a
    selector, so a page's query count does not depend on how many forms it shows. Groups,
    categories and organisations come from the configuration cache (no query once cached)."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    @cached_property
    def groups(self) -> list[SupportGroup]:
        return account_selectors.group_list_cached(actor=self.actor)

    @cached_property
    def agents(self) -> list[User]:
        return list(account_selectors.agent_list(actor=self.actor))

    @cached_property
    def categories(self) -> list[Category]:
        return selectors.category_list_cached()

    @cached_property
    def organizations(self) -> list[Organization]:
        return tenant_selectors.organization_list_cached(actor=self.actor)

    @cached_property
    def category_names(self) -> dict[int, str]:
        return {c.pk: c.name for c in self.categories}

    def group_choices(self, blank: str) -> Choices:
        return [("", blank), *((g.pk, f"{g.name} (tier {g.tier})") for g in self.groups)]

    def agent_choices(self, blank: str) -> Choices:
        return [("", blank), *((a.pk, a.full_name) for a in self.agents)]

    def category_choices(self, blank: str) -> Choices:
        return [("", blank), *((c.pk, c.name) for c in self.categories if c.parent_id is None)]

    def subcategory_choices(self, blank: str) -> Choices:
        """Subcategories grouped under their category, so the right one is easy to find."""
        subs = sorted(
            (c for c in self.categories if c.parent_id is not None and c.parent is not None),
            key=lambda c: (c.parent.name if c.parent else "", c.name),
        )
        grouped: Choices = [("", blank)]
        for parent_name, items in groupby(subs, key=lambda c: c.parent.name if c.parent else ""):
            grouped.append((parent_name, [(c.pk, c.name) for c in items]))
        return grouped

    def organization_choices(self, blank: str) -> Choices:
        return [("", blank), *((o.pk, o.name) for o in self.organizations)]


def _id_field(label: str, choices: Choices, *, required: bool = False) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=choices, coerce=int, empty_value=None, required=required
    )


def _level_field(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=Level.choices, coerce=int, initial=Level.LOW, required=True
    )


def _text(label: str, *, max_length: int = 200, required: bool = False) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=required)


def _area(label: str, *, rows: int = 4, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, widget=forms.Textarea(attrs={"rows": rows})
    )


def requester_option_groups(people: Sequence[User]) -> list[tuple[str, list[User]]]:
    """People grouped by organisation name (for <optgroup>s)."""
    ordered = sorted(people, key=lambda u: (u.organization.name, u.full_name.lower()))
    return [
        (name, list(items)) for name, items in groupby(ordered, key=lambda u: u.organization.name)
    ]


class DeskForm(forms.Form):
    """A desk form: maps service errors onto its fields, and can show a conflict (409)."""

    # Service error keys that are named differently on the form.
    error_aliases: ClassVar[Mapping[str, str]] = {}
    # Element ids are prefixed with this, as several forms share the ticket page (names are not).
    slug: ClassVar[str] = "desk"
    conflict: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_{self.slug}_%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def add_service_errors(self, exc: ValidationError) -> None:
        for key, message in exc.errors.items():
            name = self.error_aliases.get(key, key)
            field = self.fields.get(name)
            visible = field is not None and not field.widget.is_hidden
            self.add_error(name if visible else None, message)


class VersionedForm(DeskForm):
    """A write to a ticket: carries the version the agent saw, so a stale save gets 409."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("version", ticket.version)
        super().__init__(*args, **kwargs)
        self.ticket = ticket


# --- the queue -------------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    """Renders the queue's filter bar with the current values. Parsing and validation are done
    by selectors.TicketFilters.from_params, the same rules the API uses."""

    q = forms.CharField(
        label="Search",
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Number, subject, text…", "autocomplete": "off"}
        ),
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), ("open", "Open (not resolved)"), *Ticket.Status.choices],
    )
    priority = forms.ChoiceField(
        label="Priority", required=False, choices=[("", "Any priority"), *Priority.choices]
    )
    type = forms.ChoiceField(
        label="Type", required=False, choices=[("", "Any type"), *Ticket.Type.choices]
    )
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "Any channel"), *Ticket.Channel.choices]
    )

    def __init__(self, *args: Any, choices: DeskChoices, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["organization"] = forms.ChoiceField(
            label="Organisation",
            required=False,
            choices=choices.organization_choices("Any organisation"),
        )
        self.fields["group"] = forms.ChoiceField(
            label="Group", required=False, choices=choices.group_choices("Any group")
        )
        self.fields["assignee"] = forms.ChoiceField(
            label="Assignee", required=False, choices=choices.agent_choices("Anyone")
        )
        self.fields["category"] = forms.ChoiceField(
            label="Category",
            required=False,
            choices=[("", "Any category"), *((c.pk, str(c)) for c in choices.categories)],
        )


# --- ticket actions --------------------------------------------------------------------------


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ReplyForm(VersionedForm):
    """A public reply or an internal note, with attachments. Replies add; they never conflict."""

    slug = "reply"

    error_aliases = {"file": "attachments"}

    visibility = forms.ChoiceField(
        label="Visibility",
        choices=[("public", "Reply to requester"), ("internal", "Internal note")],
        initial="public",
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        label="Message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "Write a reply or a note…"}),
    )
    # Not "files": that name is the form's dict of uploads (BaseForm.files).
    attachments = MultipleFileField(label="Attach files", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.FRONTLINE_MAX_ATTACHMENT_BYTES)
        self.fields["attachments"].help_text = f"Up to {limit} per file."

    @property
    def is_internal(self) -> bool:
        return bool(self.cleaned_data.get("visibility") == "internal")


class AssignForm(VersionedForm):
    slug = "assign"

    def __init__(self, *args: Any, choices: DeskChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.ticket
        self.initial.setdefault("group_id", ticket.group_id)
        self.initial.setdefault("assignee_id", ticket.assignee_id)
        self.fields["group_id"] = _id_field("Group", choices.group_choices("Keep the group"))
        self.fields["assignee_id"] = _id_field("Agent", choices.agent_choices("Nobody yet"))


class StepsWidget(forms.Widget):
    """Any number of text inputs sharing one name (the form adds one per 'Add step' click)."""

    def value_from_datadict(
        self, data: Mapping[str, Any], files: MultiValueDict[str, UploadedFile], name: str
    ) -> Any:
        getlist = getattr(data, "getlist", None)
        if getlist is not None:
            return getlist(name)
        value = data.get(name)
        return value if isinstance(value, list) else [value] if value else []

    def value_omitted_from_data(
        self, data: Mapping[str, Any], files: Mapping[str, Any], name: str
    ) -> bool:
        return False


class StepsField(forms.Field):
    widget = StepsWidget

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        if isinstance(value, str):
            value = value.splitlines()
        return [str(step).strip() for step in value if str(step).strip()]


class EscalateForm(VersionedForm):
    slug = "escalate"
    # "Steps tried" is required by the service (one rule for UI, API and mail); its message
    # comes back through add_service_errors.
    kind = forms.ChoiceField(
        label="Kind",
        choices=Escalation.Kind.choices,
        initial=Escalation.Kind.FUNCTIONAL,
        widget=forms.RadioSelect,
    )
    symptoms = _area("Symptoms (what the user sees)", rows=3, required=True)
    diagnosis = _area("Diagnosis so far", rows=3)
    steps_tried = StepsField(label="Steps already tried", required=False)
    reason = _area("Why escalate now", rows=2)

    def __init__(self, *args: Any, choices: DeskChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_group_id"] = _id_field(
            "To group", choices.group_choices("Next tier (default for this group)")
        )
        self.order_fields(["kind", "to_group_id", "symptoms", "diagnosis", "steps_tried"])

    @property
    def step_values(self) -> list[str]:
        """The steps to show in the inputs: what was typed (re-render) plus one empty input."""
        if not self.is_bound:
            return [""]
        raw = self["steps_tried"].value() or []
        return [*(s for s in raw if s and s.strip()), ""]


class TransitionForm(VersionedForm):
    """Any status is accepted as input so the workflow, not the form, explains an illegal move;
    the select offers only the moves allowed from the current status."""

    slug = "status"

    status = forms.ChoiceField(label="New status", choices=Ticket.Status.choices)
    resolution_code = forms.ChoiceField(
        label="Resolution code",
        required=False,
        choices=[("", "Choose when resolving…"), *Ticket.ResolutionCode.choices],
    )
    resolution_notes = _area("Resolution notes (when resolving)", rows=3)
    reason = _text("Reason (optional)", max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = workflow.allowed_targets(self.ticket.status)
        self.allowed: Choices = [(v, label) for v, label in Ticket.Status.choices if v in allowed]
        self.fields["status"].widget.choices = [("", "Choose…"), *self.allowed]


class UpdateForm(VersionedForm):
    """The ticket's descriptive fields (ticket_update): only the ones that changed are sent."""

    slug = "edit"

    subject = _text("Subject", max_length=255, required=True)
    type = forms.ChoiceField(label="Type", choices=Ticket.Type.choices)
    impact = _level_field("Impact")
    urgency = _level_field("Urgency")
    affected_service = _text("Affected service")
    location = _text("Location")

    def __init__(self, *args: Any, choices: DeskChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.ticket
        for name in ("subject", "type", "impact", "urgency", "affected_service", "location"):
            self.initial.setdefault(name, getattr(ticket, name))
        self.initial.setdefault("category_id", ticket.category_id)
        self.initial.setdefault("subcategory_id", ticket.subcategory_id)
        self.fields["category_id"] = _id_field("Category", choices.category_choices("None"))
        self.fields["subcategory_id"] = _id_field(
            "Subcategory", choices.subcategory_choices("None")
        )
        self.order_fields(["subject", "type", "impact", "urgency", "category_id"])

    def changes(self) -> dict[str, Any]:
        names = [n for n in self.fields if n != "version"]
        return {
            n: self.cleaned_data[n]
            for n in names
            if self.cleaned_data.get(n) != getattr(self.ticket, n)
        }


class MergeForm(VersionedForm):
    slug = "merge"
    target = forms.CharField(
        label="Merge this ticket into",
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "INC-000123", "autocomplete": "off"}),
    )


class ParentForm(VersionedForm):
    slug = "parent"
    parent = forms.CharField(
        label="Parent ticket",
        max_length=20,
        required=False,
        help_text="Leave empty to remove the link.",
        widget=forms.TextInput(attrs={"placeholder": "INC-000123", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.ticket.parent is not None:
            self.initial.setdefault("parent", self.ticket.parent.number)


class WatcherForm(VersionedForm):
    """Add or remove a watcher. The select offers agents and a search box fills it with people
    of the ticket's organisation, so any id is accepted here: services.watcher_add decides."""

    slug = "watcher"

    user_id = forms.IntegerField(label="Add a watcher", min_value=1)

    def __init__(self, *args: Any, choices: DeskChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agents = choices.agents


# --- phone log -------------------------------------------------------------------------------


class PhoneLogForm(DeskForm):
    slug = "call"
    error_aliases = {"organization_id": "requester_id"}

    subject = forms.CharField(
        label="Subject",
        max_length=255,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    requester_id = forms.IntegerField(label="Caller", min_value=1)
    description = _area("What the caller reports", rows=5)
    type = forms.ChoiceField(label="Type", choices=Ticket.Type.choices, initial="incident")
    impact = _level_field("Impact")
    urgency = _level_field("Urgency")
    affected_service = _text("Affected service")
    location = _text("Location")
    channel = forms.ChoiceField(
        label="Channel", choices=Ticket.Channel.choices, initial=Ticket.Channel.PHONE
    )
    resolved_on_call = forms.BooleanField(label="Resolved on the call", required=False)
    resolution_code = forms.ChoiceField(
        label="Resolution code",
        required=False,
        choices=[("", "Choose…"), *Ticket.ResolutionCode.choices],
    )
    resolution_notes = _area("Resolution notes", rows=3)

    def __init__(self, *args: Any, choices: DeskChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category_id"] = _id_field("Category", choices.category_choices("None"))
        self.fields["subcategory_id"] = _id_field(
            "Subcategory", choices.subcategory_choices("None")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("resolved_on_call"):
            if not data.get("resolution_code"):
                self.add_error("resolution_code", "Choose how it was resolved.")
            if not (data.get("resolution_notes") or "").strip():
                self.add_error("resolution_notes", "Say what fixed it.")
        return data
