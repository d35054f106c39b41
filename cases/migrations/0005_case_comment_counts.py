"""
Each case keeps its number of comments, all and public, so that no list counts them.

``services.add_comment`` keeps them from now on; this counts the comments
already there.
"""

from django.db import migrations, models

COUNT_COMMENTS = """
UPDATE cases_case SET
    comment_count = (SELECT count(*) FROM cases_comment WHERE case_id = cases_case.id),
    public_comment_count = (
        SELECT count(*) FROM cases_comment WHERE case_id = cases_case.id AND is_public
    )
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_admin_queue_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="comment_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="case",
            name="public_comment_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunSQL(COUNT_COMMENTS, reverse_sql=migrations.RunSQL.noop),
    ]
