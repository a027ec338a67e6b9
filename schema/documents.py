"""GraphQL documents as the server reads them: parsed once, measured once, validated once, whoever sends them.

Every limit a document runs under is checked here, in time linear in the document's size. A fragment is
measured once and its figures reused wherever it is spread, so a document whose fragments each spread the
next one twice (2^n paths in a few hundred bytes) is measured in n steps and refused for what its expansion
would be, before graphql-core's own validation walks it.

- **length**: characters of the document, before it is parsed (comments and whitespace count);
- **tokens**: graphql-core stops parsing past this many;
- **depth**: how deeply fields nest (introspection fields not counted, as Strawberry's depth limiter did);
- **aliases**: aliased fields of the expanded operation (a fragment counts where it is spread);
- **nodes**: how many nodes the operation may return: each field that takes `first` may return that many for
  every node of the page around it; the sum, over those fields, of the product of the `first` values down to
  them (their default when not given, variables read as sent). Depth, alias and token limits cannot see
  this: two nested pages of 500 stay within all three and still ask for 250,000 rows.

Parsed documents are kept in one cache, bounded by entries and by an estimate of their bytes (the text
plus about 500 bytes for each token, the size of the tree graphql-core builds), so no stream of distinct
documents can grow the process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    parse,
)
from graphql.validation.rules import overlapping_fields_can_be_merged
from graphql.validation.validate import ValidationAbortedError

from resolvers.pages import MAX_PAGE

# graphql-core's check that fields of one name can merge compares them in pairs, which it meters: past its budget
# it aborts the validation. Its default, 500,000, lets 740 copies of `viewer { id }` (within the token limit)
# take 0.45 s; at 10,000 they are refused in 40 ms, while GraphiQL's introspection, the dashboard and 30
# aliased pages each need under 10. The module attribute is graphql-core's documented knob, read as each
# validation starts.
OVERLAP_BUDGET = 10_000
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = OVERLAP_BUDGET
REPEATS_REFUSED = (
    "The document selects the same fields too many times over for the server to check that they merge "
    "(more than 10,000 comparisons); select each field once."
)

BYTES_PER_TOKEN = 500  # measured: graphql-core's tree and token list take 400-480 bytes a token
MAX_INT_DIGITS = 10  # a GraphQL Int is 32 bits; longer literals are refused by validation, never converted


@dataclass(frozen=True)
class DocumentLimits:
    length: int = 100_000
    tokens: int = 3_000
    depth: int = 12
    aliases: int = 30
    nodes: int = 10_000
    cache_entries: int = 256
    cache_bytes: int = 32 * 1024 * 1024


class UnclearOperation(Exception):
    """The request does not say which operation of its document to run; the message says what to send."""


def _refusal(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


@dataclass
class Prepared:
    """One document text, parsed (or why not) and measured; shared by every request that sends the same text."""

    document: DocumentNode | None  # None: too long to parse, or not a document (Strawberry's parse says why)
    refusal: GraphQLError | None  # too long, too deep, too many aliases: it is not validated nor run
    operations: dict[str | None, OperationType] = field(default_factory=dict)
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    footprint: int = 0
    validation_errors: list[GraphQLError] | None = None  # filled by the first validation

    def operation(self, operation_name: Any) -> OperationDefinitionNode | None:
        """The operation the request runs; raises UnclearOperation when it would have to be guessed."""
        if not isinstance(operation_name, str | None):
            raise UnclearOperation("`operationName` must be a string or null.")
        if self.document is None or not self.operations:
            return None
        if operation_name is None and len(self.operations) > 1:
            raise UnclearOperation("The document has several operations: name the one to run with operationName.")
        for definition in self.document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                name = definition.name.value if definition.name else None
                if operation_name is None or name == operation_name:
                    return definition
        return None

    def operation_type(self, operation_name: Any) -> OperationType | None:
        """The type of the operation the request runs, or None when the document does not parse or has no
        operation of that name (execution reports those)."""
        chosen = self.operation(operation_name)
        return chosen.operation if chosen is not None else None


def _token_count(document: DocumentNode) -> int:
    count, token = 0, document.loc.start_token if document.loc else None
    while token is not None:
        count, token = count + 1, token.next
    return count


class _Shape:
    """Depth and aliases of every operation of a document, each fragment measured once."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self._fragments = fragments
        self._measured: dict[str, tuple[int, int]] = {}

    def measure(self, selections: SelectionSetNode) -> tuple[int, int]:
        """(depth, aliases) of a selection set: how deeply its fields nest, how many aliases it expands to."""
        depth = aliases = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue  # introspection is not counted (GraphiQL's own query nests deep)
                aliases += selection.alias is not None
                if selection.selection_set is not None:
                    inner_depth, inner_aliases = self.measure(selection.selection_set)
                    depth, aliases = max(depth, inner_depth + 1), aliases + inner_aliases
            elif isinstance(selection, InlineFragmentNode):
                inner_depth, inner_aliases = self.measure(selection.selection_set)
                depth, aliases = max(depth, inner_depth), aliases + inner_aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner_depth, inner_aliases = self._fragment(selection.name.value)
                depth, aliases = max(depth, inner_depth), aliases + inner_aliases
        return depth, aliases

    def _fragment(self, name: str) -> tuple[int, int]:
        if name not in self._measured:
            fragment = self._fragments.get(name)
            self._measured[name] = (0, 0)  # a cycle (refused by validation) adds nothing
            if fragment is not None:
                self._measured[name] = self.measure(fragment.selection_set)
        return self._measured[name]


