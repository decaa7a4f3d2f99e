"""A stored search document on each ticket, for keyword search on PostgreSQL (issue #3).

0003 indexed the expression to_tsvector('simple', subject || ' ' || description). An index on
an expression answers "which tickets match" (a GIN bitmap), but a search page is "the newest 50
matches": with a common word (a few per cent of a million tickets) PostgreSQL had to collect
every match and sort them, re-reading each ticket from the table. With the document stored in
the row (a generated column, so every insert and update keeps it right, COPY included) the
planner may instead walk the tickets newest first and check each one's document, stopping after
50; for a rare word it still takes the GIN index. The column is not a Django model field: only
selectors.ticket_search reads it, through SQL, on PostgreSQL. Adding it rewrites the ticket
table once (an exclusive lock for about a minute at a million tickets). SQLite: nothing."""

from django.db import migrations

DOCUMENT = "to_tsvector('simple'::regconfig, subject || ' ' || description)"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE tickets_ticket ADD COLUMN IF NOT EXISTS search_document tsvector "
        f"GENERATED ALWAYS AS ({DOCUMENT}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_search_document_idx "
        "ON tickets_ticket USING gin (search_document)"
    )
    # The expression index of 0003 on the same text is no longer used.
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS ticket_search_fts_idx")
    schema_editor.execute("ANALYZE tickets_ticket")


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_search_fts_idx "
        f"ON tickets_ticket USING gin (({DOCUMENT}))"
    )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS ticket_search_document_idx")
    schema_editor.execute("ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_document")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("tickets", "0005_number_sequences")]
    operations = [migrations.RunPython(forward, reverse)]
