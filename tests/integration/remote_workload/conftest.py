"""Fixtures of the remote workload managers' tests (see ``tests/workload_runs.py``)."""

from s3_server import s3_bucket, s3_endpoint  # noqa: F401 - fixtures
from workload_runs import record_run, snapshot_project  # noqa: F401 - fixtures
