"""Folder and program rows record when a sync last saw them (or the worker last wrote them).

A full sync then removes the rows it did not see with one statement over the stamp, instead of
sending every id it saw (PostgreSQL takes at most 32,767 parameters), and never removes a row written
after it started. Existing rows start unstamped: the next sync of their integration stamps them.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0007_campaign_notifications")]

    operations = [
        ops.AddField(
            model_name="MarketoFolder",
            name="seen_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="MarketoProgram",
            name="seen_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
