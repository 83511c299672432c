from headrace import Model, get_step_context, step
from headrace.exceptions import EntityNotFoundError
from headrace.logger import get_logger

logger = get_logger(__name__)


@step
def model_promoter(accuracy: float, stage: str = "production") -> bool:
    """Promotes the run's model version when it beats the one in ``stage``."""
    is_promoted = False
    if accuracy < 0.8:
        logger.info("Model accuracy %.2f%% is below 80%%! Not promoting model.", accuracy * 100)
        return is_promoted
    current_model = get_step_context().model
    try:
        stage_model = Model(name=current_model.name, version=stage)
        prod_accuracy = stage_model.get_artifact("sklearn_classifier").run_metadata["test_accuracy"]
        if float(accuracy) > float(prod_accuracy):
            is_promoted = True
            current_model.set_stage(stage, force=True)
    except (KeyError, EntityNotFoundError):  # no version in that stage yet
        is_promoted = True
        current_model.set_stage(stage, force=True)
    logger.info("Promoted: %s (version %s)", is_promoted, current_model.version)
    return is_promoted
