"""``ray`` CLI for a node of the test cluster on a loopback-only machine.

Run as ``python ray_node.py start --block --address=127.0.0.1:PORT ...``. Ray replaces a
loopback address given to a worker node with the address of the machine's default route,
and a head started on 127.0.0.1 listens on the loopback only, so the worker node could
never reach it. Here the node's own address is the loopback, as for the head (where
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` has the same effect, but a worker node refuses to
start with that setting). Nothing else of Ray changes.
"""

from __future__ import annotations

import ray._private.services as services
from ray.scripts.scripts import main


def _loopback(address: object = None) -> str:
    return "127.0.0.1"


if __name__ == "__main__":
    services.node_ip_address_from_perspective = _loopback  # type: ignore[assignment]
    main()
