"""Python's cyclic garbage collector while a pipeline call compiles and runs its steps.

A run builds many long-lived objects (its compiled snapshot, step specs, run state, the
records of the steps done so far) and the collector's default thresholds (700
allocations) start a collection so often that the oldest generation, which holds all
of them, is rescanned again and again: its cost per step grew with the run's length
(about 1.9 s of a 10,000-step chain, 0.15 s each). While a pipeline call runs, the
youngest generation is collected after many more allocations, so the older ones are
reached far less often (0.13 s for that chain). Freezing the objects alive at the
start was measured too and paid less. The user's thresholds are restored when the call
ends; a process whose collector is disabled is left alone.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_YOUNG_THRESHOLD = 50_000  # allocations between collections of the youngest generation
_active = [False]  # a run inside a pipeline call (or a run's steps) does not nest it


@contextlib.contextmanager
def collecting_less() -> Iterator[None]:
    """Collect the youngest generation less often until the block ends."""
    thresholds = gc.get_threshold()
    if _active[0] or not gc.isenabled() or thresholds[0] >= _YOUNG_THRESHOLD:
        yield
        return
    _active[0] = True
    gc.set_threshold(_YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        if gc.get_threshold()[0] == _YOUNG_THRESHOLD:  # unless changed meanwhile
            gc.set_threshold(*thresholds)
        _active[0] = False
