"""Search documents that include the ticket's comments, for keyword search on PostgreSQL
(issue #3).

Until 0006 a word was matched against the ticket's own document (subject + description) OR the
comment hits of a subquery on tickets_comment: two conditions per word, which PostgreSQL
could only combine for several words with a BitmapAnd of BitmapOrs and a sort of every match
("password reset": 1.2 s at a million tickets), and a word found in many comments read the
comments' heap twice ("0x80070005": 14,000 comments). Each ticket now also stores:

* `search_agent`: subject, description and every comment (what an agent searches);
* `search_public`: subject, description and the public comments only (what an end user
  searches: a hit must never reveal an internal note's words);

both `strip`ped (no positions: the search asks for words, never phrases), each with a GIN
index, so all the words of a search are one indexed condition on one column. They replace 0006's
`search_document` (subject + description), which is dropped. They are kept
right by triggers, COPY included: a ticket's own insert and its subject or description changing
(row triggers), and any insert, update or delete of comments (statement triggers with transition
tables: one UPDATE of the tickets concerned per statement, e.g. per COPY batch of the bench
seed; new comments add their words, an edit or a delete reads the ticket's comments again). The columns are not Django model fields: only selectors.ticket_search reads them, on
PostgreSQL. Filling them rewrites every ticket row once (row locks for a few minutes at a
million tickets). SQLite: nothing (it keeps the icontains search)."""

from django.db import migrations

# Both documents of ticket `{t}` (a row of tickets_ticket, or NEW in its trigger): its subject
# and description, then all its comments or only the public ones. Read per ticket through
# comment_ticket_idx; to_tsvector of texts joined by a space has the lexemes of each text.
DOCUMENTS = """(
    SELECT tickets_search_vector({t}.subject || ' ' || {t}.description
                                 || ' ' || coalesce(c.agent, '')),
           tickets_search_vector({t}.subject || ' ' || {t}.description
                                 || ' ' || coalesce(c.public, ''))
    FROM (
        SELECT string_agg(body, ' ') AS agent,
               string_agg(body, ' ') FILTER (WHERE NOT is_internal) AS public
        FROM tickets_comment WHERE ticket_id = {t}.id
    ) AS c
)"""

# A tsvector holds at most 1 MB. A ticket whose texts have more distinct words than that (logs
# pasted again and again) must still take new comments: its document keeps the words it has
# (the first 200,000 characters' words when built from scratch) instead of failing the write.
SAFE = """
CREATE OR REPLACE FUNCTION tickets_search_vector(body text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN strip(to_tsvector('simple'::regconfig, coalesce(body, '')));
EXCEPTION WHEN program_limit_exceeded THEN
    RETURN strip(to_tsvector('simple'::regconfig, left(body, 200000)));
END
$$;

CREATE OR REPLACE FUNCTION tickets_search_add(doc tsvector, body text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN coalesce(doc, ''::tsvector) || tickets_search_vector(body);
EXCEPTION WHEN program_limit_exceeded THEN
    RETURN doc;
END
$$;
"""

