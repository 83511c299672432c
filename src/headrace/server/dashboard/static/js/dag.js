// The run's graph as SVG: nodes coloured by status, cached and retried markers, zoom
// (wheel, buttons, + and - keys), pan (drag, arrow keys), and collapse (the round
// toggle on a node, or C on a focused node, hides everything downstream of it).
// Status changes only swap classes; the layout is redone only when nodes appear or a
// collapse changes what is shown. Only the nodes in view (and a margin around it) are in
// the document, and below a readable zoom they are drawn without labels, so a graph of
// thousands of steps draws as fast as the part of it on screen.

import { h, s } from "./dom.js";
import { layeredLayout, descendants, NODE_WIDTH, NODE_HEIGHT } from "./layout.js";

const MAX_LABEL = 22;
const MIN_SCALE = 0.02;
const MAX_SCALE = 3;
const LABEL_SCALE = 0.3; // below this zoom, labels would be unreadable: boxes only
const MARGIN = 200; // graph units drawn beyond the visible area

function clip(text) {
  return text.length > MAX_LABEL ? text.slice(0, MAX_LABEL - 1) + "…" : text;
}

function subtitle(node) {
  const parts = [node.status];
  if (node.cached) parts.push("cached");
  if (node.attempts > 1) parts.push(`${node.attempts} attempts`);
  return parts.join(" · ");
}

export class DagView {
  constructor(container, { label = "Pipeline graph" } = {}) {
    this.container = container;
    this.nodes = new Map(); // id -> {id, label, status, cached, attempts, href}
    this.edges = [];
    this.children = new Map();
    this.collapsed = new Set();
    this.elements = new Map();
    this.view = { x: 0, y: 0, scale: 1 };
    this.svg = s("svg", {
      class: "dag-canvas",
      role: "group",
      "aria-label": label,
      tabindex: "0",
    });
    this.viewport = s("g", { class: "viewport" });
    this.edgePath = s("path", { class: "edges" });
    this.nodeLayer = s("g", { class: "nodes" });
    this.viewport.append(this.edgePath, this.nodeLayer);
    this.svg.append(this.viewport);
    const button = (text, title, action) =>
      h("button", { type: "button", class: "secondary small", "aria-label": title, title, onclick: action }, text);
    this.summary = h("span", { class: "muted dag-summary", "aria-live": "polite" });
    const toolbar = h(
      "div",
      { class: "dag-toolbar" },
      button("+", "Zoom in", () => this.zoom(1.25)),
      button("−", "Zoom out", () => this.zoom(0.8)),
      button("Fit", "Fit the whole graph", () => this.fit()),
      button("Expand all", "Expand every collapsed step", () => this.expandAll()),
      this.summary,
    );
    const help = h(
      "p",
      { class: "muted small-print" },
      "Drag or use the arrow keys to pan, the wheel or + and − to zoom; the round toggle " +
        "(or C on a focused step) collapses what runs downstream of a step.",
    );
    container.append(toolbar, h("div", { class: "dag-frame" }, this.svg), help);
    this._wireEvents();
  }

  /** Draw a new graph. nodes: [{id, label, status, cached, attempts, href}], edges: [[from, to]]. */
  setGraph(nodes, edges) {
    this.nodes = new Map(nodes.map((node) => [node.id, node]));
    this.edges = edges.filter(([a, b]) => this.nodes.has(a) && this.nodes.has(b));
    this.children = new Map();
    for (const [a, b] of this.edges) {
      if (!this.children.has(a)) this.children.set(a, []);
      this.children.get(a).push(b);
    }
    this._draw(true);
  }

  /** Change statuses in place; false when the set of nodes differs (call setGraph). */
  update(nodes) {
    if (nodes.length !== this.nodes.size || nodes.some((node) => !this.nodes.has(node.id))) return false;
    for (const node of nodes) {
      const old = this.nodes.get(node.id);
      this.nodes.set(node.id, node);
      const element = this.elements.get(node.id);
      if (!element) continue;
      if (old.status !== node.status || old.cached !== node.cached || old.attempts !== node.attempts || old.href !== node.href) {
        this._fillNode(element, node);
      }
    }
    return true;
  }

  _hidden() {
    // Everything downstream of a collapsed step (a collapsed step below another one
    // is hidden with the rest).
    const hidden = new Set();
    for (const id of this.collapsed) for (const below of descendants(id, this.children)) hidden.add(below);
    return hidden;
  }

