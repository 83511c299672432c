"""The ``headrace login`` session file: owner-only, replaced atomically, refused clearly
when damaged, and which credentials a request to a server carries."""

from __future__ import annotations

import os
import stat
import time

import pytest

from headrace.exceptions import ConfigurationError
from headrace.store.session import (
    ServerSession,
    credential_headers,
    forget_session,
    load_session,
    normalize_url,
    save_session,
    session_path,
)

URL = "http://127.0.0.1:8237"


def test_a_session_is_saved_owner_only_and_forgotten() -> None:
    assert load_session() is None
    path = save_session(ServerSession(url=URL, token="t1", expires_at=time.time() + 60))
    assert path == session_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_session() == ServerSession(
        url=URL, token="t1", expires_at=load_session().expires_at
    )  # type: ignore[union-attr]
    save_session(ServerSession(url=URL, token="t2"))
    replaced = load_session()
    assert replaced is not None and replaced.token == "t2"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial files left
    assert forget_session() is not None and load_session() is None
    assert forget_session() is None


def test_a_damaged_session_file_is_named_in_the_error() -> None:
    session_path().parent.mkdir(parents=True, exist_ok=True)
    session_path().write_text("{not json")
    with pytest.raises(ConfigurationError, match="not a valid headrace session.*headrace logout"):
        load_session()
    assert forget_session() is None and not session_path().exists()


def test_expiry_and_headers_of_a_session() -> None:
    expired = ServerSession(url=URL, token="t", expires_at=time.time() - 1)
    assert expired.expired and expired.headers() == {"Authorization": "Bearer t"}
    with_key = ServerSession(url=URL, token="t", expires_at=time.time() - 1, api_key="hrk_k")
    assert not with_key.expired and with_key.headers() == {"X-API-Key": "hrk_k"}


def test_the_environment_wins_over_the_session_which_is_per_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert credential_headers(URL) == {}
    save_session(ServerSession(url=URL, token="from-login"))
    assert credential_headers(URL + "/") == {"Authorization": "Bearer from-login"}
    assert credential_headers("http://127.0.0.1:9999") == {}  # another server: nothing sent
    monkeypatch.setenv("HEADRACE_STORE_API_TOKEN", "from-env")
    assert credential_headers(URL) == {"Authorization": "Bearer from-env"}
    monkeypatch.setenv("HEADRACE_STORE_API_KEY", "hrk_env")
    assert credential_headers(URL) == {"X-API-Key": "hrk_env"}


@pytest.mark.parametrize("url", ["127.0.0.1:8237", "ftp://host", "http://", " "])
def test_only_http_urls_are_servers(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not a server URL"):
        normalize_url(url)
    assert normalize_url(" https://example.org/ ") == "https://example.org"
