"""What the dashboard's Run form needs beyond the snapshot itself:

* ``GET /api/v1/pipeline_snapshots/{id}/form``: one field per parameter (type, default,
  description, JSON Schema), the commented YAML configuration template, and whether the
  caller may run the snapshot (the page shows no Run button otherwise);
* ``POST /api/v1/pipeline_snapshots/{id}/form/yaml``: the YAML editor's text (or an
  uploaded ``.yaml`` file) as a run configuration object, read with the same safe loader
  and limits as every YAML headrace reads. The page then posts that object to the usual
  trigger, which validates it against the snapshot.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from headrace.exceptions import ConfigurationError
from headrace.server.auth import may_run_snapshot
from headrace.server.deps import ReadAccess, StoreDep
from headrace.server.names import NameOrId
from headrace.snapshots.form import FormField, form_fields
from headrace.snapshots.template import config_template_yaml

router = APIRouter(tags=["snapshots"])
MAX_YAML_CHARS = 1_000_000


class RunForm(BaseModel):
    """The Run form of one snapshot."""

    snapshot_id: str
    fields: list[dict[str, Any]]
    template_yaml: str
    may_run: bool


class YamlText(BaseModel):
    """A run configuration as YAML text."""

    yaml: str = Field(max_length=MAX_YAML_CHARS)


class ParsedConfiguration(BaseModel):
    """The YAML text as a run configuration object."""

    configuration: dict[str, Any]


def _as_dict(field: FormField) -> dict[str, Any]:
    return jsonable_encoder(field.__dict__)


@router.get("/pipeline_snapshots/{name_or_id}/form", response_model=RunForm)
def get_run_form(store: StoreDep, caller: ReadAccess, name_or_id: NameOrId) -> RunForm:
    """The fields, configuration template and permission the Run form is drawn from."""
    snapshot = store.get_snapshot(name_or_id)
    return RunForm(
        snapshot_id=snapshot.id,
        fields=[_as_dict(field) for field in form_fields(snapshot)],
        template_yaml=config_template_yaml(snapshot),
        may_run=snapshot.runnable and may_run_snapshot(caller, snapshot),
    )


@router.post("/pipeline_snapshots/{name_or_id}/form/yaml", response_model=ParsedConfiguration)
def parse_run_yaml(
    store: StoreDep, caller: ReadAccess, name_or_id: NameOrId, body: YamlText
) -> ParsedConfiguration:
    """Read the editor's YAML into a run configuration object (nothing is started)."""
    from headrace.config.yaml_loader import load_yaml_text

    store.get_snapshot(name_or_id)  # 404 for an unknown snapshot
    data = load_yaml_text(body.yaml, "the YAML configuration")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            "The YAML configuration must be a mapping of run options (steps:, "
            f"parameters:, ...), got {type(data).__name__}."
        )
    return ParsedConfiguration(configuration=jsonable_encoder(data))
