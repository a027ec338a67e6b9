"""The fenced code blocks of the project's documents, as the tests that run them read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^( *)```(\w+)([^\n]*)\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    document: str  # the file, relative to the checkout
    line: int
    language: str
    options: dict[str, str]  # the fence's words after the language: ```graphql expect-error=BAD_USER_INPUT
    code: str
    gap_before: str  # the text between the previous block (or the start) and this one

    @property
    def name(self) -> str:
        return f"{self.document}:{self.line}"


def blocks(document: str) -> list[Block]:
    text = (REPO / document).read_text()
    found = []
    previous_end = 0
    for match in FENCE.finditer(text):
        indent = len(match.group(1))
        code = "\n".join(line[indent:] for line in match.group(4).splitlines())
        options = dict(word.partition("=")[::2] for word in match.group(3).split())
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(document, line, match.group(2), options, code, text[previous_end : match.start()]))
        previous_end = match.end()
    return found


def with_variables(document: str) -> list[tuple[Block, dict | None]]:
    """Each GraphQL block, with the JSON block right after it as its variables, if there is one."""
    import json

    found = blocks(document)
    pairs = []
    for index, block in enumerate(found):
        if block.language != "graphql":
            continue
        after = found[index + 1] if index + 1 < len(found) else None
        follows = after is not None and after.language == "json" and not after.gap_before.strip()
        variables = json.loads(after.code) if follows else None
        pairs.append((block, variables))
    return pairs
