"""Resources a step asks for; recorded, and honoured by orchestrators that can."""

from pydantic import Field

from headrace.config.base import ConfigModel


class ResourceSettings(ConfigModel):
    """CPU, GPU and memory a step needs."""

    cpu_count: float | None = Field(default=None, gt=0)
    gpu_count: int | None = Field(default=None, ge=0)
    memory: str | None = Field(
        default=None, pattern=r"^\d+(\.\d+)?\s*(KB|KiB|MB|MiB|GB|GiB|TB|TiB)?$"
    )
