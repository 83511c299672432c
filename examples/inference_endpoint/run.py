"""Train the iris classifier, serve it as a deployment, ask it about two flowers over
HTTP, then take the service down.

    python run.py              # all of it
    python run.py --keep       # leave the service running (stop it: headrace deployment
                               # deprovision iris)
"""

from __future__ import annotations

import argparse
import json

import httpx
from pipelines import classify_flower, training

from headrace.deployments import delete_deployment, deploy_snapshot, deprovision_deployment

FLOWERS = {
    "small petals": {
        "sepal_length": 5.0,
        "sepal_width": 3.4,
        "petal_length": 1.5,
        "petal_width": 0.2,
    },
    "long petals": {
        "sepal_length": 6.9,
        "sepal_width": 3.1,
        "petal_length": 5.6,
        "petal_width": 2.1,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-depth", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the deployment running")
    args = parser.parse_args()

    training(max_depth=args.max_depth)
    snapshot = classify_flower.create_snapshot(name="iris-classifier", replace=True)
    deployed = deploy_snapshot(snapshot, "iris")
    url = deployed.deployment.url
    print(f"deployment iris serves snapshot {snapshot.name} at {url}")

    headers = {"Authorization": f"Bearer {deployed.key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60.0) as client:
        for label, flower in FLOWERS.items():
            answer = client.post("/invoke", json={"parameters": flower}).raise_for_status()
            body = answer.json()
            print(f"{label}: {json.dumps(body['outputs']['prediction'], sort_keys=True)}")
            print(f"  run {body['run_id']} in {body['duration_ms']:.0f} ms")
        refused = client.post("/invoke", json={"parameters": {"petal_length": "long"}})
        print(f"a wrong type is refused: {refused.status_code} {refused.json()['problems']}")
        without_key = httpx.post(f"{url}/invoke", json={"parameters": {}}, timeout=60.0)
        print(f"a request without the key is refused: {without_key.status_code}")

    if args.keep:
        print(f"left running; the key is {deployed.key}")
        return
    stopped = deprovision_deployment("iris")
    print(f"deployment iris is {stopped.status.value}")
    delete_deployment("iris")
    print("deployment iris deleted")


if __name__ == "__main__":
    main()
