from django.contrib import admin

from frontline.tenants.models import Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ["name", "slug", "is_provider", "email_domains", "is_active"]
    search_fields = ["name", "slug", "email_domains"]
    prepopulated_fields = {"slug": ["name"]}
