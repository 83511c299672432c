// One pipeline: its runs, snapshots and schedules.

import { api, listAll } from "../api.js";
import { h, replace, section } from "../dom.js";
import { runsTable, snapshotsTable, fetchSchedules, schedulesView } from "./common.js";

export async function render(main, [id], context) {
  const pipeline = await api(`/pipelines/${encodeURIComponent(id)}`);
  const schedulesSection = section("Schedules");
  const drawSchedules = async () => {
    const schedules = await fetchSchedules(`pipeline_id=${encodeURIComponent(pipeline.id)}`);
    replace(
      schedulesSection,
      h("h2", {}, "Schedules"),
      schedulesView(schedules, { canWrite: context.canWrite(), onChange: drawSchedules }),
    );
  };
  const [runs, snapshots] = await Promise.all([
    listAll(`/runs?pipeline_id=${encodeURIComponent(pipeline.id)}&sort_by=desc:created`, 100),
    listAll(`/pipeline_snapshots?pipeline_id=${encodeURIComponent(pipeline.id)}`, 200),
  ]);
  await drawSchedules();
  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Pipelines"), " / "),
    h("h1", {}, pipeline.name),
    pipeline.docstring ? h("p", { class: "doc" }, pipeline.docstring) : null,
    section("Runs", runsTable(runs)),
    section("Snapshots", snapshotsTable(snapshots)),
    schedulesSection,
  );
}
