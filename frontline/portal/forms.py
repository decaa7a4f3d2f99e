"""Portal forms: they check the shape of what an end user sends; the services decide the rest.

None of these forms has an organisation, requester, group, assignee or "internal" field: the
portal never lets an end user choose them (the services ignore them for end users anyway)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from frontline.tickets.models import Category, Level, Ticket

MAX_FILES = 10
MAX_SUBJECT = 255
MAX_TEXT = 100_000
MAX_REASON = 5000

STATUS_FILTERS = [("open", "Open"), ("resolved", "Resolved"), ("all", "All")]
SCOPES = [("mine", "Mine"), ("org", "My organisation")]

TYPE_CHOICES = [
    (Ticket.Type.INCIDENT.value, "Something is broken"),
    (Ticket.Type.REQUEST.value, "I need something"),
]
# Plain questions instead of ITIL's "impact" and "urgency"; the answers map to levels 1-3.
IMPACT_CHOICES = [
    (Level.LOW.value, "Just me"),
    (Level.MEDIUM.value, "Several people, or my team"),
    (Level.HIGH.value, "Many people, or the whole organisation"),
]
URGENCY_CHOICES = [
    (Level.HIGH.value, "I can't work at all"),
    (Level.MEDIUM.value, "I can work, but it slows me down"),
    (Level.LOW.value, "It can wait"),
]


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more uploaded files (Django's documented pattern for `<input multiple>`)."""

    def __init__(self, *, max_files: int = MAX_FILES, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        self.max_files = max_files
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = data if isinstance(data, list | tuple) else [data]
        items = [item for item in items if item]
        if len(items) > self.max_files:
            raise forms.ValidationError(f"Attach at most {self.max_files} files at a time.")
        if self.required and not items:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        single = super().clean
        return [single(item, initial) for item in items]


class TicketListForm(forms.Form):
    """The filters of "My tickets" (query string). Bad values fall back to the defaults."""

    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    scope = forms.ChoiceField(choices=SCOPES, required=False)
    q = forms.CharField(max_length=200, required=False, strip=True)

    def value(self, name: str, default: str) -> str:
        """The cleaned value of `name`, or `default` when it is missing or not valid."""
        if not self.is_bound:
            return default
        self.is_valid()
        return str(self.cleaned_data.get(name) or default)


class TicketCreateForm(forms.Form):
    type = forms.ChoiceField(
        label="What can we help with?",
        choices=TYPE_CHOICES,
        widget=forms.RadioSelect,
        initial=Ticket.Type.INCIDENT.value,
    )
    category = forms.TypedChoiceField(
        label="Category", coerce=int, empty_value=None, required=False
    )
    subcategory = forms.TypedChoiceField(
        label="Subcategory", coerce=int, empty_value=None, required=False
    )
    subject = forms.CharField(
        label="Subject",
        max_length=MAX_SUBJECT,
        help_text="In a few words, for example “Printer on the 2nd floor jams”.",
    )
    description = forms.CharField(
        label="Description",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What happened, what you expected, and any error message you saw.",
    )
    impact = forms.TypedChoiceField(
        label="How many people are affected?",
        choices=IMPACT_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    urgency = forms.TypedChoiceField(
        label="How soon does this stop your work?",
        choices=URGENCY_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    attachments = MultipleFileField(
        label="Attachments", help_text="Screenshots or documents, up to 10 files."
    )

    def __init__(self, *args: Any, categories: Sequence[Category] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parents = {c.pk: c.parent_id for c in categories}
        top = [c for c in categories if c.parent_id is None]
        names = {c.pk: c.name for c in top}
        grouped: dict[str, list[tuple[int, str]]] = {}
        for c in categories:
            if c.parent_id is not None and c.parent_id in names:
                grouped.setdefault(names[c.parent_id], []).append((c.pk, c.name))
        category_field = self.fields["category"]
        subcategory_field = self.fields["subcategory"]
        assert isinstance(category_field, forms.TypedChoiceField)
        assert isinstance(subcategory_field, forms.TypedChoiceField)
        category_field.choices = [("", "Not sure"), *((c.pk, c.name) for c in top)]
        subcategory_field.choices = [("", "Not sure"), *sorted(grouped.items())]
        self.has_categories = bool(top)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        category, subcategory = data.get("category"), data.get("subcategory")
        # Picking only a subcategory is enough: its parent is the category.
        if subcategory is not None and category is None:
            data["category"] = self._parents.get(subcategory)
        return data


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    attachments = MultipleFileField(label="Attach files")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("body") and not data.get("attachments") and not self.errors:
            self.add_error("body", "Write a reply or attach a file.")
        return data


class ConfirmForm(forms.Form):
    # The version the page showed: if the ticket changed since, the service says 409.
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class ReopenForm(forms.Form):
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(
        label="What is still not working?",
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Please tell us why the problem is not solved."},
    )


# Service error keys that name a form field differently.
_FIELD_ALIASES = {"file": "attachments", "category_id": "category", "subcategory_id": "subcategory"}


def add_service_errors(form: forms.Form, errors: Mapping[str, str]) -> None:
    """Show a core.errors.ValidationError's messages on `form`: on the field they name when the
    form has it, otherwise at the top of the form."""
    for key, message in errors.items():
        name = _FIELD_ALIASES.get(key, key)
        form.add_error(name if name in form.fields else None, message)
