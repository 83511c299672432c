// Service accounts and their API keys (admins): create an account, create a key (shown
// once), revoke a key.

import { api, listAll } from "../api.js";
import { h, replace, section, table, formatTime } from "../dom.js";

function createAccountForm(onDone) {
  const name = h("input", { id: "sa-name", name: "name", required: true, autocomplete: "off" });
  const role = h("select", { id: "sa-role", name: "role" }, ["viewer", "editor", "admin"].map((r) => h("option", { value: r }, r)));
  const message = h("p", { class: "field-error", role: "alert" });
  const form = h(
    "form",
    { class: "inline-form" },
    h("div", { class: "field" }, h("label", { for: "sa-name" }, "Service account name"), name),
    h("div", { class: "field" }, h("label", { for: "sa-role" }, "Role"), role),
    h("button", { type: "submit" }, "Create service account"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/service_accounts", { method: "POST", json: { name: name.value, role: role.value } });
      await onDone();
    } catch (error) {
      message.textContent = error.message;
    }
  });
  return form;
}

async function accountCard(account, redraw) {
  const keys = await listAll(`/service_accounts/${account.id}/api_keys`, 200);
  const shownKey = h("div", { "aria-live": "polite" });
  const keyName = h("input", { id: `key-name-${account.id}`, name: "key-name", required: true, autocomplete: "off" });
  const message = h("p", { class: "field-error", role: "alert" });
  const form = h(
    "form",
    { class: "inline-form" },
    h("div", { class: "field" }, h("label", { for: `key-name-${account.id}` }, `New API key name for ${account.name}`), keyName),
    h("button", { type: "submit" }, "Create API key"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    try {
      const created = await api(`/service_accounts/${account.id}/api_keys`, { method: "POST", json: { name: keyName.value } });
      await redraw();
      // The key is in this answer only: show it now, it is never shown again.
      const box = document.getElementById(`key-shown-${account.id}`);
      if (box) {
        replace(
          box,
          h(
            "div",
            { class: "secret-once", role: "status" },
            h("p", {}, `API key ${created.name} — copy it now, it is shown only once:`),
            h("code", { class: "api-key" }, created.key),
          ),
        );
      }
    } catch (error) {
      message.textContent = error.message;
    }
  });
  shownKey.id = `key-shown-${account.id}`;
  const rows = keys.map((key) => {
    const revoke = key.revoked
      ? "revoked"
      : h("button", { type: "button", class: "danger", "aria-label": `Revoke API key ${key.name} of ${account.name}` }, "Revoke");
    if (!key.revoked) {
      revoke.addEventListener("click", async () => {
        if (!window.confirm(`Revoke API key ${key.name}? Clients using it stop working at once.`)) return;
        await api(`/service_accounts/${account.id}/api_keys/${key.id}/revoke`, { method: "POST" });
        await redraw();
      });
    }
    return [key.name, formatTime(key.created), formatTime(key.last_used), key.expires ? formatTime(key.expires) : "never", revoke];
  });
  return h(
    "section",
    { class: "card" },
    h("h2", {}, account.name, " ", h("span", { class: "muted" }, `(${account.role}${account.active ? "" : ", inactive"})`)),
    table(`API keys of ${account.name}`, ["API key", "Created", "Last used", "Expires", "State"], rows, "No API keys."),
    shownKey,
    form,
  );
}

export async function render(main, _params, context) {
  if (!context.isAdmin()) {
    replace(main, h("h1", {}, "Service accounts"), h("p", {}, "Only admins manage service accounts."));
    return;
  }
  const draw = async () => {
    const accounts = await listAll("/service_accounts", 200);
    const cards = await Promise.all(accounts.map((account) => accountCard(account, draw)));
    replace(
      main,
      h("h1", {}, "Service accounts"),
      section("New service account", createAccountForm(draw)),
      cards.length ? cards : h("p", { class: "muted empty" }, "No service accounts yet."),
    );
  };
  await draw();
}
