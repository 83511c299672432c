"""Runs the starter's pipelines, as the original's run.py does (argparse for click)."""

import argparse
import os

from pipelines import feature_engineering, inference, training

from headrace.client import Client
from headrace.logger import get_logger

logger = get_logger(__name__)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-dataset-name", default="dataset_trn")
    parser.add_argument("--train-dataset-version-name", default=None)
    parser.add_argument("--test-dataset-name", default="dataset_tst")
    parser.add_argument("--test-dataset-version-name", default=None)
    parser.add_argument("--feature-pipeline", action="store_true")
    parser.add_argument("--training-pipeline", action="store_true")
    parser.add_argument("--inference-pipeline", action="store_true")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()

    client = Client()
    config_folder = os.path.join(os.path.dirname(os.path.realpath(__file__)), "configs")
    pipeline_args = {}
    if args.no_cache:
        pipeline_args["enable_cache"] = False

    if args.feature_pipeline:
        pipeline_args["config_path"] = os.path.join(config_folder, "feature_engineering.yaml")
        run_args_feature = {}
        feature_engineering.with_options(**pipeline_args)(**run_args_feature)
        logger.info("Feature Engineering pipeline finished successfully!\n")

        train_dataset_artifact = client.get_artifact_version(args.train_dataset_name)
        test_dataset_artifact = client.get_artifact_version(args.test_dataset_name)
        logger.info(
            "The latest feature engineering pipeline produced the following artifacts: "
            "\n\n1. Train Dataset - Name: %s, Version Name: %s "
            "\n2. Test Dataset: Name: %s, Version Name: %s",
            args.train_dataset_name,
            train_dataset_artifact.version,
            args.test_dataset_name,
            test_dataset_artifact.version,
        )

    if args.training_pipeline:
        run_args_train = {}
        # If train_dataset_version_name is specified, use versioned artifacts
        if args.train_dataset_version_name or args.test_dataset_version_name:
            train_dataset_artifact_version = client.get_artifact_version(
                args.train_dataset_name, args.train_dataset_version_name
            )
            test_dataset_artifact_version = client.get_artifact_version(
                args.test_dataset_name, args.test_dataset_version_name
            )
            run_args_train = {
                "train_dataset_id": train_dataset_artifact_version.id,
                "test_dataset_id": test_dataset_artifact_version.id,
            }
        for config in ("training_sgd.yaml", "training_rf.yaml"):
            pipeline_args["config_path"] = os.path.join(config_folder, config)
            training.with_options(**pipeline_args)(**run_args_train)
            logger.info("Training pipeline with %s finished successfully!\n", config)

    if args.inference_pipeline:
        pipeline_args["config_path"] = os.path.join(config_folder, "inference.yaml")
        run_args_inference = {"random_state": 17, "target": "target"}
        inference.with_options(**pipeline_args)(**run_args_inference)
        logger.info("Inference pipeline finished successfully!")


if __name__ == "__main__":
    main()
