"""A quickstart-style project: ``train`` (a new model version per run) and ``score``."""

import argparse
import os
from typing import Annotated, Dict, List, Tuple

from headrace import (
    ArtifactConfig,
    Model,
    get_pipeline_context,
    get_step_context,
    pipeline,
    save_artifact,
    step,
)
from headrace.client import Client
from headrace.config import DockerSettings
from headrace.enums import ArtifactType
from headrace.logger import get_logger
from headrace.types import MarkdownString

logger = get_logger(__name__)

docker = DockerSettings(
    environment={
        "HF_TOKEN": os.getenv("QUICKSTART_TOKEN_THAT_IS_NEVER_SET"),
        "BATCH": 64,
    }
)


@step
def load_points() -> Tuple[Annotated[List[float], "xs"], Annotated[List[float], "ys"]]:
    xs = [float(x) for x in range(20)]
    return xs, [3.0 * x + 1.0 for x in xs]


@step
def train(
    xs: List[float], ys: List[float], lr: float, epochs: int
) -> Annotated[Dict[str, float], ArtifactConfig(name="line", artifact_type=ArtifactType.MODEL)]:
    a, b = 0.0, 0.0
    n = len(xs)
    for _ in range(epochs):
        grad_a = sum((a * x + b - y) * x for x, y in zip(xs, ys, strict=True)) / n
        grad_b = sum((a * x + b - y) for x, y in zip(xs, ys, strict=True)) / n
        a -= lr * grad_a / 100
        b -= lr * grad_b
    loss = sum((a * x + b - y) ** 2 for x, y in zip(xs, ys, strict=True)) / n
    model = get_step_context().model
    model.log_metadata({"loss": loss, "lr": lr})
    logger.info("model %s version %s: loss %.4f", model.name, model.number, loss)
    return {"a": a, "b": b}


@step(enable_cache=False)
def promote() -> Annotated[MarkdownString, "promotion_note"]:
    model = get_step_context().model
    loss = model.run_metadata["loss"]
    try:
        best = Model(name=model.name, version="production").run_metadata["loss"]
    except Exception as exc:  # nothing in production yet
        if type(exc).__name__ != "EntityNotFoundError":
            raise
        best = float("inf")
    if loss < best:
        model.set_stage("production", force=True)
        return MarkdownString(f"# Promoted\n\nversion {model.number}, loss {loss:.4f}")
    return MarkdownString(f"# Kept\n\nversion {model.number} loss {loss:.4f} >= {best:.4f}")


@pipeline(settings={"docker": docker})
def training(lr: float = 0.1, epochs: int = 10):
    xs, ys = load_points()
    line = train(xs, ys, lr=lr, epochs=epochs)
    promote(after=line)


@step
def score(line: Dict[str, float], xs: List[float], offsets: List[float]) -> List[float]:
    return [line["a"] * x + line["b"] + o for x, o in zip(xs[: len(offsets)], offsets, strict=True)]


@pipeline(enable_cache=False)
def scoring():
    model = get_pipeline_context().model
    offsets = save_artifact([0.0, 0.5, 1.0], name="offsets")
    score(line=model.get_artifact("line"), xs=model.get_artifact("xs"), offsets=offsets)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["train", "score"])
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()
    if args.command == "train":
        training.with_options(config_path="configs/training.yaml")(lr=args.lr)
        logger.info("runs of training so far: %d", len(training.model.runs))
    else:
        production = Client().get_model_version("price_model", "production")
        scoring.with_options(model=Model(name="price_model", version="production"))()
        last = scoring.model.last_run
        logger.info("scored with version %s in %s", production.number, last.name)
