"""Async Marketo Engage REST client for many instances at once."""

from .backoff import RetryPolicy
from .client import MarketoClient
from .credentials import MarketoCredentials, Secret
from .deadlines import deadline
from .errors import (
    AccessDenied,
    DailyQuotaExceeded,
    InvalidCredentials,
    InvalidRequest,
    MarketoError,
    MarketoUnreachable,
    OutcomeUnknown,
    RateLimited,
    TokenRejected,
)
from .limits import InstanceLimits, Priority
from .models import AccessToken, Folder, FolderRef, Program
from .pool import MarketoPool

__all__ = [
    "AccessDenied",
    "AccessToken",
    "DailyQuotaExceeded",
    "Folder",
    "FolderRef",
    "InstanceLimits",
    "InvalidCredentials",
    "InvalidRequest",
    "MarketoClient",
    "MarketoCredentials",
    "MarketoError",
    "MarketoPool",
    "MarketoUnreachable",
    "OutcomeUnknown",
    "Priority",
    "Program",
    "RateLimited",
    "RetryPolicy",
    "Secret",
    "TokenRejected",
    "deadline",
]
