"""Let the server run the report by itself: a schedule of ``daily_report`` every few
seconds (a real project would say ``cron_expression="0 6 * * *"``), the first run it
fires waited for, then the schedule paused and deleted.

Needs a connection to a server (``headrace login URL``, or ``HEADRACE_STORE_URL`` with
``HEADRACE_STORE_API_KEY``): only a server fires schedules.

    python schedule.py --every 3 --region south
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta

from pipelines import daily_report

from headrace.client import Client
from headrace.config import Schedule

ENDED = {"completed", "failed", "stopped", "cached"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=3.0, help="seconds between runs")
    parser.add_argument("--region", default="all")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    every = Schedule(name="report-every-few-seconds", interval_second=timedelta(seconds=args.every))
    schedule = daily_report.with_options(schedule=every)(region=args.region)
    print(f"schedule {schedule.name} runs snapshot {schedule.snapshot_name}")

    client = Client()
    deadline = time.monotonic() + args.timeout
    while True:
        runs = client.list_pipeline_runs(snapshot_id=str(schedule.snapshot_id))
        ended = [run for run in runs if run.status.value in ENDED]
        if ended:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"no scheduled run ended within {args.timeout} s")
        time.sleep(0.5)
    first = ended[-1]
    print(f"the scheduler ran {first.name}: {first.status.value}")
    if first.status.value == "completed":
        print(f"report: {json.dumps(first.outputs['report'].load())}")

    paused = client.update_schedule(str(schedule.id), active=False)
    print(f"schedule {paused.name} paused (active: {paused.active})")
    client.delete_schedule(str(schedule.id))
    print(f"schedule {schedule.name} deleted; its snapshot and runs stay")


if __name__ == "__main__":
    main()
