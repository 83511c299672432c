"""Train the model, then score a batch with the version in production.

Run from this directory after ``headrace init``::

    python run.py                          # train, then batch inference
    python run.py train --regularization 0.05
    python run.py predict --batch-size 20
"""

from __future__ import annotations

import argparse

from pipelines import MODEL_NAME, batch_inference, training

from headrace.client import Client


def train(regularization: float) -> None:
    run = training(regularization=regularization)
    print(run.steps["promote_if_better"].output.load())


def predict(batch_size: int) -> None:
    run = batch_inference(batch_size=batch_size)
    predictions = run.outputs["predictions"].load()
    version = Client().get_model_version(MODEL_NAME, "production")
    flagged = int(predictions["malignant"].sum())
    print(f"version {version.number} flagged {flagged} of {len(predictions)} rows as malignant")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", choices=["train", "predict", "all"], default="all")
    parser.add_argument("--regularization", type=float, default=1.0, help="sklearn's C")
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    if args.command in ("train", "all"):
        train(args.regularization)
    if args.command in ("predict", "all"):
        predict(args.batch_size)


if __name__ == "__main__":
    main()
