"""The simulated Marketo server: many instances behind one Starlette app, one path prefix each."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .assets import AssetStore, utc_now
from .config import INJECTABLE_CODES, Faults, InstanceLimitSettings, SimulatorConfig
from .envelopes import HEADERS, AssetError, failure, success
from .instance import Drop, Http502, SimulatedInstance
from .params import datetime_param, folder_ref_param, int_param, request_params
from .seed import seed_store

MAX_RETURN = 200
Handler = Callable[[SimulatedInstance, Request, dict[str, str]], Awaitable[Response]]


def munchkin_id(index: int) -> str:
    """Deterministic ids shaped like Marketo's: 100-AAA-001, 100-AAB-002, ..."""
    letters = "".join(string.ascii_uppercase[(index // 26**p) % 26] for p in (2, 1, 0))
    return f"100-{letters}-{index + 1:03d}"


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.instances: dict[str, SimulatedInstance] = {}
        for index in range(config.instances):
            mid = munchkin_id(index)
            rng = random.Random(f"{config.seed}:{mid}:credentials")
            store = AssetStore()
            seed_store(store, seed=f"{config.seed}:{mid}", folders=config.folders, programs=config.programs)
            self.instances[mid] = SimulatedInstance(
                mid,
                client_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                client_secret=f"{rng.getrandbits(128):032x}",
                limits=InstanceLimitSettings.from_config(config),
                faults=Faults.from_config(config),
                store=store,
                seed=f"{config.seed}:{mid}",
            )
        self.app = Starlette(routes=self._routes())

    def endpoints(self, base_url: str) -> list[dict[str, str]]:
        """Per instance, what a user would copy from Admin > Web Services and LaunchPoint."""
        base = base_url.rstrip("/")
        return [
            {
                "munchkinId": mid,
                "restEndpoint": f"{base}/{mid}/rest",
                "identityEndpoint": f"{base}/{mid}/identity",
                "clientId": instance.client_id,
                "clientSecret": instance.client_secret,
            }
            for mid, instance in self.instances.items()
        ]

    def stats(self) -> dict[str, dict[str, Any]]:
        return {mid: instance.stats.as_dict() for mid, instance in self.instances.items()}

    # Routing

    def _routes(self) -> list[Route]:
        asset = "/{munchkin}/rest/asset/v1"
        return [
            Route("/{munchkin}/identity/oauth/token", self._identity, methods=["GET", "POST"]),
            Route(f"{asset}/folders.json", self._rest("browse_folders", _browse_folders), methods=["GET"]),
            Route(f"{asset}/folders.json", self._rest("create_folder", _create_folder), methods=["POST"]),
            Route(f"{asset}/folder/byName.json", self._rest("folder_by_name", _folder_by_name), methods=["GET"]),
            Route(f"{asset}/folder/{{id:int}}.json", self._rest("folder_by_id", _folder_by_id), methods=["GET"]),
            Route(
                f"{asset}/folder/{{id:int}}/content.json",
                self._rest("folder_content", _folder_content),
                methods=["GET"],
            ),
            Route(f"{asset}/programs.json", self._rest("browse_programs", _browse_programs), methods=["GET"]),
            Route(f"{asset}/program/byName.json", self._rest("program_by_name", _program_by_name), methods=["GET"]),
            Route(f"{asset}/program/{{id:int}}.json", self._rest("program_by_id", _program_by_id), methods=["GET"]),
            Route(f"{asset}/program/{{id:int}}.json", self._rest("update_program", _update_program), methods=["POST"]),
            Route(
                f"{asset}/program/{{id:int}}/clone.json", self._rest("clone_program", _clone_program), methods=["POST"]
            ),
            Route("/{munchkin}/rest/{rest:path}", self._rest("unknown", _not_found), methods=["GET", "POST"]),
            Route("/_admin/stats", self._admin_stats, methods=["GET"]),
            Route("/_admin/endpoints", self._admin_endpoints, methods=["GET"]),
            Route("/_admin/instances/{munchkin}", self._admin_configure, methods=["POST"]),
            Route("/_admin/instances/{munchkin}/expire-tokens", self._admin_expire_tokens, methods=["POST"]),
        ]

    def _instance(self, request: Request) -> SimulatedInstance | None:
        return self.instances.get(request.path_params["munchkin"])

    async def _identity(self, request: Request) -> Response:
        instance = self._instance(request)
        if instance is None:
            return Response("Not Found", status_code=404)
        instance.stats.identity_calls += 1
        params = await request_params(request)
        if params.get("grant_type") != "client_credentials":
            return _identity_error(400, "unsupported_grant_type", "Unsupported grant type")
        if params.get("client_id") != instance.client_id:
            return _identity_error(401, "unauthorized", f"No client with requested id: {params.get('client_id')}")
        if params.get("client_secret") != instance.client_secret:
            return _identity_error(401, "invalid_client", "Bad client credentials")
        token, expires_in = instance.issue_token()
        body = {"access_token": token, "token_type": "bearer", "expires_in": expires_in, "scope": instance.scope}
        return JSONResponse(body, headers=HEADERS)

    def _rest(self, operation: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            instance = self._instance(request)
            if instance is None:
                return Response("Not Found", status_code=404)
            stats = instance.stats
            stats.calls += 1
            stats.by_operation[operation] += 1
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            try:
                instance.admit(request.headers.get("authorization"))
                await instance.misbehave()
                params = await request_params(request)
                if instance.faults.before_answer is not None:
                    await instance.faults.before_answer(operation, params)
                response = await handler(instance, request, params)
                return _DroppedConnection() if instance.loses_answer() else response
            except AssetError as error:
                return failure(error.code, error.message)
            except Drop:
                return _DroppedConnection()
            except Http502:
                return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", 502, media_type="text/html")
            finally:
                stats.in_flight -= 1

        return endpoint

    # Admin: statistics and run-time changes, for tests and benchmarks (unauthenticated: a test tool)

    async def _admin_stats(self, request: Request) -> Response:
        return JSONResponse(self.stats())

    async def _admin_endpoints(self, request: Request) -> Response:
        return JSONResponse(self.endpoints(str(request.base_url)))

    async def _admin_configure(self, request: Request) -> Response:
        instance = self._instance(request)
        if instance is None:
            return Response("Not Found", status_code=404)
        changes = await request.json()
        try:
            configure(instance, changes)
        except (ValueError, TypeError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"ok": True})

    async def _admin_expire_tokens(self, request: Request) -> Response:
        instance = self._instance(request)
        if instance is None:
            return Response("Not Found", status_code=404)
        instance.expire_tokens()
        return JSONResponse({"ok": True})


def configure(instance: SimulatedInstance, changes: dict[str, Any]) -> None:
    """Apply admin changes: camelCase keys for limits and faults."""
    limits = {
        "callsPerWindow": "calls_per_window",
        "windowSeconds": "window_seconds",
        "maxConcurrent": "max_concurrent",
        "dailyQuota": "daily_quota",
        "tokenTtl": "token_ttl",
    }
    faults = {
        "latency": "latency",
        "http502Rate": "http_502_rate",
        "dropRate": "drop_rate",
        "dropAfterRate": "drop_after_rate",
    }
    for key, value in changes.items():
        if key in limits:
            setattr(instance.limits, limits[key], type(getattr(instance.limits, limits[key]))(value))
        elif key in faults:
            setattr(instance.faults, faults[key], float(value))
        elif key == "errorRates":
            unknown = set(value) - set(INJECTABLE_CODES)
            if unknown:
                raise ValueError(f"cannot inject {sorted(unknown)}")
            instance.faults.error_rates = {str(code): float(rate) for code, rate in value.items()}
        else:
            raise ValueError(f"unknown setting {key!r}")


def create_simulator(config: SimulatorConfig | None = None) -> Simulator:
    return Simulator(config or SimulatorConfig())


class _DroppedConnection(Response):
    """Starts an answer and aborts it. A server turns the error into a closed connection; in process
    (httpx.ASGITransport) it reaches the client as is, so it is the error httpx raises for one."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"requestId":', "more_body": True})
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body (simulated)")


def _identity_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=HEADERS)


# Asset handlers


def _page(items: list[Any], params: dict[str, str]) -> list[Any]:
    """The slice a browse call asks for: `maxReturn` (20 by default, 200 at most) from `offset`."""
    max_return = int_param(params, "maxReturn", 20, low=1, high=MAX_RETURN)
    offset = int_param(params, "offset", 0, low=0, high=10**9)
    return items[offset : offset + max_return]


def _asset_ref(request: Request, params: dict[str, str]) -> tuple[int, str]:
    """The folder or program the path's id names, by the `type` Marketo requires beside it."""
    kind = params.get("type")
    if kind not in ("Folder", "Program"):
        raise AssetError("701", "type cannot be blank")
    return request.path_params["id"], kind


def _searched_name(params: dict[str, str]) -> str | None:
    """The name a byName call looks for; None when Marketo finds nothing (it cannot search names with commas)."""
    name = params.get("name")
    if not name:
        raise AssetError("701", "name cannot be blank")
    return None if "," in name else name


async def _browse_folders(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    store = instance.store
    root = folder_ref_param(params, "root")
    max_depth = int_param(params, "maxDepth", 2, low=0, high=100)
    refs = store.browse(root, max_depth, params.get("workSpace"))
    return success([store.folder_json(ref) for ref in _page(refs, params)])


async def _folder_by_name(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    store = instance.store
    name = _searched_name(params)
    if name is None:
        return success([])
    kind = params.get("type")
    root = folder_ref_param(params, "root")
    workspace = params.get("workSpace")
    found = [f for f in store.folders.values() if f.name == name]
    found += [p for p in store.programs.values() if p.name == name]
    refs = [
        f.ref
        for f in found
        if (kind is None or f.ref[1] == kind)
        and (root is None or store.is_under(f.ref, root))
        and (workspace is None or f.workspace == workspace)
    ]
    return success([store.folder_json(ref) for ref in sorted(refs)])


async def _folder_by_id(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    ref = _asset_ref(request, params)
    return success([instance.store.folder_json(ref)] if instance.store.exists(ref) else [])


async def _folder_content(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    ref = _asset_ref(request, params)
    children = instance.store.children(ref) if instance.store.exists(ref) else []
    return success([{"id": child[0], "type": child[1]} for child in _page(children, params)])


async def _create_folder(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    parent = folder_ref_param(params, "parent", required=True)
    assert parent is not None
    record = instance.store.create_folder(params.get("name", ""), parent, params.get("description"), utc_now())
    return success([instance.store.folder_json(record.ref)])


async def _browse_programs(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    earliest = datetime_param(params, "earliestUpdatedAt")
    latest = datetime_param(params, "latestUpdatedAt")
    programs = instance.store.programs_in_order()
    if earliest or latest:
        # Marketo matches programs created or updated within the range.
        def in_range(moment: Any) -> bool:
            return (earliest is None or moment >= earliest) and (latest is None or moment <= latest)

        programs = [p for p in programs if in_range(p.updated_at) or in_range(p.created_at)]
    if params.get("status"):
        programs = [p for p in programs if p.status == params["status"]]
    filter_type, values = params.get("filterType"), params.get("filterValues")
    if filter_type and values:
        wanted = {int(v) for v in values.split(",") if v.strip().isdigit()}
        if filter_type in ("id", "programId"):
            programs = [p for p in programs if p.id in wanted]
        elif filter_type == "folderId":
            programs = [p for p in programs if p.folder[0] in wanted]
    return success([instance.store.program_json(p) for p in _page(programs, params)])


async def _program_by_name(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    name = _searched_name(params)
    if name is None:
        return success([])
    found = [p for p in instance.store.programs.values() if p.name == name]
    return success([instance.store.program_json(p, with_tags=True) for p in found])


async def _program_by_id(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    program = instance.store.programs.get(request.path_params["id"])
    return success([instance.store.program_json(program, with_tags=True)] if program else [])


async def _update_program(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    program = instance.store.update_program(
        request.path_params["id"], params.get("name"), params.get("description"), utc_now()
    )
    return success([instance.store.program_json(program)])


async def _clone_program(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    folder = folder_ref_param(params, "folder", required=True)
    assert folder is not None
    program = instance.store.clone_program(
        request.path_params["id"], params.get("name", ""), folder, params.get("description"), utc_now()
    )
    return success([instance.store.program_json(program)])


async def _not_found(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    raise AssetError("610", "Requested resource not found")
