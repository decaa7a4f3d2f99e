"""Seed a default calendar (Mon-Fri 08:00-18:00 UTC), a 24x7 calendar, and default policies per
priority (any organisation, any type). All editable in the admin afterwards."""

import datetime

from django.db import migrations

# priority: (response minutes, resolution minutes, calendar, breach action). Business time in the
# default calendar: a business day is 10 hours (600 minutes). P1 runs around the clock.
DEFAULTS = {
    1: (15, 4 * 60, "24x7", "functional"),
    2: (60, 8 * 60, "business", "functional"),
    3: (4 * 60, 3 * 600, "business", "functional"),
    4: (600, 5 * 600, "business", "hierarchical"),
    5: (2 * 600, 10 * 600, "business", "hierarchical"),
}
NAMES = {1: "Critical", 2: "High", 3: "Moderate", 4: "Low", 5: "Planning"}


def seed(apps, schema_editor):
    Calendar = apps.get_model("sla", "Calendar")
    BusinessHours = apps.get_model("sla", "BusinessHours")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    business, _ = Calendar.objects.get_or_create(
        name="Business hours (Mon-Fri 08:00-18:00 UTC)",
        defaults={"time_zone": "UTC", "is_default": True},
    )
    if not BusinessHours.objects.filter(calendar=business).exists():
        BusinessHours.objects.bulk_create(
            BusinessHours(
                calendar=business,
                weekday=day,
                start=datetime.time(8, 0),
                end=datetime.time(18, 0),
            )
            for day in range(5)
        )
    always, _ = Calendar.objects.get_or_create(
        name="24x7", defaults={"time_zone": "UTC", "is_24x7": True}
    )
    for priority, (response, resolution, calendar, action) in DEFAULTS.items():
        SlaPolicy.objects.get_or_create(
            organization=None,
            ticket_type="",
            priority=priority,
            defaults={
                "name": f"Default P{priority} ({NAMES[priority]})",
                "response_minutes": response,
                "resolution_minutes": resolution,
                "warning_percent": 75,
                "pause_statuses": ["pending_customer", "pending_vendor"],
                "calendar": always if calendar == "24x7" else None,
                "breach_action": action,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]

    # Reverse: nothing to undo here; unapplying 0001 drops these tables with their rows.
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
