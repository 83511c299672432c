// Every snapshot.

import { listAll } from "../api.js";
import { h, replace } from "../dom.js";
import { snapshotsTable } from "./common.js";

export async function render(main) {
  const snapshots = await listAll("/pipeline_snapshots", 500);
  replace(main, h("h1", {}, "Snapshots"), snapshotsTable(snapshots, "No snapshots yet: create one with 'headrace pipeline snapshot create'."));
}
