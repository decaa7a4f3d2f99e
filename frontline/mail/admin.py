"""Admin for the email channel. Inbound: mailboxes, domains, received and failed mail.
Outbound: notification templates and the sent-mail log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import URLPattern, path

from frontline.core.access import Actor
from frontline.core.errors import FrontlineError, NotFound, PermissionDenied, ValidationError
from frontline.mail import models
from frontline.mail.outbound import ResendResult, outbound_resend


class MailboxAdminForm(forms.ModelForm[models.Mailbox]):
    """The IMAP password is write-only: never rendered back, empty keeps the stored one."""

    imap_password = forms.CharField(
        label="IMAP password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current password. Stored encrypted, never shown.",
    )
    clear_imap_password = forms.BooleanField(label="Remove the stored password", required=False)

    class Meta:
        model = models.Mailbox
        fields = [
            "name",
            "address",
            "organization",
            "source",
            "is_active",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_ca_file",
            "imap_allow_untrusted",
            "imap_username",
            "imap_password_env",
            "imap_folder",
            "imap_done_folder",
            "default_group",
            "default_category",
            "default_type",
            "unknown_senders",
            "sender_limit_per_hour",
            "from_address",
            "from_name",
            "reply_to",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("imap_password") and data.get("clear_imap_password"):
            raise forms.ValidationError("Either enter a new password or remove it, not both.")
        return data


@admin.register(models.Mailbox)
class MailboxAdmin(admin.ModelAdmin[models.Mailbox]):
    form = MailboxAdminForm
    list_display = [
        "address",
        "name",
        "organization",
        "source",
        "is_active",
        "password_state",
        "last_fetch_at",
        "last_error_short",
    ]
    list_filter = ["source", "is_active"]
    search_fields = ["address", "name"]
    readonly_fields = ["password_state", "last_fetch_at", "last_error"]
    actions = ["test_connection", "fetch_now"]

    @admin.display(description="IMAP password")
    def password_state(self, obj: models.Mailbox) -> str:
        if obj.imap_password_env:
            return f"from ${obj.imap_password_env}"
        return "stored (encrypted)" if obj.imap_password_encrypted else "not set"

    @admin.display(description="Last error")
    def last_error_short(self, obj: models.Mailbox) -> str:
        return obj.last_error[:80]

    def save_model(
        self, request: HttpRequest, obj: models.Mailbox, form: forms.ModelForm[Any], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        password = form.cleaned_data.get("imap_password") or ""
        if password or form.cleaned_data.get("clear_imap_password"):
            from frontline.accounts.selectors import actor_for_user
            from frontline.mail.credentials import mailbox_password_set

            try:
                mailbox_password_set(
                    actor=actor_for_user(request.user),  # type: ignore[arg-type]
                    mailbox=obj,
                    password=password,
                )
            except FrontlineError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)

    def _skipped(self, request: HttpRequest, queryset: QuerySet[models.Mailbox]) -> None:
        others = queryset.exclude(source=models.Mailbox.Source.IMAP, is_active=True)
        if others.exists():
            names = ", ".join(m.address for m in others)
            self.message_user(
                request, f"Skipped (not an active IMAP mailbox): {names}", messages.WARNING
            )

    @admin.action(description="Test the IMAP connection")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[models.Mailbox]) -> None:
        from frontline.mail.imap import mailbox_test_connection

        self._skipped(request, queryset)
        for mailbox in queryset.filter(source=models.Mailbox.Source.IMAP, is_active=True):
            try:
                self.message_user(request, mailbox_test_connection(mailbox), messages.SUCCESS)
            except Exception as exc:  # shown to the admin, password never part of it
                self.message_user(
                    request, f"{mailbox.address}: {exc.__class__.__name__}: {exc}", messages.ERROR
                )

    @admin.action(description="Fetch new mail now")
    def fetch_now(self, request: HttpRequest, queryset: QuerySet[models.Mailbox]) -> None:
        from frontline.mail.imap import fetch_mailbox

        self._skipped(request, queryset)
        for mailbox in queryset.filter(source=models.Mailbox.Source.IMAP, is_active=True):
            report = fetch_mailbox(mailbox)
            self.message_user(
                request, str(report), messages.ERROR if report.error else messages.SUCCESS
            )


@admin.register(models.OrganizationMailDomain)
class OrganizationMailDomainAdmin(admin.ModelAdmin[models.OrganizationMailDomain]):
    list_display = ["domain", "organization"]


class NotificationTemplateForm(forms.ModelForm[models.NotificationTemplate]):
    """Refuses a subject or body that does not compile in the notification sandbox
    (SECURITY 19): `{% load %}`, `{% include %}`, `{% debug %}`, unknown tags and filters are
    named in the error."""

    class Meta:
        model = models.NotificationTemplate
        fields = ["organization", "event", "subject", "body", "is_active"]

    def _clean_template(self, field: str) -> str:
        from frontline.mail.sandbox import SandboxError, sandbox_compile

        source = str(self.cleaned_data.get(field) or "")
        try:
            sandbox_compile(source)
        except SandboxError as exc:
            raise forms.ValidationError(f"This template cannot be used: {exc}") from exc
        return source

    def clean_subject(self) -> str:
        return self._clean_template("subject")

    def clean_body(self) -> str:
        return self._clean_template("body")


@admin.register(models.NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin[models.NotificationTemplate]):
    form = NotificationTemplateForm
    list_display = ["event", "organization", "is_active", "updated_at"]
    list_filter = ["event", "is_active"]
    fields = ["organization", "event", "subject", "body", "is_active"]


@admin.register(models.OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin[models.OutboundMail]):
    """The sent-mail log: read-only (it is a record of what left, not something to edit), except
    that an administrator sends failed notifications again once the cause is fixed: the
    "resend" action on the list, or the button on a failed row's page (POST only, CSRF-checked,
    through outbound.outbound_resend, which checks the role and the organisation)."""

    list_display = ["created_at", "event", "recipient", "ticket", "status", "attempts", "error"]
    list_filter = ["status", "event"]
    search_fields = ["recipient", "message_id", "ticket__number"]
    raw_id_fields = ["ticket", "comment", "mailbox"]
    list_select_related = ["ticket"]
    actions = ["resend"]

    @admin.display(description="Last error")
    def error(self, obj: models.OutboundMail) -> str:
        return obj.reason[:100]

    def get_queryset(self, request: HttpRequest) -> QuerySet[models.OutboundMail]:
        """Only the organisations the signed-in person serves (another organisation's mail
        does not exist for them, as everywhere else)."""
        queryset = super().get_queryset(request)
        visible: QuerySet[models.OutboundMail] = queryset.visible_to(_actor(request))  # type: ignore[attr-defined]
        return visible

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: models.OutboundMail | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: models.OutboundMail | None = None
    ) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        resend = path(
            "<int:outbound_id>/resend/",
            self.admin_site.admin_view(self.resend_view),
            name="mail_outboundmail_resend",
        )
        return [resend, *super().get_urls()]

    def _report(self, request: HttpRequest, result: ResendResult) -> None:
        if result.resent:
            names = ", ".join(f"#{row.pk} to {row.recipient}" for row in result.resent)
            self.message_user(
                request,
                f"Queued again for sending: {names}.",
                messages.SUCCESS,
            )
        for skip in result.skipped:
            self.message_user(request, str(skip), messages.WARNING)

    @admin.action(description="Resend the selected failed notifications")
    def resend(self, request: HttpRequest, queryset: QuerySet[models.OutboundMail]) -> None:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        try:
            result = outbound_resend(actor=_actor(request), outbound_ids=ids)
        except FrontlineError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self._report(request, result)

    def resend_view(self, request: HttpRequest, outbound_id: int) -> HttpResponse:
        """The button on a failed notification's page: resend that one, back to its page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            result = outbound_resend(actor=_actor(request), outbound_ids=[outbound_id])
        except NotFound as exc:
            raise Http404(exc.message) from None
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except ValidationError as exc:  # not failed (a second click, another admin), the cap
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self._report(request, result)
        return redirect("admin:mail_outboundmail_change", outbound_id)


