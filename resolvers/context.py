"""What every resolver can reach: the viewer, fresh loaders, and the process's services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain.viewer import Viewer
from resolvers.errors import UNAUTHENTICATED, ApiError
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from jeto.services import Services


@dataclass
class Context:
    services: Services
    request: Any = None
    response: Any = None
    viewer_or_none: Viewer | None = None
    connection_params: Any = None  # filled by Strawberry from a websocket's connection_init
    loaders: Loaders = field(default_factory=Loaders)

    @property
    def viewer(self) -> Viewer:
        if self.viewer_or_none is None:
            raise ApiError("Sign in first.", code=UNAUTHENTICATED)
        return self.viewer_or_none
