"""Shared fixtures: every test that runs pipelines gets its own repository and store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace.store.base import Store
from headrace.store.factory import forget_stores, init_repository
from headrace_server import (  # noqa: F401 - fixtures
    HeadraceServer,
    headrace_server,
    migrated_sqlite,
)
from kube_stack import fake_kube, kubernetes_stack  # noqa: F401 - fixtures
from postgres_server import postgres_server, postgres_url  # noqa: F401 - fixtures
from ray_cluster import (  # noqa: F401 - fixtures
    ray_address,
    ray_cluster,
    ray_dashboard,
    ray_orchestrator,
)

_ENV_PREFIX = "HEADRACE_"


@pytest.fixture(autouse=True)
def _clean_headrace_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No HEADRACE_* variable of the developer's shell leaks into a test, and no login
    of the developer's (``headrace login``) either: each test gets an empty config
    directory."""
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIX):
            monkeypatch.delenv(key, raising=False)
    # Snapshots would build a container image wherever an engine works; tests of images
    # choose their engine themselves.
    monkeypatch.setenv("HEADRACE_CONTAINER_ENGINE", "none")
    monkeypatch.setenv("HEADRACE_CONFIG_PATH", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def artifacts_as_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every artifact written to the artifact store as files, none kept inline in its
    record: for tests of the files themselves (hashing, tampering, missing files)."""
    monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "0")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh headrace repository (``headrace init``) as the current directory."""
    monkeypatch.chdir(tmp_path)
    init_repository(tmp_path)
    try:
        yield tmp_path
    finally:
        forget_stores()


@pytest.fixture
def store(repo: Path) -> Store:
    """The store of the test's repository."""
    from headrace.store.factory import get_store

    return get_store()


def _open_sql_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    from headrace.store.sql.store import SqlStore

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    return SqlStore(url, default_artifact_path=str(tmp_path / "artifacts"))


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A SqlStore on SQLite and on a real PostgreSQL server: one suite, both backends."""
    store = _open_sql_store(request.param, request, tmp_path)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgresql", "rest"])
def contract_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The Store contract's backends: SqlStore on SQLite and on PostgreSQL, and a
    RestStore talking to a real ``headrace server`` subprocess (over SQLite)."""
    if request.param != "rest":
        store = _open_sql_store(request.param, request, tmp_path)
        try:
            yield store
        finally:
            store.close()
        return
    from headrace.store.rest import RestStore

    server = HeadraceServer(tmp_path, template=request.getfixturevalue("migrated_sqlite"))
    rest = RestStore(server.url, token=server.token())
    try:
        yield rest
    finally:
        rest.close()
        server.stop()
