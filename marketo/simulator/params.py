"""Reading request parameters the way Marketo tolerates them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from starlette.requests import Request

from .envelopes import AssetError


async def request_params(request: Request) -> dict[str, str]:
    """Query and form parameters merged; Marketo accepts asset POST parameters in either."""
    params = dict(request.query_params)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


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
    try:
        value = json.loads(raw)
    except ValueError:
        # marketorestpython sends "{'id': 123, 'type': Folder}" and Marketo accepts it.
        fixed = re.sub(r"(?<=[:{,])\s*([A-Za-z_][A-Za-z_ ]*?)\s*(?=[,}:])", r'"\1"', raw.replace("'", '"'))
        try:
            value = json.loads(fixed)
        except ValueError:
            raise AssetError("609", f"Invalid JSON in {name}") from None
    if not isinstance(value, dict) or "id" not in value:
        raise AssetError("701", f"{name}.id cannot be blank")
    kind = str(value.get("type") or "Folder")
    return int(value["id"]), kind.capitalize()


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
