"""Typed shapes of Tortoise queries whose annotations are looser than what they return."""

from __future__ import annotations

from typing import Any, cast

from tortoise.queryset import QuerySet


async def column(query: QuerySet[Any], field: str) -> list[Any]:
    """One column's values, as `query.values_list(field, flat=True)` returns them. Tortoise 1.1.9 annotates
    that as a list of tuples whatever `flat` is; this is the one place that says what it really is."""
    return cast(list[Any], await query.values_list(field, flat=True))
