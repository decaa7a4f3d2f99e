"""Seed the ITIL default priority matrix and the number counters."""

from django.db import migrations

ITIL = {
    (1, 1): 1,
    (1, 2): 2,
    (1, 3): 3,
    (2, 1): 2,
    (2, 2): 3,
    (2, 3): 4,
    (3, 1): 3,
    (3, 2): 4,
    (3, 3): 5,
}


def seed(apps, schema_editor):
    Entry = apps.get_model("tickets", "PriorityMatrixEntry")
    Sequence = apps.get_model("tickets", "TicketSequence")
    for (impact, urgency), priority in ITIL.items():
        Entry.objects.get_or_create(impact=impact, urgency=urgency, defaults={"priority": priority})
    for name in ("INC", "REQ"):
        Sequence.objects.get_or_create(name=name, defaults={"value": 0})


def unseed(apps, schema_editor):
    apps.get_model("tickets", "PriorityMatrixEntry").objects.all().delete()
    apps.get_model("tickets", "TicketSequence").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
