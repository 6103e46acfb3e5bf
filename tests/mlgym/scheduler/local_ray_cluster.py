"""A real Ray cluster of several nodes on this machine, for the tests and the benchmark.

Every `ray start` runs as the leader of its own session, and only the processes of those sessions are ever
stopped (never `ray stop`, which would end every Ray process on the machine, other people's included). Every node
gets its own free ports and the cluster its own temp dir, so it cannot collide with another cluster here. The
head tightens Ray's health check so a dead node is noticed in about a second instead of ~14 s.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))
ROOT = Path(__file__).resolve().parents[3]
HEALTH_CHECK = {"RAY_health_check_initial_delay_ms": "0", "RAY_health_check_period_ms": "300",
                "RAY_health_check_timeout_ms": "500", "RAY_health_check_failure_threshold": "3"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_ports() -> list[str]:
    return ["--node-manager-port", str(free_port()), "--object-manager-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
            "--runtime-env-agent-port", str(free_port()), "--metrics-export-port", str(free_port())]


@dataclass
class LocalRayCluster:
    """A head and worker nodes (one CPU each by default), each started in a session of its own."""

    cpus_per_node: int = 1
    port: int = field(default_factory=free_port)
    temp_dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="mlgray", dir="/tmp"))
    sessions: list[int] = field(default_factory=list)  # session id (= leader pid) of every node, head first

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        pythonpath = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
        return {**os.environ, **HEALTH_CHECK, "PYTHONPATH": pythonpath.rstrip(os.pathsep),
                "RAY_USAGE_STATS_ENABLED": "0", "RAY_enable_metrics_collection": "0"}

    def _start(self, *args: str, cpus: int | None = None) -> int:
        command = [RAY, "start", *args, "--num-cpus", str(self.cpus_per_node if cpus is None else cpus),
                   "--object-store-memory",
                   "200000000", "--disable-usage-stats", "--node-ip-address", "127.0.0.1", *_node_ports()]
        process = subprocess.Popen(command, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        self.sessions.append(process.pid)
        output, _ = process.communicate(timeout=120)
        if process.returncode != 0:
            raise RuntimeError(f"`ray start {' '.join(args)}` failed:\n{output[-3000:]}")
        return process.pid

    def start(self, nodes: int = 2) -> "LocalRayCluster":
        self._start("--head", "--port", str(self.port), "--include-dashboard=false", "--dashboard-port",
                    str(free_port()), "--temp-dir", self.temp_dir)
        for _ in range(nodes - 1):
            self.add_node()
        return self

    def add_node(self, cpus: int | None = None, gpus: int = 0) -> int:
        """Start one more worker node (`gpus`: GPUs it declares, real or not); returns its session id."""
        return self._start("--address", self.address, "--num-gpus", str(gpus), cpus=cpus)

    def remove_node(self, session: int) -> None:
        """Kill one node added by `add_node` (every process of its session)."""
        self.kill_session(session)
        self.sessions.remove(session)

    def processes(self, session: int) -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter():
            try:
                if os.getsid(process.pid) == session:
                    found.append(process)
            except (ProcessLookupError, PermissionError, psutil.Error):
                continue
        return found

    def raylet(self, node_id: str) -> psutil.Process:
        """The raylet process of a node (its command line names the node id)."""
        for session in self.sessions:
            for process in self.processes(session):
                try:
                    if f"--node_id={node_id}" in process.cmdline():
                        return process
                except psutil.Error:
                    continue
        raise LookupError(f"no raylet of node {node_id} among this cluster's processes")

    def is_head(self, node_id: str) -> bool:
        """Whether the node is the head (its raylet belongs to the first `ray start`'s session)."""
        return os.getsid(self.raylet(node_id).pid) == self.sessions[0]

    def kill_session(self, session: int) -> None:
        """SIGKILL every process of one node's session (Ray's agents rename themselves, so go by session)."""
        for _ in range(3):
            processes = self.processes(session)
            if not processes:
                return
            for process in processes:
                try:
                    process.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(processes, timeout=5)
        try:
            os.killpg(session, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self) -> None:
        for session in reversed(self.sessions):
            self.kill_session(session)
        self.sessions = []
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def wait_for_nodes(count: int, timeout: float = 60) -> list[str]:
    """Node ids once the connected cluster has `count` live nodes."""
    import ray
    deadline = time.monotonic() + timeout
    while True:
        alive = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        if len(alive) >= count or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def wait_for_death(node_id: str, timeout: float = 60) -> bool:
    """Whether the connected cluster declared `node_id` dead within `timeout` seconds."""
    import ray
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(n["NodeID"] == node_id and n.get("Alive") for n in ray.nodes()):
            return True
        time.sleep(0.2)
    return False
