"""Marketo's response bodies: HTTP 200 with success, errors, warnings and requestId."""

from __future__ import annotations

import itertools
import time
from typing import Any

from starlette.responses import JSONResponse

NO_ASSETS_WARNING = "No assets found for the given search criteria."

_sequence = itertools.count(0x1000)

HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def request_id() -> str:
    """``<hex>#<hex epoch ms>``, as Marketo's request ids look."""
    return f"{next(_sequence):x}#{int(time.time() * 1000):x}"


def success(result: list[dict[str, Any]]) -> JSONResponse:
    if not result:
        # Marketo's "nothing here": a warning and no result key at all.
        return JSONResponse({"success": True, "errors": [], "requestId": request_id(), "warnings": [NO_ASSETS_WARNING]})
    return JSONResponse({"success": True, "errors": [], "requestId": request_id(), "warnings": [], "result": result})


def failure(code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"requestId": request_id(), "success": False, "errors": [{"code": str(code), "message": message}]}
    )


class AssetError(Exception):
    """A 6xx/7xx answer from an asset handler."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
