"""A ceiling on how many nodes one operation may ask for, so nested pages cannot multiply into a huge response.

Each field that takes `first` may return that many nodes for every node of the page around it: the count
is the sum, over those fields, of the product of the `first` values down to them (their default when not
given, variables read as sent). Depth, alias and token limits cannot see this: two nested pages of 500
stay within all three and still ask for 250,000 rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension

from resolvers.pagination import MAX_PAGE


def _page_size(value: Any) -> int:
    """As graphql-core reads an Int (it takes 500.0 as 500); the largest page for anything it would not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return MAX_PAGE


class _Counter:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self._schema = schema
        self._fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self._variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self._variables and isinstance(definition.default_value, IntValueNode):
                self._variables[name] = int(definition.default_value.value)

    def _first(self, node: FieldNode, default: Any) -> int:
        given = next((arg.value for arg in node.arguments or () if arg.name.value == "first"), None)
        value: Any = None
        if isinstance(given, IntValueNode):
            value = int(given.value)
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

    def nodes(
        self,
        selections: SelectionSetNode,
        parent: GraphQLNamedType,
        multiplier: int,
        within: frozenset[str] = frozenset(),
    ) -> Iterator[int]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                fields = getattr(parent, "fields", {})
                if name.startswith("__") or name not in fields:
                    continue  # introspection is free; unknown fields were refused by validation already
                field = fields[name]
                count = multiplier
                if "first" in field.args:
                    count = multiplier * self._first(selection, field.args["first"].default_value)
                    yield count
                if selection.selection_set is not None:
                    yield from self.nodes(selection.selection_set, get_named_type(field.type), count, within)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else None
                yield from self.nodes(selection.selection_set, self._type(condition, parent), multiplier, within)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if fragment is not None and name not in within:
                    fragment_type = self._type(fragment.type_condition.name.value, parent)
                    yield from self.nodes(fragment.selection_set, fragment_type, multiplier, within | {name})


def requested_nodes(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0  # which operation runs is refused elsewhere
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return sum(_Counter(schema, document, operation, variables or {}).nodes(operation.selection_set, root, 1))


def cost_limit(max_nodes: int) -> type[SchemaExtension]:
    class RequestedNodesLimiter(SchemaExtension):
        """Runs after validation (listed after ValidationCache) and before execution, with the variables."""

        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            validated = context.pre_execution_errors == []  # by ValidationCache, listed before this extension
            if validated and context.graphql_document is not None:
                asked = requested_nodes(
                    context.schema._schema, context.graphql_document, context.operation_name, context.variables
                )
                if asked > max_nodes:
                    context.pre_execution_errors = [
                        GraphQLError(
                            f"This operation may return {asked:,} nodes; at most {max_nodes:,} are allowed. "
                            "Ask for smaller pages (`first`) and page through with `after`."
                        )
                    ]
            yield

    return RequestedNodesLimiter