def _name(operation: OperationDefinitionNode) -> str:
    return f"'{operation.name.value}'" if operation.name else "The operation"


def _shape_refusal(
    document: DocumentNode, fragments: Mapping[str, FragmentDefinitionNode], limits: DocumentLimits
) -> GraphQLError | None:
    shape = _Shape(fragments)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        depth, aliases = shape.measure(definition.selection_set)
        if depth > limits.depth:
            return _refusal(
                f"{_name(definition)} nests fields {depth} deep; the maximum depth is {limits.depth}. "
                "Ask for less at once, or fetch the deeper part with `node` in a second request."
            )
        if aliases > limits.aliases:
            return _refusal(
                f"{_name(definition)} uses {aliases:,} aliases (each fragment counted where it is spread); "
                f"at most {limits.aliases} aliases are allowed."
            )
    return None


def _prepare(text: str, limits: DocumentLimits) -> Prepared:
    if len(text) > limits.length:
        return Prepared(
            document=None,
            refusal=_refusal(f"The document is {len(text):,} characters long; at most {limits.length:,} are accepted."),
        )
    try:
        document = parse(text, max_tokens=limits.tokens)
    except GraphQLError:
        return Prepared(document=None, refusal=None)  # Strawberry's own parse reports where and why
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = {
        (d.name.value if d.name else None): d.operation
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }
    footprint = len(text) + BYTES_PER_TOKEN * _token_count(document)
    return Prepared(
        document=document,
        refusal=_shape_refusal(document, fragments, limits),
        operations=operations,
        fragments=fragments,
        footprint=footprint,
    )


def _page_size(value: Any) -> int:
    """As graphql-core reads an Int (it takes 500.0 as 500); the largest page for anything it would not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return MAX_PAGE


class _Nodes:
    """How many nodes an operation may return, with the request's variables; each fragment counted once.

    A selection's count is proportional to the number of nodes around it, so a fragment is counted for one
    node around it and that figure multiplied wherever it is spread."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._counted: dict[str, int] = {}
        self._variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            default = definition.default_value
            if name not in self._variables and isinstance(default, IntValueNode):
                self._variables[name] = _int_literal(default)

    def _first(self, node: FieldNode, default: Any) -> int:
        given = next((arg.value for arg in node.arguments or () if arg.name.value == "first"), None)
        value: Any = None
        if isinstance(given, IntValueNode):
            value = _int_literal(given)
        elif isinstance(given, VariableNode):
            value = self._variables.get(given.name.value)
        elif given is not None and not isinstance(given, NullValueNode):
            value = MAX_PAGE  # validation refuses any other literal; if one got through, assume the worst
        if value is None:  # omitted or null: the field's default
            value = default
        return max(0, min(_page_size(value), MAX_PAGE))  # beyond MAX_PAGE the field refuses the argument itself

    def _type(self, name: str | None, fallback: GraphQLNamedType) -> GraphQLNamedType:
        found = self._schema.get_type(name) if name else None
        return found or fallback

    def count(self, selections: SelectionSetNode, parent: GraphQLNamedType) -> int:
        """Nodes the selection may return for one node of type `parent` around it."""
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                fields = getattr(parent, "fields", {})
                if name.startswith("__") or name not in fields:
                    continue  # introspection is free; unknown fields are refused by validation
                field_ = fields[name]
                each = 1
                if "first" in field_.args:
                    each = self._first(selection, field_.args["first"].default_value)
                    total += each
                if selection.selection_set is not None:
                    total += each * self.count(selection.selection_set, get_named_type(field_.type))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else None
                total += self.count(selection.selection_set, self._type(condition, parent))
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, parent)
        return total

    def _fragment(self, name: str, parent: GraphQLNamedType) -> int:
        if name not in self._counted:
            fragment = self._fragments.get(name)
            self._counted[name] = 0  # a cycle (refused by validation) adds nothing
            if fragment is not None:
                fragment_type = self._type(fragment.type_condition.name.value, parent)
                self._counted[name] = self.count(fragment.selection_set, fragment_type)
        return self._counted[name]


