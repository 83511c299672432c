"""Encryption of secret values at rest (Fernet: AES-128-CBC with HMAC-SHA256).

The key comes from ``HEADRACE_SECRETS_KEY``, else from a key file created on first use
next to the SQLite database (or in the user data directory), readable by its owner only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from headrace.exceptions import SecretError
from headrace.utils.env import ENV_SECRETS_KEY

KEY_FILE = "secrets.key"


class SecretCipher:
    """Encrypts and decrypts secret values with one key."""

    def __init__(self, key_directory: Path) -> None:
        self._key_directory = key_directory
        self._fernet: object | None = None

    def _cipher(self) -> object:
        if self._fernet is None:
            from cryptography.fernet import Fernet

            key = os.environ.get(ENV_SECRETS_KEY)
            if key is None:
                key = self._key_from_file()
            try:
                self._fernet = Fernet(key.encode() if isinstance(key, str) else key)
            except (ValueError, TypeError) as exc:
                raise SecretError(
                    f"The secrets key is not a valid Fernet key (from {ENV_SECRETS_KEY} or "
                    f"{self._key_directory / KEY_FILE}): {exc}"
                ) from exc
        return self._fernet

    def _key_from_file(self) -> str:
        from cryptography.fernet import Fernet

        path = self._key_directory / KEY_FILE
        if not path.exists():
            self._key_directory.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(Fernet.generate_key())
        return path.read_text().strip()

    def encrypt(self, values: dict[str, str]) -> str:
        """Ciphertext of a mapping of secret values."""
        return self._cipher().encrypt(json.dumps(values).encode()).decode()  # type: ignore[attr-defined]

    def decrypt(self, ciphertext: str, name: str) -> dict[str, str]:
        """The values of secret ``name``."""
        from cryptography.fernet import InvalidToken

        try:
            plain = self._cipher().decrypt(ciphertext.encode())  # type: ignore[attr-defined]
        except InvalidToken as exc:
            raise SecretError(
                f"Secret {name!r} cannot be decrypted with the current key; was "
                f"{ENV_SECRETS_KEY} or {KEY_FILE} changed?"
            ) from exc
        return dict(json.loads(plain))
