"""A sync run records where its listings stand (marketo/worker/resume.py), in the transaction that writes its
counts: a sync taken over after its worker died takes the listings up there instead of listing everything again.
Existing runs have none: they start over, as before."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0009_partner_access")]

    operations = [
        ops.AddField(
            model_name="SyncRun",
            name="listing_cursor",
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads),
        ),
    ]
