"""The stored state of the product (Tortoise ORM models)."""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from domain.entitlements import DEFAULT_PLAN_NAME
from domain.sync_state import SyncState


class Role(enum.Enum):
    ADMIN = "ADMIN"
    COLLABORATOR = "COLLABORATOR"


class Vendor(enum.Enum):
    MARKETO = "MARKETO"


class ConnectionStatus(enum.Enum):
    UNTESTED = "UNTESTED"
    CONNECTED = "CONNECTED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    UNREACHABLE = "UNREACHABLE"
    ENDPOINT_NOT_ALLOWED = "ENDPOINT_NOT_ALLOWED"


class CampaignStatus(enum.Enum):
    PROVISIONING = "PROVISIONING"
    READY = "READY"
    FAILED = "FAILED"


class SyncTrigger(enum.Enum):
    MANUAL = "MANUAL"
    SCHEDULED = "SCHEDULED"
    CREDENTIALS_CHANGED = "CREDENTIALS_CHANGED"


class JobKind(enum.Enum):
    SYNC = "SYNC"
    TEST_CONNECTION = "TEST_CONNECTION"
    PROVISION_CAMPAIGN = "PROVISION_CAMPAIGN"
    RENAME_PROGRAM = "RENAME_PROGRAM"
    ASSETS_FOLDER = "ASSETS_FOLDER"


