"""Who is asking, and what they may see of their account.

Each rule is written twice, side by side: as a Tortoise queryset for the use cases, and as an SQL condition on
the table's own columns for the API's read path, which reads plain rows (resolvers/sql.py). A test checks that
both select the same rows for admins and collaborators (tests/domain/test_visibility.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from domain import models
from domain.audit import Actor
from domain.models import ActorKind, Role

Scope = tuple[str, list[int]]  # an SQL condition with a ? for each of its parameters, and those parameters
NO_ACCOUNT = -1  # an account id no row has: what a rule that shows a viewer nothing compares with


@dataclass(frozen=True)
class Viewer:
    """A signed-in user, or an API key: a key sees as an admin does (its role is ADMIN), may write only if its
    scope allows, and names as `user_id` the admin who made it."""

    user_id: int
    account_id: int
    role: Role
    api_key_id: int | None = None
    read_only: bool = False
    request_id: str | None = None  # the request that signed in (a websocket's: its opening request)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def actor(self) -> Actor:
        """Who the audit trail records for what this viewer changes."""
        if self.api_key_id is not None:
            return Actor(ActorKind.API_KEY, api_key_id=self.api_key_id, request_id=self.request_id)
        return Actor(ActorKind.USER, user_id=self.user_id, request_id=self.request_id)

    def launchers(self, *, include_deleted: bool = False) -> QuerySet[models.Launcher]:
        query = models.Launcher.filter(account_id=self.account_id)
        if not include_deleted:
            query = query.filter(deleted_at=None)
        if not self.is_admin:
            query = query.filter(grants__user_id=self.user_id)
        return query

    def campaigns(self) -> QuerySet[models.Campaign]:
        query = models.Campaign.filter(account_id=self.account_id)
        if not self.is_admin:
            query = query.filter(launcher__grants__user_id=self.user_id)
        return query

    def integrations(self, *, include_deleted: bool = False) -> QuerySet[models.PlatformIntegration]:
        query = models.PlatformIntegration.filter(account_id=self.account_id)
        if not include_deleted:
            query = query.filter(deleted_at=None)
        if not self.is_admin:
            granted = models.Launcher.filter(account_id=self.account_id, grants__user_id=self.user_id)
            query = query.filter(id__in=Subquery(granted.values("platform_integration_id")))
        return query

    def folders(self) -> QuerySet[models.MarketoFolder]:
        return models.MarketoFolder.filter(platform_integration_id__in=Subquery(self.integrations().values("id")))

    def programs(self) -> QuerySet[models.MarketoProgram]:
        return models.MarketoProgram.filter(platform_integration_id__in=Subquery(self.integrations().values("id")))

    def sync_runs(self) -> QuerySet[models.SyncRun]:
        return models.SyncRun.filter(
            platform_integration_id__in=Subquery(self.integrations(include_deleted=True).values("id"))
        )

    def users(self) -> QuerySet[models.User]:
        """Admins: every user of the account. Collaborators: the users reachable through what they see:
        themselves, whoever submitted a campaign they see, and the collaborators of launchers granted to them."""
        query = models.User.filter(account_id=self.account_id)
        if self.is_admin:
            return query
        granted = self.launchers(include_deleted=True).values("id")
        return query.filter(
            Q(id=self.user_id)
            | Q(id__in=Subquery(self.campaigns().values("submitted_by_id")))
            | Q(
                id__in=Subquery(models.LauncherCollaborator.filter(launcher_id__in=Subquery(granted)).values("user_id"))
            )
        )

    def api_keys(self) -> QuerySet[models.ApiKey]:
        """Admins (API keys included): every key of the account. Collaborators: none."""
        return models.ApiKey.filter(account_id=self._account_if_admin())

    def audit_events(self) -> QuerySet[models.AuditEvent]:
        """Admins (API keys included): the account's whole trail. Collaborators: none."""
        return models.AuditEvent.filter(account_id=self._account_if_admin())

    def _account_if_admin(self) -> int:
        return self.account_id if self.is_admin else NO_ACCOUNT

    # The same rules as SQL conditions, for the read path.

    def launcher_scope(self, *, include_deleted: bool = False) -> Scope:
        sql, params = "account_id = ?", [self.account_id]
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        if not self.is_admin:
            sql += " AND id IN (SELECT launcher_id FROM launcher_collaborator WHERE user_id = ?)"
            params.append(self.user_id)
        return sql, params

    def campaign_scope(self) -> Scope:
        sql, params = "account_id = ?", [self.account_id]
        if not self.is_admin:
            sql += " AND launcher_id IN (SELECT launcher_id FROM launcher_collaborator WHERE user_id = ?)"
            params.append(self.user_id)
        return sql, params

    def integration_scope(self, *, include_deleted: bool = False) -> Scope:
        sql, params = "account_id = ?", [self.account_id]
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        if not self.is_admin:
            sql += (
                " AND id IN (SELECT platform_integration_id FROM launcher WHERE account_id = ?"
                " AND id IN (SELECT launcher_id FROM launcher_collaborator WHERE user_id = ?))"
            )
            params += [self.account_id, self.user_id]
        return sql, params

    def asset_scope(self) -> Scope:
        """Folders and programs: those of the integrations the viewer sees."""
        integrations, params = self.integration_scope()
        return f"platform_integration_id IN (SELECT id FROM platform_integration WHERE {integrations})", params

    def sync_run_scope(self) -> Scope:
        integrations, params = self.integration_scope(include_deleted=True)
        return f"platform_integration_id IN (SELECT id FROM platform_integration WHERE {integrations})", params

    def user_scope(self) -> Scope:
        if self.is_admin:
            return "account_id = ?", [self.account_id]
        campaigns, campaign_params = self.campaign_scope()
        launchers, launcher_params = self.launcher_scope(include_deleted=True)
        return (
            f"account_id = ? AND (id = ? OR id IN (SELECT submitted_by_id FROM campaign WHERE {campaigns})"
            " OR id IN (SELECT user_id FROM launcher_collaborator"
            f" WHERE launcher_id IN (SELECT id FROM launcher WHERE {launchers})))",
            [self.account_id, self.user_id, *campaign_params, *launcher_params],
        )

    def api_key_scope(self) -> Scope:
        return "account_id = ?", [self._account_if_admin()]

    def audit_scope(self) -> Scope:
        return "account_id = ?", [self._account_if_admin()]
