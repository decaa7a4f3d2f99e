"""Ticket numbers from PostgreSQL sequences (benchmark issue #3).

The INC/REQ numbers came from a counter row (`tickets_ticketsequence`) updated in the creating
transaction, so its row lock was held until that transaction committed: on PostgreSQL every
ticket creation waited for the one before it (~60 creations/s at most). `nextval()` on a
SEQUENCE per type never waits. The price: a number taken by a transaction that then rolls back
is not reused, so numbers may have gaps (they stay unique and increasing). SQLite (a single
writer anyway) keeps the counter row, gapless. Each sequence starts after the highest of the
counter row and the numbers already issued."""

from django.db import migrations

SEQUENCES = {"INC": "tickets_number_inc", "REQ": "tickets_number_req"}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    counter = apps.get_model("tickets", "TicketSequence")
    for prefix, name in SEQUENCES.items():
        row = counter.objects.filter(name=prefix).values_list("value", flat=True).first() or 0
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(MAX(CAST(SUBSTRING(number FROM 5) AS bigint)), 0) "
                "FROM tickets_ticket WHERE number LIKE %s",
                [f"{prefix}-%"],
            )
            issued = cursor.fetchone()[0]
            cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} AS bigint MINVALUE 0 START 1")
            # The next nextval() returns the highest issued + 1.
            cursor.execute("SELECT setval(%s, %s, false)", [name, max(row, issued) + 1])


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    counter = apps.get_model("tickets", "TicketSequence")
    for prefix, name in SEQUENCES.items():
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"SELECT last_value, is_called FROM {name}")  # noqa: S608
            last, called = cursor.fetchone()
            counter.objects.update_or_create(
                name=prefix, defaults={"value": last if called else last - 1}
            )
            cursor.execute(f"DROP SEQUENCE IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_queue_indexes")]
    operations = [migrations.RunPython(forward, backward)]
