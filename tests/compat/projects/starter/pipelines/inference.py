from steps import data_loader, inference_predict, inference_preprocessor

from headrace import get_pipeline_context, pipeline
from headrace.logger import get_logger

logger = get_logger(__name__)


@pipeline
def inference(random_state: int, target: str):
    """Predicts on fresh data with the production model and its preprocessing."""
    model = get_pipeline_context().model
    df_inference = data_loader(random_state=random_state, is_inference=True)
    df_inference = inference_preprocessor(
        dataset_inf=df_inference,
        preprocess_pipeline=model.get_artifact("preprocess_pipeline"),
        target=target,
    )
    inference_predict(dataset_inf=df_inference)
