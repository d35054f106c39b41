"""
Keep each case's and each comment's search document in a column, on PostgreSQL only.

A list searched for a common word checks the newest cases one by one until a
page is full; reading a stored document makes that check cheap, where
`to_tsvector` over a description costs tens of microseconds a row. PostgreSQL
computes the columns itself (generated columns), so no code path writes them.
The full-text indexes of migration 0002 move to the columns under the same
names. Like those indexes, the columns are not declared on the models: SQLite
keeps its substring search, and `makemigrations --check` stays clean.
"""

from django.db import migrations

COLUMNS = {
    "cases_case": "COALESCE(subject, '') || ' ' || COALESCE(description, '')",
    "cases_comment": "COALESCE(body, '')",
}
INDEXES = {
    "case_search": ("cases_case", ""),
    "comment_public_search": ("cases_comment", "WHERE is_public"),
}


def add_documents(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, text in COLUMNS.items():
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN search_document tsvector "
            f"GENERATED ALWAYS AS (to_tsvector('english'::regconfig, {text})) STORED"
        )
    for name, (table, where) in INDEXES.items():
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX {name} ON {table} USING gin (search_document) {where}")


def remove_documents(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in COLUMNS:
        # Dropping the column drops its index; put back the one of migration 0002.
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN search_document")
    for name, (table, where) in INDEXES.items():
        text = COLUMNS[table]
        schema_editor.execute(
            f"CREATE INDEX {name} ON {table} "
            f"USING gin ((to_tsvector('english'::regconfig, {text}))) {where}"
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_case_comment_counts")]

    operations = [migrations.RunPython(add_documents, remove_documents, elidable=False)]
