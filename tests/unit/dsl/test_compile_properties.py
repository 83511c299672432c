"""Property tests: random DAGs compile, order respects every edge, compiling is stable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from headrace import pipeline, step


@step
def node(inputs: list[int]) -> int:
    return len(inputs)


@step
def leaf() -> int:
    return 0


# A DAG as, for each node i, a set of earlier nodes it reads from.
dags = st.integers(min_value=1, max_value=12).flatmap(
    lambda n: st.tuples(
        *[st.sets(st.integers(min_value=0, max_value=max(i - 1, 0)), max_size=i) for i in range(n)]
    )
)
# Extra ordering-only edges (after=) from later nodes to earlier ones, never cycles.
after_edges = st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=6)


def build(dag: tuple[set[int], ...], after: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    @pipeline
    def random_pipeline() -> None:
        outputs = []
        for i, parents in enumerate(dag):
            extra = [f"n{b}" for a, b in after if a == i and b < i]
            if parents and i > 0:
                outputs.append(node([outputs[p] for p in sorted(parents)], id=f"n{i}", after=extra))
            else:
                outputs.append(leaf(id=f"n{i}", after=extra))

    return random_pipeline


@settings(max_examples=60, deadline=None)
@given(dag=dags, after=after_edges)
def test_random_dags_compile_in_an_order_that_respects_every_edge(dag, after) -> None:  # type: ignore[no-untyped-def]
    spec = build(dag, after).compile().spec
    position = {name: i for i, name in enumerate(spec.steps)}
    assert len(position) == len(dag)
    for name, step_spec in spec.steps.items():
        for up in step_spec.upstream:
            assert position[up] < position[name]


@settings(max_examples=30, deadline=None)
@given(dag=dags, after=after_edges)
def test_compiling_twice_gives_the_same_bytes(dag, after) -> None:  # type: ignore[no-untyped-def]
    random_pipeline = build(dag, after)
    assert random_pipeline.compile().spec.canonical_json() == (
        random_pipeline.compile().spec.canonical_json()
    )
