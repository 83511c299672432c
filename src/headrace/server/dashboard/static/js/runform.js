// The Run form of a snapshot: one labelled input per parameter (its type and default
// shown), checked in the browser against the parameter's JSON Schema before anything is
// sent; the server checks again and its refusals are shown next to their fields.

import { h } from "./dom.js";

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function typeMatches(schema, value) {
  if (!schema || typeof schema !== "object") return true;
  if (Array.isArray(schema.enum)) return schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value));
  for (const key of ["anyOf", "oneOf"]) {
    if (Array.isArray(schema[key])) return schema[key].some((option) => typeMatches(option, value));
  }
  const kinds = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : null;
  if (!kinds) return true;
  return kinds.some((kind) => {
    switch (kind) {
      case "integer":
        return Number.isInteger(value);
      case "number":
        return typeof value === "number" && Number.isFinite(value);
      case "string":
        return typeof value === "string";
      case "boolean":
        return typeof value === "boolean";
      case "null":
        return value === null;
      case "array":
        return Array.isArray(value) && (!schema.items || value.every((item) => typeMatches(schema.items, item)));
      case "object":
        return value !== null && typeof value === "object" && !Array.isArray(value);
      default:
        return true;
    }
  });
}

function idFor(path) {
  return "param-" + path.replace(/[^A-Za-z0-9_-]/g, "_");
}

function shown(value) {
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value);
}

/** One field: {element, read() -> {ok, value, changed, error}, showError(text)}. */
function fieldControl(field) {
  const id = idFor(field.path);
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  let input;
  if (field.input === "boolean") {
    input = h("select", { id, name: field.path }, h("option", { value: "true" }, "true"), h("option", { value: "false" }, "false"));
    if (field.has_default) input.value = String(!!field.default);
  } else if (field.input === "enum") {
    input = h("select", { id, name: field.path }, field.choices.map((choice) => h("option", { value: JSON.stringify(choice) }, String(choice))));
    if (field.has_default) input.value = JSON.stringify(field.default);
  } else if (field.input === "json") {
    input = h("textarea", { id, name: field.path, rows: 2, spellcheck: "false", class: "mono" });
    if (field.has_default) input.value = JSON.stringify(field.default);
  } else {
    const type = field.input === "string" ? "text" : "text";
    input = h("input", { id, name: field.path, type, autocomplete: "off", inputmode: field.input === "string" ? null : "decimal" });
    if (field.has_default && field.default !== null) input.value = String(field.default);
  }
  input.setAttribute("aria-describedby", `${hintId} ${errorId}`);
  if (field.required) input.setAttribute("aria-required", "true");
  const error = h("p", { class: "field-error", id: errorId, role: "alert" });
  const hint = h(
    "p",
    { class: "hint", id: hintId },
    field.has_default ? `default: ${shown(field.default)}` : "required",
    field.description ? ` — ${field.description}` : "",
  );
  const label = h("label", { for: id }, h("span", { class: "param-name" }, field.name), " ", h("span", { class: "param-type" }, field.type));
  const element = h("div", { class: "field", "data-path": field.path }, label, input, hint, error);

  const showError = (text) => {
    error.textContent = text || "";
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  };
  const read = () => {
    const raw = input.value;
    let value;
    if (field.input === "boolean") value = raw === "true";
    else if (field.input === "enum") value = JSON.parse(raw);
    else if (field.input === "integer") {
      if (!INTEGER.test(raw.trim())) return { ok: false, error: `${field.name} must be an integer (a whole number), got ${JSON.stringify(raw)}.` };
      value = Number(raw.trim());
    } else if (field.input === "number") {
      if (!NUMBER.test(raw.trim())) return { ok: false, error: `${field.name} must be a number, got ${JSON.stringify(raw)}.` };
      value = Number(raw.trim());
    } else if (field.input === "string") value = raw;
    else {
      if (!raw.trim()) {
        if (field.required) return { ok: false, error: `${field.name} needs a value (written as JSON).` };
        return { ok: true, changed: false };
      }
      try {
        value = JSON.parse(raw);
      } catch {
        return { ok: false, error: `${field.name} must be JSON of type ${field.type}, e.g. ${field.has_default ? JSON.stringify(field.default) : "[1, 2]"}.` };
      }
    }
    if (!typeMatches(field.schema, value)) {
      return { ok: false, error: `${field.name} must be of type ${field.type}, got ${JSON.stringify(value)}.` };
    }
    const changed = !field.has_default || JSON.stringify(value) !== JSON.stringify(field.default);
    return { ok: true, value, changed };
  };
  return { field, element, input, read, showError };
}

/** The fieldsets of the form and a function collecting the run configuration. */
export function buildParameterForm(fields) {
  const controls = fields.map(fieldControl);
  const groups = new Map();
  for (const control of controls) {
    const key = control.field.step === null ? "" : control.field.step;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(control.element);
  }
  const fieldsets = [...groups.entries()].map(([step, elements]) =>
    h("fieldset", {}, h("legend", {}, step ? `Step ${step}` : "Pipeline parameters"), elements),
  );

  /** {ok, configuration} after checking every field (errors shown next to them). */
  const collect = () => {
    const configuration = {};
    let ok = true;
    let first = null;
    for (const control of controls) {
      const result = control.read();
      control.showError(result.ok ? "" : result.error);
      if (!result.ok) {
        ok = false;
        first = first || control.input;
        continue;
      }
      if (!result.changed) continue;
      const { field } = control;
      if (field.step === null) {
        configuration.parameters = configuration.parameters || {};
        configuration.parameters[field.name] = result.value;
      } else {
        configuration.steps = configuration.steps || {};
        const step = (configuration.steps[field.step] = configuration.steps[field.step] || { parameters: {} });
        step.parameters[field.name] = result.value;
      }
    }
    if (first) first.focus();
    return { ok, configuration };
  };

  /** Show the server's problems next to their fields; returns those left unplaced. */
  const showProblems = (problems) => {
    const left = [];
    for (const problem of problems) {
      const control = controls.find((c) => problem.startsWith(c.field.path + ":"));
      if (control) control.showError(problem.slice(control.field.path.length + 1).trim());
      else left.push(problem);
    }
    const invalid = controls.find((c) => c.input.getAttribute("aria-invalid") === "true");
    if (invalid) invalid.input.focus();
    return left;
  };
  const clearErrors = () => controls.forEach((control) => control.showError(""));
  return { fieldsets, collect, showProblems, clearErrors };
}
