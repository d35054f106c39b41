"""
Drop three foreign-key indexes that a composite index leading with the same
column already serves (case_org_activity, event_case_time, comment_case_time).

Django's own AlterField would drop each foreign key constraint and add it back,
which checks every row again under a lock: minutes on a large deployment. Only
the index goes here; the constraint stays as it is.
"""

import django.db.models.deletion
from django.db import migrations, models

REDUNDANT = [
    ("cases_case", "organization_id", "cases_case_organization_id_cb1292e0"),
    ("cases_caseevent", "case_id", "cases_caseevent_case_id_6c6031ac"),
    ("cases_comment", "case_id", "cases_comment_case_id_e56ad749"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_email_upper"),
        ("cases", "0007_admin_search_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="accounts.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseevent",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="cases.case",
                    ),
                ),
                migrations.AlterField(
                    model_name="comment",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="comments",
                        to="cases.case",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("{column}")',
                )
                for table, column, index in REDUNDANT
            ],
        ),
    ]
