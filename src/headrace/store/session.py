"""The server this user logged in to (``headrace login``), and the credentials to use.

One session at a time, in ``credentials.json`` in the user's config directory
(``HEADRACE_CONFIG_PATH`` overrides it), readable by its owner only: the server URL, the
bearer token and its expiry, the user name, and the API key when the login used one
(so the key, not a token that expires, is what later requests present).

``HEADRACE_STORE_API_KEY`` / ``HEADRACE_STORE_API_TOKEN`` win over the session, so CI
systems need no file at all.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from headrace.exceptions import (
    AuthenticationError,
    ConfigurationError,
    StoreError,
    TooManyAttemptsError,
)
from headrace.utils.env import ENV_STORE_API_KEY, ENV_STORE_API_TOKEN

ENV_CONFIG_PATH = "HEADRACE_CONFIG_PATH"
SESSION_FILE = "credentials.json"
LOGIN_PATH = "/api/v1/login"
LOGIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ServerSession:
    """A login to one server."""

    url: str
    token: str | None = None
    expires_at: float | None = None
    username: str | None = None
    api_key: str | None = None

    @property
    def expired(self) -> bool:
        """Whether the token's expiry has passed (a key login never expires here)."""
        if self.api_key:
            return False
        return self.expires_at is not None and self.expires_at <= time.time()

    def headers(self) -> dict[str, str]:
        """The request headers that present this session's credentials."""
        if self.api_key:
            return {"X-API-Key": self.api_key}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}


def normalize_url(url: str) -> str:
    """``url`` without a trailing slash; refuses anything but ``http(s)://host...``.

    Raises:
        ConfigurationError: not an HTTP URL.
    """
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise ConfigurationError(
            f"{url!r} is not a server URL; give one like http://127.0.0.1:8237."
        )
    return url


def config_directory() -> Path:
    """Where headrace keeps per-user settings (``HEADRACE_CONFIG_PATH`` overrides)."""
    override = os.environ.get(ENV_CONFIG_PATH)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("headrace", appauthor=False))


def session_path() -> Path:
    """The file holding the current session."""
    return config_directory() / SESSION_FILE


def load_session() -> ServerSession | None:
    """The saved session, or ``None`` when not logged in.

    Raises:
        ConfigurationError: the file exists but is not a session headrace wrote.
    """
    path = session_path()
    try:
        data = json.loads(path.read_text())
        return ServerSession(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"{path} is not a valid headrace session ({exc}); run `headrace logout` and "
            "log in again."
        ) from exc


def save_session(session: ServerSession) -> Path:
    """Write the session, readable by its owner only, replacing any earlier one."""
    path = session_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{SESSION_FILE}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(session), handle)
    os.chmod(partial, 0o600)
    os.replace(partial, path)
    return path


def forget_session() -> ServerSession | None:
    """Remove the saved session; returns the one removed, if any."""
    try:
        session = load_session()
    except ConfigurationError:
        session = None
    session_path().unlink(missing_ok=True)
    return session


def credential_headers(url: str) -> dict[str, str]:
    """The headers a request to the server at ``url`` carries: the environment's key or
    token, else the session's when it is for this server."""
    key = os.environ.get(ENV_STORE_API_KEY)
    token = os.environ.get(ENV_STORE_API_TOKEN)
    if key:
        return {"X-API-Key": key}
    if token:
        return {"Authorization": f"Bearer {token}"}
    session = load_session()
    if session is not None and session.url == normalize_url(url):
        return session.headers()
    return {}


def request_token(url: str, username: str | None, password: str) -> dict[str, Any]:
    """Log in at ``url`` (the OAuth2 password form); the server's token answer.

    Raises:
        StoreError: the server cannot be reached or does not answer as a headrace server.
        AuthenticationError / TooManyAttemptsError: the server refused the credentials.
    """
    import httpx

    form = {"username": username or "", "password": password}
    try:
        response = httpx.post(url + LOGIN_PATH, data=form, timeout=LOGIN_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise StoreError(
            f"Cannot reach the headrace server at {url} ({type(exc).__name__}: {exc}); "
            "is `headrace server start` running there?"
        ) from exc
    detail = _detail(response)
    if response.status_code == 429:
        retry = float(response.headers.get("Retry-After", "60"))
        raise TooManyAttemptsError(detail, retry_after=retry)
    if response.status_code in (401, 403):
        raise AuthenticationError(detail)
    if response.status_code != 200:
        raise StoreError(f"Login at {url} failed with HTTP {response.status_code}: {detail}")
    body: dict[str, Any] = response.json()
    if "access_token" not in body:
        raise StoreError(f"{url} did not answer the login as a headrace server: {body!r}")
    return body


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except (ValueError, AttributeError):
        return str(response.text)[:200]


def login(
    url: str, username: str | None, password: str | None, api_key: str | None
) -> ServerSession:
    """Log in with a password or an API key, save the session, and return it."""
    url = normalize_url(url)
    if api_key:
        body = request_token(url, None, api_key)
    elif username and password:
        body = request_token(url, username, password)
    else:
        raise ConfigurationError("Give a user name and password, or an API key.")
    expires_in = body.get("expires_in")
    session = ServerSession(
        url=url,
        token=str(body["access_token"]),
        expires_at=time.time() + float(expires_in) if expires_in else None,
        username=None if api_key else username,
        api_key=api_key or None,
    )
    save_session(session)
    return session
