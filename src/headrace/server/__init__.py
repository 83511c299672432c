"""``headrace server``: a thin HTTP layer (FastAPI) over the Store.

It never imports or runs user pipeline code: runs it starts execute in their own
processes (``python -m headrace.execution.snapshot_runs RUN_ID``).
"""
