"""schema.graphql is exported from the code, and it still contains the whole contract."""

import pytest

from jeto.strawberry_overrides import sdl
from schema import SDL_PATH
from tests.conftest import CONTRACT, SHARED_CONTRACT
from tests.contract import missing_from


def test_schema_graphql_is_the_code_exported():
    assert SDL_PATH.read_text() == sdl(), "schema.graphql drifted: run `jeto export-schema`"


def test_the_server_schema_contains_every_part_of_the_contract():
    assert missing_from(CONTRACT.read_text(), sdl()) == []


def test_our_copy_of_the_contract_is_the_teams():
    if not SHARED_CONTRACT.exists():
        pytest.skip(f"no shared contract beside this clone ({SHARED_CONTRACT}); the copy in contract/ is checked above")
    assert CONTRACT.read_text() == SHARED_CONTRACT.read_text(), "contract/api.graphql is stale: copy the shared one"


def test_the_comparison_notices_what_is_missing():
    contract = (
        "type Query { a(x: Int = 5): Int! b: [String!] d: ID }  enum E { ONE TWO }  input I { f: Int = 1 }"
        "  input J { g: Int }"
    )
    server = (
        "type Query { a(x: Int): Int b(r: Int!): [String!] }  enum E { ONE }  input I { f: Int }"
        "  input J { g: Int  h: String!  optional: Int  defaulted: Int! = 3 }"
    )
    assert sorted(missing_from(contract, server)) == sorted(
        [
            "field Query.a is Int, not Int!",
            "argument Query.a(x) defaults to None",
            "argument Query.b(r) is new and required",
            "field Query.d is missing",
            "enum value E.TWO is missing",
            "input field I.f defaults to None",
            "input field J.h is new and required",
        ]
    )
