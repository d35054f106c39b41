"""
Full-text search indexes, on PostgreSQL only.

They index exactly the expressions `cases.search` queries, so PostgreSQL can
use them. They are not declared on the models (SQLite has no GIN indexes and
falls back to substring search), so this migration leaves the model state
alone and `makemigrations --check` stays clean on both databases.
"""

from django.db import migrations

INDEXES = {
    "case_search": (
        "cases_case",
        "to_tsvector('english'::regconfig, COALESCE(subject, '') || ' ' || COALESCE(description, ''))",
        "",
    ),
    "comment_public_search": (
        "cases_comment",
        "to_tsvector('english'::regconfig, COALESCE(body, ''))",
        "WHERE is_public",
    ),
    "article_search": (
        "cases_knowledgearticle",
        "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(body, ''))",
        "",
    ),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, expression, where) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression})) {where}"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
