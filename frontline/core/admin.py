"""The audit trail in the admin: read-only, no add, change or delete."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from frontline.core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ["created_at", "tenant", "target_type", "target_id", "kind", "field", "actor"]
    list_filter = ["kind", "target_type"]
    search_fields = ["target_type", "field", "old_value", "new_value"]
    list_select_related = ["tenant", "actor"]
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
