"""Version 1 of the HTTP API: one router per resource, mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from headrace.server.api.v1 import (
    accounts,
    artifacts,
    info,
    login,
    models,
    pipelines,
    previews,
    run_snapshot,
    runs,
    schedules,
    secrets,
    session,
    snapshot_access,
    snapshot_form,
    snapshots,
    stacks,
    steps,
    tags,
)

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every ``/api/v1`` route (a new router each call: no state shared between apps)."""
    router = APIRouter(prefix=API_PREFIX)
    router.include_router(login.router)
    router.include_router(session.router)
    router.include_router(accounts.users)
    router.include_router(accounts.service_accounts)
    router.include_router(snapshot_access.router)
    for module in (
        info,
        pipelines,
        snapshot_form,
        snapshots,
        schedules,
        run_snapshot,
        runs,
        steps,
        previews,
        artifacts,
        secrets,
        models,
        tags,
        stacks,
    ):
        router.include_router(module.router)
    return router
