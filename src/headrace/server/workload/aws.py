"""The ``aws`` workload manager: the ``kubernetes`` one on EKS, with runner logs kept in
S3 and runner images pushed to ECR.

- **External logs** (``HEADRACE_KUBERNETES_WORKLOAD_MANAGER_ENABLE_EXTERNAL_LOGS=true``):
  when a runner Job ends (or is stopped), its pod's log is copied to
  ``HEADRACE_AWS_KUBERNETES_WORKLOAD_MANAGER_BUCKET`` (a bucket name, written under
  ``s3://BUCKET/headrace/runner-logs/``, or any fsspec URL such as ``s3://bucket/prefix``
  or ``gs://...``), so they outlive the pod and the Job's TTL. ``logs`` reads them from
  there once they exist. The server's pods need write access to the bucket.
- **ECR** (``BUILD_RUNNER_IMAGE=true`` with ``DOCKER_REGISTRY`` an ECR registry,
  ``ACCOUNT.dkr.ecr.REGION.amazonaws.com[/prefix]``): before a build the manager creates
  the image's repository in ``HEADRACE_AWS_KUBERNETES_WORKLOAD_MANAGER_REGION`` when it
  is missing (ECR refuses pushes to a repository that does not exist); kaniko pushes with
  the ECR credential helper, from the builder pod's service account (IRSA or EKS Pod
  Identity granting ``ecr:*Upload*``/``PutImage`` on the repository).

AWS is reached with boto3's and s3fs's usual credential chain and endpoint settings
(``AWS_ENDPOINT_URL`` points both at an S3/ECR-compatible service).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar, Self

from headrace.exceptions import WorkloadManagerError
from headrace.server.workload.base import JobState
from headrace.server.workload.kubernetes import KubernetesWorkloadManager
from headrace.server.workload.kubernetes_settings import (
    ENV_BUILD_RUNNER_IMAGE,
    ENV_ENABLE_EXTERNAL_LOGS,
    KubernetesWorkloadSettings,
)
from headrace.server.workload.settings import EnvironmentReader

ENV_AWS_BUCKET = "HEADRACE_AWS_KUBERNETES_WORKLOAD_MANAGER_BUCKET"
ENV_AWS_REGION = "HEADRACE_AWS_KUBERNETES_WORKLOAD_MANAGER_REGION"
LOG_PREFIX = "headrace/runner-logs"
_ECR = re.compile(r"^(?P<host>\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)/")


def logs_base(bucket: str) -> str:
    """Where runner logs go: ``bucket`` as a URL, or a bucket name's log prefix in S3."""
    if "://" in bucket:
        return bucket.rstrip("/")
    return f"s3://{bucket.strip('/')}/{LOG_PREFIX}"


class AWSWorkloadManager(KubernetesWorkloadManager):
    """Runner Jobs on EKS; logs in S3 (or any fsspec URL); runner images in ECR."""

    name: ClassVar[str] = "aws"

    def __init__(
        self,
        settings: KubernetesWorkloadSettings,
        *,
        bucket: str | None = None,
        region: str | None = None,
    ) -> None:
        super().__init__(settings)
        self.region = region
        self.logs_url = logs_base(bucket) if bucket and settings.enable_external_logs else None
        self._stored: set[str] = set()  # handles whose logs this process stored or saw

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Self:
        """The ``kubernetes`` settings plus the bucket and region of the aws manager."""
        from headrace.server.workload.kubernetes_settings import settings_from_environment

        settings, reader = settings_from_environment(environ, cls.name)
        cls.check_settings(settings, reader)
        bucket = reader.string(
            ENV_AWS_BUCKET,
            required=settings.enable_external_logs,
            why=f"{ENV_ENABLE_EXTERNAL_LOGS} is true: runner logs are stored there",
        )
        region = reader.string(
            ENV_AWS_REGION,
            required=settings.build_runner_image,
            why=f"{ENV_BUILD_RUNNER_IMAGE} is true: the ECR repository is made there",
        )
        reader.check()
        return cls(settings, bucket=bucket, region=region)

    @classmethod
    def check_settings(
        cls, settings: KubernetesWorkloadSettings, reader: EnvironmentReader
    ) -> None:
        """External logs are this manager's to keep: nothing to refuse."""

    # -- logs -------------------------------------------------------------------------
    def finished(self, handle: str, state: JobState) -> None:
        if self.logs_url is None or handle in self._stored:
            return
        import fsspec

        target = self._log_path(handle)
        try:
            fs, path = fsspec.core.url_to_fs(target, **self._storage_options())
            if not fs.exists(path):  # else kept already (by another server)
                text = super().logs(handle)
                with fs.open(path, "w", encoding="utf-8") as file:
                    file.write(text)
            self._stored.add(handle)
        except Exception as exc:
            raise WorkloadManagerError(
                f"Cannot store the logs of runner Job {handle} at {target} ({ENV_AWS_BUCKET}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def logs(self, handle: str) -> str:
        if self.logs_url is not None:
            import fsspec

            fs, path = fsspec.core.url_to_fs(self._log_path(handle), **self._storage_options())
            if fs.exists(path):
                return str(fs.cat_file(path).decode("utf-8", errors="replace"))
        return super().logs(handle)

    def _log_path(self, handle: str) -> str:
        assert self.logs_url is not None
        return f"{self.logs_url}/{handle}.log"

    def _storage_options(self) -> dict[str, object]:
        if self.region and self.logs_url is not None and self.logs_url.startswith("s3://"):
            return {"client_kwargs": {"region_name": self.region}}
        return {}

    # -- ECR --------------------------------------------------------------------------
    def prepare_registry(self, image: str) -> None:
        """Create the image's ECR repository if it is missing (ECR refuses pushes to a
        repository that does not exist); other registries are left alone."""
        match = _ECR.match(image)
        if match is None:
            return
        repository = image[len(match.group("host")) + 1 :].rsplit(":", 1)[0]
        import botocore.session  # s3fs's dependency: no boto3 needed

        session = botocore.session.get_session()
        client = session.create_client("ecr", region_name=self.region or match.group("region"))
        try:
            client.create_repository(repositoryName=repository)
        except client.exceptions.RepositoryAlreadyExistsException:
            return
        except Exception as exc:
            raise WorkloadManagerError(
                f"Cannot create the ECR repository {repository!r} for the runner image "
                f"{image}: {type(exc).__name__}: {exc}"
            ) from exc
