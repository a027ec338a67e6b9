"""The GraphQL schema: types, inputs, payloads and roots, with the limits every request runs under."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError, specified_rules
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from resolvers.errors import BAD_USER_INPUT
from schema import nodes
from schema.documents import DocumentLimits, Documents, Prepared, UnclearOperation
from schema.errors import CodedErrors, with_code
from schema.metrics import OperationMetrics
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription

SPECIFIED_RULES = tuple(specified_rules)
LIMITS = DocumentLimits()  # the defaults; `jeto serve` reads its own from the settings
SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"


def _print_errors_quietly(self, errors, execution_context=None):  # noqa: ANN001
    """CodedErrors logs what matters; Strawberry's default would log every expected error with a traceback."""


async def _refusal(error: GraphQLError) -> AsyncIterator[PreExecutionError]:
    yield PreExecutionError(data=None, errors=[error])


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": BAD_USER_INPUT})


class CheckedDocuments(SchemaExtension):
    """Parsing and validation through the schema's document cache, with every limit checked (documents.py):
    in place of Strawberry's ParserCache, ValidationCache, MaxTokensLimiter and depth and alias limiters,
    whose checks walked every path of the expanded document, and whose caches were bounded by entries only."""

    def __init__(self, documents: Documents) -> None:
        self._documents = documents
        self._prepared: Prepared | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and isinstance(context.query, str):
            self._prepared = self._documents.prepare(context.query)
            # None when the text does not parse: Strawberry's own parse, inside its error handling, reports it.
            context.graphql_document = self._prepared.document
        context.parse_options["max_tokens"] = self._documents.limits.tokens
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        prepared = self._prepared
        if prepared is not None and prepared.document is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = self._documents.errors(prepared, context.operation_name, context.variables)
        yield


class JetoSchema(strawberry.Schema):
    process_errors = _print_errors_quietly

    def __init__(self, *args: Any, limits: DocumentLimits = LIMITS, **kwargs: Any) -> None:
        self.documents = Documents(lambda: self._schema, limits, validate_document_with_strawberry_rules)
        documents = self.documents
        super().__init__(*args, extensions=[lambda: CheckedDocuments(documents), *kwargs.pop("extensions")], **kwargs)

    def refusal(self, query: Any, operation_name: Any) -> GraphQLError | None:
        """Why a document cannot run before anything is parsed again: too long, or which operation is unclear."""
        if not isinstance(query, str):
            return None  # Strawberry refuses a missing query itself
        prepared = self.documents.prepare(query)
        if prepared.document is None and prepared.refusal is not None:
            return prepared.refusal
        try:
            prepared.operation(operation_name)
        except UnclearOperation as unclear:
            return _bad_input(str(unclear))
        return None

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
        request names none (HTTP refuses that before it gets here), and would parse a document of any length."""
        refusal = self.refusal(query, operation_name)
        if refusal is not None:
            return _refusal(refusal)
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


def validate_document_with_strawberry_rules(schema: Any, document: Any) -> list[GraphQLError]:
    """graphql-core's rules and Strawberry's own two (null-or-value arguments, one-of inputs)."""
    return validate_document(schema, document, SPECIFIED_RULES)


@functools.lru_cache(maxsize=8)
def build_schema(limits: DocumentLimits = LIMITS) -> JetoSchema:
    """The schema, running every request under `limits`; one per distinct limits, each with its own cache."""
    return JetoSchema(
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
        extensions=[CodedErrors, OperationMetrics],
        limits=limits,
    )


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"
