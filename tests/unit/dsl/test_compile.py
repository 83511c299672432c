"""Compiling pipelines: graph shape, ids, bindings, errors, determinism."""

from __future__ import annotations

from typing import Annotated

import pytest

from headrace import pipeline, step
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.exceptions import CompilationError, ConfigurationError, StepInterfaceError


@step
def source(seed: int = 0) -> int:
    return seed


@step
def add(a: int, b: int = 1) -> int:
    return a + b


@step
def gather(values: list[int]) -> int:
    return sum(values)


@step
def side_effect() -> None:
    return None


def test_invocation_ids_count_up_for_repeated_steps() -> None:
    @pipeline
    def p() -> None:
        x = source()
        add(x)
        add(x)
        add(x, id="custom")

    spec = p.compile().spec
    assert list(spec.steps) == ["source", "add", "add_2", "custom"]
    assert spec.steps["add_2"].step_name == "add"
    assert spec.steps["add_2"].upstream == ["source"]


def test_bindings_parameters_and_defaults() -> None:
    @pipeline
    def p(seed: int = 3) -> None:
        add(source(seed=seed), b=5)

    spec = p.compile().spec
    assert spec.parameters == {"seed": 3}
    assert spec.steps["source"].parameters == {"seed": 3}
    add_spec = spec.steps["add"]
    assert add_spec.parameters == {"b": 5}
    assert add_spec.inputs["a"].ref is not None
    assert (add_spec.inputs["a"].ref.step, add_spec.inputs["a"].ref.output) == ("source", "output")
    assert add_spec.input_types["a"].data_type == "builtins.int"


def test_defaults_are_recorded_as_parameters() -> None:
    @pipeline
    def p() -> None:
        add(source())

    assert p.compile().spec.steps["add"].parameters == {"b": 1}


def test_fan_in_list_binding() -> None:
    @pipeline
    def p() -> None:
        gather([add(source(), id=f"a{i}") for i in range(3)])

    spec = p.compile().spec
    binding = spec.steps["gather"].inputs["values"]
    assert binding.kind == "list"
    assert [r.step for r in binding.items] == ["a0", "a1", "a2"]
    assert spec.steps["gather"].upstream == ["a0", "a1", "a2"]


def test_after_orders_steps_without_data() -> None:
    @pipeline
    def p() -> None:
        side_effect(id="first")
        source(after="first")
        side_effect(id="last", after=["source", "first"])

    spec = p.compile().spec
    assert spec.steps["source"].upstream == ["first"]
    assert spec.steps["last"].upstream == ["source", "first"]


def test_after_may_point_forward_and_order_follows() -> None:
    @pipeline
    def p() -> None:
        side_effect(id="a", after="b")
        side_effect(id="b")

    assert list(p.compile().spec.steps) == ["b", "a"]


def test_cycle_through_after_is_named() -> None:
    @pipeline
    def p() -> None:
        side_effect(id="a", after="b")
        side_effect(id="b", after="a")

    with pytest.raises(CompilationError, match=r"cycle: .*a -> b|cycle: .*b -> a"):
        p.compile()


def test_unknown_after_id_is_named() -> None:
    @pipeline
    def p() -> None:
        side_effect(id="a", after="nope")

    with pytest.raises(CompilationError, match="after='nope'.*known ids: a"):
        p.compile()


def test_missing_required_input_names_step_and_input() -> None:
    @pipeline
    def p() -> None:
        add()

    with pytest.raises(CompilationError, match="'add' is missing its required input 'a'"):
        p.compile()


def test_unknown_keyword_names_it() -> None:
    @pipeline
    def p() -> None:
        add(1, c=2)

    with pytest.raises(CompilationError, match="no input named 'c'"):
        p.compile()


def test_unserialisable_parameter_names_step_and_parameter() -> None:
    class Opaque:
        pass

    @pipeline
    def p() -> None:
        add(Opaque())  # type: ignore[arg-type]

    with pytest.raises(CompilationError, match="Step 'add' parameter 'a'.*Opaque"):
        p.compile()


def test_output_of_another_pipeline_is_refused() -> None:
    leaked = []

    @pipeline
    def first() -> None:
        leaked.append(source())

    @pipeline
    def second() -> None:
        add(leaked[0])

    first.compile()
    with pytest.raises(CompilationError, match="belongs to another pipeline call"):
        second.compile()


def test_step_output_has_no_value_at_compile_time() -> None:
    @pipeline
    def p() -> None:
        if source():
            add(1)

    with pytest.raises(CompilationError, match="cannot be used as a condition"):
        p.compile()


def test_duplicate_custom_id_is_refused() -> None:
    @pipeline
    def p() -> None:
        source(id="x")
        source(id="x")

    with pytest.raises(CompilationError, match="'x' is already used"):
        p.compile()


def test_pipeline_outputs_take_annotated_names() -> None:
    @pipeline
    def p() -> Annotated[int, "total"]:
        return add(source())

    spec = p.compile().spec
    assert spec.outputs["total"].step == "add"


