"""``RequestModel.constructed`` gives exactly what pydantic's ``model_construct`` gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import headrace.models as models
from headrace.enums import ArtifactType, ExecutionStatus
from headrace.models.base import RequestModel, _construct_plan


def _request_models() -> list[type[RequestModel]]:
    found: list[type[RequestModel]] = []
    pending = list(RequestModel.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__qualname__)


def _same(left: RequestModel, right: RequestModel) -> None:
    assert type(left) is type(right)
    assert left.__dict__ == right.__dict__
    assert list(left.__dict__) == list(right.__dict__)  # field order too
    assert left.model_fields_set == right.model_fields_set
    assert left.__pydantic_extra__ == right.__pydantic_extra__
    assert left.__pydantic_private__ == right.__pydantic_private__


@pytest.mark.parametrize("cls", _request_models(), ids=lambda c: c.__qualname__)
def test_every_request_model_without_values_matches_construct(cls: type[RequestModel]) -> None:
    _same(cls.constructed(), cls.model_construct(_fields_set=set()))


def test_a_steps_records_take_the_planned_path_and_match_model_construct() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    cases = [
        (
            models.ArtifactVersionRequest,
            {
                "id": "a" * 32,
                "artifact_name": "p::s::output",
                "uri": "/tmp/x",
                "materializer": "m.M",
                "data_type": "builtins.int",
                "content_hash": "h",
                "size": 3,
                "type": ArtifactType.DATA,
                "metadata": {"storage_size": 3},
            },
        ),
        (models.StepRunUpdate, {"status": ExecutionStatus.COMPLETED, "end_time": at}),
    ]
    for cls, values in cases:
        assert _construct_plan(cls) is not None, cls.__qualname__
        built = cls.constructed(**values)
        _same(built, cls.model_construct(_fields_set=set(values), **values))
        assert built.model_dump() == cls.model_construct(**values).model_dump()


def test_defaults_from_factories_are_fresh_per_model() -> None:
    first = models.ArtifactVersionRequest.constructed()
    second = models.ArtifactVersionRequest.constructed()
    assert first.metadata == {} and first.metadata is not second.metadata


def test_unknown_names_are_ignored_as_model_construct_does() -> None:
    built = models.StepRunUpdate.constructed(not_a_field=1)
    assert "not_a_field" not in built.__dict__
    _same(built, models.StepRunUpdate.model_construct(_fields_set={"not_a_field"}, not_a_field=1))
