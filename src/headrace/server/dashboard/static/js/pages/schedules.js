// Every schedule: pause, resume, delete.

import { h, replace } from "../dom.js";
import { fetchSchedules, schedulesView } from "./common.js";

export async function render(main, _params, context) {
  const draw = async () => {
    const schedules = await fetchSchedules();
    replace(
      main,
      h("h1", {}, "Schedules"),
      schedulesView(schedules, { canWrite: context.canWrite(), onChange: draw }),
    );
  };
  await draw();
}
