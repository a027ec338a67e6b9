"""Strawberry's parser cache, with parse errors reported as GraphQL errors on every transport."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import ParserCache


class ReportingParserCache(ParserCache):
    """Strawberry's ParserCache raises a syntax error out of its hook, where only `execute` (HTTP) catches it;
    over websockets the operation task died and its traceback, which quotes the document (secrets included),
    was logged. Here a document that does not parse is left unset, so Strawberry's own parse, inside its
    error handling, makes the error a result on every transport."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        except Exception:  # reported by the parse that follows, where Strawberry catches it
            context.graphql_document = None
        yield
