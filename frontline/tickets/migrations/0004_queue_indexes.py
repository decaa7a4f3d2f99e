"""Indexes that give the agent queues their order on PostgreSQL (benchmark issue #3).

A queue page is "open tickets, newest (or highest priority, or last updated) first, 50 rows".
Without an index in that order PostgreSQL reads every open ticket, joins each to its requester,
organisation, group and assignee, and only then sorts: ~40 ms at 100,000 tickets and growing
with the desk. Partial indexes on the open tickets only (a few per cent of a desk with years of
history, so they stay small) let it read the first 50 rows in order and stop. One full index on
created_at serves the "All" queue and the newest-first order of search results.

The status list must stay the same as selectors.OPEN_STATUSES, or the planner cannot use them.
Built CONCURRENTLY (not atomic) so a live desk stays writable. SQLite: nothing."""

from django.db import migrations

OPEN = "status IN ('new', 'assigned', 'in_progress', 'pending_customer', 'pending_vendor', 'pending_change')"
INDEXES = (
    ("ticket_open_created_idx", "created_at DESC, id DESC", OPEN),
    ("ticket_open_priority_idx", "priority DESC, created_at DESC, id DESC", OPEN),
    ("ticket_open_priority_asc_idx", "priority, created_at DESC, id DESC", OPEN),
    ("ticket_open_updated_idx", "updated_at DESC, id DESC", OPEN),
    ("ticket_created_id_idx", "created_at DESC, id DESC", ""),
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns, condition in INDEXES:
        where = f" WHERE {condition}" if condition else ""
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON tickets_ticket ({columns}){where}"
        )


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _columns, _condition in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("tickets", "0003_search_indexes")]
    operations = [migrations.RunPython(forward, reverse)]
