"""The ``kubernetes`` orchestrator flavor: every step of a run in a pod of its own.

``pip install 'headrace[kubernetes]'`` brings the official ``kubernetes`` client, which
is imported only when a run uses this flavor. ``manifests`` builds the pods from the
client's models, ``api`` connects to the cluster, ``orchestrator`` submits, watches and
stops the step pods, and ``results`` reads what a finished pod's step recorded.
"""
