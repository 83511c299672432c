"""The Ray orchestrator's pure parts: memory sizes and address checks (no cluster)."""

from __future__ import annotations

import socket

import pytest

from headrace.exceptions import OrchestratorError
from headrace.execution.orchestrators.ray import check_reachable, memory_bytes, resolve_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4GB", 4_000_000_000),
        ("512MiB", 512 * 2**20),
        ("1.5 GiB", int(1.5 * 2**30)),
        ("100", 100),
        ("64mb", 64_000_000),
    ],
)
def test_memory_sizes_become_bytes(text: str, expected: int) -> None:
    assert memory_bytes(text) == expected


@pytest.mark.parametrize("text", ["lots", "4 parsecs", "GB", "-1GB"])
def test_a_size_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a size like"):
        memory_bytes(text)


def test_an_address_without_a_port_is_refused() -> None:
    with pytest.raises(OrchestratorError, match="not of the form host:port"):
        check_reachable("head-node", "head-node", 0.1)


def test_a_closed_port_fails_at_once_naming_address_and_remedy() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OrchestratorError) as info:
        check_reachable(f"ray://127.0.0.1:{port}", f"ray://127.0.0.1:{port}", 1.0)
    assert f"127.0.0.1:{port}" in str(info.value) and "ray start --head" in str(info.value)


def test_auto_takes_the_address_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "10.1.2.3:6379")
    assert resolve_address("auto") == "10.1.2.3:6379"
    assert resolve_address("127.0.0.1:1234") == "127.0.0.1:1234"
