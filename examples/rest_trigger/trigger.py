"""Trigger the ``daily_report`` snapshot over REST, as a CI job, a webhook or a cron
job would: plain HTTP with an API key, no headrace import, no project code.

    python trigger.py --url http://127.0.0.1:8237 --api-key hrk_... --region north
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import httpx

ENDED = {"completed", "failed", "stopped", "cached"}


def trigger(client: httpx.Client, snapshot: str, parameters: dict[str, object]) -> dict:
    """Start a run of the snapshot; the server answers at once with the new run."""
    answer = client.post(
        f"/api/v1/pipeline_snapshots/{snapshot}/runs", json={"parameters": parameters}
    )
    if answer.status_code == 422:
        problems = answer.json().get("problems") or [answer.json()["detail"]]
        sys.exit("the server refused the run configuration:\n  " + "\n  ".join(problems))
    answer.raise_for_status()
    return answer.json()


def wait(client: httpx.Client, run_id: str, timeout_s: float) -> dict:
    """Poll the run until it has ended."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = client.get(f"/api/v1/runs/{run_id}").raise_for_status().json()
        if run["status"] in ENDED:
            return run
        if time.monotonic() > deadline:
            sys.exit(f"run {run['name']} still {run['status']} after {timeout_s} s")
        time.sleep(0.2)


def steps(client: httpx.Client, run_id: str) -> dict:
    """The run's steps by name, each with its status, error and output versions."""
    return client.get(f"/api/v1/runs/{run_id}/steps").raise_for_status().json()


def report(client: httpx.Client, run_steps: dict) -> object:
    """The ``summary`` output of the ``summarize`` step, read back over REST."""
    version = run_steps["summarize"]["outputs"]["summary"][0]
    data = client.get(f"/api/v1/artifact_versions/{version['id']}/data")
    return data.raise_for_status().json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("HEADRACE_URL", "http://127.0.0.1:8237"))
    parser.add_argument("--api-key", default=os.environ.get("HEADRACE_STORE_API_KEY"))
    parser.add_argument("--snapshot", default="daily_report")
    parser.add_argument("--region", default="all")
    parser.add_argument("--large-order", type=float, default=100.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    if not args.api_key:
        parser.error("--api-key (or HEADRACE_STORE_API_KEY) is required")
    headers = {"X-API-Key": args.api_key}
    with httpx.Client(base_url=args.url, headers=headers, timeout=30.0) as client:
        parameters = {"region": args.region, "large_order": args.large_order}
        run = trigger(client, args.snapshot, parameters)
        print(f"triggered run {run['name']} ({run['status']})")
        run = wait(client, run["id"], args.timeout)
        print(f"run {run['name']} {run['status']}")
        run_steps = steps(client, run["id"])
        if run["status"] != "completed":
            for name, step in run_steps.items():
                if step.get("error"):
                    print(f"step {name} failed: {step['error'].get('message')}")
            sys.exit(1)
        print(f"report: {json.dumps(report(client, run_steps))}")


if __name__ == "__main__":
    main()
