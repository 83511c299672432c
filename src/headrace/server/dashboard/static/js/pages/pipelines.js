// Pipelines: each with its run count and the status of its last run.

import { api, listAll } from "../api.js";
import { h, replace, table, link, statusBadge, formatTime } from "../dom.js";

export async function render(main) {
  const pipelines = await listAll("/pipelines?sort_by=asc:name", 500);
  const summaries = await Promise.all(
    pipelines.map((pipeline) =>
      api(`/runs?pipeline_id=${encodeURIComponent(pipeline.id)}&size=1&sort_by=desc:created`),
    ),
  );
  const rows = pipelines.map((pipeline, index) => {
    const page = summaries[index];
    const last = page.items[0];
    return [
      link(`#/pipelines/${pipeline.id}`, pipeline.name),
      String(page.total),
      last ? h("span", {}, statusBadge(last.status), " ", link(`#/runs/${last.id}`, last.name)) : "no runs",
      last ? formatTime(last.created) : "–",
    ];
  });
  replace(
    main,
    h("h1", {}, "Pipelines"),
    table("Pipelines", ["Pipeline", "Runs", "Last run", "Last run created"], rows, "No pipelines yet: run one, or create a snapshot."),
  );
}