  _draw(resetView) {
    const hidden = this._hidden();
    const ids = [...this.nodes.keys()].filter((id) => !hidden.has(id));
    const shown = new Set(ids);
    const edges = this.edges.filter(([a, b]) => shown.has(a) && shown.has(b));
    const layout = layeredLayout(ids, edges);
    this.layout = layout;
    const parts = [];
    for (const [a, b] of edges) {
      const p = layout.positions.get(a);
      const q = layout.positions.get(b);
      const x1 = p.x + NODE_WIDTH;
      const y1 = p.y + NODE_HEIGHT / 2;
      const x2 = q.x;
      const y2 = q.y + NODE_HEIGHT / 2;
      const bend = Math.max(30, (x2 - x1) / 2);
      parts.push(`M${x1} ${y1}C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}`);
    }
    this.edgePath.setAttribute("d", parts.join(""));
    this.elements = new Map();
    this.nodeLayer.replaceChildren();
    const hiddenCount = hidden.size;
    this.summary.textContent =
      `${this.nodes.size} steps, ${layout.layers} layers` + (hiddenCount ? `, ${hiddenCount} collapsed out of view` : "");
    if (resetView) this.fit(true);
    else this._applyView();
    this._renderVisible();
  }

  /** Put the nodes in (or near) the visible area into the document, and only those. */
  _renderVisible() {
    this._pending = false;
    if (!this.layout) return;
    const { x, y, scale } = this.view;
    const { width, height } = this._size();
    const left = -x / scale - MARGIN;
    const top = -y / scale - MARGIN;
    const right = (width - x) / scale + MARGIN;
    const bottom = (height - y) / scale + MARGIN;
    const detail = scale >= LABEL_SCALE;
    if (detail !== this.detail) {
      this.detail = detail;
      this.elements.clear();
      this.nodeLayer.replaceChildren();
    }
    const wanted = new Set();
    const fragment = document.createDocumentFragment();
    for (const [id, position] of this.layout.positions) {
      if (position.x + NODE_WIDTH < left || position.x > right || position.y + NODE_HEIGHT < top || position.y > bottom) continue;
      wanted.add(id);
      if (!this.elements.has(id)) {
        const element = this._nodeElement(this.nodes.get(id), position.x, position.y);
        this.elements.set(id, element);
        fragment.append(element);
      }
    }
    for (const [id, element] of this.elements) {
      if (!wanted.has(id) && element !== document.activeElement) {
        element.remove();
        this.elements.delete(id);
      }
    }
    this.nodeLayer.append(fragment);
    this.nodeLayer.setAttribute("class", detail ? "nodes" : "nodes overview");
  }

  _size() {
    if (!this.measured) {
      const box = this.svg.getBoundingClientRect();
      this.measured = { width: box.width || 800, height: box.height || 400 };
    }
    return this.measured;
  }

  _nodeElement(node, x, y) {
    const group = s("a", { class: "node", transform: `translate(${x} ${y})`, "data-id": node.id });
    const body = s("rect", { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 6 });
    if (!this.detail) {
      group.append(s("title"), body);
      this._fillNode(group, node);
      return group;
    }
    const title = s("text", { x: 10, y: 16, class: "node-label" });
    const sub = s("text", { x: 10, y: 32, class: "node-sub" });
    const tooltip = s("title");
    group.append(tooltip, body, title, sub);
    const kids = this.children.get(node.id);
    if (kids && kids.length) {
      const collapsed = this.collapsed.has(node.id);
      const toggle = s(
        "g",
        { class: "toggle", transform: `translate(${NODE_WIDTH} ${NODE_HEIGHT / 2})`, "data-toggle": node.id },
        s("circle", { r: 8 }),
        s("text", { "text-anchor": "middle", y: 4 }, collapsed ? "+" : "−"),
      );
      group.append(toggle);
    }
    this._fillNode(group, node);
    return group;
  }

  _fillNode(group, node) {
    const classes = ["node", `status-${node.status}`];
    if (node.cached) classes.push("cached");
    if (node.attempts > 1) classes.push("retried");
    if (this.collapsed.has(node.id)) classes.push("collapsed");
    group.setAttribute("class", classes.join(" "));
    if (node.href) group.setAttribute("href", node.href);
    else group.removeAttribute("href");
    const hiddenBelow = this.collapsed.has(node.id) ? descendants(node.id, this.children).size : 0;
    const [tooltip, , title, sub] = group.childNodes;
    if (title && sub) {
      title.textContent = clip(node.label);
      sub.textContent = subtitle(node) + (hiddenBelow ? ` · +${hiddenBelow}` : "");
    }
    tooltip.textContent = `${node.label}: ${subtitle(node)}`;
    group.setAttribute("aria-label", `Step ${node.label}, ${subtitle(node)}`);
  }