def test_compiling_twice_gives_identical_json() -> None:
    @pipeline
    def p(seed: int = 1) -> None:
        a = source(seed=seed)
        gather([add(a), add(a, b=2)])

    assert p.compile().spec.canonical_json() == p.compile().spec.canonical_json()
    assert p.compile().spec.model_dump_json() == p.compile().spec.model_dump_json()


def test_compiled_spec_equals_its_validated_round_trip() -> None:
    """Specs are built without validation; validating their JSON gives the same spec."""
    from headrace.config.spec import PipelineSpec

    @step(output_materializers=None, retry={"max_retries": 1}, environment={"A": 1})
    def configured(values: dict[str, int], flag: bool = True) -> Annotated[int, "n"]:
        return len(values)

    @pipeline(tags=["t"], settings={"orchestrator": {"max_parallelism": 2}})
    def p(seed: int = 1) -> Annotated[int, "result"]:
        a = source(seed=seed)
        side_effect(id="first", after=a)
        return configured({"x": a, "y": add(a, b=2)}, after="first")

    spec = p.compile().spec
    again = PipelineSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert again.canonical_json() == spec.canonical_json()
    assert spec.steps["configured"].inputs["values"].kind == "dict"
    assert spec.steps["configured"].config.environment == {"A": "1"}


def test_run_configuration_overrides_step_parameters() -> None:
    @pipeline
    def p() -> None:
        add(source(), b=5)

    configured = p.with_options(steps={"add": {"parameters": {"b": 7}}})
    assert configured.compile().spec.steps["add"].parameters["b"] == 7
    assert p.compile().spec.steps["add"].parameters["b"] == 5  # the original is unchanged


def test_run_configuration_for_unknown_step_is_refused() -> None:
    @pipeline
    def p() -> None:
        source()

    with pytest.raises(CompilationError, match="unknown step.*'trainer'.*source"):
        p.with_options(steps={"trainer": {"parameters": {}}}).compile()


def test_configuring_an_input_fed_by_a_step_is_refused() -> None:
    @pipeline
    def p() -> None:
        add(source())

    with pytest.raises(CompilationError, match="input 'a' receives a step output"):
        p.with_options(steps={"add": {"parameters": {"a": 1}}}).compile()


def test_pipeline_run_configuration_spreads_as_keywords() -> None:
    @pipeline
    def p(name: str = "World") -> None:
        source()

    run_config = PipelineRunConfiguration(enable_cache=False, run_name="experimental_run")
    configured = p.with_options(**run_config)
    assert configured.run_configuration.run_name == "experimental_run"
    assert configured.compile(name="Bob").spec.config.enable_cache is False


def test_unknown_decorator_option_is_an_error() -> None:
    with pytest.raises(TypeError, match="colour"):
        step(colour="blue")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match=r"unknown option 'colour'"):
        source.configure(colour="blue")


def test_enforced_annotations(monkeypatch: pytest.MonkeyPatch) -> None:
    @step
    def loose(x):  # type: ignore[no-untyped-def]
        return x

    @pipeline
    def p() -> None:
        loose(1)

    p.compile()  # fine without the setting
    monkeypatch.setenv("HEADRACE_ENFORCE_TYPE_ANNOTATIONS", "true")
    with pytest.raises(StepInterfaceError, match="input 'x', output 'output'"):
        p.compile()


def test_with_options_copies_the_step() -> None:
    renamed = add.with_options(name="plus", enable_cache=False)
    assert renamed.name == "plus" and add.name == "add"
    assert renamed.configuration.enable_cache is False
    assert add.configuration.enable_cache is None


def test_invocations_of_one_step_share_its_template_but_not_their_own_parts() -> None:
    @pipeline
    def p() -> None:
        x = source()
        add(x, b=2)
        add(x)
        add(x, b=9, id="tuned")

    configured = p.with_options(steps={"tuned": {"environment": {"MODE": "fast"}}})
    spec = configured.compile().spec
    plain, default, tuned = spec.steps["add"], spec.steps["add_2"], spec.steps["tuned"]
    assert (plain.parameters, default.parameters, tuned.parameters) == (
        {"b": 2},
        {"b": 1},
        {"b": 9},
    )
    # The run configuration of one invocation applies to it alone.
    assert tuned.config.environment == {"MODE": "fast"}
    assert plain.config.environment == default.config.environment == {}
    # What the plain invocations share is built once: one object in both specs.
    assert plain.config is default.config
    assert plain.outputs["output"] is default.outputs["output"]
    assert tuned.config is not plain.config


def test_a_configured_parameter_reaches_every_invocation_of_its_step() -> None:
    @pipeline
    def p() -> None:
        x = source()
        add(x, b=2)
        add(x, id="second")

    configured = p.with_options(steps={"add": {"parameters": {"b": 7}}})
    spec = configured.compile().spec
    assert spec.steps["add"].parameters == {"b": 7}
    assert spec.steps["second"].parameters == {"b": 1}  # configured under its own id only
