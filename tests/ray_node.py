"""``ray`` CLI for a node of the test cluster: loopback only, never outliving the tests.

Run as ``python ray_node.py PARENT_PID start --block ...`` in a process group of its own.

- Ray replaces a loopback node address with the address of the machine's default route,
  and a head started on 127.0.0.1 listens on the loopback only, so a worker node could
  not reach it (and a sandbox may allow nothing but the loopback). Here a node's own
  address is always the loopback. Nothing else of Ray changes.
- When the test process ``PARENT_PID`` ends without stopping the cluster (killed, or a
  timeout ended it), a watcher thread ends this node's whole process group: raylet, GCS,
  agents and workers, which ``ray start --block`` alone would leave running.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time

GRACE_S = 3.0


def _loopback(address: object = None) -> str:
    return "127.0.0.1"


def _end_group_when_gone(parent: int, temp_dir: str | None) -> None:
    while True:
        time.sleep(0.5)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            break
    group = os.getpgrp()
    os.killpg(group, signal.SIGTERM)
    time.sleep(GRACE_S)
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)
    os.killpg(group, signal.SIGKILL)


def main() -> None:
    parent = int(sys.argv.pop(1))
    temp_dirs = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--temp-dir=")]
    watcher = threading.Thread(
        target=_end_group_when_gone, args=(parent, temp_dirs[0] if temp_dirs else None)
    )
    watcher.daemon = True
    watcher.start()
    import ray._private.services as services
    from ray.scripts.scripts import main as ray_main

    services.node_ip_address_from_perspective = _loopback  # type: ignore[assignment]
    ray_main()


if __name__ == "__main__":
    main()
