// The login page: user name and password (or an API key as the password).

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { session } from "../session.js";

export async function render(main, _params, context) {
  const error = h("p", { class: "field-error", id: "login-error", role: "alert" });
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const form = h(
    "form",
    { class: "card login", "aria-describedby": "login-error" },
    h("h1", {}, "Log in to headrace"),
    h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    error,
    h("button", { type: "submit" }, "Log in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const answer = await api("/session", {
        method: "POST",
        form: { username: username.value, password: password.value },
        allowUnauthenticated: true,
      });
      session.principal = answer.principal;
      const next = session.next && session.next !== "/login" ? session.next : "/";
      session.next = null;
      context.navigate(next);
    } catch (failure) {
      error.textContent = failure.message;
      password.select();
    }
  });
  replace(main, form);
  username.focus();
}