class JobState(enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class Account(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    plan_name = fields.CharField(max_length=60, default=DEFAULT_PLAN_NAME)
    # Limits are data, so a new kind of limit needs no schema change: {"platform_integrations": 1, "users": null}
    plan_limits: dict[str, int | None] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class User(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="users", on_delete=fields.CASCADE
    )
    account_id: int
    email = fields.CharField(max_length=254, unique=True)
    idp_subject = fields.CharField(max_length=255, null=True, unique=True)
    name = fields.CharField(max_length=200, null=True)
    role = fields.CharEnumField(Role, max_length=20)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "app_user"


class PlatformIntegration(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="platform_integrations", on_delete=fields.CASCADE
    )
    account_id: int
    vendor = fields.CharEnumField(Vendor, max_length=20, default=Vendor.MARKETO)
    name = fields.CharField(max_length=200)
    client_id = fields.CharField(max_length=200)
    client_secret_encrypted = fields.TextField()
    client_secret_hint = fields.CharField(max_length=20)
    rest_endpoint = fields.CharField(max_length=500)
    identity_endpoint = fields.CharField(max_length=500)
    is_default = fields.BooleanField(default=False)
    is_trial = fields.BooleanField(default=False)
    connection_status = fields.CharEnumField(ConnectionStatus, max_length=30, default=ConnectionStatus.UNTESTED)
    connection_checked_at = fields.DatetimeField(null=True)
    sync_state = fields.CharEnumField(SyncState, max_length=20, default=SyncState.NEVER_SYNCED)
    sync_started_at = fields.DatetimeField(null=True)
    sync_finished_at = fields.DatetimeField(null=True)
    last_succeeded_at = fields.DatetimeField(null=True)
    folders_synced = fields.IntField(default=0)
    programs_synced = fields.IntField(default=0)
    sync_error = fields.TextField(null=True)
    next_sync_attempt_at = fields.DatetimeField(null=True)
    # Set when credentials change: the next sync is a full one.
    needs_full_sync = fields.BooleanField(default=True)
    last_full_sync_at = fields.DatetimeField(null=True)
    # The worker that owns this integration: all its Marketo calls go through that worker's token and limiter.
    lease_owner = fields.CharField(max_length=100, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    deleted_at = fields.DatetimeField(null=True)
    # Raised by a database trigger in the UPDATE that changes what SyncStatus shows: events carry it, so a
    # subscriber shows each change once and never an older one after a newer.
    status_version = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "platform_integration"


class MarketoFolder(Model):
    id = fields.IntField(primary_key=True)
    platform_integration: fields.ForeignKeyRelation[PlatformIntegration] = fields.ForeignKeyField(
        "models.PlatformIntegration", related_name="folders", on_delete=fields.CASCADE
    )
    platform_integration_id: int
    marketo_id = fields.IntField()
    marketo_type = fields.CharField(max_length=20)  # Folder or Program
    name = fields.CharField(max_length=255)
    path = fields.CharField(max_length=2000)
    parent_marketo_id = fields.IntField(null=True)
    parent_marketo_type = fields.CharField(max_length=20, null=True)
    folder_type = fields.CharField(max_length=40, null=True)
    is_system = fields.BooleanField(default=False)
    url = fields.CharField(max_length=500, null=True)
    marketo_updated_at = fields.DatetimeField(null=True)
    # When a sync last listed it, or the worker last wrote it: a full sync removes only older rows.
    seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "marketo_folder"
        unique_together = (("platform_integration", "marketo_id", "marketo_type"),)


class MarketoProgram(Model):
    id = fields.IntField(primary_key=True)
    platform_integration: fields.ForeignKeyRelation[PlatformIntegration] = fields.ForeignKeyField(
        "models.PlatformIntegration", related_name="programs", on_delete=fields.CASCADE
    )
    platform_integration_id: int
    marketo_id = fields.IntField()
    name = fields.CharField(max_length=255)
    type = fields.CharField(max_length=40)
    channel = fields.CharField(max_length=100, null=True)
    status = fields.CharField(max_length=40, null=True)
    folder: fields.ForeignKeyNullableRelation[MarketoFolder] = fields.ForeignKeyField(
        "models.MarketoFolder", related_name="programs", null=True, on_delete=fields.SET_NULL
    )
    folder_id: int | None
    url = fields.CharField(max_length=500, null=True)
    marketo_updated_at = fields.DatetimeField(null=True)
    seen_at = fields.DatetimeField(null=True)  # as MarketoFolder.seen_at

    class Meta:
        table = "marketo_program"
        unique_together = (("platform_integration", "marketo_id"),)


class Launcher(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="launchers", on_delete=fields.CASCADE
    )
    account_id: int
    # Never changes once set; a database trigger refuses the change too.
    platform_integration: fields.ForeignKeyRelation[PlatformIntegration] = fields.ForeignKeyField(
        "models.PlatformIntegration", related_name="launchers", on_delete=fields.RESTRICT
    )
    platform_integration_id: int
    name = fields.CharField(max_length=200)
    destination_folder: fields.ForeignKeyNullableRelation[MarketoFolder] = fields.ForeignKeyField(
        "models.MarketoFolder", related_name="destination_of", null=True, on_delete=fields.SET_NULL
    )
    destination_folder_id: int | None
    template_program: fields.ForeignKeyNullableRelation[MarketoProgram] = fields.ForeignKeyField(
        "models.MarketoProgram", related_name="template_of", null=True, on_delete=fields.SET_NULL
    )
    template_program_id: int | None
    assets_folder: fields.ForeignKeyNullableRelation[MarketoFolder] = fields.ForeignKeyField(
        "models.MarketoFolder", related_name="assets_of", null=True, on_delete=fields.SET_NULL
    )
    assets_folder_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "launcher"


class LauncherCollaborator(Model):
    id = fields.IntField(primary_key=True)
    launcher: fields.ForeignKeyRelation[Launcher] = fields.ForeignKeyField(
        "models.Launcher", related_name="grants", on_delete=fields.CASCADE
    )
    launcher_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="grants", on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "launcher_collaborator"
        unique_together = (("launcher", "user"),)


class Campaign(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="campaigns", on_delete=fields.CASCADE
    )
    account_id: int
    launcher: fields.ForeignKeyRelation[Launcher] = fields.ForeignKeyField(
        "models.Launcher", related_name="campaigns", on_delete=fields.CASCADE
    )
    launcher_id: int
    name = fields.CharField(max_length=200)
    status = fields.CharEnumField(CampaignStatus, max_length=20, default=CampaignStatus.PROVISIONING)
    marketo_program: fields.ForeignKeyNullableRelation[MarketoProgram] = fields.ForeignKeyField(
        "models.MarketoProgram", related_name="campaigns", null=True, on_delete=fields.SET_NULL
    )
    marketo_program_id: int | None
    error = fields.TextField(null=True)
    # Written before the clone call, cleared once its outcome is known: while set, a retry looks in the
    # destination folder for the program whose description carries this campaign's marker, and adopts it.
    clone_requested_at = fields.DatetimeField(null=True)
    # Written with the admins' email about the campaign, queued at submission: they are told once. Null only for
    # campaigns submitted before 0007 and still without an outcome: their first outcome writes the email.
    admins_notified_at = fields.DatetimeField(null=True)
    submitted_at = fields.DatetimeField(auto_now_add=True)
    submitted_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="campaigns", on_delete=fields.RESTRICT
    )
    submitted_by_id: int
    updated_at = fields.DatetimeField(auto_now=True)
    # Raised by a database trigger in the UPDATE that changes its name, status, error or program (see above).
    status_version = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "campaign"


class SyncRun(Model):
    id = fields.IntField(primary_key=True)
    platform_integration: fields.ForeignKeyRelation[PlatformIntegration] = fields.ForeignKeyField(
        "models.PlatformIntegration", related_name="sync_runs", on_delete=fields.CASCADE
    )
    platform_integration_id: int
    trigger = fields.CharEnumField(SyncTrigger, max_length=30)
    state = fields.CharEnumField(SyncState, max_length=20, default=SyncState.QUEUED)
    queued_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    folders_synced = fields.IntField(default=0)
    programs_synced = fields.IntField(default=0)
    attempts = fields.IntField(default=0)
    error = fields.TextField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    # Where an attempt's listings stand, for the next attempt to take them up (marketo/worker/resume.py): None
    # once the run ends, or before a first page is written.
    listing_cursor: dict[str, Any] | None = fields.JSONField(null=True)

    class Meta:
        table = "sync_run"


class Job(Model):
    """Durable work for the Marketo worker: a row survives any process that dies while running it."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(JobKind, max_length=30)
    platform_integration: fields.ForeignKeyRelation[PlatformIntegration] = fields.ForeignKeyField(
        "models.PlatformIntegration", related_name="jobs", on_delete=fields.CASCADE
    )
    platform_integration_id: int
    # Lower runs first: a campaign waiting for its program goes before a bulk sync of the same integration.
    priority = fields.IntField(default=10)
    state = fields.CharEnumField(JobState, max_length=20, default=JobState.PENDING)
    run_after = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    sync_run: fields.ForeignKeyNullableRelation[SyncRun] = fields.ForeignKeyField(
        "models.SyncRun", related_name="jobs", null=True, on_delete=fields.CASCADE
    )
    sync_run_id: int | None
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="jobs", null=True, on_delete=fields.CASCADE
    )
    campaign_id: int | None
    launcher: fields.ForeignKeyNullableRelation[Launcher] = fields.ForeignKeyField(
        "models.Launcher", related_name="jobs", null=True, on_delete=fields.CASCADE
    )
    launcher_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    # The worker that runs it; its writes count only while that worker still holds the integration's lease.
    claimed_by = fields.CharField(max_length=100, null=True)
    # Times a worker took it over RUNNING from one that died: a job that kills its worker is given up.
    takeovers = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "job"


class NotificationState(enum.Enum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class Notification(Model):
    """An email in the outbox: written with the change it tells of, sent (and retried) by the mailer."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notifications", on_delete=fields.CASCADE
    )
    account_id: int
    # The campaign an admins' email tells of (one each, a unique index says): its first outcome rewrites it.
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    campaign_id: int | None
    recipients: list[str] = fields.JSONField()
    subject = fields.CharField(max_length=200)
    body = fields.TextField()
    state = fields.CharEnumField(NotificationState, max_length=20, default=NotificationState.PENDING)
    attempts = fields.IntField(default=0)
    send_after = fields.DatetimeField()
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"


class ApiKeyScope(enum.Enum):
    READ_ONLY = "READ_ONLY"
    READ_WRITE = "READ_WRITE"


class ApiKey(Model):
    """A key a server signs in with for its account: only its SHA-256 is stored (domain/api_keys.py)."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="api_keys", on_delete=fields.CASCADE
    )
    account_id: int
    # The admin who made it: the user a key's campaigns are submitted by, and whom `viewer` names.
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_keys", on_delete=fields.CASCADE
    )
    created_by_id: int
    name = fields.CharField(max_length=200)
    scope = fields.CharEnumField(ApiKeyScope, max_length=20)
    secret_hash = fields.CharField(max_length=64, unique=True)
    hint = fields.CharField(max_length=20)  # its last characters, which are its checksum's: they reveal no secret
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)  # to the minute: written at most once a minute
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"


class ActorKind(enum.Enum):
    USER = "USER"
    API_KEY = "API_KEY"
    ACCOUNT_MANAGER = "ACCOUNT_MANAGER"


class AuditEvent(Model):
    """One change of what the audit trail covers, written in the transaction of the change (domain/audit.py)."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="audit_events", on_delete=fields.CASCADE
    )
    account_id: int
    created_at = fields.DatetimeField()
    action = fields.CharField(max_length=60)
    actor_kind = fields.CharEnumField(ActorKind, max_length=20)
    actor_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    actor_user_id: int | None
    actor_api_key: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    actor_api_key_id: int | None
    request_id = fields.CharField(max_length=100, null=True)
    # What it is about: the integration (filterable), the launcher, the API key, as the action says.
    platform_integration: fields.ForeignKeyNullableRelation[PlatformIntegration] = fields.ForeignKeyField(
        "models.PlatformIntegration", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    platform_integration_id: int | None
    launcher: fields.ForeignKeyNullableRelation[Launcher] = fields.ForeignKeyField(
        "models.Launcher", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    launcher_id: int | None
    api_key: fields.ForeignKeyNullableRelation[ApiKey] = fields.ForeignKeyField(
        "models.ApiKey", related_name="audited_as_subject", null=True, on_delete=fields.SET_NULL
    )
    api_key_id: int | None
    # [{"field": ..., "before": ..., "after": ...}]: text values; a secret's only ever "changed".
    changes: list[dict[str, Any]] = fields.JSONField(default=list)

    class Meta:
        table = "audit_event"


class RateLimitCounter(Model):
    """Points a principal spent in one window, when the budget is kept in the database (jeto/rate_limits.py)."""

    key = fields.CharField(max_length=200, primary_key=True)  # "<principal>:<window start>"
    used = fields.IntField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "rate_limit_counter"
