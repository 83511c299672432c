// One run: its graph coloured by status (updated live while it runs), a timeline, the
// runs its steps triggered and the step that triggered it, and "New snapshot".

import { api, listAll } from "../api.js";
import { h, replace, section, facts, statusBadge, formatTime, duration, link, shortId, errorBox, FINISHED } from "../dom.js";
import { DagView } from "../dag.js";
import { runsTable } from "./common.js";

const POLL_MS = 1000;
const GRAPH_KEY = "graph_snapshot_id";

function graphOf(run, spec) {
  const steps = run.steps || {};
  const ids = spec ? Object.keys(spec.steps) : [];
  for (const id of Object.keys(steps)) if (!spec || !(id in spec.steps)) ids.push(id);
  const nodes = ids.map((id) => {
    const step = steps[id];
    return {
      id,
      label: id,
      status: step ? step.status : FINISHED.has(run.status) ? "not-run" : "pending",
      cached: !!step && (step.status === "cached" || !!step.original_step_run_id),
      attempts: step ? step.attempts : 0,
      href: step ? `#/steps/${step.id}` : null,
    };
  });
  const edges = [];
  if (spec) for (const [id, step] of Object.entries(spec.steps)) for (const parent of step.upstream || []) edges.push([parent, id]);
  return { nodes, edges };
}

async function specOf(run, cache) {
  const graphId = run.run_metadata && typeof run.run_metadata[GRAPH_KEY] === "string" ? run.run_metadata[GRAPH_KEY] : run.snapshot_id;
  if (!graphId) return null;
  if (!cache.has(graphId)) {
    try {
      cache.set(graphId, (await api(`/pipeline_snapshots/${encodeURIComponent(graphId)}`)).spec);
    } catch (error) {
      if (error.status !== 404) throw error;
      cache.set(graphId, null);
    }
  }
  return cache.get(graphId);
}

function timeline(run) {
  const steps = Object.entries(run.steps || {}).filter(([, step]) => step.start_time);
  if (!steps.length) return h("p", { class: "muted empty" }, "No step has started yet.");
  const parse = (v) => new Date(v.endsWith("Z") || v.includes("+") ? v : v + "Z").getTime();
  const now = Date.now();
  const start = Math.min(...steps.map(([, step]) => parse(step.start_time)));
  const end = Math.max(...steps.map(([, step]) => (step.end_time ? parse(step.end_time) : now)));
  const total = Math.max(1, end - start);
  steps.sort((a, b) => parse(a[1].start_time) - parse(b[1].start_time));
  const rows = steps.map(([id, step]) => {
    const bar = h("span", { class: `bar status-${step.status}`, title: `${id}: ${duration(step.start_time, step.end_time)}` });
    const from = parse(step.start_time) - start;
    const to = (step.end_time ? parse(step.end_time) : now) - start;
    bar.style.left = `${(100 * from) / total}%`;
    bar.style.width = `${Math.max(0.3, (100 * (to - from)) / total)}%`;
    return h(
      "li",
      {},
      h("a", { href: `#/steps/${step.id}`, class: "timeline-name" }, id),
      h("span", { class: "timeline-track" }, bar),
      h("span", { class: "timeline-time" }, duration(step.start_time, step.end_time)),
    );
  });
  return h("ol", { class: "timeline", "aria-label": "Timeline of the steps" }, rows);
}

function newSnapshotForm(run, context) {
  const name = h("input", { id: "new-snapshot-name", name: "name", required: true, autocomplete: "off" });
  const message = h("p", { class: "field-error", id: "new-snapshot-error", role: "alert" });
  const form = h(
    "form",
    { class: "inline-form", "aria-describedby": "new-snapshot-error" },
    h("div", { class: "field" }, h("label", { for: "new-snapshot-name" }, "Snapshot name"), name),
    h("button", { type: "submit" }, "Create snapshot"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    try {
      const snapshot = await api(`/runs/${run.id}/snapshot`, { method: "POST", json: { name: name.value } });
      context.navigate(`/snapshots/${snapshot.id}`);
    } catch (error) {
      message.textContent = error.message;
    }
  });
  return section("New snapshot", h("p", { class: "muted" }, "A runnable snapshot that runs what this run ran."), form);
}

