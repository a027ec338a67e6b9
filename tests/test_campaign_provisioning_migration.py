"""The campaign-provisioning migration keeps existing campaigns right: no second email, no shared program."""

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate

from jeto.database import MODELS, tortoise_config

BEFORE = "models.0004_campaigns_and_mail"
AT = "'2026-03-01 10:00:00+00:00'"
ROWS = [
    "INSERT INTO account (id, name, plan_name, plan_limits, created_at) VALUES (1, 'Acme', 'Free', '{}', " + AT + ")",
    "INSERT INTO app_user (id, email, role, created_at, account_id) VALUES (1, 'a@acme.test', 'ADMIN', " + AT + ", 1)",
    "INSERT INTO platform_integration (id, vendor, name, client_id, client_secret_encrypted, client_secret_hint,"
    " rest_endpoint, identity_endpoint, is_default, is_trial, connection_status, sync_state, folders_synced,"
    " programs_synced, needs_full_sync, created_at, account_id) VALUES (1, 'MARKETO', 'EMEA', 'c', 's', '…', 'r', 'i',"
    " TRUE, FALSE, 'CONNECTED', 'COMPLETED', 0, 0, FALSE, " + AT + ", 1)",
    "INSERT INTO launcher (id, name, created_at, account_id, platform_integration_id) VALUES (1, 'L', "
    + AT
    + ", 1, 1)",
    "INSERT INTO marketo_program (id, marketo_id, name, type, platform_integration_id) VALUES (1, 1001, 'Spring', 'Default', 1)",
    *(
        "INSERT INTO campaign (id, name, status, marketo_program_id, submitted_at, updated_at, account_id, launcher_id,"
        f" submitted_by_id) VALUES ({pk}, '{name}', 'READY', {program}, {AT}, {AT}, 1, 1, 1)"
        for pk, name, program in ((1, "Spring", 1), (2, "Spring again", 1), (3, "Waiting", "NULL"))
    ),
]


async def test_old_campaigns_count_as_notified_and_a_shared_program_stays_with_the_oldest(blank_database):
    await migrate(config=tortoise_config(blank_database), target=BEFORE)
    await Tortoise.init(db_url=blank_database, modules={"models": MODELS})
    try:
        connection = Tortoise.get_connection("default")
        for statement in ROWS:
            await connection.execute_script(statement)
    finally:
        await Tortoise.close_connections()
    await migrate(config=tortoise_config(blank_database))
    await Tortoise.init(db_url=blank_database, modules={"models": MODELS})
    try:
        rows = await Tortoise.get_connection("default").execute_query_dict(
            "SELECT id, status, marketo_program_id, error, admins_notified_at FROM campaign ORDER BY id"
        )
    finally:
        await Tortoise.close_connections()
    assert [(r["id"], r["status"], r["marketo_program_id"]) for r in rows] == [
        (1, "READY", 1),
        (2, "FAILED", None),
        (3, "READY", None),
    ]
    assert rows[0]["error"] is None and "retry it to create its own program" in rows[1]["error"]
    assert all(r["admins_notified_at"] is not None for r in rows)  # they were mailed at submission
