// One snapshot: what it holds (parameters, code digest, stack, runs) and its Run form.

import { api, listAll } from "../api.js";
import { h, replace, section, facts, formatTime, link, shortId, table, errorBox } from "../dom.js";
import { buildParameterForm } from "../runform.js";
import { runsTable } from "./common.js";

function runFormSection(snapshot, form, context) {
  const parameters = buildParameterForm(form.fields);
  const general = h("div", { class: "form-errors", role: "alert", id: "run-errors" });
  const modeForm = h("input", { type: "radio", name: "mode", id: "mode-form", value: "form", checked: true });
  const modeYaml = h("input", { type: "radio", name: "mode", id: "mode-yaml", value: "yaml" });
  const yaml = h("textarea", { id: "run-yaml", name: "yaml", rows: 14, spellcheck: "false", class: "mono yaml" });
  yaml.value = form.template_yaml;
  const upload = h("input", { type: "file", id: "run-yaml-file", accept: ".yaml,.yml,application/yaml,text/yaml" });
  upload.addEventListener("change", async () => {
    const file = upload.files && upload.files[0];
    if (!file) return;
    yaml.value = await file.text();
    modeYaml.checked = true;
    sync();
  });
  const formPart = h("div", { id: "run-form-fields" }, parameters.fieldsets.length ? parameters.fieldsets : h("p", { class: "muted" }, "This snapshot has no parameters."));
  const yamlPart = h(
    "div",
    { id: "run-yaml-part" },
    h("div", { class: "field" }, h("label", { for: "run-yaml" }, "YAML configuration"), yaml),
    h("div", { class: "field" }, h("label", { for: "run-yaml-file" }, "Upload a .yaml file"), upload),
  );
  const sync = () => {
    formPart.hidden = !modeForm.checked;
    yamlPart.hidden = !modeYaml.checked;
  };
  modeForm.addEventListener("change", sync);
  modeYaml.addEventListener("change", sync);
  sync();
  const button = h("button", { type: "submit", id: "run-button" }, "Run");
  const element = h(
    "form",
    { class: "run-form", novalidate: true, "aria-describedby": "run-errors" },
    h(
      "fieldset",
      { class: "mode" },
      h("legend", {}, "Configure with"),
      h("span", {}, modeForm, h("label", { for: "mode-form" }, "the form")),
      h("span", {}, modeYaml, h("label", { for: "mode-yaml" }, "YAML")),
    ),
    formPart,
    yamlPart,
    general,
    button,
  );
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(general);
    parameters.clearErrors();
    let configuration;
    if (modeForm.checked) {
      const collected = parameters.collect();
      if (!collected.ok) {
        replace(general, "Fix the values marked above; nothing was started.");
        return;
      }
      configuration = collected.configuration;
    } else {
      try {
        configuration = (await api(`/pipeline_snapshots/${snapshot.id}/form/yaml`, { method: "POST", json: { yaml: yaml.value } })).configuration;
      } catch (error) {
        replace(general, error.message);
        return;
      }
    }
    button.disabled = true;
    try {
      const run = await api(`/pipeline_snapshots/${snapshot.id}/runs?source=dashboard`, { method: "POST", json: configuration });
      context.navigate(`/runs/${run.id}`);
    } catch (error) {
      button.disabled = false;
      const left = modeForm.checked ? parameters.showProblems(error.problems) : error.problems;
      replace(
        general,
        h("p", {}, error.problems.length ? "The server refused the configuration; nothing was started." : error.message),
        left.length ? h("ul", {}, left.map((problem) => h("li", {}, problem))) : null,
      );
    }
  });
  return section("Run this snapshot", element);
}

export async function render(main, [id], context) {
  const snapshot = await api(`/pipeline_snapshots/${encodeURIComponent(id)}`);
  const [form, runs] = await Promise.all([
    api(`/pipeline_snapshots/${snapshot.id}/form`),
    listAll(`/runs?snapshot_id=${encodeURIComponent(snapshot.id)}&sort_by=desc:created`, 100),
  ]);
  let stack = null;
  try {
    stack = await api(`/stacks/${snapshot.stack_id}`);
  } catch {
    stack = null;
  }
  const code = (snapshot.extra && snapshot.extra.code) || {};
  const parameterRows = form.fields.map((field) => [
    h("span", { class: "mono" }, field.name),
    field.step || "(pipeline)",
    field.type,
    field.has_default ? h("span", { class: "mono" }, JSON.stringify(field.default)) : "required",
    field.description || "",
  ]);
  let runPart;
  if (form.may_run) runPart = runFormSection(snapshot, form, context);
  else if (!snapshot.runnable) runPart = section("Run this snapshot", h("p", { class: "muted" }, "This snapshot is not runnable (it has no code archive)."));
  else runPart = section("Run this snapshot", h("p", { class: "muted" }, "Your role may not run this snapshot."));
  replace(
    main,
    h("p", { class: "crumbs" }, link("#/snapshots", "Snapshots"), " /"),
    h("h1", {}, "Snapshot ", h("span", { class: "mono" }, snapshot.name || shortId(snapshot.id))),
    snapshot.description ? h("p", { class: "doc" }, snapshot.description) : null,
    facts([
      ["Pipeline", link(`#/pipelines/${snapshot.pipeline_id}`, snapshot.pipeline_name || shortId(snapshot.pipeline_id))],
      ["Stack", stack ? stack.name : shortId(snapshot.stack_id)],
      ["Code digest", h("span", { class: "mono" }, code.digest ? code.digest.slice(0, 16) : "–")],
      ["Runnable", snapshot.runnable ? "yes" : "no"],
      ["Steps", String(Object.keys(snapshot.spec.steps).length)],
      ["Created", formatTime(snapshot.created)],
      snapshot.allowed_users.length || snapshot.allowed_roles.length
        ? ["Who may run it", [...snapshot.allowed_users, ...snapshot.allowed_roles.map((role) => `role ${role}`)].join(", ")]
        : null,
    ]),
    runPart,
    section("Parameters", table("Parameters", ["Parameter", "Step", "Type", "Default", "Description"], parameterRows, "No parameters.")),
    section("Runs", runsTable(runs)),
  );
}
