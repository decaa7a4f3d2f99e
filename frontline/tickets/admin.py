from __future__ import annotations

from django.contrib import admin

from frontline.tickets.models import (
    Attachment,
    Category,
    Comment,
    Escalation,
    PriorityMatrixEntry,
    Ticket,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ["__str__", "parent", "default_group", "is_active"]
    list_filter = ["is_active", "parent"]
    search_fields = ["name"]


@admin.register(PriorityMatrixEntry)
class PriorityMatrixAdmin(admin.ModelAdmin[PriorityMatrixEntry]):
    list_display = ["impact", "urgency", "priority"]
    list_editable = ["priority"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin[Ticket]):
    """Read-mostly: tickets are changed through the desk (so every change is audited)."""

    list_display = ["number", "subject", "tenant", "status", "priority", "group", "assignee"]
    list_filter = ["status", "priority", "type", "channel", "tenant"]
    search_fields = ["number", "subject"]
    list_select_related = ["tenant", "group", "assignee"]
    readonly_fields = [
        f.name for f in Ticket._meta.get_fields() if f.concrete and not f.many_to_many
    ]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


admin.site.register(Comment)
admin.site.register(Attachment)
admin.site.register(Escalation)
