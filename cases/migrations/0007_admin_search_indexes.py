"""
Indexes for the staff case list's search (``cases.admin_list.search_cases``).

The search finds a case by words of its subject ("contains", in any case), its
external id (exactly, in any case), or its organization or reporter (by id, once
their names are looked up). With an index for each of these conditions
PostgreSQL combines them (a bitmap OR) and reads only the matching cases; without
one it reads every case. A trigram index is what lets "contains" use an index
(the pg_trgm extension, shipped with PostgreSQL). PostgreSQL only, like 0002 and
0004, and written as SQL so that each expression stays the one Django generates
for ``subject__icontains`` and ``external_id__iexact``.
"""

from django.db import migrations

INDEXES = {
    "case_subject_trigram": 'USING gin ((UPPER("subject"::text)) gin_trgm_ops)',
    "case_external_id_upper": '((UPPER("external_id"::text)))',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "cases_case" {definition}')


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_search_documents")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
