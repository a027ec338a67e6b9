"""What the request checks cost on the dashboard query, against the engine executing it, in one run.

    python bench/request_checks.py [--rounds 2000]

Per request, Jeto decodes the body strictly (UTF-8, depth, digits), checks its parameters, finds the
document in the cache, chooses the operation and counts the nodes it may return with the request's
variables (depth and aliases are measured once per document, when it is first seen). The baseline, in the
same run: bare graphql-core executing the same parsed document over the same result held in memory
(bench/dashboard_shape.py), i.e. the least any server of this schema can spend on the request.
Also printed: the first sight of the document (parse, measure, validate), paid once per distinct text.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphql import build_schema as schema_from_sdl  # noqa: E402
from graphql import execute, parse  # noqa: E402

from bench.dashboard_shape import DASHBOARD, result  # noqa: E402
from jeto import graphql_http  # noqa: E402
from jeto.strawberry_overrides import LIMITS, build_schema, validate_document_with_strawberry_rules  # noqa: E402
from schema.documents import Documents  # noqa: E402


class _Parameters:
    def __init__(self, body: dict) -> None:
        self.query = body.get("query")
        self.variables = body.get("variables")
        self.operation_name = body.get("operationName")
        self.extensions = body.get("extensions")


def checks_per_request(documents: Documents, body: bytes) -> None:
    decoded = graphql_http.decode_json(body)
    graphql_http.check_parameters(_Parameters(decoded))
    prepared = documents.prepare(decoded["query"])
    prepared.operation(decoded.get("operationName"))
    assert documents.errors(prepared, decoded.get("operationName"), decoded.get("variables")) == []


def per_call(function, rounds: int) -> float:
    """Seconds per call, the best of three batches."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            function()
        best = min(best, (time.perf_counter() - started) / rounds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds

    schema = build_schema()
    body = json.dumps({"query": DASHBOARD, "operationName": "Dashboard", "variables": {}}).encode()
    bare_schema = schema_from_sdl(schema.as_str())
    parsed, data = parse(DASHBOARD), result()

    def first_sight() -> None:
        checks_per_request(Documents(lambda: schema._schema, LIMITS, validate_document_with_strawberry_rules), body)

    documents = Documents(lambda: schema._schema, LIMITS, validate_document_with_strawberry_rules)
    checks_per_request(documents, body)

    def bare() -> None:
        assert not execute(bare_schema, parsed, root_value=data).errors

    checks = per_call(lambda: checks_per_request(documents, body), rounds)
    engine = per_call(bare, max(rounds // 20, 20))
    cold = per_call(first_sight, max(rounds // 100, 10))
    print(f"dashboard query: {len(DASHBOARD)} characters, 50 launchers x 2 campaigns in the result")
    print(f"request checks (warm, per request):       {checks * 1e6:8.1f} us")
    print(f"bare graphql-core executing it (baseline): {engine * 1e6:8.1f} us")
    print(f"checks / bare execution:                   {checks / engine:8.2%}")
    print(f"first sight of the document (once):        {cold * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
