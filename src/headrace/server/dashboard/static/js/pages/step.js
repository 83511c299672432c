// One step run: inputs and outputs with previews and visualizations, logs (followed while
// the step runs), parameters, metadata, the exception of a failure and retry attempts.

import { api, API } from "../api.js";
import { h, replace, section, facts, statusBadge, formatTime, duration, link, shortId, errorBox, FINISHED } from "../dom.js";
import { renderMarkdown, renderCsv } from "../markdown.js";

const POLL_MS = 1000;

function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

function previewNode(preview) {
  const cut = preview.truncated ? h("p", { class: "muted small-print" }, "(cut short)") : null;
  if (preview.kind === "json" || preview.kind === "text") {
    return h("div", { class: "preview" }, h("pre", { class: "json" }, preview.text), cut);
  }
  if (preview.kind === "array") {
    return h(
      "div",
      { class: "preview" },
      h("p", {}, `array of shape (${preview.shape.join(", ")}${preview.shape.length === 1 ? "," : ""}), ${preview.dtype}`),
      h("pre", { class: "json" }, preview.text),
      cut,
    );
  }
  if (preview.kind === "table") {
    return h(
      "div",
      { class: "preview" },
      h("p", {}, `table of ${preview.total_rows} rows × ${preview.columns.length} columns`),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, preview.columns.map((name) => h("th", { scope: "col" }, name)))),
          h("tbody", {}, preview.rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell ?? "null"))))),
        ),
      ),
      cut,
    );
  }
  return h("p", { class: "muted" }, preview.reason || "No preview.");
}

async function visualizationNode(version, index, kind) {
  const url = `${API}/artifact_versions/${version.id}/visualizations/${index}`;
  const title = `Visualization ${index + 1} (${kind}) of ${version.name}`;
  if (kind === "image") return h("img", { src: url, alt: title, class: "visualization" });
  if (kind === "html") {
    return h("iframe", { src: url, title, sandbox: "", class: "visualization", loading: "lazy" });
  }
  const text = await api(`/artifact_versions/${version.id}/visualizations/${index}`);
  const body = typeof text === "string" ? text : JSON.stringify(text, null, 2);
  if (kind === "markdown") return renderMarkdown(body);
  if (kind === "csv") return renderCsv(body);
  return h("pre", { class: "json" }, body);
}

async function artifactCard(name, version) {
  const card = h(
    "div",
    { class: "artifact" },
    h("h3", {}, name, " ", h("span", { class: "muted" }, `${version.name} v${version.version}`)),
    h("p", { class: "muted small-print" }, `${version.data_type} · ${version.size} bytes · ${version.materializer}`),
  );
  try {
    const preview = await api(`/artifact_versions/${version.id}/preview`);
    card.append(previewNode(preview));
    for (const [index, kind] of (preview.visualizations || []).entries()) {
      try {
        card.append(await visualizationNode(version, index, kind));
      } catch (error) {
        card.append(errorBox(error));
      }
    }
  } catch (error) {
    card.append(errorBox(error));
  }
  return card;
}

async function artifactsSection(title, artifacts) {
  const entries = Object.entries(artifacts || {});
  if (!entries.length) return section(title, h("p", { class: "muted empty" }, "None."));
  const cards = [];
  for (const [name, versions] of entries) {
    for (const version of versions) cards.push(artifactCard(name, version));
  }
  return section(title, h("div", { class: "artifacts" }, await Promise.all(cards)));
}

