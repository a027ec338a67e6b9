"""The admins' email about a campaign is queued at its submission and names it: notification.campaign_id.

One email per campaign, whatever code writes them: a unique index (NULLs, emails of other kinds, repeat).
Campaigns submitted earlier keep their emails unlinked; those still without an outcome get theirs at it.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


async def one_email_per_campaign(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(
        "CREATE UNIQUE INDEX uniq_notification_campaign ON notification (campaign_id)"
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0006_status_versions")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Notification",
            name="campaign",
            field=fields.ForeignKeyField(
                "models.Campaign",
                source_field="campaign_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="notifications",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.RunPython(one_email_per_campaign),
    ]
