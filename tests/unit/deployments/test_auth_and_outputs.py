"""The deployment key check and the JSON form of pipeline outputs."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from pydantic import BaseModel

from headrace.deployments.auth import Authenticator, hash_key, new_key
from headrace.deployments.outputs import jsonable
from headrace.exceptions import AuthenticationError


def test_only_the_deployment_key_is_accepted() -> None:
    key = new_key()
    assert key.startswith("hrd_") and len(key) > 40 and key != new_key()
    authenticator = Authenticator(hash_key(key))
    authenticator.check(f"Bearer {key}")
    authenticator.check(f"bearer   {key}")
    for header in (None, "", "Bearer", f"Basic {key}", "Bearer hrd_other", key):
        with pytest.raises(AuthenticationError):
            authenticator.check(header)


def test_without_a_key_every_request_is_accepted() -> None:
    Authenticator(None).check(None)


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Box(BaseModel):
    size: float
    tags: set[str]


def test_outputs_become_json_values() -> None:
    assert jsonable({"a": (1, 2), "b": [None, True]}) == {"a": [1, 2], "b": [None, True]}
    assert jsonable(Point(1, 2)) == {"x": 1, "y": 2}
    assert jsonable(Box(size=1.5, tags={"t"})) == {"size": 1.5, "tags": ["t"]}
    assert jsonable(datetime.date(2026, 1, 2)) == "2026-01-02"
    assert jsonable({1: "a"}) == {"1": "a"}


def test_arrays_become_lists() -> None:
    numpy = pytest.importorskip("numpy", reason="numpy is an optional extra")
    assert jsonable(numpy.arange(3)) == [0, 1, 2]
