"""Loading what a query asks for, one level of its tree at a time, before graphql-core walks it.

A root field (a query, a mutation's payload, a subscription's event) resolves to records, then calls
`prefetch`: it reads the field's selection from the document, and for every relation selected on a level
(an account's launchers, each launcher's integration, folders and campaigns…) runs one load for all the
records of that level, then goes down a level. Loads of rows by id are batched across the relations of a
level (a launcher's destination and assets folders are one statement) and kept for the request, so a row
already read (the account's integrations) is not read again for the launchers that point at it. The number
of statements then depends on the shape of the query, never on how many rows it returns.

When graphql-core executes the tree, each relation field finds its value in its record's `loaded` and
returns it at once: no task, no await, no DataLoader per field. A relation that was not prefetched (a
selection this module did not foresee) loads itself for its one record: slower, never wrong.

Fragments are collected once per selection set, as graphql-core's own execution does (a fragment spread
twice in one selection set is expanded once), so a document whose fragments spread each other
exponentially costs its size here, not its expansion.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    SelectionNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    parse,
)

from resolvers.errors import ApiError
from resolvers.records import Record

NODE_INTERFACE = "Node"
_MISSING = object()

Loader = Callable[[Sequence[Any], Mapping[str, Any], "Batch"], Awaitable[Sequence[Any]]]


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


# For each kind of record, how a batch reads records of it by id: `load(ids, batch)`, one per id or None.
BY_ID: dict[type, Callable[[list[int], Batch], Awaitable[Sequence[Any]]]] = {}


class _ById:
    """Records of one kind by id, for one batch: the ids asked for while a level gathers are read in one
    statement, and a record read once (or known from another read) is not read again."""

    def __init__(self, read: Callable[[list[int]], Awaitable[Sequence[Any]]]) -> None:
        self._read = read
        self._known: dict[int, Any] = {}
        self._wanted: set[int] = set()
        self._reading: asyncio.Future[None] | None = None

    def know(self, record: Any) -> None:
        self._known[record.pk] = record

    async def many(self, ids: Iterable[int]) -> dict[int, Any]:
        """The record of each id (None: none the viewer sees)."""
        ids = list(ids)
        missing = {pk for pk in ids if pk not in self._known}
        while missing:  # a read already under way may not hold them all
            self._wanted |= missing
            if self._reading is None:
                self._reading = asyncio.ensure_future(self._read_wanted())
            await asyncio.shield(self._reading)
            missing = {pk for pk in missing if pk not in self._known}
        return {pk: self._known[pk] for pk in ids}

    async def _read_wanted(self) -> None:
        await asyncio.sleep(0)  # the other loads of the level add their ids meanwhile
        ids, self._wanted, self._reading = sorted(self._wanted), set(), None
        for pk, record in zip(ids, await self._read(ids), strict=True):
            self._known[pk] = record


@dataclass
class Batch:
    """What one prefetch shares: the viewer's context, the operation's variables, the rows read by id, and
    reads that several relations share (an account's integrations: the list, the default and the state)."""

    context: Any
    variables: Mapping[str, Any] = field(default_factory=dict)
    _by_id: dict[type, _ById] = field(default_factory=dict)
    _shared: dict[Any, asyncio.Future[Any]] = field(default_factory=dict)

    def by_id(self, kind: type) -> _ById:
        """The batch's records of `kind` by id."""
        found = self._by_id.get(kind)
        if found is None:
            read = BY_ID[kind]
            found = self._by_id[kind] = _ById(lambda ids: read(ids, self))
        return found

    def known(self, records: Iterable[Any]) -> None:
        """Records read another way (the account's integrations) that loads by id may reuse."""
        for record in records:
            self.by_id(type(record)).know(record)

    async def shared(self, key: Any, read: Callable[[], Awaitable[Any]]) -> Any:
        """`read()`'s result, read once for every relation of this batch that asks with the same key."""
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = asyncio.ensure_future(read())
        return await found


def to_one(owner: type[Record], name: str, kind: type, attribute: str) -> Relation:
    """A relation to the record of `kind` whose id the owner holds in `attribute` (None: no record)."""

    async def load(parents: Sequence[Any], arguments: Mapping[str, Any], batch: Batch) -> Sequence[Any]:
        ids = [getattr(parent, attribute) for parent in parents]
        found = await batch.by_id(kind).many({pk for pk in ids if pk is not None})
        return [found[pk] if pk is not None else None for pk in ids]

    return Relation(owner, name, load)


RELATIONS: dict[tuple[type, str], Relation] = {}


class Relation:
    """A field of a record's type whose value is loaded for all the records of a level at once.

    `arguments`: the field's arguments by GraphQL name, with their defaults; `load(parents, arguments, batch)`
    returns one value per parent (a record, a list, a page, or None). An ApiError it raises becomes the
    field's error for each of those parents."""

    def __init__(self, owner: type[Record], name: str, load: Loader, arguments: Mapping[str, Any] | None = None):
        self.owner, self.name, self._load = owner, name, load
        self.arguments = dict(arguments or {})
        self._python = {_snake(argument): argument for argument in self.arguments}
        RELATIONS[(owner, name)] = self

    def key(self, arguments: Mapping[str, Any]) -> tuple[Any, ...]:
        return (self.name, *(_hashable(arguments.get(a, d)) for a, d in self.arguments.items()))

    def resolve(self, parent: Any, info: Any, **kwargs: Any) -> Any:
        """For the field's resolver: its value at once when prefetched, else an awaitable that loads it."""
        arguments = {self._python.get(name, name): value for name, value in kwargs.items()}
        key = self.key(arguments)
        value = parent.loaded.get(key, _MISSING)
        if value is _MISSING:
            return self._load_alone(parent, arguments, key, info)
        return _value(value)

    async def _load_alone(self, parent: Any, arguments: Mapping[str, Any], key: tuple[Any, ...], info: Any) -> Any:
        await self.fetch([parent], arguments, Batch(info.context, info.variable_values))
        return _value(parent.loaded[key])

    async def fetch(self, parents: Sequence[Any], arguments: Mapping[str, Any], batch: Batch) -> list[Any]:
        """Loads the relation of every parent that has not got it, and returns each parent's value."""
        arguments = {name: arguments.get(name, default) for name, default in self.arguments.items()}
        key = self.key(arguments)
        todo = list({id(p): p for p in parents if key not in p.loaded}.values())
        if todo:
            try:
                values: Sequence[Any] = await self._load(todo, arguments, batch)
            except ApiError as error:
                values = [error] * len(todo)
            for parent, value in zip(todo, values, strict=True):
                parent.loaded[key] = value
        return [parent.loaded[key] for parent in parents]


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _value(value: Any) -> Any:
    if isinstance(value, ApiError):
        raise value
    return value


def records_in(values: Iterable[Any]) -> list[Any]:
    """The records among values, lists of them flattened; errors, None and scalars left out."""
    found: list[Any] = []
    for value in values:
        if isinstance(value, Record):
            found.append(value)
        elif isinstance(value, list | tuple):
            found.extend(v for v in value if isinstance(v, Record))
    return found


class _Selections:
    """Collects the fields a selection asks of a type, as graphql-core's execution does: @skip and @include
    applied, fragments whose condition the type meets expanded, each at most once per selection set."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]) -> None:
        self._fragments = fragments
        self._variables = variables

    def fields(self, type_name: str | None, selections: Sequence[SelectionNode]) -> dict[str, list[FieldNode]]:
        grouped: dict[str, list[FieldNode]] = defaultdict(list)
        self._collect(type_name, selections, grouped, set())
        return grouped

    def _collect(
        self,
        type_name: str | None,
        selections: Sequence[SelectionNode],
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                grouped[(selection.alias or selection.name).value].append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else None
                if _matches(type_name, condition):
                    self._collect(type_name, selection.selection_set.selections, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if _matches(type_name, fragment.type_condition.name.value):
                    self._collect(type_name, fragment.selection_set.selections, grouped, visited)

    def _included(self, selection: SelectionNode) -> bool:
        for directive in selection.directives or ():
            name = directive.name.value
            if name in ("skip", "include"):
                condition = next((a.value for a in directive.arguments or () if a.name.value == "if"), None)
                value = bool(self.value(condition)) if condition is not None else False
                if value == (name == "skip"):
                    return False
        return True

    def value(self, node: ValueNode) -> Any:
        """A literal as the field's resolver receives it (an ID given as a number stays a number here: its key
        then differs from the resolver's, which loads the field alone, correctly)."""
        if isinstance(node, VariableNode):
            return self._variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value) if len(node.value) <= 20 else None
        if isinstance(node, FloatValueNode):
            return float(node.value)
        if isinstance(node, StringValueNode | EnumValueNode):
            return node.value
        if isinstance(node, BooleanValueNode):
            return node.value
        if isinstance(node, ListValueNode):
            return [self.value(v) for v in node.values]
        if isinstance(node, ObjectValueNode):
            return {f.name.value: self.value(f.value) for f in node.fields}
        if isinstance(node, NullValueNode):
            return None
        return None

    def arguments(self, node: FieldNode) -> dict[str, Any]:
        return {argument.name.value: self.value(argument.value) for argument in node.arguments or ()}