def _actor(request: HttpRequest) -> Actor:
    from frontline.accounts.selectors import actor_for_user

    return actor_for_user(request.user)  # type: ignore[arg-type]


@admin.register(models.FailedMail)
class FailedMailAdmin(admin.ModelAdmin[models.FailedMail]):
    """Messages that could not be processed, kept raw with the reason; "retry" ingests them
    again (administrators only) once the cause is fixed."""

    list_display = [
        "created_at",
        "reason_short",
        "sender",
        "subject",
        "mailbox",
        "attempts",
        "resolved_at",
    ]
    list_filter = ["source", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["sender", "subject", "message_id", "reason"]
    exclude = ["raw"]
    actions = ["retry"]

    @admin.display(description="Reason")
    def reason_short(self, obj: models.FailedMail) -> str:
        return obj.reason[:100]

    def get_readonly_fields(
        self, request: HttpRequest, obj: models.FailedMail | None = None
    ) -> list[str]:
        return [f.name for f in models.FailedMail._meta.fields if f.name != "raw"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry the selected messages")
    def retry(self, request: HttpRequest, queryset: QuerySet[models.FailedMail]) -> None:
        from frontline.accounts.selectors import actor_for_user
        from frontline.mail.ingest import failed_mail_retry

        actor = actor_for_user(request.user)  # type: ignore[arg-type]
        for failed in queryset.filter(resolved_at__isnull=True):
            try:
                result = failed_mail_retry(actor=actor, failed=failed)
            except FrontlineError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
            except Exception as exc:  # storage or database down: say so, keep the row
                self.message_user(request, f"Retry of #{failed.pk} failed: {exc}", messages.ERROR)
                continue
            if result.outcome == "failed":
                self.message_user(
                    request, f"#{failed.pk} failed again: {result.reason}", messages.WARNING
                )
            else:
                self.message_user(
                    request, f"#{failed.pk} processed: {result.outcome}", messages.SUCCESS
                )


@admin.register(models.InboundMail)
class InboundMailAdmin(admin.ModelAdmin[models.InboundMail]):
    """Every message received: read-only (the raw original is downloaded from the ticket)."""

    list_display = ["received_at", "sender", "subject", "mailbox", "outcome", "ticket", "is_auto"]
    list_filter = ["outcome", "source", "is_auto"]
    search_fields = ["sender", "subject", "message_id"]
    exclude = ["raw"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: models.InboundMail | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: models.InboundMail | None = None
    ) -> bool:
        return False
