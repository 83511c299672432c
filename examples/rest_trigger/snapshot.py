"""Freeze the report pipeline into the snapshot ``daily_report`` on the current store.

Point it at a server first (``headrace login URL``, or ``HEADRACE_STORE_URL`` with
``HEADRACE_STORE_API_KEY``); then anyone, or any program, can run the snapshot over
REST without this code.
"""

from __future__ import annotations

from pipelines import daily_report

if __name__ == "__main__":
    snapshot = daily_report.create_snapshot(name="daily_report", replace=True)
    print(f"snapshot {snapshot.name} ({snapshot.id}) is ready to trigger")
