from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from frontline.accounts.models import ApiToken, SupportGroup, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):  # type: ignore[type-arg]  # stubs expect AbstractUser
    ordering = ["full_name"]
    list_display = ["full_name", "email", "organization", "role", "is_active"]
    list_filter = ["role", "organization", "is_active"]
    search_fields = ["full_name", "email"]
    list_select_related = ["organization"]
    filter_horizontal = ["served_organizations", "groups", "user_permissions"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "phone", "time_zone", "organization", "role")}),
        ("Agents", {"fields": ("serves_all_organizations", "served_organizations")}),
        (
            "Access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "organization", "role", "password1", "password2"),
            },
        ),
    )


@admin.register(SupportGroup)
class SupportGroupAdmin(admin.ModelAdmin[SupportGroup]):
    list_display = ["name", "kind", "tier", "team_lead", "manager", "escalates_to", "is_active"]
    list_filter = ["kind", "tier"]
    filter_horizontal = ["members"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
