// The dashboard's shell: who is logged in, the navigation, and the router that maps the
// URL fragment (#/runs/<id>) to a page module.

import { api } from "./api.js";
import { h, replace, errorBox } from "./dom.js";
import { session, canWrite, isAdmin } from "./session.js";

const ROUTES = [
  [/^\/login$/, () => import("./pages/login.js")],
  [/^\/?$/, () => import("./pages/pipelines.js")],
  [/^\/pipelines\/([^/]+)$/, () => import("./pages/pipeline.js")],
  [/^\/runs\/([^/]+)$/, () => import("./pages/run.js")],
  [/^\/steps\/([^/]+)$/, () => import("./pages/step.js")],
  [/^\/snapshots$/, () => import("./pages/snapshots.js")],
  [/^\/snapshots\/([^/]+)$/, () => import("./pages/snapshot.js")],
  [/^\/schedules$/, () => import("./pages/schedules.js")],
  [/^\/service-accounts$/, () => import("./pages/service_accounts.js")],
  [/^\/users$/, () => import("./pages/users.js")],
];

let cleanup = null;

function currentPath() {
  const hash = window.location.hash || "#/";
  return decodeURIComponent(hash.slice(1).split("?")[0]) || "/";
}

export function navigate(path) {
  window.location.hash = "#" + path;
}

function renderHeader() {
  const top = document.getElementById("top");
  if (!session.principal) {
    replace(top, h("span", { class: "brand" }, "headrace"));
    return;
  }
  const path = currentPath();
  const item = (href, text) =>
    h(
      "li",
      {},
      h("a", { href, "aria-current": path === href.slice(1) ? "page" : null }, text),
    );
  const principal = session.principal;
  replace(
    top,
    h("a", { class: "brand", href: "#/" }, "headrace"),
    h(
      "nav",
      { "aria-label": "Main" },
      h(
        "ul",
        {},
        item("#/", "Pipelines"),
        item("#/snapshots", "Snapshots"),
        item("#/schedules", "Schedules"),
        isAdmin() ? item("#/service-accounts", "Service accounts") : null,
        isAdmin() ? item("#/users", "Users") : null,
      ),
    ),
    h(
      "div",
      { class: "who" },
      h("span", { class: "account", text: `${principal.name} (${principal.role})` }),
      h("button", { type: "button", class: "secondary", onclick: logout }, "Log out"),
    ),
  );
}

async function logout() {
  try {
    await api("/session", { method: "DELETE", allowUnauthenticated: true });
  } finally {
    session.principal = null;
    navigate("/login");
  }
}

async function loadPrincipal() {
  try {
    session.principal = await api("/current-user", { allowUnauthenticated: true });
  } catch {
    session.principal = null;
  }
}

async function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const path = currentPath();
  const main = document.getElementById("main");
  if (!session.principal && path !== "/login") {
    await loadPrincipal();
    if (!session.principal) {
      session.next = path;
      navigate("/login");
      return;
    }
  }
  renderHeader();
  for (const [pattern, load] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    replace(main, h("p", { class: "muted" }, "Loading…"));
    try {
      const page = await load();
      const context = { navigate, canWrite, isAdmin, refreshHeader: renderHeader };
      const result = await page.render(main, match.slice(1), context);
      if (typeof result === "function") cleanup = result;
    } catch (error) {
      replace(main, h("h1", {}, "Something went wrong"), errorBox(error));
    }
    return;
  }
  replace(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the pipelines")));
}

window.addEventListener("hashchange", route);
window.addEventListener("headrace:unauthenticated", () => {
  session.principal = null;
  if (currentPath() !== "/login") {
    session.next = currentPath();
    navigate("/login");
  }
});
route();
