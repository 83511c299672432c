// Layered layout of a directed acyclic graph, written for the run page:
//
// 1. layers by longest path from the sources (a step sits one layer right of its
//    furthest upstream step), computed in topological order (Kahn);
// 2. order within each layer by barycenters: a few sweeps left-to-right and back, each
//    node moving to the mean position of its neighbours in the layers already placed,
//    which untangles most crossings at O(edges) per sweep;
// 3. coordinates from layer and order, each layer centred on the tallest.
//
// Everything is linear or n log n per sweep, so a thousand steps lay out in a few
// milliseconds.

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 40;
const GAP_X = 70;
const GAP_Y = 18;
const SWEEPS = 4;

/**
 * nodes: array of ids; edges: array of [from, to] ids (both in nodes).
 * Returns {positions: Map id -> {x, y, layer, order}, width, height, layers}.
 */
export function layeredLayout(nodes, edges) {
  const index = new Map(nodes.map((id, i) => [id, i]));
  const count = nodes.length;
  const up = Array.from({ length: count }, () => []);
  const down = Array.from({ length: count }, () => []);
  const indegree = new Int32Array(count);
  for (const [from, to] of edges) {
    const a = index.get(from);
    const b = index.get(to);
    if (a === undefined || b === undefined || a === b) continue;
    down[a].push(b);
    up[b].push(a);
    indegree[b] += 1;
  }

  // Topological order (Kahn); nodes left over (a cycle, which a pipeline cannot have)
  // are appended in their given order so the drawing still shows them.
  const order = [];
  const queue = [];
  for (let i = 0; i < count; i += 1) if (indegree[i] === 0) queue.push(i);
  const remaining = Int32Array.from(indegree);
  for (let head = 0; head < queue.length; head += 1) {
    const node = queue[head];
    order.push(node);
    for (const next of down[node]) {
      remaining[next] -= 1;
      if (remaining[next] === 0) queue.push(next);
    }
  }
  if (order.length < count) {
    const seen = new Set(order);
    for (let i = 0; i < count; i += 1) if (!seen.has(i)) order.push(i);
  }

  // Longest path layering.
  const layer = new Int32Array(count);
  const placed = new Uint8Array(count);
  for (const node of order) {
    let best = 0;
    for (const parent of up[node]) if (placed[parent]) best = Math.max(best, layer[parent] + 1);
    layer[node] = best;
    placed[node] = 1;
  }
  let layerCount = 0;
  for (let i = 0; i < count; i += 1) layerCount = Math.max(layerCount, layer[i] + 1);
  const layers = Array.from({ length: layerCount }, () => []);
  for (const node of order) layers[layer[node]].push(node);

  // Barycentric ordering.
  const position = new Float64Array(count);
  const renumber = (members) => members.forEach((node, i) => (position[node] = i));
  layers.forEach(renumber);
  const sweep = (members, neighbours) => {
    const keyed = members.map((node, i) => {
      const around = neighbours[node];
      if (!around.length) return [position[node], i, node];
      let sum = 0;
      for (const other of around) sum += position[other];
      return [sum / around.length, i, node];
    });
    keyed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const sorted = keyed.map((entry) => entry[2]);
    renumber(sorted);
    return sorted;
  };
  for (let round = 0; round < SWEEPS; round += 1) {
    for (let l = 1; l < layerCount; l += 1) layers[l] = sweep(layers[l], up);
    for (let l = layerCount - 2; l >= 0; l -= 1) layers[l] = sweep(layers[l], down);
  }

  const tallest = layers.reduce((most, members) => Math.max(most, members.length), 0);
  const height = Math.max(1, tallest) * (NODE_HEIGHT + GAP_Y) - GAP_Y;
  const positions = new Map();
  layers.forEach((members, l) => {
    const offset = (height - (members.length * (NODE_HEIGHT + GAP_Y) - GAP_Y)) / 2;
    members.forEach((node, i) => {
      positions.set(nodes[node], {
        x: l * (NODE_WIDTH + GAP_X),
        y: offset + i * (NODE_HEIGHT + GAP_Y),
        layer: l,
        order: i,
      });
    });
  });
  const width = Math.max(1, layerCount) * (NODE_WIDTH + GAP_X) - GAP_X;
  return { positions, width, height, layers: layerCount };
}

/** Every node reachable downstream of `start` (not `start` itself). */
export function descendants(start, childrenOf) {
  const seen = new Set();
  const stack = [...(childrenOf.get(start) || [])];
  while (stack.length) {
    const node = stack.pop();
    if (seen.has(node)) continue;
    seen.add(node);
    for (const next of childrenOf.get(node) || []) stack.push(next);
  }
  return seen;
}