export async function render(main, [id], context) {
  performance.clearMarks("headrace-dag-start");
  performance.clearMarks("headrace-dag-end");
  performance.clearMeasures("headrace-dag");
  let run = await api(`/runs/${encodeURIComponent(id)}`);
  const specs = new Map();
  let spec = await specOf(run, specs);

  const status = h("span", { id: "run-status" }, statusBadge(run.status));
  const details = h("div");
  const triggerInfo = h("div");
  const dagPanel = h("div", { id: "panel-graph", role: "tabpanel", "aria-labelledby": "tab-graph", class: "dag" });
  const timelinePanel = h("div", { id: "panel-timeline", role: "tabpanel", "aria-labelledby": "tab-timeline", hidden: true });
  const tab = (key, text, selected) =>
    h("button", { type: "button", role: "tab", id: `tab-${key}`, "aria-controls": `panel-${key}`, "aria-selected": selected ? "true" : "false", class: "tab" }, text);
  const graphTab = tab("graph", "Graph", true);
  const timelineTab = tab("timeline", "Timeline", false);
  const select = (graph) => {
    graphTab.setAttribute("aria-selected", String(graph));
    timelineTab.setAttribute("aria-selected", String(!graph));
    dagPanel.hidden = !graph;
    timelinePanel.hidden = graph;
    if (!graph) replace(timelinePanel, timeline(run));
  };
  graphTab.addEventListener("click", () => select(true));
  timelineTab.addEventListener("click", () => select(false));
  const tabs = h("div", { role: "tablist", "aria-label": "Run views", class: "tabs" }, graphTab, timelineTab);
  tabs.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    const graph = graphTab.getAttribute("aria-selected") !== "true";
    select(graph);
    (graph ? graphTab : timelineTab).focus();
  });

  const drawDetails = () => {
    replace(status, statusBadge(run.status));
    replace(
      details,
      facts([
        ["Status", status],
        ["Pipeline", run.pipeline_id ? link(`#/pipelines/${run.pipeline_id}`, run.pipeline_name || shortId(run.pipeline_id)) : "–"],
        ["Snapshot", run.snapshot_id ? link(`#/snapshots/${run.snapshot_id}`, shortId(run.snapshot_id)) : "–"],
        ["Started", formatTime(run.start_time)],
        ["Ended", formatTime(run.end_time)],
        ["Duration", duration(run.start_time, run.end_time)],
        run.status_reason ? ["Reason", run.status_reason] : null,
        run.tags && run.tags.length ? ["Tags", run.tags.join(", ")] : null,
      ]),
    );
  };
  drawDetails();

  const triggered = await listAll(`/runs?triggered_by_run_id=${encodeURIComponent(run.id)}`, 200);
  if (run.triggered_by_step_run_id) {
    try {
      const step = await api(`/steps/${run.triggered_by_step_run_id}`);
      replace(triggerInfo, h("p", {}, "Triggered by step ", link(`#/steps/${step.id}`, step.name), " of run ", link(`#/runs/${step.pipeline_run_id}`, shortId(step.pipeline_run_id)), "."));
    } catch (error) {
      replace(triggerInfo, errorBox(error));
    }
  }

  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Pipelines"), " / ", run.pipeline_id ? link(`#/pipelines/${run.pipeline_id}`, run.pipeline_name || "pipeline") : "run", " /"),
    h("h1", {}, "Run ", h("span", { class: "mono" }, run.name)),
    details,
    triggerInfo,
    section("Steps", tabs, dagPanel, timelinePanel),
    triggered.length ? section("Runs its steps triggered", runsTable(triggered)) : null,
    context.canWrite() && run.snapshot_id ? newSnapshotForm(run, context) : null,
  );

  performance.mark("headrace-dag-start");
  const view = new DagView(dagPanel, { label: `Graph of run ${run.name}` });
  const graph = graphOf(run, spec);
  view.setGraph(graph.nodes, graph.edges);
  requestAnimationFrame(() => {
    performance.mark("headrace-dag-end");
    performance.measure("headrace-dag", "headrace-dag-start", "headrace-dag-end");
    dagPanel.dataset.rendered = "true";
  });

  let timer = null;
  let stopped = false;
  const poll = async () => {
    if (stopped) return;
    try {
      run = await api(`/runs/${encodeURIComponent(run.id)}`);
      spec = await specOf(run, specs);
      const next = graphOf(run, spec);
      if (!view.update(next.nodes)) view.setGraph(next.nodes, next.edges);
      drawDetails();
      if (!timelinePanel.hidden) replace(timelinePanel, timeline(run));
    } catch {
      // a failed poll is retried on the next tick
    }
    if (!FINISHED.has(run.status) && !stopped) timer = setTimeout(poll, POLL_MS);
  };
  if (!FINISHED.has(run.status)) timer = setTimeout(poll, POLL_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
