"""The project deployed by these tests, and what it answers."""

from __future__ import annotations

import textwrap
from typing import Any

PROJECT = textwrap.dedent(
    '''
    """Three trivial steps; an on_init hook counts how often it runs."""

    import os
    import time
    from pathlib import Path

    from headrace import get_step_context, pipeline, step


    def warm_up(factor: int = 10) -> dict:
        marker = Path(os.environ["TRIO_INIT_MARKER"])
        with marker.open("a") as handle:
            handle.write("init\\n")
        return {"factor": factor}


    @step
    def load(x: int, delay: float = 0.0) -> int:
        if delay:
            time.sleep(delay)
        return x + 1


    @step
    def scale(value: int) -> int:
        if value == 13:
            raise ValueError("thirteen is refused")
        return value * get_step_context().pipeline_state["factor"]


    @step
    def report(value: int, label: str = "v") -> dict:
        return {"label": label, "value": value}


    @pipeline(enable_cache=False, on_init=warm_up)
    def trio(x: int = 1, delay: float = 0.0, label: str = "v"):
        return report(scale(load(x, delay=delay)), label=label)
    '''
)


def expected(x: int, label: str = "v") -> dict[str, Any]:
    """What ``trio`` answers for ``x``."""
    return {"output": {"label": label, "value": (x + 1) * 10}}