_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION tickets_search_refresh(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE tickets_ticket t SET (search_agent, search_public) = {DOCUMENTS.format(t="t")}
    WHERE t.id = ANY(ids)
$$;

CREATE OR REPLACE FUNCTION tickets_ticket_search_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- No comment can point to the ticket yet: no lookup (the bench seed COPYs tickets
        -- with comment_ticket_idx dropped).
        NEW.search_agent := tickets_search_vector(NEW.subject || ' ' || NEW.description);
        NEW.search_public := NEW.search_agent;
    ELSE
        SELECT * INTO NEW.search_agent, NEW.search_public FROM {DOCUMENTS.format(t="NEW")} AS d;
    END IF;
    RETURN NEW;
END
$$;

-- New comments add their words to the documents (no read of the ticket's other comments).
CREATE OR REPLACE FUNCTION tickets_comment_search_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets_ticket t SET
        search_agent = tickets_search_add(t.search_agent, a.agent),
        search_public = tickets_search_add(t.search_public, coalesce(a.public, ''))
    FROM (
        SELECT ticket_id, string_agg(body, ' ') AS agent,
               string_agg(body, ' ') FILTER (WHERE NOT is_internal) AS public
        FROM added GROUP BY ticket_id
    ) AS a
    WHERE t.id = a.ticket_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_comment_search_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tickets_search_refresh(ARRAY(
        SELECT ticket_id FROM before UNION SELECT ticket_id FROM after
    ));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_comment_search_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tickets_search_refresh(ARRAY(SELECT DISTINCT ticket_id FROM removed));
    RETURN NULL;
END
$$;
"""  # noqa: S608 (fixed text, no input)
FUNCTIONS = SAFE + _FUNCTIONS

TRIGGERS = """
CREATE TRIGGER tickets_ticket_search_insert BEFORE INSERT ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search_row();
CREATE TRIGGER tickets_ticket_search_update BEFORE UPDATE OF subject, description ON tickets_ticket
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject
                       OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION tickets_ticket_search_row();
CREATE TRIGGER tickets_comment_search_insert AFTER INSERT ON tickets_comment
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search_added();
CREATE TRIGGER tickets_comment_search_update AFTER UPDATE ON tickets_comment
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search_changed();
CREATE TRIGGER tickets_comment_search_delete AFTER DELETE ON tickets_comment
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search_removed();
"""

# Every existing ticket in one pass, in the table's order: the new row versions are written in
# the order of the old ones, so the newest tickets stay together on the newest pages (the
# search walks them newest first). A join with the comments aggregated once would write them
# in the hash join's order instead: the walk then read a page per ticket (2-3x slower).
BACKFILL = "UPDATE tickets_ticket t SET (search_agent, search_public) = " + DOCUMENTS.format(  # noqa: S608
    t="t"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    execute(
        "ALTER TABLE tickets_ticket ADD COLUMN IF NOT EXISTS search_agent tsvector, "
        "ADD COLUMN IF NOT EXISTS search_public tsvector"
    )
    # search_agent holds all search_document (0006) held, and the search no longer reads it:
    # dropped before the fill, so the rewritten rows are ~250 bytes narrower (the search
    # walks rows newest first: narrower rows, fewer pages).
    execute("ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_document")
    # Triggers first, so that a change made while the rows are filled is not lost (the fill
    # and the triggers' updates wait for each other's row locks).
    execute(FUNCTIONS)
    execute(TRIGGERS)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp() - interval '1 minute'")
        started = cursor.fetchone()[0]
    execute(BACKFILL)
    # A comment committed while the fill ran may be missing from its ticket's documents (the
    # fill's snapshot predates it, and it may have overwritten the trigger's update): those
    # tickets once more.
    execute(
        "SELECT tickets_search_refresh(ARRAY("
        "SELECT DISTINCT ticket_id FROM tickets_comment WHERE created_at >= %s))",
        [started],
    )
    execute("VACUUM tickets_ticket")
    for column in ("search_agent", "search_public"):
        execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_{column}_idx "
            f"ON tickets_ticket USING gin ({column})"
        )
    execute("ANALYZE tickets_ticket")


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    for trigger, table in (
        ("tickets_ticket_search_insert", "tickets_ticket"),
        ("tickets_ticket_search_update", "tickets_ticket"),
        ("tickets_comment_search_insert", "tickets_comment"),
        ("tickets_comment_search_update", "tickets_comment"),
        ("tickets_comment_search_delete", "tickets_comment"),
    ):
        execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for function in (
        "tickets_ticket_search_row()",
        "tickets_comment_search_added()",
        "tickets_comment_search_changed()",
        "tickets_comment_search_removed()",
        "tickets_search_refresh(bigint[])",
        "tickets_search_add(tsvector, text)",
        "tickets_search_vector(text)",
    ):
        execute(f"DROP FUNCTION IF EXISTS {function}")
    for column in ("search_agent", "search_public"):
        execute(f"DROP INDEX CONCURRENTLY IF EXISTS ticket_{column}_idx")
    execute(
        "ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_agent, "
        "DROP COLUMN IF EXISTS search_public"
    )
    execute(
        "ALTER TABLE tickets_ticket ADD COLUMN IF NOT EXISTS search_document tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, subject || ' ' || description)) "
        "STORED"
    )
    execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_search_document_idx "
        "ON tickets_ticket USING gin (search_document)"
    )


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("tickets", "0006_ticket_search_document")]
    operations = [migrations.RunPython(forward, reverse)]
