"""A Ray cluster as the scheduler sees it: where it is, what one job needs, and whether any node can give it.

Everything here runs before a run starts, so a wrong address or a job bigger than every node is a ConfigError
(exit 2) instead of Ray waiting forever for resources that will never come.
"""
from __future__ import annotations

import logging
import math
import os
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgym.errors import ConfigError

_CONNECT_TIMEOUT_S = 3.0
_DNS_RETRY_S = 15.0
_EPSILON = 1e-9  # Ray keeps resources in units of 1/10000; a fraction like 1/3 must not lose a slot to rounding


@dataclass(frozen=True)
class JobResources:
    """What one job asks a node for: CPUs and GPUs, fractions allowed (`gpus=0.5` puts two jobs on one GPU)."""

    cpus: float = 1.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.cpus, (int, float)) or isinstance(self.cpus, bool) or self.cpus <= 0:
            raise ConfigError(f"cpus_per_job must be a number > 0, got {self.cpus!r}", key_path="cpus_per_job")
        if not isinstance(self.gpus, (int, float)) or isinstance(self.gpus, bool) or self.gpus < 0:
            raise ConfigError(f"gpus_per_job must be a number >= 0, got {self.gpus!r}", key_path="gpus_per_job")
        for name, value in (("cpus_per_job", self.cpus), ("gpus_per_job", self.gpus)):
            if value > 1 and not float(value).is_integer():
                raise ConfigError(f"{name} above 1 must be a whole number (Ray's rule), got {value!r}",
                                  key_path=name, hint="use a fraction up to 1 to share one device, e.g. 0.5")

    def actor_options(self) -> dict[str, float]:
        """The resource options of the Ray actor that runs one job at a time."""
        return {"num_cpus": float(self.cpus), "num_gpus": float(self.gpus)}

    @property
    def threads(self) -> int:
        """Torch threads per job: the whole CPUs it holds (at least one)."""
        return max(1, math.floor(self.cpus + _EPSILON))

    def slots_on(self, node_resources: Mapping[str, float]) -> int:
        """How many jobs of this size fit on a node with these total resources at once."""
        slots = math.floor(node_resources.get("CPU", 0.0) / self.cpus + _EPSILON)
        if self.gpus > 0:
            slots = min(slots, math.floor(node_resources.get("GPU", 0.0) / self.gpus + _EPSILON))
        return slots

    def describe(self) -> str:
        gpus = f" and {self.gpus:g} GPU" if self.gpus else ""
        return f"{self.cpus:g} CPU{gpus}"


@dataclass(frozen=True)
class ClusterNode:
    """One live node of the cluster: its id and total resources."""

    node_id: str
    resources: dict[str, float]

    def describe(self) -> str:
        return f"{self.node_id[:12]} (CPU {self.resources.get('CPU', 0):g}, GPU {self.resources.get('GPU', 0):g})"


def live_nodes() -> list[ClusterNode]:
    """The nodes of the connected cluster that are alive now."""
    import ray
    return [ClusterNode(n["NodeID"], dict(n.get("Resources") or {})) for n in ray.nodes() if n.get("Alive")]


def total_slots(nodes: Iterable[ClusterNode], resources: JobResources) -> int:
    return sum(resources.slots_on(node.resources) for node in nodes)


def check_capacity(nodes: list[ClusterNode], resources: JobResources, address: str) -> int:
    """The number of jobs the cluster can run at once; a ConfigError when no node can run a single one."""
    slots = total_slots(nodes, resources)
    if slots == 0:
        listed = ", ".join(node.describe() for node in nodes) or "none"
        raise ConfigError(f"no node of the Ray cluster at {address} can run a job that needs "
                          f"{resources.describe()}; live nodes: {listed}", key_path="environment.cpus_per_job"
                          if resources.gpus == 0 else "environment.gpus_per_job",
                          hint="lower cpus_per_job / gpus_per_job, or add a node with enough of them")
    return slots


def _host_port(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"a Ray address is 'auto' or HOST:PORT (the head's GCS port, 6379 by default), got "
                          f"{address!r}", key_path="environment.address")
    return host.strip("[]"), int(port)


def check_reachable(address: str) -> None:
    """A HOST:PORT address must accept a TCP connection within seconds (Ray itself would retry for a minute)."""
    if address == "auto":
        return
    host, port = _host_port(address)
    try:
        _connect(host, port)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {reason}", key_path="environment.address",
                          hint=f"start its head with `ray start --head --port {port}` there, or give the address "
                               "`ray start` printed (--ray_address HOST:PORT)") from None


def _connect(host: str, port: int) -> None:
    # A resolver that answers "temporary failure" (EAI_AGAIN: e.g. a container network's DNS under load) is asked
    # again for a few seconds; any other failure is final.
    deadline = time.monotonic() + _DNS_RETRY_S
    while True:
        try:
            with socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S):
                return
        except socket.gaierror as e:
            if e.errno != socket.EAI_AGAIN or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def worker_pythonpath() -> str:
    """PYTHONPATH for the cluster's workers: this process's mlgym first, then the caller's PYTHONPATH and cwd, so a
    worker imports the same mlgym (and the same project modules) as the driver when the paths exist on its node."""
    import mlgym
    entries = [str(Path(mlgym.__file__).resolve().parent.parent)]
    entries += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    entries.append(os.getcwd())
    return os.pathsep.join(dict.fromkeys(entries))


def main_module_path() -> str | None:
    """The driver's main script, which every worker runs once (not as `__main__`) to register its components,
    as spawned pool workers do; None for an interactive session."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return str(Path(path).resolve()) if path else None


_connected: str | None = None


def connect(address: str, env_vars: Mapping[str, str] | None = None) -> None:
    """Connect this process to the cluster (once; a different address reconnects). ConfigError if unreachable."""
    global _connected
    import ray
    if ray.is_initialized() and _connected == address:
        return
    check_reachable(address)
    if ray.is_initialized():
        ray.shutdown()
    runtime_env: dict[str, Any] = {"env_vars": {"PYTHONPATH": worker_pythonpath(), **(env_vars or {})}}
    try:
        ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING,
                 configure_logging=True, log_to_driver=True)
    except (ConnectionError, RuntimeError) as e:
        raise ConfigError(f"cannot connect to the Ray cluster at {address}: {str(e).splitlines()[0]}",
                          key_path="environment.address",
                          hint="with 'auto', start a cluster on this machine with `ray start --head`, or set "
                               "RAY_ADDRESS / --ray_address HOST:PORT") from None
    _connected = address


def disconnect() -> None:
    """Leave the cluster (the cluster keeps running)."""
    global _connected
    import ray
    if ray.is_initialized():
        ray.shutdown()
    _connected = None
