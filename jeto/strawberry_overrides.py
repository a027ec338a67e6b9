"""Every place Jeto changes Strawberry's behaviour, through its public surface, and why.

| behaviour | Strawberry 0.341.2's default | ours | pinned by |
|---|---|---|---|
| parsing and validation | `ParserCache`, `ValidationCache`, `MaxTokensLimiter`, depth and alias limiters: each check walks every path of the expanded document; caches bounded by entries only | `CheckedDocuments`: one cache of prepared documents (schema/documents.py), bounded by entries and bytes, every limit measured once per fragment | tests/api/test_hostile_input.py, test_request_size_limits.py |
| which operation a websocket runs | the first of several when none is named; any length parsed | `JetoSchema.stream` (which jeto/live runs every websocket operation through) refuses both before parsing again | tests/api/test_websocket_operations.py |
| errors | messages shown as raised; expected errors logged with tracebacks (`process_errors`) | `CodedErrors` (MaskErrors' public `anonymise_error`): every error gets `extensions.code`, unexpected ones masked and logged without their message; `process_errors` quiet | tests/api/test_graphql_behaviour.py |
| errors raised by an extension's hook | returned uncoded | `JetoSchema.execute` codes them | tests/test_metrics.py |
| HTTP refusals | plain text | JSON with a code (`JetoGraphQL.__call__`), 405 with `Allow` | tests/api/test_http.py |
| JSON bodies and messages | `json.loads`: RecursionError, huge integers, invalid UTF-8 answer 500 | `decode_json` / `parse_json`: strict, 400 with a reason | tests/api/test_hostile_input.py |
| request parameters | a list body, a number as `query`, a list as `variables` reach the executor | `parse_http_body`: 400 for each; a GET of a mutation 405, a subscription over HTTP 400 | tests/api/test_http.py, test_hostile_input.py |
| encoding an HTTP answer | `json.dumps`, compact | `encode_json`: msgspec's encoder, compact UTF-8 (BENCHMARKS.md, dashboard) | tests/api/test_http.py |
| how a relation field is resolved | Strawberry's resolver path per call (`Info`, arguments, field extensions) | `_relations_resolved_by_graphql_core`: the `Relation` called by graphql-core, which holds the prefetched value (BENCHMARKS.md, dashboard) | tests/api/test_read_path.py |
| GraphQL over HTTP media type | `application/json` only | `application/graphql-response+json` with its status codes (`create_response`) | tests/api/test_http.py |
| the request's context | a dict | `get_context`: the viewer the endpoint authenticated, the services | every API test |
| who may run an operation | whoever the view lets in | `CheckedDocuments.on_validate`, once the document is valid: a read-only API key's mutation is refused (FORBIDDEN, HTTP 403), then the operation's cost is charged to the viewer's budget (RATE_LIMITED, HTTP 429 and Retry-After past it, nothing run); the figures in headers and `extensions.rateLimit` (`get_results`) | tests/api/test_api_keys.py, test_rate_limits.py |
| websockets | both protocols' handlers, a task, a queue and an execution per subscription | none of Strawberry's: `subscription_protocols=[]`, and jeto/live serves both protocols over `Schema.stream`, Strawberry's public entry for streaming transports, one execution per change per group of alike subscribers (sign-in with a token or an API key, a key's sockets closed when it is revoked or expires: jeto/live) | tests/api/test_subscriptions.py, test_fanout.py, test_hostile_input.py, test_api_keys.py |
| GraphiQL | Strawberry's page from a CDN | ours, served from npm assets (`render_graphql_ide`) | tests/test_graphiql_browser.py |

Strawberry is pinned (pyproject.toml); the only private member read here is `Schema._schema`, graphql-core's
schema, which Strawberry's own cache extensions read the same way.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import msgspec
import strawberry
from cross_web import HTTPException
from graphql import GraphQLError, GraphQLObjectType, GraphQLSchema, specified_rules
from graphql.language import OperationType as Operation
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from domain.rate_limits import Spent
from jeto import graphiql, graphql_http, rate_limits
from jeto.operation_metrics import OperationMetrics
from resolvers.context import Context
from resolvers.errors import BAD_USER_INPUT
from resolvers.errors import FORBIDDEN as FORBIDDEN_CODE
from schema import TYPES, Mutation, Query, Subscription
from schema.documents import DocumentLimits, Documents, Prepared, UnclearOperation
from schema.errors import with_code
from schema.nodes import RELATION

SPECIFIED_RULES = tuple(specified_rules)
_encode = msgspec.json.Encoder().encode
LIMITS = DocumentLimits()  # the defaults; `jeto serve` reads its own from the settings


# The schema: parsing, validation, errors


def validate_document_with_strawberry_rules(schema: Any, document: Any) -> list[GraphQLError]:
    """graphql-core's rules and Strawberry's own two (null-or-value arguments, one-of inputs)."""
    return validate_document(schema, document, SPECIFIED_RULES)


class CheckedDocuments(SchemaExtension):
    """Parsing and validation through the schema's document cache, with every limit checked (documents.py); then
    whether the viewer may run the operation now (`_admission`)."""

    def __init__(self, documents: Documents) -> None:
        self._documents = documents
        self._prepared: Prepared | None = None
        self._spent: Spent | None = None
        self._subscription = False

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and isinstance(context.query, str):
            self._prepared = self._documents.prepare(context.query)
            # None when the text does not parse: Strawberry's own parse, inside its error handling, reports it.
            context.graphql_document = self._prepared.document
        context.parse_options["max_tokens"] = self._documents.limits.tokens
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        prepared = self._prepared
        if prepared is not None and prepared.document is not None and context.pre_execution_errors is None:
            errors, nodes = self._documents.measure(prepared, context.operation_name, context.variables)
            if not errors:
                operation = prepared.operation_type(context.operation_name)
                self._subscription = operation is Operation.SUBSCRIPTION
                errors = await self._admission(context.context, operation, nodes)
            context.pre_execution_errors = errors
        yield

    async def _admission(self, context: Context, operation: Operation | None, nodes: int) -> list[GraphQLError]:
        """A read-only API key runs no mutation; the operation's cost must fit in what remains of the viewer's
        budget for the window, or nothing runs. Over HTTP, the status says which, and headers give the figures."""
        viewer = context.viewer_or_none
        if viewer is None:
            return []  # the fields say UNAUTHENTICATED
        response = context.response  # None over a websocket
        if operation is Operation.MUTATION and viewer.read_only:
            if response is not None:
                response.status_code = 403
            message = "This API key is read-only: it runs queries and subscriptions, never mutations."
            return [GraphQLError(message, extensions={"code": FORBIDDEN_CODE})]
        spent = self._spent = context.rate_limit = await rate_limits.charged(context, nodes)
        if spent is None:
            return []
        if response is not None:
            response.headers.update(rate_limits.headers(spent))
        if spent.accepted:
            return []
        if response is not None:
            response.status_code = 429
        return [rate_limits.refused(spent)]

    def get_results(self) -> dict[str, Any]:
        """The charge in `extensions.rateLimit` (not in a subscription's every payload: it was charged once)."""
        if self._spent is None or self._subscription:
            return {}
        return {"rateLimit": rate_limits.extension(self._spent)}


class CodedErrors(MaskErrors):
    """Every error with `extensions.code`; unexpected ones masked and logged (schema/errors.py). Built on
    MaskErrors so streamed (subscription) results are processed too."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: True)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return with_code(error)


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": BAD_USER_INPUT})


async def _refused(error: GraphQLError) -> AsyncIterator[PreExecutionError]:
    yield PreExecutionError(data=None, errors=[error])


class JetoSchema(strawberry.Schema):
    def __init__(self, *args: Any, limits: DocumentLimits = LIMITS, **kwargs: Any) -> None:
        documents = self.documents = Documents(lambda: self._schema, limits, validate_document_with_strawberry_rules)
        super().__init__(*args, extensions=[lambda: CheckedDocuments(documents), *kwargs.pop("extensions")], **kwargs)
        _relations_resolved_by_graphql_core(self._schema)

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """CodedErrors logs what matters; Strawberry's default would log every expected error with a traceback."""

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
        """Websockets run documents through here (HTTP refuses the same before it gets here)."""
        refusal = self.refusal(query, operation_name)
        if refusal is not None:
            return _refused(refusal)
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
        """An error raised by an extension's hook ends the operation before CodedErrors sees its result."""
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = [with_code(error) for error in result.errors]
        return result


def _relations_resolved_by_graphql_core(schema: GraphQLSchema) -> None:
    """A relation field (`schema.nodes.related`, and a connection marked with the same metadata) is resolved by its
    Relation called straight from graphql-core.

    Strawberry calls a field's resolver through its own path (an `Info` made per call, arguments converted, the
    chain of field extensions): 13 % of a dashboard request, whose 250 relation fields then only return what the
    prefetch already holds (BENCHMARKS.md). These fields have no extensions, permissions or exception handlers for
    that path to apply, and only scalar arguments, which graphql-core passes by their GraphQL names as
    `Relation.resolve` reads them; it reads the same `context` and `variable_values` from graphql-core's info.
    graphql-core's `GraphQLField.resolve` is public; the Strawberry field is found through the back reference
    Strawberry keeps on each (`strawberry-definition`) and its public `metadata`.
    """
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType):
            continue
        for field in named.fields.values():
            definition = (field.extensions or {}).get("strawberry-definition")
            relation = definition.metadata.get(RELATION) if definition is not None else None
            if relation is not None:
                field.resolve = _calling(relation)


