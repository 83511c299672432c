"""``/api/v1/artifact_versions/{id}/preview`` and ``.../visualizations/{index}``: what the
dashboard's step page shows of inputs and outputs.

A preview reads plain data files only (JSON, ``.npy`` without pickle, Parquet, structured
strings; see ``headrace.artifacts.preview``): nothing a user stored is unpickled or
imported. A visualization is served as the file a materializer saved, only from inside
the version's directory, with ``Content-Security-Policy: sandbox`` so an HTML
visualization runs no script with the dashboard's origin, even when opened directly.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Response

from headrace.enums import VisualizationType
from headrace.server.deps import ReadAccess, StoreDep
from headrace.server.names import NameOrId

router = APIRouter(tags=["artifacts"])

_MEDIA_TYPES = {
    VisualizationType.HTML: "text/html; charset=utf-8",
    VisualizationType.MARKDOWN: "text/markdown; charset=utf-8",
    VisualizationType.CSV: "text/csv; charset=utf-8",
    VisualizationType.JSON: "application/json",
}
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}
SANDBOX_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; "
    "style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=300",
}


@router.get("/artifact_versions/{version_id}/preview")
def preview_artifact_version(
    store: StoreDep, caller: ReadAccess, version_id: NameOrId
) -> dict[str, Any]:
    """A short preview of the version's value: ``kind`` says which fields are set."""
    from headrace.artifacts.preview import preview_artifact_version as preview

    version = store.get_artifact_version(version_id)
    answer = asdict(preview(version, store))
    answer["visualizations"] = [item.type.value for item in version.visualizations]
    return answer


@router.get(
    "/artifact_versions/{version_id}/visualizations/{index}",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "image/png": {}}}},
)
def get_visualization(
    store: StoreDep, caller: ReadAccess, version_id: NameOrId, index: int
) -> Response:
    """One visualization file of the version, sandboxed."""
    from headrace.artifacts.preview import read_visualization

    version = store.get_artifact_version(version_id)
    data, name = read_visualization(version, index, store)
    kind = version.visualizations[index].type
    media = _MEDIA_TYPES.get(kind, "application/octet-stream")
    if kind is VisualizationType.IMAGE:
        suffix = name[name.rfind(".") :].lower() if "." in name else ""
        media = _IMAGE_TYPES.get(suffix, "application/octet-stream")
    return Response(content=data, media_type=media, headers=SANDBOX_HEADERS)
