"""The test servers' own start-up: a port taken by another server between choosing it
and binding it is noticed (its health check answers, but from the other server), and
the new server moves to another port instead of tests talking to the wrong server."""

from __future__ import annotations

from pathlib import Path

import pytest

import headrace_server
from headrace_server import HeadraceServer


def test_a_server_whose_port_another_server_holds_moves_to_a_free_one(
    tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = HeadraceServer(tmp_path / "first", template=migrated_sqlite)
    try:
        taken = iter([first.port])
        real = headrace_server.free_port
        monkeypatch.setattr(headrace_server, "free_port", lambda: next(taken, None) or real())
        second = HeadraceServer(tmp_path / "second", template=migrated_sqlite)
        try:
            assert second.port != first.port
            assert headrace_server._listens(second.process.pid, second.port) is True
            assert headrace_server._listens(first.process.pid, second.port) is False
            first.http.post(f"{first.url}/api/v1/pipelines", json={"name": "only-first"})
            assert second.http.get(f"{second.url}/api/v1/pipelines").json()["total"] == 0
        finally:
            second.stop()
    finally:
        first.stop()
