"""The schema's enums are the domain's own, exposed under the contract's names."""

import strawberry

from domain import models
from domain.audit import AuditAction as _AuditAction
from domain.errors import UserErrorCode as _UserErrorCode
from domain.sync_state import SyncState as _SyncState

Role = strawberry.enum(models.Role, name="Role")
Vendor = strawberry.enum(models.Vendor, name="Vendor")
ConnectionStatus = strawberry.enum(models.ConnectionStatus, name="ConnectionStatus")
CampaignStatus = strawberry.enum(models.CampaignStatus, name="CampaignStatus")
SyncTrigger = strawberry.enum(models.SyncTrigger, name="SyncTrigger")
SyncState = strawberry.enum(_SyncState, name="SyncState")
UserErrorCode = strawberry.enum(_UserErrorCode, name="UserErrorCode")
ApiKeyScope = strawberry.enum(models.ApiKeyScope, name="ApiKeyScope")
AuditAction = strawberry.enum(_AuditAction, name="AuditAction")
AuditActorKind = strawberry.enum(models.ActorKind, name="AuditActorKind")
