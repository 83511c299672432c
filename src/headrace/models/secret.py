"""Secrets: named sets of key/value pairs, stored encrypted, shown without their values."""

from pydantic import Field

from headrace.models.base import ResponseModel
from headrace.utils.factories import new_list


class SecretResponse(ResponseModel):
    """A secret; ``values`` is filled only when asked for explicitly."""

    name: str
    keys: list[str] = Field(default_factory=new_list)
    values: dict[str, str] | None = Field(default=None, repr=False)

    @property
    def secret_values(self) -> dict[str, str]:
        """The decrypted values (fetch the secret with values to have them)."""
        if self.values is None:
            raise ValueError(f"Secret {self.name!r} was fetched without its values.")
        return dict(self.values)

    def __str__(self) -> str:
        return f"Secret {self.name!r} (keys: {', '.join(self.keys) or 'none'})"
