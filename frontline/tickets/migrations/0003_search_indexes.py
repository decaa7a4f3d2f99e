"""Full-text indexes for ticket search on PostgreSQL (see selectors.ticket_search).

GIN indexes of to_tsvector('simple', ...) on subject + description and on comment bodies; the
expressions must match the ones in selectors.py exactly. Built CONCURRENTLY (so this migration
is not atomic) to leave a live desk writable while they build. SQLite: nothing (it keeps the
icontains search)."""

from django.db import migrations

INDEXES = (
    (
        "ticket_search_fts_idx",
        "tickets_ticket",
        "to_tsvector('simple'::regconfig, subject || ' ' || description)",
    ),
    ("comment_search_fts_idx", "tickets_comment", "to_tsvector('simple'::regconfig, body)"),
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} USING gin (({expression}))"
        )


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("tickets", "0002_seed_priority_matrix_and_sequences")]
    operations = [migrations.RunPython(forward, reverse)]
