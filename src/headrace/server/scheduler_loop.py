"""The server's scheduler: fires due schedules by calling ``trigger(schedule)``.

Every ``HEADRACE_SERVER_SCHEDULER_POLL_SECONDS`` (default 1) a thread reads the active
schedules whose next fire time has come and, for each, computes the fire time after it
and moves ``next_run_time`` there with a compare-and-set ``UPDATE``. Only the server
whose update changed the row triggers the run, so each fire time runs once however
many servers share the database.

Fire times missed while no server ran (or while this one was busy) are not lost: a
schedule whose fire time is past is due at the next poll and runs once; its next fire
time is then the first one after now. With ``catchup`` every missed fire time runs
instead, one per poll, oldest first.

What a fire does is the app's choice (``trigger``): the scheduler knows nothing of
runners or queues.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from headrace.models.schedule import ScheduleResponse
from headrace.store.base import SchedulerStore
from headrace.utils.env import ENV_SERVER_SCHEDULER_POLL_SECONDS, env_number

logger = logging.getLogger("headrace.server.scheduler")

ENV_POLL_SECONDS = ENV_SERVER_SCHEDULER_POLL_SECONDS
DEFAULT_POLL_SECONDS = 1.0

Trigger = Callable[[ScheduleResponse], None]


def poll_interval() -> float:
    """Seconds between two looks at the due schedules (``HEADRACE_SERVER_SCHEDULER_POLL_SECONDS``).

    Raises:
        ConfigurationError: the variable is not a number of at least 0.01.
    """
    return env_number(ENV_POLL_SECONDS, DEFAULT_POLL_SECONDS, minimum=0.01)


def following_fire_time(schedule: ScheduleResponse, now: datetime) -> datetime | None:
    """Where ``next_run_time`` goes once its fire time is claimed: the first fire time
    after now (missed ones collapse into the run being made), or with ``catchup`` the
    one after the fire time being claimed."""
    fired = schedule.next_run_time
    assert fired is not None
    after = fired if schedule.catchup else max(fired, now)
    return schedule.timing().fire_time_after(after, schedule.created)


def fire_due(store: SchedulerStore, trigger: Trigger, now: datetime | None = None) -> int:
    """Claim and trigger every schedule due at ``now``; returns how many this call fired."""
    moment = now or datetime.now(UTC)
    fired = 0
    for schedule in store.due_schedules(moment):
        fire_time = schedule.next_run_time
        assert fire_time is not None
        following = following_fire_time(schedule, moment)
        if not store.claim_schedule_fire(schedule.id, fire_time, following):
            continue  # another server took this fire time
        fired += 1
        logger.info(
            "Schedule %s (%s) fired for %s; next: %s",
            schedule.name,
            schedule.id,
            fire_time.isoformat(),
            following.isoformat() if following else "none",
        )
        try:
            trigger(schedule.model_copy(update={"last_run_time": fire_time}))
        except Exception:  # one schedule's failure must not stop the others
            logger.exception("Schedule %s could not start its run", schedule.name)
    return fired


class SchedulerLoop:
    """A daemon thread calling :func:`fire_due` every ``interval`` seconds until closed."""

    def __init__(self, store: SchedulerStore, trigger: Trigger, interval: float) -> None:
        self._store = store
        self._trigger = trigger
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="headrace-scheduler", daemon=True)

    def start(self) -> SchedulerLoop:
        """Start polling; returns ``self``."""
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop polling (a fire in progress finishes first)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                fire_due(self._store, self._trigger)
            except Exception:  # the database may be away for a moment; try again
                logger.exception("The scheduler could not read the due schedules")
            self._stopping.wait(self.interval)
