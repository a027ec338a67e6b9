"""Compares two SDL documents: what the contract has that the server's schema lacks or types differently."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    build_schema,
    print_ast,
)


def _default(argument) -> str | None:
    """The default as written in the SDL (build_schema keeps it on the AST node only)."""
    node = argument.ast_node
    if node is None or node.default_value is None:
        return None
    written = print_ast(node.default_value)
    return None if written == "null" else written  # `= null` on a nullable argument is what omitting it means


def missing_from(contract_sdl: str, server_sdl: str) -> list[str]:
    contract, server = build_schema(contract_sdl), build_schema(server_sdl)
    problems: list[str] = []
    for name, ctype in contract.type_map.items():
        if name.startswith("__") or name in ("ID", "String", "Int", "Float", "Boolean"):
            continue  # built-in scalars: a field that uses one is checked on its own
        stype = server.type_map.get(name)
        if stype is None:
            problems.append(f"type {name} is missing")
            continue
        if type(stype) is not type(ctype):
            problems.append(f"{name} is a {type(stype).__name__}, not a {type(ctype).__name__}")
            continue
        if isinstance(ctype, GraphQLEnumType):
            for value in ctype.values:
                if value not in stype.values:
                    problems.append(f"enum value {name}.{value} is missing")
        if isinstance(ctype, GraphQLUnionType):
            missing = {t.name for t in ctype.types} - {t.name for t in stype.types}
            problems += [f"union {name} lacks {t}" for t in sorted(missing)]
        if isinstance(ctype, GraphQLObjectType | GraphQLInterfaceType):
            missing = {i.name for i in ctype.interfaces} - {i.name for i in stype.interfaces}
            problems += [f"{name} does not implement {i}" for i in sorted(missing)]
        if isinstance(ctype, GraphQLInputObjectType):
            # A client written against the contract does not send it: the server would refuse every request.
            for field_name, sfield in stype.fields.items():
                if field_name not in ctype.fields and str(sfield.type).endswith("!") and _default(sfield) is None:
                    problems.append(f"input field {name}.{field_name} is new and required")
        if isinstance(ctype, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, cfield in ctype.fields.items():
                sfield = stype.fields.get(field_name)
                if sfield is None:
                    problems.append(f"field {name}.{field_name} is missing")
                    continue
                if str(sfield.type) != str(cfield.type):
                    problems.append(f"field {name}.{field_name} is {sfield.type}, not {cfield.type}")
                if isinstance(ctype, GraphQLInputObjectType):
                    if _default(sfield) != _default(cfield):
                        problems.append(f"input field {name}.{field_name} defaults to {_default(sfield)}")
                    continue
                for arg_name, carg in cfield.args.items():
                    sarg = sfield.args.get(arg_name)
                    if sarg is None:
                        problems.append(f"argument {name}.{field_name}({arg_name}) is missing")
                    elif str(sarg.type) != str(carg.type):
                        problems.append(f"argument {name}.{field_name}({arg_name}) is {sarg.type}, not {carg.type}")
                    elif _default(sarg) != _default(carg):
                        problems.append(f"argument {name}.{field_name}({arg_name}) defaults to {_default(sarg)}")
                for arg_name, sarg in sfield.args.items():
                    if arg_name not in cfield.args and str(sarg.type).endswith("!") and _default(sarg) is None:
                        problems.append(f"argument {name}.{field_name}({arg_name}) is new and required")
    for root in ("query_type", "mutation_type", "subscription_type"):
        ctype, stype = getattr(contract, root), getattr(server, root)
        if ctype is not None and (stype is None or stype.name != ctype.name):
            problems.append(f"root {root} differs")
    return problems