def _matches(type_name: str | None, condition: str | None) -> bool:
    """Whether a record of this type meets the condition; records of no type (pages, payloads) meet any."""
    return condition is None or type_name is None or condition in (type_name, NODE_INTERFACE)


def _fragments_of(info: Any) -> tuple[Mapping[str, FragmentDefinitionNode], DocumentNode | None]:
    """The operation's fragments, from the schema's document cache when it has one (documents.py)."""
    documents = getattr(info.schema, "documents", None)
    document = documents.prepare(info.query).document if documents is not None else None
    if document is None:
        document = parse(info.query)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return fragments, document


_ROOTS = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


async def prefetch(info: Any, value: Any) -> Any:
    """Loads every relation the current root field's selection asks for below `value`; returns `value`."""
    fragments, _ = _fragments_of(info)
    selections = _Selections(fragments, info.variable_values)
    root = _ROOTS[info.operation.operation.value]
    nodes = selections.fields(root, info.operation.selection_set.selections).get(info.path.key, [])
    below = [s for node in nodes if node.selection_set for s in node.selection_set.selections]
    batch = Batch(info.context, info.variable_values)
    await _walk(records_in([value]), below, selections, batch)
    return value


async def _walk(objects: list[Any], selections: Sequence[SelectionNode], reader: _Selections, batch: Batch) -> None:
    """One level: the relations its fields ask for, loaded together; then the levels below them."""
    if not objects or not selections:
        return
    by_type: dict[type, list[Any]] = defaultdict(list)
    for record in objects:
        by_type[type(record)].append(record)
    loads: list[Awaitable[list[Any]]] = []
    below: list[Sequence[SelectionNode]] = []
    for cls, group in by_type.items():
        for nodes in reader.fields(cls.TYPE, selections).values():
            sub = [s for node in nodes if node.selection_set for s in node.selection_set.selections]
            name = nodes[0].name.value
            relation = RELATIONS.get((cls, name))
            if relation is not None:
                loads.append(relation.fetch(group, reader.arguments(nodes[0]), batch))
            elif sub:
                loads.append(_attributes(group, _snake(name)))
            else:
                continue
            below.append(sub)
    values = await asyncio.gather(*loads)
    await asyncio.gather(
        *(_walk(records_in(found), sub, reader, batch) for found, sub in zip(values, below, strict=True) if sub)
    )


async def _attributes(records: Sequence[Any], name: str) -> list[Any]:
    return [getattr(record, name, None) for record in records]
