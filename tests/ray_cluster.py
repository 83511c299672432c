"""A real local Ray cluster for the tests: a head node and one more worker node.

One cluster per test session (per xdist worker that needs it: tests that use it carry
``pytest.mark.xdist_group("ray")`` and the suite runs with ``--dist loadgroup``, so they
all land in one worker). Each node is a ``ray start --block`` in its own process group,
so teardown ends the node and everything it started with ``os.killpg`` — never
``ray stop``, which would end every Ray process of the machine, other people's too. A
node also ends its group by itself if the test process dies without tearing down.

Everything stays on 127.0.0.1: both nodes start through ``ray_node.py``, which pins
their node address to the loopback (Ray would otherwise pick the address of the default
route), drivers set ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` for the same effect, usage
statistics are off, and every port a node would
otherwise take from a fixed default (client server, dashboard, agents, metrics) is a free
port of this machine so parallel test sessions do not collide. Unix sockets live under a
short private directory (``/tmp/hr-ray-XXXX``) because their paths are limited to 107
bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

RAY_GROUP = pytest.mark.xdist_group("ray")
START_TIMEOUT_S = 240.0  # a loaded 2-core machine can take minutes
STOP_GRACE_S = 5.0
NODE_CPUS = 1  # head + worker node = 2 CPUs, the size of this machine

# A driver resolves 127.0.0.1 to the address of the default route unless this is "0" (it
# means "no multi-node clusters on this OS": the driver's node address is the loopback).
# Drivers of these tests (this process, and scripts it starts) set it; nodes start
# through ray_node.py instead.
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
os.environ[LOOPBACK_ONLY] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _ray_command() -> list[str]:
    if not Path(sys.executable).with_name("ray").exists():
        pytest.fail(f"Ray is not installed next to {sys.executable}: pip install 'headrace[ray]'")
    # ray_node.py: the ray CLI on the loopback, ending with this process (see there).
    return [sys.executable, str(Path(__file__).with_name("ray_node.py")), str(os.getpid())]


def cluster_environment() -> dict[str, str]:
    """The environment of the nodes (and so of every Ray worker process).

    The ``headrace`` under test comes first on the path, so steps import the same code as
    the tests do; nothing is reported anywhere. Drivers started by tests use it too.
    """
    import headrace

    environment = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    source = str(Path(headrace.__file__).resolve().parent.parent)
    tests = Path(__file__).resolve().parent
    # The test modules are "installed" on the cluster, as a user's package would be: a
    # worker imports their steps by source (pytest names them by file name).
    entries = [source, str(tests / "integration"), str(tests / "acceptance"), str(tests)]
    path = environment.get("PYTHONPATH", "")
    environment["PYTHONPATH"] = os.pathsep.join([*entries, *([path] if path else [])])
    environment["RAY_USAGE_STATS_ENABLED"] = "0"
    environment["RAY_DISABLE_DOCKER_CPU_WARNING"] = "1"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    # A loaded machine (2 cores, many test processes) can take minutes to register a node.
    environment["RAY_raylet_start_wait_time_s"] = "300"
    environment.pop(LOOPBACK_ONLY, None)  # a worker node refuses to start with it
    return environment


def driver_environment() -> dict[str, str]:
    """The environment of a driver process (a script run by a test) on this cluster."""
    environment = cluster_environment()
    environment[LOOPBACK_ONLY] = "0"
    return environment


def _agent_ports() -> list[str]:
    return [
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        f"--node-manager-port={_free_port()}",
        f"--object-manager-port={_free_port()}",
    ]


class RayCluster:
    """A head node and one worker node started with ``ray start --block``."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="hr-ray-", dir="/tmp"))
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dashboard_port = _free_port()
        self.dashboard_url = f"http://127.0.0.1:{self.dashboard_port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.start_seconds = 0.0

    def _launch(self, name: str, arguments: list[str], environment: dict[str, str]) -> None:
        log = open(self.directory / f"{name}.out", "wb")  # noqa: SIM115 - owned by the process
        try:
            process = subprocess.Popen(
                [*_ray_command(), "start", "--block", *arguments],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
                cwd=self.directory,
                start_new_session=True,  # its own process group: killpg ends all it starts
            )
        finally:
            log.close()
        self.processes.append(process)

    def start(self) -> None:
        started = time.perf_counter()
        common = [
            f"--temp-dir={self.directory}",
            f"--num-cpus={NODE_CPUS}",
            "--num-gpus=0",
            "--disable-usage-stats",
            "--object-store-memory=100000000",
            "--log-style=record",
            "--log-color=false",
        ]
        self._launch(
            "head",
            [
                "--head",
                "--node-ip-address=127.0.0.1",
                f"--port={self.port}",
                # The dashboard serves the Job Submission API (the ray workload manager).
                "--include-dashboard=true",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={self.dashboard_port}",
                f"--ray-client-server-port={_free_port()}",
                *_agent_ports(),
                *common,
            ],
            # The head's dashboard agent connects to the cluster as a driver when it
            # starts a Ray job: like every driver here it must keep to the loopback.
            driver_environment(),
        )
        self._wait_for(lambda: _accepts(self.port), "the head node's GCS port")
        worker = [f"--address={self.address}", *_agent_ports(), *common]
        self._launch("worker", worker, cluster_environment())
        self._wait_for(lambda: self.alive_nodes() >= 2, "the worker node to join")
        self.start_seconds = time.perf_counter() - started

    def alive_nodes(self) -> int:
        """How many nodes the head knows alive (asked through Ray's GCS client)."""
        from ray._raylet import GcsClient

        try:
            client = GcsClient(address=self.address, cluster_id=None)
            nodes = client.get_all_node_info(timeout=2)
        except Exception:  # the GCS is still coming up
            return 0
        return sum(1 for info in nodes.values() if info.state == 0)  # 0 = ALIVE

    def _wait_for(self, condition: object, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"ray start exited ({process.returncode}):\n{self.output()}")
            if condition():  # type: ignore[operator]
                return
            time.sleep(0.1)
        raise RuntimeError(f"Timed out waiting for {what}:\n{self.output()}")

    def output(self) -> str:
        """What the ``ray start`` commands printed."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.directory.glob("*.out"))
        )

    def stop(self) -> None:
        """End both nodes: SIGTERM to each process group, SIGKILL after a grace period."""
        groups = [p.pid for p in reversed(self.processes)]  # worker node first
        for group in groups:
            _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
        for group in groups:  # whatever is left of each group (raylet, GCS, workers)
            _signal_group(group, signal.SIGKILL)
        for process in self.processes:
            process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A real two-node Ray cluster on 127.0.0.1 for this test process."""
    cluster = RayCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        _disconnect_driver()
        cluster.stop()


