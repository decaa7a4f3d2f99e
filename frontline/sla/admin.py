"""Calendars, contracts and policies are data: edited here. Clocks are read-only (the services
keep them in step with their tickets)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from frontline.sla.models import (
    BusinessHours,
    Calendar,
    CalendarHoliday,
    SlaContract,
    SlaPolicy,
    TicketSla,
)


class BusinessHoursInline(admin.TabularInline[BusinessHours, Calendar]):
    model = BusinessHours
    extra = 0


class CalendarHolidayInline(admin.TabularInline[CalendarHoliday, Calendar]):
    model = CalendarHoliday
    extra = 0


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin[Calendar]):
    list_display = ["name", "time_zone", "is_24x7", "holiday_country", "is_default"]
    search_fields = ["name"]
    inlines = [BusinessHoursInline, CalendarHolidayInline]


@admin.register(SlaContract)
class SlaContractAdmin(admin.ModelAdmin[SlaContract]):
    list_display = ["organization", "calendar", "reference"]
    list_select_related = ["organization", "calendar"]
    autocomplete_fields = ["calendar"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin[SlaPolicy]):
    list_display = [
        "name",
        "organization",
        "ticket_type",
        "priority",
        "response_minutes",
        "resolution_minutes",
        "warning_percent",
        "breach_action",
        "breach_group",
        "is_active",
    ]
    list_filter = ["priority", "breach_action", "is_active", "organization"]
    list_select_related = ["organization", "breach_group"]
    search_fields = ["name"]


@admin.register(TicketSla)
class TicketSlaAdmin(admin.ModelAdmin[TicketSla]):
    list_display = [
        "ticket",
        "response_state",
        "response_due_at",
        "resolution_state",
        "resolution_due_at",
        "next_check_at",
    ]
    list_filter = ["response_state", "resolution_state"]
    list_select_related = ["ticket"]
    search_fields = ["ticket__number"]
    readonly_fields = [f.name for f in TicketSla._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
