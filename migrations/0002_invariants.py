"""Invariants the database itself keeps, whatever code writes to it.

- at most one default integration per account (the use cases keep "at least one");
- integration names unique per account among the integrations not deleted;
- a launcher's platform integration never changes once set.
Tortoise 1.1.9 does not emit Meta.constraints, so these are written as SQL, one dialect each.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

COMMON = [
    "CREATE UNIQUE INDEX uniq_default_integration_per_account"
    " ON platform_integration (account_id) WHERE is_default AND deleted_at IS NULL",
    "CREATE UNIQUE INDEX uniq_integration_name_per_account"
    " ON platform_integration (account_id, lower(name)) WHERE deleted_at IS NULL",
    "CREATE INDEX idx_campaign_launcher ON campaign (launcher_id, id)",
    "CREATE INDEX idx_launcher_integration ON launcher (platform_integration_id)",
    "CREATE INDEX idx_sync_run_integration ON sync_run (platform_integration_id, id)",
]

SQLITE = [
    """
    CREATE TRIGGER launcher_integration_immutable
    BEFORE UPDATE OF platform_integration_id ON launcher
    WHEN NEW.platform_integration_id IS NOT OLD.platform_integration_id
    BEGIN
        SELECT RAISE(ABORT, 'launcher platform integration is immutable');
    END
    """,
]

POSTGRES = [
    """
    CREATE FUNCTION launcher_integration_immutable() RETURNS trigger AS $$
    BEGIN
        IF NEW.platform_integration_id IS DISTINCT FROM OLD.platform_integration_id THEN
            RAISE EXCEPTION 'launcher platform integration is immutable' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER launcher_integration_immutable
    BEFORE UPDATE OF platform_integration_id ON launcher
    FOR EACH ROW EXECUTE FUNCTION launcher_integration_immutable()
    """,
]


async def apply(apps, schema_editor) -> None:
    client = schema_editor.client
    dialect = client.capabilities.dialect
    for statement in COMMON + (POSTGRES if dialect == "postgres" else SQLITE):
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(apply)]
