"""The Node interface: anything with a global, opaque id. Each type of the graph is declared over the records
the resolvers return (resolvers/*): its plain fields are the records' attributes, read as they are, and a
field that needs more (a relation, arguments, the viewer) calls the resolver of its area."""

from __future__ import annotations

from typing import Any

import strawberry

from resolvers import nodes
from resolvers.context import Context

Info = strawberry.Info[Context, None]


@strawberry.interface(description="Anything with a global, opaque id that `Query.node` can fetch back.")
class Node:
    id: strawberry.ID


def shown_as(record_type: type) -> classmethod:
    """A type's `is_type_of`: its objects are the resolvers' records of `record_type` (how `node` finds the type)."""

    def is_type_of(cls: type, obj: object, info: object) -> bool:
        return isinstance(obj, record_type)

    return classmethod(is_type_of)


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="Any object of the viewer's account by global id; null if absent or not visible to the viewer."
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await nodes.node(info, id)


RELATION = "jeto-relation"  # the key of a related field's Relation in its metadata


def related(relation: Any, *, description: str | None = None) -> Any:
    """A field of the type annotated beside it, resolved by `relation` (resolvers/prefetch.py): its value at once
    when it was prefetched with its level, else loaded for this one record. graphql-core calls the relation
    directly (jeto/strawberry_overrides.py); the resolver below gives Strawberry the field's shape."""

    def resolve(root: Any, info: Info):  # noqa: ANN202 - the field's type is the annotation in the class
        return relation.resolve(root, info)

    return strawberry.field(resolver=resolve, description=description, metadata={RELATION: relation})
