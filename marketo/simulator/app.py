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

from . import folder_endpoints, program_endpoints
from .assets import AssetStore
from .config import INJECTABLE_CODES, Faults, InstanceLimitSettings, SimulatorConfig
from .envelopes import HEADERS, AssetError, failure
from .instance import Drop, Http502, SimulatedInstance
from .params import request_params
from .routes import METHODS, Handler, Operation, chosen, edge_refusal, unsupported_method
from .seed import seed_store


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

        def resource(path: str, **operations: tuple[str, Handler]) -> Route:
            table = {method: Operation(name, handler) for method, (name, handler) in operations.items()}
            return Route(f"{asset}/{path}", self._rest(table), methods=METHODS)

        return [
            Route("/{munchkin}/identity/oauth/token", self._identity, methods=["GET", "POST"]),
            resource(
                "folders.json",
                GET=("browse_folders", folder_endpoints.browse),
                POST=("create_folder", folder_endpoints.create),
            ),
            resource("folder/byName.json", GET=("folder_by_name", folder_endpoints.by_name)),
            resource(
                "folder/{id:int}.json",
                GET=("folder_by_id", folder_endpoints.by_id),
                POST=("update_folder", folder_endpoints.update),
            ),
            resource("folder/{id:int}/content.json", GET=("folder_content", folder_endpoints.content)),
            resource("folder/{id:int}/delete.json", POST=("delete_folder", folder_endpoints.delete)),
            resource(
                "programs.json",
                GET=("browse_programs", program_endpoints.browse),
                POST=("create_program", program_endpoints.create),
            ),
            resource("program/byName.json", GET=("program_by_name", program_endpoints.by_name)),
            resource(
                "program/{id:int}.json",
                GET=("program_by_id", program_endpoints.by_id),
                POST=("update_program", program_endpoints.update),
            ),
            resource("program/{id:int}/clone.json", POST=("clone_program", program_endpoints.clone)),
            resource("program/{id:int}/delete.json", POST=("delete_program", program_endpoints.delete)),
            Route(
                "/{munchkin}/rest/{rest:path}",
                self._rest({method: Operation("unknown", _not_found) for method in METHODS}),
                methods=METHODS,
            ),
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

    def _rest(self, operations: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            instance = self._instance(request)
            if instance is None:
                return Response("Not Found", status_code=404)
            refused = await edge_refusal(request)
            if refused is not None:
                return refused  # the edge's answer: the API never saw the call
            stats = instance.stats
            stats.calls += 1
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            try:
                params = await request_params(request)
                operation = chosen(operations, request, params)
                stats.by_operation[operation.name if operation else "unsupported_method"] += 1
                instance.admit(
                    request.headers.get("authorization"), refusal=None if operation else unsupported_method()
                )
                assert operation is not None
                await instance.misbehave()
                if instance.faults.before_answer is not None:
                    await instance.faults.before_answer(operation.name, params)
                response = await operation.handler(instance, request, params)
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


async def _not_found(instance: SimulatedInstance, request: Request, params: dict[str, str]) -> Response:
    raise AssetError("610", "Requested resource not found")
