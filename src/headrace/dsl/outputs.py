"""Placeholders a step call returns while a pipeline is being compiled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from headrace.exceptions import CompilationError

if TYPE_CHECKING:
    from headrace.dsl.compiler import GraphBuilder


class StepArtifact:
    """The future output ``output_name`` of the step invocation ``invocation_id``.

    Pass it to other steps; it has no value while a static pipeline is compiled.
    """

    __slots__ = ("annotation", "builder", "invocation_id", "output_name")

    def __init__(
        self, builder: GraphBuilder, invocation_id: str, output_name: str, annotation: Any
    ) -> None:
        self.builder = builder
        self.invocation_id = invocation_id
        self.output_name = output_name
        self.annotation = annotation

    def __repr__(self) -> str:
        return f"StepArtifact({self.invocation_id}.{self.output_name})"

    def _no_value(self, what: str) -> NoReturn:
        if hasattr(self.builder, "load"):
            raise CompilationError(
                f"Output {self.output_name!r} of step {self.invocation_id!r} cannot be "
                f"{what} directly; call .load() to wait for the step and get its value."
            )
        raise CompilationError(
            f"Output {self.output_name!r} of step {self.invocation_id!r} has no value while the "
            f"pipeline is compiled, so it cannot be {what}. Pass it to another step, or use "
            "@pipeline(dynamic=True) to work with step outputs in Python."
        )

    def __bool__(self) -> bool:
        self._no_value("used as a condition")

    def __iter__(self) -> NoReturn:
        self._no_value(
            "iterated or unpacked (a step with several outputs returns a tuple "
            "only when its return annotation or tuple-literal return says so)"
        )

    def __len__(self) -> int:
        self._no_value("measured with len()")

    def __getitem__(self, key: Any) -> NoReturn:
        self._no_value("indexed")

    def load(self) -> Any:
        """The output's value: in a dynamic pipeline, once the step has run; a static
        pipeline has no values while it is compiled."""
        loader = getattr(self.builder, "load", None)
        if loader is None:
            self._no_value("loaded")
        return loader(self)