@pytest.fixture(scope="session")
def ray_address(ray_cluster: RayCluster) -> str:
    """The ``host:port`` address of the session's Ray cluster."""
    return ray_cluster.address


@pytest.fixture(scope="session")
def ray_dashboard(ray_cluster: RayCluster) -> str:
    """The ``http://`` address of the session cluster's dashboard (Job Submission API),
    once it answers."""
    import urllib.request

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{ray_cluster.dashboard_url}/api/version", timeout=2):
                return True
        except OSError:
            return False

    ray_cluster._wait_for(answers, "the dashboard's Job Submission API")
    return ray_cluster.dashboard_url


@pytest.fixture
def ray_orchestrator(ray_address: str) -> str:
    """The current repository's active stack runs steps on the session's Ray cluster
    (request it after the fixture that makes the repository)."""
    use_ray_orchestrator(ray_address)
    return ray_address


def _disconnect_driver() -> None:
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            ray.shutdown()


def use_ray_orchestrator(address: str, **configuration: object) -> None:
    """Make the current repository's active stack run steps on the Ray cluster at
    ``address`` (with more ``ray`` flavor configuration, e.g. ``max_parallelism``)."""
    from headrace.client import Client

    client = Client()
    existing = client.list_stack_components(type="orchestrator").items
    name = f"ray-{len(existing)}"
    client.create_stack_component(
        name, "ray", "orchestrator", {"address": address, **configuration}
    )
    artifact_store = client.active_stack.component("artifact_store")
    assert artifact_store is not None
    client.create_stack(name, {"orchestrator": name, "artifact_store": artifact_store.name})
    client.activate_stack(name)
