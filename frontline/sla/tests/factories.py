"""Calendars and policies for the SLA tests.

The data migration seeds the same defaults, but a transactional test elsewhere in a run may
have flushed them, so tests set up what they rely on themselves."""

from __future__ import annotations

from datetime import time

from frontline.sla.models import BusinessHours, Calendar, SlaPolicy

BUSINESS = "Business hours (Mon-Fri 08:00-18:00 UTC)"
# priority: (response minutes, resolution minutes, 24x7?, breach action): as seeded.
DEFAULTS = {
    1: (15, 240, True, "functional"),
    2: (60, 480, False, "functional"),
    3: (240, 1800, False, "functional"),
    4: (600, 3000, False, "hierarchical"),
    5: (1200, 6000, False, "hierarchical"),
}


def calendar_create(
    name: str,
    *,
    hours: dict[int, list[tuple[time, time]]] | None = None,
    time_zone: str = "UTC",
    **fields: object,
) -> Calendar:
    calendar = Calendar.objects.create(name=name, time_zone=time_zone, **fields)
    for weekday, pairs in (hours or {}).items():
        for start, end in pairs:
            BusinessHours.objects.create(calendar=calendar, weekday=weekday, start=start, end=end)
    return calendar


def sla_defaults_ensure() -> tuple[Calendar, Calendar]:
    """The seeded default calendar, the 24x7 calendar and the five default policies, exactly."""
    Calendar.objects.exclude(name=BUSINESS).update(is_default=False)
    business, _ = Calendar.objects.update_or_create(
        name=BUSINESS,
        defaults={"time_zone": "UTC", "is_default": True, "is_24x7": False,
                  "holiday_country": "", "holiday_subdivision": ""},
    )  # fmt: skip
    business.hours.all().delete()
    business.holidays.all().delete()
    BusinessHours.objects.bulk_create(
        BusinessHours(calendar=business, weekday=d, start=time(8), end=time(18)) for d in range(5)
    )
    always, _ = Calendar.objects.update_or_create(
        name="24x7", defaults={"time_zone": "UTC", "is_24x7": True}
    )
    SlaPolicy.objects.exclude(organization=None, ticket_type="").delete()
    for priority, (response, resolution, around_the_clock, action) in DEFAULTS.items():
        SlaPolicy.objects.update_or_create(
            organization=None,
            ticket_type="",
            priority=priority,
            defaults={
                "name": f"Default P{priority}",
                "response_minutes": response,
                "resolution_minutes": resolution,
                "warning_percent": 75,
                "pause_statuses": ["pending_customer", "pending_vendor"],
                "calendar": always if around_the_clock else None,
                "breach_action": action,
                "breach_group": None,
                "is_active": True,
            },
        )
    return business, always