  toggle(id) {
    if (this.collapsed.has(id)) this.collapsed.delete(id);
    else this.collapsed.add(id);
    this._draw(false);
    const element = this.elements.get(id);
    if (element && element.hasAttribute("href")) element.focus();
  }

  expandAll() {
    if (!this.collapsed.size) return;
    this.collapsed.clear();
    this._draw(false);
  }

  _applyView() {
    const { x, y, scale } = this.view;
    this.viewport.setAttribute("transform", `translate(${x} ${y}) scale(${scale})`);
    if (!this._pending) {
      this._pending = true;
      requestAnimationFrame(() => this._renderVisible());
    }
  }

  fit(initial = false) {
    this.measured = null;
    const { width, height } = this._size();
    const margin = 20;
    const layout = this.layout || { width: 1, height: 1 };
    let scale = Math.min((width - 2 * margin) / layout.width, (height - 2 * margin) / layout.height, 1.2);
    if (initial && scale < 0.35) scale = 0.6; // too small to read: start at the sources
    scale = Math.max(MIN_SCALE, scale);
    const x = layout.width * scale < width ? (width - layout.width * scale) / 2 : margin;
    const y = layout.height * scale < height ? (height - layout.height * scale) / 2 : margin;
    this.view = { x, y, scale };
    this._applyView();
  }

  zoom(factor, cx, cy) {
    const box = this._size();
    const px = cx ?? box.width / 2;
    const py = cy ?? box.height / 2;
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.view.scale * factor));
    const ratio = scale / this.view.scale;
    this.view = { x: px - (px - this.view.x) * ratio, y: py - (py - this.view.y) * ratio, scale };
    this._applyView();
  }

  pan(dx, dy) {
    this.view = { ...this.view, x: this.view.x + dx, y: this.view.y + dy };
    this._applyView();
  }

  _wireEvents() {
    this.svg.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const box = this.svg.getBoundingClientRect();
        this.zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - box.left, event.clientY - box.top);
      },
      { passive: false },
    );
    window.addEventListener("resize", () => {
      this.measured = null;
      this._applyView();
    });
    let drag = null;
    this.svg.addEventListener("pointerdown", (event) => {
      if (event.target.closest(".toggle") || event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, moved: false };
    });
    window.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      drag.moved = true;
      drag.x = event.clientX;
      drag.y = event.clientY;
      this.pan(dx, dy);
    });
    window.addEventListener("pointerup", () => {
      if (drag && drag.moved) this._suppressClick = true;
      drag = null;
    });
    this.svg.addEventListener("click", (event) => {
      const toggle = event.target.closest(".toggle");
      if (toggle) {
        event.preventDefault();
        event.stopPropagation();
        this.toggle(toggle.getAttribute("data-toggle"));
        return;
      }
      if (this._suppressClick) {
        this._suppressClick = false;
        event.preventDefault();
      }
    });
    this.svg.addEventListener("keydown", (event) => {
      const step = 40;
      const node = document.activeElement && document.activeElement.closest && document.activeElement.closest(".node");
      if ((event.key === "c" || event.key === "C") && node && this.children.get(node.getAttribute("data-id"))) {
        event.preventDefault();
        this.toggle(node.getAttribute("data-id"));
      } else if (event.key === "+" || event.key === "=") this.zoom(1.25);
      else if (event.key === "-") this.zoom(0.8);
      else if (event.key === "ArrowLeft") this.pan(step, 0);
      else if (event.key === "ArrowRight") this.pan(-step, 0);
      else if (event.key === "ArrowUp") this.pan(0, step);
      else if (event.key === "ArrowDown") this.pan(0, -step);
      else return;
      event.preventDefault();
    });
    this.svg.addEventListener("focusin", (event) => {
      // Bring a node reached with Tab into view.
      const node = event.target.closest && event.target.closest(".node");
      if (!node || !this.layout) return;
      const position = this.layout.positions.get(node.getAttribute("data-id"));
      if (!position) return;
      const box = this._size();
      const { x, y, scale } = this.view;
      const left = x + position.x * scale;
      const top = y + position.y * scale;
      if (left < 0 || top < 0 || left + NODE_WIDTH * scale > box.width || top + NODE_HEIGHT * scale > box.height) {
        this.view = { scale, x: box.width / 2 - (position.x + NODE_WIDTH / 2) * scale, y: box.height / 2 - (position.y + NODE_HEIGHT / 2) * scale };
        this._applyView();
      }
    });
  }
}
