"""A real ``headrace server`` for the tests: a subprocess on 127.0.0.1 with a free port,
its own process group, ended with SIGTERM (and checked to end cleanly)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

_SOURCES = str(Path(__file__).resolve().parents[1] / "src")
# The first admin's password in every test server (HEADRACE_DEFAULT_PASSWORD, and the
# admin already in the migrated template database).
ADMIN_PASSWORD = "headrace-test-admin-password"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_PORT_ATTEMPTS = 3


class _PortTaken(RuntimeError):
    """The port chosen for a test server was taken by another process before it bound."""


def _listens(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds the socket listening on 127.0.0.1:``port`` (Linux's
    ``/proc``), or ``None`` where that cannot be read: ``free_port`` only finds a port
    free at that moment, and with tests in parallel another test's server may bind it
    first, answering this server's health checks."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            return None
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for descriptor in descriptors:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


class HeadraceServer:
    """``headrace server start`` in a subprocess, until :meth:`stop`."""

    def __init__(
        self,
        directory: Path,
        database_url: str | None = None,
        *,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        template: Path | None = None,
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{directory / 'server.db'}"
        self.log_path = directory / "server.log"
        if template is not None and database_url is None:
            # A copy of an already migrated database: the server starts in a fraction of
            # the time a migration from scratch takes.
            shutil.copyfile(template, directory / "server.db")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
        environment["PYTHONPATH"] = os.pathsep.join(
            [_SOURCES, *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        environment["HEADRACE_DEFAULT_PASSWORD"] = ADMIN_PASSWORD
        environment.update(env or {})
        self._tokens: dict[tuple[str, str], str] = {}
        self._http: httpx.Client | None = None
        command = [
            sys.executable,
            "-m",
            "headrace.cli.main",
            "server",
            "start",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--artifact-path",
            str(directory / "artifacts"),
            "--log-level",
            "warning",
            *(extra_args or []),
        ]
        for attempt in range(_PORT_ATTEMPTS):
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    command,
                    cwd=directory,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                self._wait_until_ready()
                return
            except _PortTaken:
                if attempt == _PORT_ATTEMPTS - 1:
                    raise
                # Another test's server took the port between ``free_port`` and the bind.
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
                command[command.index("--port") + 1] = str(self.port)

    def _wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "address already in use" in self.log().lower():
                    raise _PortTaken(self.port)
                raise RuntimeError(f"headrace server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    if _listens(self.process.pid, self.port) is False:
                        # Another server answers on this port (ours will fail to bind).
                        self.stop()
                        raise _PortTaken(self.port)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"headrace server did not answer within {timeout} s:\n{self.log()}")

    def token(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        """A bearer token for the user (``POST /api/v1/login``), fetched once."""
        key = (username, password)
        if key not in self._tokens:
            answer = httpx.post(
                f"{self.url}/api/v1/login",
                data={"username": username, "password": password},
                timeout=60.0,
            )
            answer.raise_for_status()
            self._tokens[key] = str(answer.json()["access_token"])
        return self._tokens[key]

    def headers(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> dict[str, str]:
        """The ``Authorization`` header of the user's token (the admin by default)."""
        return {"Authorization": f"Bearer {self.token(username, password)}"}

    @property
    def http(self) -> httpx.Client:
        """An HTTP client that sends the admin's token with every request."""
        if self._http is None:
            self._http = httpx.Client(headers=self.headers(), timeout=60.0)
        return self._http

    def log(self) -> str:
        """What the server printed."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then wait; SIGKILL the group only if it hangs. Returns the exit code."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return int(self.process.returncode)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at the newest schema (no stack) with the first admin
    (password ``ADMIN_PASSWORD``, hashed once for the session), to copy per server."""
    from headrace.enums import AccountRole
    from headrace.models import UserRequest
    from headrace.store.sql.store import SqlStore

    path = tmp_path_factory.mktemp("template") / "migrated.db"
    store = SqlStore(f"sqlite:///{path}")
    try:
        store.create_user(
            UserRequest(name="admin", role=AccountRole.ADMIN, password=ADMIN_PASSWORD)
        )
    finally:
        store.close()
    return path


@pytest.fixture
def headrace_server(tmp_path: Path, migrated_sqlite: Path) -> Iterator[HeadraceServer]:
    """A fresh server over a fresh SQLite database."""
    server = HeadraceServer(tmp_path, template=migrated_sqlite)
    try:
        yield server
    finally:
        server.stop()
