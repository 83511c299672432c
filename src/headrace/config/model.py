"""``Model``: the model a pipeline or step works on, linked to its runs and artifacts."""

from pydantic import Field, field_validator

from headrace.config.base import ConfigModel
from headrace.enums import ModelStages
from headrace.utils.factories import new_list


class Model(ConfigModel):
    """A model (by name) and the version of it a run works on.

    ``version`` may be a version name (``"v1"``), a number, a stage (``"production"``,
    ``"latest"``) or ``None``, which creates a new numbered version for each run.
    """

    name: str = Field(min_length=1)
    version: str | int | None = None
    description: str | None = None
    license: str | None = None
    audience: str | None = None
    use_cases: str | None = None
    limitations: str | None = None
    trade_offs: str | None = None
    ethics: str | None = None
    tags: list[str] = Field(default_factory=new_list)
    save_models_to_registry: bool = True

    @field_validator("version")
    @classmethod
    def _version_text(cls, value: str | int | ModelStages | None) -> str | int | None:
        if isinstance(value, ModelStages):
            return value.value
        return value

    @property
    def is_stage(self) -> bool:
        """Whether ``version`` names a stage rather than a version."""
        return isinstance(self.version, str) and self.version in {s.value for s in ModelStages}
