"""Who is asking, and what they may see of their account."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from domain import models
from domain.models import Role


@dataclass(frozen=True)
class Viewer:
    user_id: int
    account_id: int
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

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
