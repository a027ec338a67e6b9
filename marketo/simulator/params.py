"""Reading request parameters the way Marketo tolerates them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from .envelopes import AssetError

MAX_RETURN = 200  # Marketo's ceiling for maxReturn on browse endpoints
KINDS = {"folder": "Folder", "program": "Program"}  # Marketo reads a kind whatever its case ("FOLDER")


async def request_params(request: Request) -> dict[str, str]:
    """Query and form parameters merged; Marketo accepts asset POST parameters in either."""
    params = dict(request.query_params)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


def _lenient_json(raw: str, name: str) -> Any:
    """JSON, or the near-JSON marketorestpython sends ("{'id': 123, 'type': Folder}"), which Marketo accepts."""
    try:
        return json.loads(raw)
    except ValueError:
        fixed = re.sub(r"(?<=[:{,])\s*([A-Za-z_][A-Za-z_ ]*?)\s*(?=[,}:])", r'"\1"', raw.replace("'", '"'))
        try:
            return json.loads(fixed)
        except ValueError:
            raise AssetError("609", f"Invalid JSON in {name}") from None


def kind_param(params: dict[str, str], name: str = "type") -> str:
    """``Folder`` or ``Program``, the kind Marketo requires beside an id."""
    kind = KINDS.get((params.get(name) or "").lower())
    if kind is None:
        raise AssetError("701", f"{name} cannot be blank")
    return kind


def folder_ref_param(params: dict[str, str], name: str, *, required: bool = False) -> tuple[int, str] | None:
    """A ``{"id":..,"type":..}`` JSON-string parameter, read leniently (single quotes, bare words, bare id)."""
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise AssetError("701", f"{name} cannot be blank")
        return None
    raw = raw.strip()
    if raw.isdigit():
        return int(raw), "Folder"
    value = _lenient_json(raw, name)
    if not isinstance(value, dict) or "id" not in value:
        raise AssetError("701", f"{name}.id cannot be blank")
    return int(value["id"]), kind_param({"type": str(value.get("type") or "Folder")})


def json_list_param(params: dict[str, str], name: str, fields: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """A JSON array of objects, each with ``fields`` (as ``tags`` and ``costs`` are sent); None when absent."""
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        return None
    value = _lenient_json(raw.strip(), name)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise AssetError("609", f"Invalid JSON in {name}: an array of objects is expected")
    for item in value:
        for field in fields:
            if item.get(field) in (None, ""):
                raise AssetError("701", f"{name}.{field} cannot be blank")
    return value


def int_param(params: dict[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AssetError("701", f"Invalid value '{raw}' for {name}") from None
    if not low <= value <= high:
        # The code Marketo uses here is not documented; 701 is the closest documented one.
        raise AssetError("701", f"{name} must be between {low} and {high}")
    return value


def bool_param(params: dict[str, str], name: str) -> bool | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise AssetError("701", f"Invalid value '{raw}' for {name}")
    return raw.lower() == "true"


def datetime_param(params: dict[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if not raw:
        return None
    text = raw.strip().replace(" ", "+")
    if "Z+" in text or "Z-" in text:
        text = text.replace("Z", "", 1)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise AssetError("704", "Invalid date format") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def page(items: list[Any], params: dict[str, str]) -> list[Any]:
    """The slice a browse call asks for: `maxReturn` (20 by default, 200 at most) from `offset`."""
    max_return = int_param(params, "maxReturn", 20, low=1, high=MAX_RETURN)
    offset = int_param(params, "offset", 0, low=0, high=10**9)
    return items[offset : offset + max_return]


def path_id(request: Request) -> int:
    return int(request.path_params["id"])


def searched_name(params: dict[str, str]) -> str | None:
    """The name a byName call looks for; None when Marketo finds nothing (it cannot search names with commas)."""
    name = params.get("name")
    if not name:
        raise AssetError("701", "name cannot be blank")
    return None if "," in name else name
