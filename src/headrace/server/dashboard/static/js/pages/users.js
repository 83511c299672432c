// Users (admins): list, create, change role, deactivate or activate.

import { api, listAll } from "../api.js";
import { h, replace, section, table, formatTime } from "../dom.js";

const ROLES = ["viewer", "editor", "admin"];

export async function render(main, _params, context) {
  if (!context.isAdmin()) {
    replace(main, h("h1", {}, "Users"), h("p", {}, "Only admins manage users."));
    return;
  }
  const draw = async () => {
    const users = await listAll("/users?sort_by=asc:name", 1000);
    const rows = users.map((user) => {
      const role = h("select", { "aria-label": `Role of ${user.name}` }, ROLES.map((r) => h("option", { value: r }, r)));
      role.value = user.role;
      role.addEventListener("change", async () => {
        await api(`/users/${user.id}`, { method: "PUT", json: { role: role.value } });
        await draw();
      });
      const toggle = h("button", { type: "button", class: "secondary", "aria-label": `${user.active ? "Deactivate" : "Activate"} user ${user.name}` }, user.active ? "Deactivate" : "Activate");
      toggle.addEventListener("click", async () => {
        await api(`/users/${user.id}`, { method: "PUT", json: { active: !user.active } });
        await draw();
      });
      return [user.name, role, user.active ? "active" : "inactive", formatTime(user.created), toggle];
    });
    const name = h("input", { id: "user-name", name: "name", required: true, autocomplete: "off" });
    const password = h("input", { id: "user-password", name: "password", type: "password", required: true, autocomplete: "new-password" });
    const roleSelect = h("select", { id: "user-role", name: "role" }, ROLES.map((r) => h("option", { value: r }, r)));
    const message = h("p", { class: "field-error", role: "alert" });
    const form = h(
      "form",
      { class: "inline-form" },
      h("div", { class: "field" }, h("label", { for: "user-name" }, "New user name"), name),
      h("div", { class: "field" }, h("label", { for: "user-password" }, "Initial password"), password),
      h("div", { class: "field" }, h("label", { for: "user-role" }, "Role"), roleSelect),
      h("button", { type: "submit" }, "Create user"),
      message,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("/users", { method: "POST", json: { name: name.value, password: password.value, role: roleSelect.value } });
        await draw();
      } catch (error) {
        message.textContent = error.message;
      }
    });
    replace(
      main,
      h("h1", {}, "Users"),
      section("Users", table("Users", ["User", "Role", "State", "Created", "Actions"], rows, "No users.")),
      section("New user", form),
    );
  };
  await draw();
}
