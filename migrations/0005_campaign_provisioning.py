"""Campaigns: when their admins were told of the first provisioning outcome; one campaign per Marketo program.

Campaigns submitted before this migration were announced at submission, so they count as notified.
A program referenced by several campaigns (a retry could adopt another campaign's program) stays with the
oldest; the others are FAILED and say so, and a retry makes them their own.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

SHARED_PROGRAM_ERROR = (
    "This campaign was attached to the Marketo program of an older campaign by mistake: "
    "retry it to create its own program."
)

STATEMENTS = [
    "UPDATE campaign SET admins_notified_at = submitted_at WHERE admins_notified_at IS NULL",
    "UPDATE campaign SET status = 'FAILED', error = '" + SHARED_PROGRAM_ERROR + "', marketo_program_id = NULL"
    " WHERE marketo_program_id IS NOT NULL AND id NOT IN"
    " (SELECT MIN(id) FROM campaign WHERE marketo_program_id IS NOT NULL GROUP BY marketo_program_id)",
    "CREATE UNIQUE INDEX uniq_campaign_program ON campaign (marketo_program_id)",
]


async def apply(apps, schema_editor) -> None:
    for statement in STATEMENTS:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0004_campaigns_and_mail")]

    operations = [
        ops.AddField(
            model_name="Campaign",
            name="admins_notified_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(apply),
    ]
