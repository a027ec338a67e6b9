"""The GraphQL schema: types, inputs, payloads and roots, with the limits every request runs under."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ValidationCache
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from resolvers.errors import BAD_USER_INPUT
from schema import nodes
from schema.cost import cost_limit
from schema.errors import CodedErrors, with_code
from schema.metrics import OperationMetrics
from schema.mutation import Mutation
from schema.operation_choice import UnclearOperation, chosen_operation_type
from schema.parsing import ReportingParserCache
from schema.query import Query
from schema.subscription import Subscription

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 3000
MAX_REQUESTED_NODES = 10_000
PARSER_CACHE_SIZE = 256
VALIDATION_CACHE_SIZE = 256

# Made once: the validation cache's key includes the rule classes, so rules made per request never hit it.
LIMIT_RULES = (depth_rule(MAX_DEPTH, None), aliases_rule(MAX_ALIASES))

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"


def _print_errors_quietly(self, errors, execution_context=None):  # noqa: ANN001
    """CodedErrors logs what matters; Strawberry's default would log every expected error with a traceback."""


async def _refusal(message: str) -> AsyncIterator[PreExecutionError]:
    yield PreExecutionError(data=None, errors=[GraphQLError(message, extensions={"code": BAD_USER_INPUT})])


class JetoSchema(strawberry.Schema):
    process_errors = _print_errors_quietly

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> Any:
        """Websockets run documents through here: Strawberry would run the first of several operations when the
        request names none (HTTP refuses that before it gets here)."""
        try:
            chosen_operation_type(query, operation_name, max_tokens=MAX_TOKENS)
        except UnclearOperation as unclear:
            return _refusal(str(unclear))
        return await super().stream(
            query,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
            allowed_operation_types=allowed_operation_types,
        )

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """An error raised by an extension's hook ends the operation before CodedErrors sees its result: code it here."""
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = [with_code(error) for error in result.errors]
        return result


schema = JetoSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[
        nodes.Account,
        nodes.User,
        nodes.PlatformIntegration,
        nodes.SyncRun,
        nodes.MarketoFolder,
        nodes.MarketoProgram,
        nodes.Launcher,
        nodes.Campaign,
    ],
    extensions=[
        lambda: AddValidationRules(list(LIMIT_RULES)),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ReportingParserCache(maxsize=PARSER_CACHE_SIZE),
        lambda: ValidationCache(maxsize=VALIDATION_CACHE_SIZE),
        cost_limit(MAX_REQUESTED_NODES),  # after ValidationCache: counts only documents found valid
        CodedErrors,
        OperationMetrics,
    ],
)


def sdl() -> str:
    return schema.as_str() + "\n"