def _calling(relation: Any) -> Any:
    def resolve(parent: Any, info: Any, **arguments: Any) -> Any:
        return relation.resolve(parent, info, **arguments)

    return resolve


@functools.lru_cache(maxsize=8)
def build_schema(limits: DocumentLimits = LIMITS) -> JetoSchema:
    """The schema, running every request under `limits`; one per distinct limits, each with its own cache."""
    return JetoSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=TYPES,
        extensions=[CodedErrors, OperationMetrics],
        limits=limits,
    )


def sdl() -> str:
    return build_schema().as_str() + "\n"


# The view: GraphQL over HTTP (websockets are ours: jeto/live)


class JetoGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: JetoSchema, *args: Any, ide_integration_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(schema, *args, subscription_protocols=[], **kwargs)
        self.documents = schema.documents
        self._ide_integration_id = ide_integration_id

    def decode_json(self, data: str | bytes) -> object:
        """Strict: malformed, too deep or oversized JSON raises MalformedJson, a JSONDecodeError."""
        return graphql_http.decode_json(data)

    def encode_json(self, data: object) -> bytes:
        """msgspec, not `json.dumps`: a sixth of a dashboard request's time was spent encoding its answer."""
        return _encode(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return graphql_http.decode_json(data)
        except graphql_http.MalformedJson as malformed:
            raise graphql_http.Refused(400, str(malformed)) from None

    async def render_graphql_ide(self, request: Any) -> Response:
        return graphiql.page(request.url.path, default_integration_id=self._ide_integration_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As Strawberry's, but what it refuses is answered in JSON with a code, not in plain text."""
        assert scope["type"] == "http", "websockets are served by jeto/live"
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as refused:
            headers = getattr(refused, "headers", {})
            if refused.status_code == 405:
                headers.setdefault("allow", "GET, POST")
            response = graphql_http.error_response(request, refused.reason, refused.status_code, **headers)
        await response(scope, receive, send)

    async def parse_http_body(self, request: Any) -> Any:
        if request.method == "POST":  # read again by Strawberry, which assumes an object
            graphql_http.check_body(self.parse_json(await request.get_body()))
        data = await super().parse_http_body(request)
        assert not isinstance(data, list), "batching is off: Strawberry refuses a list before this"
        graphql_http.check_parameters(data)
        prepared = self.documents.prepare(data.query) if isinstance(data.query, str) else None
        graphql_http.check_operation(request.method, prepared, data.operation_name)
        return data

    async def get_context(self, request: Any, response: Any) -> Context:
        signed_in = request.scope.get("state", {}).get("signed_in")  # HTTP: by the endpoint, before Strawberry
        if request.scope["type"] == "http" and graphql_http.wants_graphql_response(request):
            response.media_type = graphql_http.GRAPHQL_RESPONSE
        services = request.app.state.services
        return Context(
            services=services,
            request=request,
            response=response,
            viewer_or_none=signed_in.viewer if signed_in else None,
            account_row=signed_in.account_row if signed_in else None,
            budget=rate_limits.budget_of(services.settings, signed_in) if signed_in else None,
        )

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        status = None
        if sub_response.media_type == graphql_http.GRAPHQL_RESPONSE and sub_response.status_code in (None, 200):
            status = graphql_http.graphql_response_status(response_data)
            if status == 400:  # nothing executed: the spec wants no data entry at all, not null
                response_data = {key: value for key, value in response_data.items() if key != "data"}
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == graphql_http.GRAPHQL_RESPONSE:
            response.headers["content-type"] = graphql_http.GRAPHQL_RESPONSE
        if status is not None:
            response.status_code = status
        return response
