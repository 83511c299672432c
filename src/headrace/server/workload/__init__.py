"""Workload managers: what launches the runner of each queued snapshot run.

The server decides *when* a queued run starts (the queue and its limits); a workload
manager decides *where*: a subprocess on the server's machine, a Ray job, or a
Kubernetes Job. See :mod:`headrace.server.workload.base` for the interface.
"""
