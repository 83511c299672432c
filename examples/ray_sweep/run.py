"""Run the sweep on a Ray cluster.

    python run.py --address 127.0.0.1:6379      # the address `ray start --head` printed
    python run.py --depths 3 6 --leaves 1 2 4

The first run registers an orchestrator and a stack named ``ray`` (this repository's
artifact store, the Ray orchestrator at ``--address``) and makes it the active stack.
"""

from __future__ import annotations

import argparse

from pipelines import sweep

from headrace.client import Client
from headrace.exceptions import EntityExistsError


def use_ray(address: str) -> None:
    """Make the stack ``ray`` (Ray orchestrator at ``address``) the active stack."""
    client = Client()
    artifact_store = client.active_stack.artifact_store
    try:
        client.create_stack_component("ray", "ray", "orchestrator", {"address": address})
        client.create_stack("ray", {"orchestrator": "ray", "artifact_store": artifact_store.name})
    except EntityExistsError:
        client.update_stack_component("ray", "orchestrator", configuration={"address": address})
    client.activate_stack("ray")


def main() -> None:
    parser = argparse.ArgumentParser(description="A hyper-parameter sweep on Ray.")
    parser.add_argument("--address", default="auto", help="the Ray cluster (host:port, auto)")
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--leaves", type=int, nargs="+", default=[1, 5])
    args = parser.parse_args()
    use_ray(args.address)
    run = sweep(depths=args.depths, min_leaf_sizes=args.leaves)
    best = run.steps["pick_best"].outputs["best"][0].load()
    print(f"run {run.name} {run.status}: {len(args.depths) * len(args.leaves)} candidates")
    print(f"best: {best}")


if __name__ == "__main__":
    main()
