"""Admin for the email channel. Inbound: mailboxes, domains, received and failed mail.
Outbound: notification templates and the sent-mail log."""

from __future__ import annotations

from django.contrib import admin

from frontline.mail import models


@admin.register(models.Mailbox)
class MailboxAdmin(admin.ModelAdmin[models.Mailbox]):
    list_display = ["address", "name", "organization", "source", "is_active", "last_fetch_at"]
    list_filter = ["source", "is_active"]


@admin.register(models.OrganizationMailDomain)
class OrganizationMailDomainAdmin(admin.ModelAdmin[models.OrganizationMailDomain]):
    list_display = ["domain", "organization"]


@admin.register(models.NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin[models.NotificationTemplate]):
    list_display = ["event", "organization", "is_active"]
