"""Ray runs with the S3 artifact store, end to end: a real two-node Ray cluster
(``tests/ray_cluster.py``) and moto's S3 server on 127.0.0.1 (``tests/s3_server.py``).

Nothing but the store's database is shared between the driver and the Ray workers on a
local disk: artifacts, step logs and the code archive the workers import steps from all
live in the bucket, and the workers find their credentials through a secret of the store
(not the environment, which the cluster's nodes do not share with this process).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.client import Client
from ray_cluster import RAY_GROUP, use_ray_orchestrator
from s3_server import (  # noqa: F401 - fixtures
    FAKE_CREDENTIALS,
    s3_bucket,
    s3_endpoint,
    use_s3_artifact_store,
)

np = pytest.importorskip("numpy")

pytestmark = [RAY_GROUP]


@step(enable_cache=False)
def ray_worker_pid() -> int:
    return os.getpid()


@step
def make_array(n: int) -> tuple[Annotated[Any, "array"], Annotated[str, "text"]]:
    print(f"array of {n} made on a Ray worker")
    return np.arange(n, dtype=np.float64), "x" * n


@step
def array_sum(array: Any, offset: int) -> float:
    return float(array.sum()) + offset


@step
def total(values: list[float]) -> float:
    return sum(values)


@pytest.fixture
def ray_on_s3(repo: Path, ray_address: str, s3_endpoint: str, s3_bucket: str) -> str:  # noqa: F811
    """The active stack: the Ray cluster and ``s3://BUCKET/artifacts`` on moto, with
    credentials from a secret."""
    # A project file: runs then carry a code archive, which lives in the bucket and is
    # fetched from there by the workers (the steps themselves are importable there).
    (repo / "pyproject.toml").write_text("[project]\nname = 'ray-s3-test-project'\n")
    path = use_s3_artifact_store(s3_endpoint, s3_bucket)
    use_ray_orchestrator(ray_address)
    return path


def _keys(endpoint: str, path: str) -> list[str]:
    import s3fs

    filesystem = s3fs.S3FileSystem(
        key=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        client_kwargs={"endpoint_url": endpoint},
        skip_instance_cache=True,
    )
    return list(filesystem.find(path.removeprefix("s3://")))


def test_a_fan_out_on_ray_with_artifacts_logs_and_code_on_s3(
    ray_on_s3: str,
    s3_endpoint: str,  # noqa: F811
) -> None:
    @pipeline
    def fan(n: int) -> None:
        ray_worker_pid(id="pid")
        array, _ = make_array(n)
        total([array_sum(array, i, id=f"sum_{i}") for i in range(4)])

    n = 4096  # 32 KiB: above the size kept inline in the record, so it goes to S3
    run = fan(n=n)
    assert run.status is ExecutionStatus.COMPLETED
    steps = Client().get_pipeline_run(run.id).steps
    assert steps["pid"].output.load() != os.getpid()  # the steps ran on Ray workers
    assert steps["total"].output.load() == 4 * float(sum(range(n))) + 6
    array = steps["make_array"].outputs["array"][0]
    assert array.uri.startswith(f"{ray_on_s3}/runs/{run.id}/")
    assert array.load().tolist() == list(range(n))
    assert f"array of {n} made on a Ray worker" in steps["make_array"].logs
    assert (steps["make_array"].logs_uri or "").startswith(f"{ray_on_s3}/logs/")
    keys = _keys(s3_endpoint, ray_on_s3)
    assert any(k.endswith("data.npy") for k in keys)
    assert not any(".tmp-" in k for k in keys)  # no temporaries left behind
    # The workers imported the steps from the code archive in the bucket.
    assert any("/code/" in k and k.endswith(".tar.gz") for k in keys), keys

    again = fan(n=n)
    statuses = {name: s.status for name, s in Client().get_pipeline_run(again.id).steps.items()}
    assert statuses.pop("pid") is ExecutionStatus.COMPLETED  # caching is off for it
    assert set(statuses.values()) == {ExecutionStatus.CACHED}


def test_a_dynamic_pipeline_on_ray_loads_outputs_from_s3(ray_on_s3: str) -> None:
    @pipeline(dynamic=True, enable_cache=False)
    def grows(n: int) -> None:
        array, text = make_array(n)
        for i in range(len(text.load())):  # read back from the bucket by the driver
            array_sum(array, i, id=f"sum_{i}")

    run = grows(n=3)
    assert run.status is ExecutionStatus.COMPLETED
    steps = Client().get_pipeline_run(run.id).steps
    assert [steps[f"sum_{i}"].output.load() for i in range(3)] == [3.0, 4.0, 5.0]
    assert sorted(steps) == ["make_array", "sum_0", "sum_1", "sum_2"]
