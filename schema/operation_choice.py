"""Which operation of a document a request runs: the one operationName names, never a guess among several."""

from __future__ import annotations

import functools
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse


class UnclearOperation(Exception):
    """The request does not say which operation of its document to run; the message says what to send."""


@functools.lru_cache(maxsize=256)
def _operations(query: str, max_tokens: int) -> tuple[tuple[str | None, OperationType], ...] | None:
    """(name, type) of each operation of the document; None if it does not parse (execution reports why)."""
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    return tuple(
        (d.name.value if d.name else None, d.operation)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


def chosen_operation_type(query: Any, operation_name: Any, *, max_tokens: int) -> OperationType | None:
    """The type of the operation the request runs, or None when the document does not parse or has no operation
    of that name (execution reports those). Raises UnclearOperation when it would have to be guessed."""
    if not isinstance(operation_name, str | None):
        raise UnclearOperation("`operationName` must be a string or null.")
    operations = _operations(query, max_tokens) if isinstance(query, str) else None
    if not operations:
        return None
    if operation_name is None and len(operations) > 1:
        raise UnclearOperation("The document has several operations: name the one to run with operationName.")
    chosen = [kind for name, kind in operations if operation_name is None or name == operation_name]
    return chosen[0] if chosen else None