def _int_literal(node: IntValueNode) -> int:
    digits = node.value.lstrip("-")
    return int(node.value) if len(digits) <= MAX_INT_DIGITS else MAX_PAGE


def requested_nodes(
    schema: GraphQLSchema, prepared: Prepared, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    try:
        operation = prepared.operation(operation_name)
    except UnclearOperation:
        return 0  # refused elsewhere
    root = schema.get_root_type(operation.operation) if operation is not None else None
    if operation is None or root is None:
        return 0
    counter = _Nodes(schema, prepared.fragments, operation, variables or {})
    return counter.count(operation.selection_set, root)


class Documents:
    """Prepared documents by text, least recently used dropped first; safe to share between threads."""

    def __init__(
        self,
        schema: Callable[[], GraphQLSchema],
        limits: DocumentLimits,
        validate: Callable[[GraphQLSchema, DocumentNode], Sequence[GraphQLError]],
    ) -> None:
        self.limits = limits
        self._schema = schema
        self._validate = validate
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def bytes(self) -> int:
        """The estimated size of what the cache holds."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def prepare(self, text: str) -> Prepared:
        with self._lock:
            found = self._entries.get(text)
            if found is not None:
                self._entries.move_to_end(text)
                self.hits += 1
                return found
        self.misses += 1
        prepared = _prepare(text, self.limits)
        if prepared.footprint and prepared.footprint <= self.limits.cache_bytes:
            with self._lock:
                if text not in self._entries:
                    self._entries[text] = prepared
                    self._bytes += prepared.footprint
                    while len(self._entries) > self.limits.cache_entries or self._bytes > self.limits.cache_bytes:
                        _, dropped = self._entries.popitem(last=False)
                        self._bytes -= dropped.footprint
        return prepared

    def errors(self, prepared: Prepared, operation_name: str | None, variables: Any) -> list[GraphQLError]:
        """Why the request may not run (its document's refusal, validation, the node count), or nothing."""
        return self.measure(prepared, operation_name, variables)[0]

    def measure(self, prepared: Prepared, operation_name: str | None, variables: Any) -> tuple[list[GraphQLError], int]:
        """Why the request may not run, or nothing; and the nodes it may return (what the rate limit charges)."""
        if prepared.refusal is not None:
            return [prepared.refusal], 0
        assert prepared.document is not None
        schema = self._schema()
        if prepared.validation_errors is None:
            prepared.validation_errors = [
                _refusal(REPEATS_REFUSED) if isinstance(error, ValidationAbortedError) else error
                for error in self._validate(schema, prepared.document)
            ]
        if prepared.validation_errors:
            return prepared.validation_errors, 0
        asked = requested_nodes(schema, prepared, operation_name, variables)
        if asked > self.limits.nodes:
            return [
                _refusal(
                    f"This operation may return {asked:,} nodes; at most {self.limits.nodes:,} are allowed. "
                    "Ask for smaller pages (`first`) and page through with `after`."
                )
            ], asked
        return [], asked
