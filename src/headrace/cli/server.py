"""``headrace server start``: serve the REST API over this repository's store (or a
database given by URL) on 127.0.0.1:8237."""

from __future__ import annotations

from typing import Annotated

import typer

from headrace.server.settings import DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT

app = typer.Typer(no_args_is_help=True, help="The headrace server (REST API).")


@app.command("start")
def start(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")
    ] = DEFAULT_PORT,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="HEADRACE_SERVER_DATABASE_URL",
            help="sqlite:///path.db, a SQLite file path, or postgresql://user@host/db "
            "(default: the repository's .headrace/headrace.db).",
        ),
    ] = None,
    artifact_path: Annotated[
        str | None,
        typer.Option("--artifact-path", help="Artifact store root of the default stack."),
    ] = None,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", min=1, help="Largest request body accepted.")
    ] = DEFAULT_MAX_BODY_BYTES,
    max_concurrent_runs: Annotated[
        int | None,
        typer.Option(
            "--max-concurrent-runs",
            "--max-concurrent-template-runs",
            min=1,
            help="Runs in flight at once across every server on the database (default: "
            "HEADRACE_SERVER_MAX_CONCURRENT_TEMPLATE_RUNS, else 2).",
        ),
    ] = None,
    max_queued_runs: Annotated[
        int | None,
        typer.Option(
            "--max-queued-runs",
            min=1,
            help="Runs that may wait in the queue; more triggers answer 429 (default: "
            "HEADRACE_SERVER_MAX_QUEUED_RUNS, else 100).",
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn log level (info, warning, ...).")
    ] = "info",
) -> None:
    """Serve the REST API until stopped (Ctrl-C or SIGTERM end it cleanly).

    Example: headrace server start --port 8237 --database-url postgresql://me@db/headrace
    """
    from headrace.server.runner import serve
    from headrace.server.settings import ServerSettings, queue_limits
    from headrace.server.workload.registry import load_workload_manager

    # Checked before anything starts: a malformed variable stops the server, named.
    limits = queue_limits(max_concurrent_runs=max_concurrent_runs, max_queued_runs=max_queued_runs)
    manager = load_workload_manager()
    settings = ServerSettings(
        host=host,
        port=port,
        database_url=database_url,
        artifact_path=artifact_path,
        max_body_bytes=max_body_bytes,
        **limits._asdict(),
    )
    typer.echo(f"headrace server on http://{host}:{port} (API docs at /docs)")
    serve(settings, log_level=log_level, workload_manager=manager)
