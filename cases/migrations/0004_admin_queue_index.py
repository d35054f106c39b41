"""
An index in the order of the staff case list (``CaseAdmin.get_ordering``).

The admin orders every case by an expression (waiting on us, from
``cases.dashboard.waiting_on_us``), then severity, the customer's last message
and the id. Without an index on that very expression PostgreSQL sorts every
case to show 50 (a million rows at a million cases); with it, a page is an
index scan of 50 rows. PostgreSQL only, like 0002, and written as SQL so the
expression stays the one Django generates for the admin's query: if
``waiting_on_us`` changes, change it here too.
"""

from django.db import migrations

NAME = "case_admin_queue"
CREATE = (
    f'CREATE INDEX IF NOT EXISTS "{NAME}" ON "cases_case" ('
    "((\"last_customer_message_at\" IS NOT NULL AND \"status\" IN ('new', 'open') "
    'AND ("last_staff_message_at" IS NULL '
    'OR "last_customer_message_at" > ("last_staff_message_at")))) DESC, '
    '"severity", "last_customer_message_at" ASC NULLS LAST, "id")'
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_list_indexes")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
