"""The collector's thresholds while a pipeline call runs, and after it."""

import gc

from headrace import pipeline, step
from headrace.utils.collection import collecting_less


def test_young_threshold_is_raised_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    with collecting_less():
        inside = gc.get_threshold()
        with collecting_less():  # nested: left as the outer block set it
            assert gc.get_threshold() == inside
        assert gc.get_threshold() == inside
    assert inside[0] > before[0]
    assert inside[1:] == before[1:]
    assert gc.get_threshold() == before


def test_a_disabled_collector_is_left_alone() -> None:
    before = gc.get_threshold()
    gc.disable()
    try:
        with collecting_less():
            assert gc.get_threshold() == before
    finally:
        gc.enable()


def test_thresholds_restored_after_a_run_and_after_a_failing_block(repo: object) -> None:
    before = gc.get_threshold()

    @step(enable_cache=False)
    def one() -> int:
        assert gc.get_threshold()[0] > before[0]
        return 1

    @pipeline(enable_cache=False)
    def short() -> None:
        one()

    short()
    assert gc.get_threshold() == before
    try:
        with collecting_less():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
