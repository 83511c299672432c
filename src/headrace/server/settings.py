"""What a server is started with: where it listens, which database, and its limits."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8237
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    """Settings of one server process.

    Args:
        database_url: ``sqlite:///...`` or ``postgresql://...``; the repository's store
            (``.headrace/headrace.db``) when ``None``.
        artifact_path: root of the default stack's artifact store when the server creates
            it (beside the SQLite database by default).
        max_body_bytes: requests with a larger body are refused with 413.
        max_concurrent_runs: runner processes started at once; later triggers wait
            (recorded, ``initializing``) for a slot.
        auth_scheme: what ``/api/v1/info`` reports: OAuth2 password login for bearer
            tokens (API keys also work as the password, or in ``X-API-Key``).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_url: str | None = None
    artifact_path: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_concurrent_runs: int = 4
    auth_scheme: str = "oauth2_password_bearer"
