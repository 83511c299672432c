# The runner image: what a runner Job of the kubernetes/aws workload manager runs
# (`python -m headrace.execution.snapshot_runs RUN_ID`, the command the Job sets), when
# one pre-built image serves every run (HEADRACE_KUBERNETES_WORKLOAD_MANAGER_RUNNER_IMAGE).
#
#   docker build -f deploy/runner.Dockerfile -t registry.example.com/headrace-runner:0.1.0 .
#   docker build -f deploy/runner.Dockerfile --build-arg EXTRAS=postgres,s3,numpy,pandas ...
#
# The runner unpacks the snapshot's code from the artifact store, so the image holds
# headrace and the packages the pipelines' steps import, never the project itself: add
# every library your snapshots need to EXTRAS / REQUIREMENTS.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --gid 10001 headrace \
    && useradd --uid 10001 --gid headrace --create-home --home-dir /home/headrace headrace

WORKDIR /opt/headrace
COPY pyproject.toml README.md ./
COPY src ./src

# postgres: the store; s3: artifacts in S3; kubernetes: runs whose stack uses the
# kubernetes orchestrator (the runner creates the step pods).
ARG EXTRAS=postgres,s3,kubernetes
ARG REQUIREMENTS=""
RUN pip install ".[${EXTRAS}]" ${REQUIREMENTS} \
    && python -c "import headrace.execution.snapshot_runs"

USER 10001:10001
WORKDIR /home/headrace
ENTRYPOINT ["python", "-m", "headrace.execution.snapshot_runs"]
