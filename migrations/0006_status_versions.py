"""Status versions for ordered subscription events, and job ownership for fenced writes and capped takeovers.

`status_version` is raised by a trigger in the very UPDATE that changes a column a status subscriber
shows, whatever code writes it; one dialect each, as in 0002.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# The columns whose change is a new status, per table (what SyncStatus and a campaign subscriber show).
STATUS_COLUMNS = {
    "platform_integration": (
        "sync_state",
        "sync_started_at",
        "sync_finished_at",
        "last_succeeded_at",
        "folders_synced",
        "programs_synced",
        "sync_error",
        "next_sync_attempt_at",
        "deleted_at",
    ),
    "campaign": ("name", "status", "error", "marketo_program_id"),
}


def _sqlite(table: str, columns: tuple[str, ...]) -> str:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
    return f"""
    CREATE TRIGGER {table}_status_version
    AFTER UPDATE OF {", ".join(columns)} ON {table}
    FOR EACH ROW WHEN {changed}
    BEGIN
        UPDATE {table} SET status_version = OLD.status_version + 1 WHERE id = NEW.id;
    END
    """


def _postgres(table: str, columns: tuple[str, ...]) -> list[str]:
    new = ", ".join(f"NEW.{c}" for c in columns)
    old = ", ".join(f"OLD.{c}" for c in columns)
    return [
        f"""
        CREATE FUNCTION {table}_status_version() RETURNS trigger AS $$
        BEGIN
            NEW.status_version := OLD.status_version
                + CASE WHEN ({new}) IS DISTINCT FROM ({old}) THEN 1 ELSE 0 END;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """,
        f"""
        CREATE TRIGGER {table}_status_version
        BEFORE UPDATE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_status_version()
        """,
    ]


async def add_triggers(apps, schema_editor) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    for table, columns in STATUS_COLUMNS.items():
        for statement in _postgres(table, columns) if postgres else [_sqlite(table, columns)]:
            await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0005_campaign_provisioning")]

    initial = False

    operations = [
        ops.AddField(
            model_name="PlatformIntegration", name="status_version", field=fields.IntField(default=0, db_default=0)
        ),
        ops.AddField(model_name="Campaign", name="status_version", field=fields.IntField(default=0, db_default=0)),
        ops.AddField(model_name="Job", name="claimed_by", field=fields.CharField(null=True, max_length=100)),
        ops.AddField(model_name="Job", name="takeovers", field=fields.IntField(default=0, db_default=0)),
        ops.RunPython(add_triggers),
    ]
