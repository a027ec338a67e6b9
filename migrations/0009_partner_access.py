"""Partner access and accountability: API keys (stored as SHA-256 hashes), the audit trail, and the rate limit's
counters when the budget is kept in the database (JETO_RATE_LIMIT_STORE=database)."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from domain.models import ActorKind, ApiKeyScope


class Migration(migrations.Migration):
    dependencies = [("models", "0008_sync_stamps")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ApiKey",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="api_keys",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="created_by_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="api_keys",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=200)),
                (
                    "scope",
                    fields.CharEnumField(
                        description="READ_ONLY: READ_ONLY\nREAD_WRITE: READ_WRITE", enum_type=ApiKeyScope, max_length=20
                    ),
                ),
                ("secret_hash", fields.CharField(unique=True, max_length=64)),
                ("hint", fields.CharField(max_length=20)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("last_used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "api_key",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A key a server signs in with for its account: only its SHA-256 is stored (domain/api_keys.py).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="audit_events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("action", fields.CharField(max_length=60)),
                (
                    "actor_kind",
                    fields.CharEnumField(
                        description="USER: USER\nAPI_KEY: API_KEY\nACCOUNT_MANAGER: ACCOUNT_MANAGER",
                        enum_type=ActorKind,
                        max_length=20,
                    ),
                ),
                (
                    "actor_user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="actor_user_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="audit_events",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "actor_api_key",
                    fields.ForeignKeyField(
                        "models.ApiKey",
                        source_field="actor_api_key_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="audit_events",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("request_id", fields.CharField(null=True, max_length=100)),
                (
                    "platform_integration",
                    fields.ForeignKeyField(
                        "models.PlatformIntegration",
                        source_field="platform_integration_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="audit_events",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "launcher",
                    fields.ForeignKeyField(
                        "models.Launcher",
                        source_field="launcher_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="audit_events",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "api_key",
                    fields.ForeignKeyField(
                        "models.ApiKey",
                        source_field="api_key_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="audited_as_subject",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "changes",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
            ],
            options={
                "table": "audit_event",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One change of what the audit trail covers, written in the transaction of the change (domain/audit.py).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RateLimitCounter",
            fields=[
                ("key", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ("used", fields.IntField()),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "rate_limit_counter",
                "app": "models",
                "pk_attr": "key",
                "table_description": "Points a principal spent in one window, when the budget is kept in the database (jeto/rate_limits.py).",
            },
            bases=["Model"],
        ),
        ops.RunSQL("CREATE INDEX idx_api_key_account ON api_key (account_id, id)"),
        # The trail is paged newest first per account, and filtered by integration or by actor.
        ops.RunSQL("CREATE INDEX idx_audit_event_account ON audit_event (account_id, id)"),
        ops.RunSQL("CREATE INDEX idx_audit_event_integration ON audit_event (platform_integration_id, id)"),
        ops.RunSQL("CREATE INDEX idx_audit_event_actor_user ON audit_event (actor_user_id, id)"),
        ops.RunSQL("CREATE INDEX idx_audit_event_actor_key ON audit_event (actor_api_key_id, id)"),
        ops.RunSQL("CREATE INDEX idx_rate_limit_counter_expiry ON rate_limit_counter (expires_at)"),
    ]
