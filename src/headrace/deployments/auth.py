"""Who may invoke a deployment: its own bearer key, or a token of the configured server.

A deployment made with a key (``--auth``, the default) gets a random key shown once;
the store keeps only its SHA-256 hash (the key has 256 bits of entropy, so a plain hash
is enough and costs a microsecond per request, unlike a password hash). When a headrace
server is configured (the store is one, or ``HEADRACE_DEPLOYMENT_SERVER_URL`` names
one), a bearer token or API key of that server's accounts is accepted too: the service
asks the server who the token belongs to (``GET /api/v1/current-user``) and remembers a
positive answer for ``HEADRACE_DEPLOYMENT_TOKEN_CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from headrace.exceptions import AuthenticationError

KEY_PREFIX = "hrd_"
ENV_SERVER_URL = "HEADRACE_DEPLOYMENT_SERVER_URL"
ENV_TOKEN_CACHE_SECONDS = "HEADRACE_DEPLOYMENT_TOKEN_CACHE_SECONDS"
DEFAULT_TOKEN_CACHE_SECONDS = 60.0


def new_key() -> str:
    """A fresh deployment key (shown once, never stored)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """What the store keeps of a key."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class Authenticator:
    """Checks the ``Authorization`` header of a request."""

    def __init__(
        self,
        key_hash: str | None,
        server_url: str | None = None,
        cache_seconds: float = DEFAULT_TOKEN_CACHE_SECONDS,
    ) -> None:
        self.key_hash = key_hash
        self.server_url = server_url.rstrip("/") if server_url else None
        self.cache_seconds = cache_seconds
        self._accepted: dict[str, float] = {}  # token hash -> valid until (monotonic)
        self._lock = threading.Lock()

    @property
    def required(self) -> bool:
        """Whether requests must carry a credential at all."""
        return self.key_hash is not None

    def check(self, authorization: str | None) -> None:
        """Accept the request or raise.

        Raises:
            AuthenticationError: no bearer credential, or one that is neither the
                deployment's key nor a token the server accepts.
        """
        if not self.required:
            return
        scheme, _, credential = (authorization or "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise AuthenticationError(
                "This deployment needs a bearer key: send 'Authorization: Bearer <key>' "
                "(the key shown when it was deployed, or a token of its server)."
            )
        digest = hash_key(credential)
        assert self.key_hash is not None
        if hmac.compare_digest(digest, self.key_hash):
            return
        if self.server_url is not None and self._server_accepts(credential, digest):
            return
        raise AuthenticationError("The bearer key is not valid for this deployment.")

    def _server_accepts(self, token: str, digest: str) -> bool:
        now = time.monotonic()
        with self._lock:
            until = self._accepted.get(digest)
            if until is not None and until > now:
                return True
        import httpx

        try:
            answer = httpx.get(
                f"{self.server_url}/api/v1/current-user",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10.0,
            )
        except httpx.HTTPError:
            return False
        if answer.status_code != 200:
            return False
        with self._lock:
            self._accepted[digest] = now + self.cache_seconds
        return True
