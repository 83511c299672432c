"""Secrets: names and keys in the clear, values encrypted with the store's key."""

from __future__ import annotations

from headrace.exceptions import EntityExistsError, StoreConflictError, StoreError
from headrace.models import SecretResponse
from headrace.store.sql.database import Record
from headrace.store.sql.query import insert_sql, update_sql
from headrace.store.sql.repositories.base import Repository, SqlContext, new_id, now
from headrace.store.sql.secrets import SecretCipher


class SecretRepository(Repository):
    """The ``secrets`` table."""

    table = "secrets"
    kind = "secret"

    def __init__(self, sql: SqlContext, cipher: SecretCipher) -> None:
        super().__init__(sql)
        self.cipher = cipher

    def to_model(self, row: Record, values: dict[str, str] | None) -> SecretResponse:
        """The response of one row, with values only when given."""
        return SecretResponse(
            id=row.id, created=row.created, name=row.name, keys=row["keys"], values=values
        ).attach(self.context)

    def create(self, name: str, values: dict[str, str]) -> SecretResponse:
        """Store a new secret; its name must be unique."""
        check_secret_values(name, values)
        at = now()
        row = {
            "id": new_id(),
            "name": name,
            "created": at,
            "updated": at,
            "keys": sorted(values),
            "ciphertext": self.cipher.encrypt(values),
        }
        try:
            with self.sql.write() as conn:
                conn.run(insert_sql("secrets", tuple(row)), row)
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            raise EntityExistsError(
                f"A secret named {name!r} already exists; update it or delete it first."
            ) from exc
        return self.get(name)

    def get(self, name_or_id: str, *, with_values: bool = False) -> SecretResponse:
        """A secret, decrypted only when ``with_values``."""
        with self.sql.read() as conn:
            row = self.find(conn, name_or_id)
        values = self.cipher.decrypt(row.ciphertext, row.name) if with_values else None
        return self.to_model(row, values)

    def list(self) -> list[SecretResponse]:
        """Every secret by name, without values."""
        with self.sql.read() as conn:
            rows = conn.execute("SELECT * FROM secrets ORDER BY name")
        return [self.to_model(row, None) for row in rows]

    def update(
        self, name_or_id: str, values: dict[str, str], *, replace: bool = False
    ) -> SecretResponse:
        """Add or change keys (``replace``: drop the keys not given)."""
        current = self.get(name_or_id, with_values=True)
        merged = dict(values) if replace else {**current.secret_values, **values}
        check_secret_values(current.name, merged)
        with self.sql.write() as conn:
            conn.run(
                update_sql("secrets", ("keys", "ciphertext", "updated")),
                {
                    "_id": current.id,
                    "keys": sorted(merged),
                    "ciphertext": self.cipher.encrypt(merged),
                    "updated": now(),
                },
            )
        return self.get(current.id)

    def delete(self, name_or_id: str) -> None:
        """Remove a secret."""
        with self.sql.read() as conn:
            row = self.find(conn, name_or_id)
        with self.sql.write() as conn:
            conn.run("DELETE FROM secrets WHERE id = :_id", {"_id": row.id})


def check_secret_values(name: str, values: dict[str, str]) -> None:
    """Refuse a bad name, an empty secret and keys or values that are not non-empty
    strings."""
    from headrace.utils.names import secret_name_problem

    problem = secret_name_problem(name)
    if problem is not None:
        raise StoreError(f"Secret name {name!r} {problem}.")
    if not values:
        raise StoreError(f"Secret {name!r} needs at least one key=value pair.")
    bad = [
        k for k, v in values.items() if not isinstance(k, str) or not isinstance(v, str) or not k
    ]
    if bad:
        raise StoreError(f"Secret {name!r}: keys and values must be non-empty strings ({bad}).")
