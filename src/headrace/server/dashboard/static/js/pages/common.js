// Lists shared by several pages: runs, snapshots, schedules.

import { api, listAll } from "../api.js";
import { h, table, link, statusBadge, formatTime, duration, shortId } from "../dom.js";

export function runsTable(runs, empty = "No runs yet.") {
  return table(
    "Runs",
    ["Run", "Status", "Created", "Duration", "Snapshot"],
    runs.map((run) => [
      link(`#/runs/${run.id}`, run.name),
      statusBadge(run.status),
      formatTime(run.created),
      duration(run.start_time, run.end_time),
      run.snapshot_id ? link(`#/snapshots/${run.snapshot_id}`, shortId(run.snapshot_id)) : "–",
    ]),
    empty,
  );
}

export function snapshotsTable(snapshots, empty = "No snapshots yet.") {
  return table(
    "Snapshots",
    ["Snapshot", "Pipeline", "Runnable", "Created", "Description"],
    snapshots.map((snapshot) => [
      link(`#/snapshots/${snapshot.id}`, snapshot.name || shortId(snapshot.id)),
      snapshot.pipeline_name || "–",
      snapshot.runnable ? "yes" : "no",
      formatTime(snapshot.created),
      snapshot.description || "",
    ]),
    empty,
  );
}

/**
 * Schedules from GET /api/v1/schedules, or null when the server has no schedules API
 * (an older server answers 404 for the path).
 */
export async function fetchSchedules(query = "") {
  try {
    return await listAll(`/schedules${query ? "?" + query : ""}`, 500);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

export function scheduleWhen(schedule) {
  if (schedule.cron_expression) return `cron ${schedule.cron_expression}`;
  if (schedule.interval_second) return `every ${schedule.interval_second} s`;
  if (schedule.run_once_start_time) return `once at ${formatTime(schedule.run_once_start_time)}`;
  return "–";
}

/** The schedules table, with Pause/Resume and Delete buttons for writers. */
export function schedulesView(schedules, { canWrite, onChange }) {
  if (schedules === null) {
    return h("p", { class: "muted empty" }, "No schedules: this server does not offer schedules.");
  }
  const act = async (button, work) => {
    button.disabled = true;
    try {
      await work();
      await onChange();
    } catch (error) {
      button.disabled = false;
      button.after(h("span", { class: "field-error", role: "alert" }, error.message));
    }
  };
  return table(
    "Schedules",
    ["Schedule", "When", "State", "Next run", "Last run", "Actions"],
    schedules.map((schedule) => {
      const name = schedule.name || shortId(schedule.id);
      const actions = [];
      if (canWrite) {
        const toggle = h(
          "button",
          { type: "button", class: "secondary", "aria-label": `${schedule.active ? "Pause" : "Resume"} schedule ${name}` },
          schedule.active ? "Pause" : "Resume",
        );
        toggle.addEventListener("click", () =>
          act(toggle, () =>
            api(`/schedules/${schedule.id}`, { method: "PUT", json: { active: !schedule.active } }),
          ),
        );
        const remove = h(
          "button",
          { type: "button", class: "danger", "aria-label": `Delete schedule ${name}` },
          "Delete",
        );
        remove.addEventListener("click", () => {
          if (!window.confirm(`Delete schedule ${name}?`)) return;
          act(remove, () => api(`/schedules/${schedule.id}`, { method: "DELETE" }));
        });
        actions.push(toggle, " ", remove);
      }
      return [
        name,
        scheduleWhen(schedule),
        h("span", { class: `badge ${schedule.active ? "status-running" : "status-stopped"}` }, schedule.active ? "active" : "paused"),
        formatTime(schedule.next_run_time),
        formatTime(schedule.last_run_time),
        h("span", {}, actions),
      ];
    }),
    "No schedules.",
  );
}