function errorSection(step) {
  const parts = [];
  if (step.error) {
    parts.push(
      h("p", {}, h("strong", {}, step.error.type), ": ", step.error.message),
      step.error.traceback ? h("pre", { class: "traceback" }, step.error.traceback) : null,
    );
  }
  if (step.attempt_errors && step.attempt_errors.length) {
    parts.push(
      h("h3", {}, "Failed attempts"),
      h(
        "ol",
        { class: "attempts" },
        step.attempt_errors.map((error) =>
          h("li", {}, h("strong", {}, error.type), ": ", error.message, error.traceback ? h("details", {}, h("summary", {}, "Traceback"), h("pre", { class: "traceback" }, error.traceback)) : null),
        ),
      ),
    );
  }
  for (const hook of step.hook_errors || []) {
    parts.push(h("p", {}, `Hook ${hook.hook} (${hook.source}) failed: ${hook.type}: ${hook.message}`));
  }
  return parts.length ? section("Errors and retries", parts) : null;
}

export async function render(main, [id]) {
  let step = await api(`/steps/${encodeURIComponent(id)}`);
  const status = h("span", {}, statusBadge(step.status));
  const details = h("div");
  const logs = h("pre", { class: "logs", id: "step-logs", tabindex: "0", "aria-label": "Step logs", "aria-live": "off" });
  const logsNote = h("p", { class: "muted small-print", "aria-live": "polite" });
  const errors = h("div");
  const outputs = h("div");
  const drawDetails = () => {
    replace(status, statusBadge(step.status));
    replace(
      details,
      facts([
        ["Status", status],
        ["Run", link(`#/runs/${step.pipeline_run_id}`, shortId(step.pipeline_run_id))],
        ["Step function", step.step_name],
        ["Started", formatTime(step.start_time)],
        ["Ended", formatTime(step.end_time)],
        ["Duration", duration(step.start_time, step.end_time)],
        ["Attempts", String(step.attempts || (step.start_time ? 1 : 0))],
        step.original_step_run_id ? ["Cached from", link(`#/steps/${step.original_step_run_id}`, shortId(step.original_step_run_id))] : null,
        step.cache_key ? ["Cache key", h("span", { class: "mono" }, shortId(step.cache_key))] : null,
        step.status_reason ? ["Reason", step.status_reason] : null,
      ]),
    );
    replace(errors, errorSection(step));
  };
  drawDetails();
  const readLogs = async () => {
    try {
      const text = await api(`/steps/${step.id}/logs`);
      const follow = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 20;
      logs.textContent = text || "(nothing logged yet)";
      if (follow) logs.scrollTop = logs.scrollHeight;
      logsNote.textContent = FINISHED.has(step.status) ? "" : "Following the logs while the step runs…";
    } catch (error) {
      logs.textContent = `(the logs cannot be read: ${error.message})`;
    }
  };
  const drawArtifacts = async () => {
    replace(outputs, await artifactsSection("Inputs", step.inputs), await artifactsSection("Outputs", step.outputs));
  };
  await Promise.all([readLogs(), drawArtifacts()]);
  replace(
    main,
    h("p", { class: "crumbs" }, link(`#/runs/${step.pipeline_run_id}`, "Run"), " /"),
    h("h1", {}, "Step ", h("span", { class: "mono" }, step.name)),
    step.docstring ? h("p", { class: "doc" }, step.docstring) : null,
    details,
    errors,
    outputs,
    section("Parameters", Object.keys(step.parameters || {}).length ? json(step.parameters) : h("p", { class: "muted" }, "None.")),
    section("Metadata", Object.keys(step.run_metadata || {}).length ? json(step.run_metadata) : h("p", { class: "muted" }, "None.")),
    section("Logs", logsNote, logs),
  );
  let timer = null;
  let stopped = false;
  const poll = async () => {
    if (stopped) return;
    try {
      const before = step.status;
      step = await api(`/steps/${encodeURIComponent(step.id)}`);
      drawDetails();
      await readLogs();
      if (before !== step.status && FINISHED.has(step.status)) await drawArtifacts();
    } catch {
      // retried on the next tick
    }
    if (!FINISHED.has(step.status) && !stopped) timer = setTimeout(poll, POLL_MS);
  };
  if (!FINISHED.has(step.status)) timer = setTimeout(poll, POLL_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
