"""The GraphQL schema's declarations, one module per area of the product: each declares its types, inputs,
payloads and root fields over the records its resolvers return. The Strawberry schema itself, with the
limits and behaviours every request runs under, is made by the composition root (jeto/strawberry_overrides.py).
"""

from __future__ import annotations

from pathlib import Path

from strawberry.tools import merge_types

from schema.accounts import Account, AccountQueries, User
from schema.api_keys import ApiKey, ApiKeyMutations
from schema.audit import AuditEvent
from schema.campaigns import Campaign, CampaignMutations, CampaignSubscriptions
from schema.integrations import IntegrationDeletion, IntegrationMutations, IntegrationSubscriptions, PlatformIntegration
from schema.launchers import Launcher, LauncherMutations
from schema.marketo_assets import MarketoFolder, MarketoProgram
from schema.nodes import NodeQueries
from schema.rate_limits import RateLimitQueries
from schema.sync_runs import SyncRun, SyncRunMutations

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"

Query = merge_types("Query", (AccountQueries, NodeQueries, RateLimitQueries))
Mutation = merge_types(
    "Mutation",
    (
        IntegrationMutations,
        SyncRunMutations,
        IntegrationDeletion,
        LauncherMutations,
        CampaignMutations,
        ApiKeyMutations,
    ),
)
Subscription = merge_types("Subscription", (IntegrationSubscriptions, CampaignSubscriptions))
# Types reachable only through `node`: listed so the schema knows them whatever the roots reach.
TYPES = [
    Account,
    User,
    PlatformIntegration,
    SyncRun,
    MarketoFolder,
    MarketoProgram,
    Launcher,
    Campaign,
    ApiKey,
    AuditEvent,
]
