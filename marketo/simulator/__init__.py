"""A Marketo REST API simulator: many instances, Marketo's envelopes, limits and faults."""

from .app import Simulator, create_simulator
from .config import Faults, SimulatorConfig
from .instance import SimulatedInstance
from .server import running_simulator, serve_simulator

__all__ = [
    "Faults",
    "SimulatedInstance",
    "Simulator",
    "SimulatorConfig",
    "create_simulator",
    "running_simulator",
    "serve_simulator",
]
