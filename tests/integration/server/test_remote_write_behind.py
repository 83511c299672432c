"""A remote store's queued step records (``headrace.store.rest_batch``) against a real
``headrace server`` subprocess: one batch instead of a request per step, reads see the
queue, other clients see it within the bound, nothing is lost at exit, and a batch that
cannot be written fails the run with an error naming the server."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_project import client_environment

from headrace.enums import ExecutionStatus
from headrace.exceptions import EntityExistsError, StoreConflictError
from headrace.models import (
    ArtifactVersionRequest,
    PipelineRunRequest,
    StepRunRequest,
    StepRunUpdate,
)
from headrace.store.rest import RestStore
from headrace.utils.env import ENV_STORE_WRITE_BEHIND_MS
from headrace_server import HeadraceServer

PASSWORD = "write-behind-password"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> Iterator[HeadraceServer]:
    server = HeadraceServer(tmp_path_factory.mktemp("write-behind"), template=migrated_sqlite)
    try:
        answer = server.http.post(
            f"{server.url}/api/v1/users",
            json={"name": "vera", "role": "viewer", "password": PASSWORD},
        )
        assert answer.status_code == 201, answer.text
        yield server
    finally:
        server.stop()


def _store(server: HeadraceServer, monkeypatch: pytest.MonkeyPatch, linger_ms: float) -> RestStore:
    monkeypatch.setenv(ENV_STORE_WRITE_BEHIND_MS, str(linger_ms))
    return RestStore(server.url, token=server.token())


def _run(store: RestStore) -> str:
    stack = store.get_default_stack()
    run = store.create_run(
        PipelineRunRequest(
            id=str(uuid.uuid4()),
            name=f"wb-{uuid.uuid4().hex[:8]}",
            pipeline_id=None,
            snapshot_id=None,
            stack_id=stack.id,
        )
    )
    return run.id


def _step(
    run_id: str, name: str, status: ExecutionStatus = ExecutionStatus.RUNNING
) -> StepRunRequest:
    return StepRunRequest(
        id=str(uuid.uuid4()), pipeline_run_id=run_id, name=name, step_name=name, status=status
    )


def _version(store: RestStore) -> ArtifactVersionRequest:
    return ArtifactVersionRequest(
        id=str(uuid.uuid4()),
        artifact_name="wb::out",
        uri=f"/tmp/{uuid.uuid4()}",
        materializer="m.M",
        data_type="builtins.int",
        content_hash="0" * 64,
        size=1,
        artifact_store_id=store.get_default_stack().id,
    )


def test_step_records_wait_in_the_queue_and_a_read_sends_them_first(
    server: HeadraceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(server, monkeypatch, linger_ms=60_000)  # only a read or flush sends
    try:
        run_id = _run(store)
        first, second = _step(run_id, "a"), _step(run_id, "b")
        store.create_step_runs([first])
        version = _version(store)  # a read: sends the creation
        created = store.complete_step_run(
            first.id, StepRunUpdate(status=ExecutionStatus.COMPLETED), {"out": [version]}
        )
        assert created == {"out": [version.id]}  # the client's own id, no answer awaited
        store.complete_step_run(
            second.id,
            StepRunUpdate(status=ExecutionStatus.COMPLETED),
            {},
            create=[second],
        )
        store.update_step_run(first.id, StepRunUpdate(run_metadata={"note": "late"}))
        assert store._behind.pending == 3
        # Another client does not see them yet ...
        other = server.http.get(f"{server.url}/api/v1/runs/{run_id}/steps").json()
        assert other["a"]["status"] == "running" and "b" not in other
        # ... this store's next read sends them, in order, then reads.
        steps = store.list_step_runs(run_id)
        assert store._behind.pending == 0
        assert steps["a"].status is ExecutionStatus.COMPLETED
        assert [v.id for v in steps["a"].outputs["out"]] == [version.id]
        assert steps["b"].status is ExecutionStatus.COMPLETED
        assert store.get_step_run(first.id).run_metadata == {"note": "late"}
    finally:
        store.close()


def test_another_client_sees_the_records_within_the_bound(
    server: HeadraceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(server, monkeypatch, linger_ms=20)
    try:
        run_id = _run(store)
        started = time.monotonic()
        store.create_step_runs([_step(run_id, "seen")])
        while time.monotonic() - started < 30:
            steps = server.http.get(f"{server.url}/api/v1/runs/{run_id}/steps").json()
            if "seen" in steps:
                break
            time.sleep(0.005)
        waited = time.monotonic() - started
        assert "seen" in steps, "the background thread never sent the record"
        # 20 ms of linger plus one round trip; generous for a loaded machine.
        assert waited < 5, waited
        assert store._behind.pending == 0
    finally:
        store.close()


def test_a_cache_lookup_sends_the_queue_only_when_it_holds_that_key(
    server: HeadraceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(server, monkeypatch, linger_ms=60_000)
    try:
        run_id = _run(store)
        store.create_step_runs([_step(run_id, "unrelated")])
        assert store.find_cache_hit("u" * 64) is None
        assert store._behind.pending == 1  # a record without that key: not sent
        cached = _step(run_id, "cached").model_copy(update={"cache_key": "k" * 64})
        store.create_step_runs([cached])
        store.flush()  # the start is applied; the key is still held until the end is
        version = _version(store)
        store.complete_step_run(
            cached.id, StepRunUpdate(status=ExecutionStatus.COMPLETED), {"out": [version]}
        )
        assert store._behind.holds("k" * 64)
        hit = store.find_cache_hit("k" * 64)  # sends the completion first: a hit
        assert hit is not None and hit.step_run_id == cached.id
        assert [v.id for v in hit.outputs["out"]] == [version.id]
        assert store._behind.pending == 0 and not store._behind.holds("k" * 64)
    finally:
        store.close()


def test_many_records_go_in_few_requests_and_one_transaction(
    server: HeadraceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(server, monkeypatch, linger_ms=60_000)
    sent: list[int] = []
    send = store._send_records

    def counting(body: bytes) -> None:
        sent.append(body.count(b'"kind"'))
        send(body)

    store._behind._send = counting
    try:
        run_id = _run(store)
        for index in range(450):
            step = _step(run_id, f"s{index}")
            store.complete_step_run(
                step.id, StepRunUpdate(status=ExecutionStatus.COMPLETED), {}, create=[step]
            )
        store.flush()
        assert sent == [200, 200, 50]  # at most MAX_RECORDS per request
        steps = store.list_step_runs(run_id)
        assert len(steps) == 450
        assert {s.status for s in steps.values()} == {ExecutionStatus.COMPLETED}
    finally:
        store.close()


def test_a_refused_batch_is_an_error_naming_the_server_and_the_record(
    server: HeadraceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(server, monkeypatch, linger_ms=60_000)
    try:
        run_id = _run(store)
        good, again = _step(run_id, "dup"), _step(run_id, "dup")
        store.create_step_runs([good])
        store.create_step_runs([again])  # the same step twice: refused by the server
        with pytest.raises(EntityExistsError) as caught:
            store.flush()
        message = str(caught.value)
        assert server.url in message and "could not be written" in message
        assert "Record 2" in message and "'dup'" in message
        # One transaction: the good record of the refused batch was not kept either,
        # and the store goes on working.
        assert "dup" not in store.list_step_runs(run_id)
        store.create_step_runs([_step(run_id, "fine")])
        assert "fine" in store.list_step_runs(run_id)
    finally:
        store.close()


def test_a_background_failure_is_raised_by_the_next_call(
    server: HeadraceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(server, monkeypatch, linger_ms=5)
    try:
        orphan = _step(str(uuid.uuid4()), "orphan")  # a run that does not exist
        store.create_step_runs([orphan])
        deadline = time.monotonic() + 30
        while store._behind.pending or store._behind._failure is None:
            assert time.monotonic() < deadline, "the background batch was never sent"
            time.sleep(0.01)
        with pytest.raises(StoreConflictError, match="could not be written") as caught:
            store.get_default_stack()
        assert server.url in str(caught.value)
        assert store.get_default_stack().name == "default"  # reported once, then gone
    finally:
        store.close()


WRITE_AND_EXIT = textwrap.dedent(
    """
    import sys, uuid
    from headrace.enums import ExecutionStatus
    from headrace.models import StepRunRequest
    from headrace.store.factory import get_store

    store = get_store()
    run_id = sys.argv[1]
    store.create_step_runs([
        StepRunRequest(id=str(uuid.uuid4()), pipeline_run_id=run_id, name="at-exit",
                       step_name="at-exit", status=ExecutionStatus.COMPLETED)
    ])
    print("QUEUED", store._behind.pending)
    """
)


def test_queued_records_are_sent_at_interpreter_exit(
    server: HeadraceServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = _store(server, monkeypatch, linger_ms=0)
    try:
        run_id = _run(store)
    finally:
        store.close()
    result = subprocess.run(
        [sys.executable, "-c", WRITE_AND_EXIT, run_id],
        cwd=tmp_path,
        env=client_environment(server, HEADRACE_STORE_WRITE_BEHIND_MS="600000"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "QUEUED 1" in result.stdout  # still queued when the script ended
    steps = server.http.get(f"{server.url}/api/v1/runs/{run_id}/steps").json()
    assert steps["at-exit"]["status"] == "completed"


def test_the_batch_route_needs_an_editor_and_refuses_bad_bodies(
    server: HeadraceServer,
) -> None:
    url = f"{server.url}/api/v1/steps/batch"
    record = {"kind": "create", "step_runs": []}
    assert httpx.post(url, json={"records": [record]}, timeout=60).status_code == 401
    viewer = server.headers("vera", PASSWORD)
    answer = httpx.post(url, json={"records": [record]}, headers=viewer, timeout=60)
    assert answer.status_code == 403, answer.text
    admin = server.headers()
    bad_bodies = [
        b"{not json",
        b'{"records": []}',  # nothing to apply
        b'{"records": [{"kind": "explode"}]}',  # an unknown kind
        b'{"records": [{"kind": "create", "step_runs": []}]}',  # an empty creation
        b'{"records": [{"kind": "update", "step_run_id": "x", "update": {}, "extra": 1}]}',
        b'{"records": [], "more": true}',  # an unknown field
        b'{"records": ['
        + b",".join([b'{"kind": "update", "step_run_id": "x", "update": {}}'] * 1001)
        + b"]}",
    ]
    for body in bad_bodies:
        answer = httpx.post(
            url, content=body, headers={**admin, "Content-Type": "application/json"}, timeout=60
        )
        assert answer.status_code == 422, (body[:80], answer.status_code, answer.text)
        assert answer.json()["error"]
    huge = (
        b'{"records": [{"kind": "update", "step_run_id": "x", "update": {"status_reason": "'
        + b"x" * (17 * 1024 * 1024)
        + b'"}}]}'
    )
    answer = httpx.post(
        url, content=huge, headers={**admin, "Content-Type": "application/json"}, timeout=60
    )
    assert answer.status_code == 413, answer.text


SLOW_PIPELINE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from headrace import pipeline, step

    MARK = Path(sys.argv[1])


    @step
    def first() -> int:
        return 1


    @step
    def wait_for_the_server_to_go(value: int) -> int:
        (MARK / "started").write_text("")
        while not (MARK / "go").exists():
            time.sleep(0.02)
        return value + 1


    @step
    def last(value: int) -> int:
        return value + 1


    @pipeline(enable_cache=False)
    def doomed() -> None:
        last(wait_for_the_server_to_go(first()))


    doomed()
    print("UNREACHABLE: the run did not fail")
    """
)


def test_a_run_fails_naming_the_server_when_the_server_goes_away(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    (tmp_path / "server").mkdir()
    server = HeadraceServer(tmp_path / "server", template=migrated_sqlite)
    marks = tmp_path / "marks"
    marks.mkdir()
    try:
        client = subprocess.Popen(
            [sys.executable, "-c", SLOW_PIPELINE, str(marks)],
            cwd=tmp_path,
            env=client_environment(server),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not (marks / "started").exists():
            assert client.poll() is None, client.communicate()
            assert time.monotonic() < deadline, "the step never started"
            time.sleep(0.02)
    finally:
        server.stop()
    (marks / "go").write_text("")
    out, err = client.communicate(timeout=120)
    assert client.returncode != 0, out + err
    assert "UNREACHABLE" not in out
    assert f"could not be written to the headrace server at {server.url}" in err, err


STOPPED_PIPELINE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from headrace import pipeline, step

    MARK = Path(sys.argv[1])


    @step
    def quick() -> int:
        return 1


    @step
    def endless(value: int) -> int:
        (MARK / "started").write_text("")
        while True:
            time.sleep(0.05)


    @pipeline(enable_cache=False)
    def stopped() -> None:
        endless(quick())


    stopped()
    """
)


def test_sigterm_sends_the_queued_records_before_the_process_ends(
    server: HeadraceServer, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    # The background thread would wait ten minutes: only the run's end sends the queue.
    client = subprocess.Popen(
        [sys.executable, "-c", STOPPED_PIPELINE, str(marks)],
        cwd=tmp_path,
        env=client_environment(server, HEADRACE_STORE_WRITE_BEHIND_MS="600000"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (marks / "started").exists():
        assert client.poll() is None, client.communicate()
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.02)
    client.send_signal(signal.SIGTERM)
    _out, err = client.communicate(timeout=120)
    assert client.returncode != 0
    runs = server.http.get(
        f"{server.url}/api/v1/runs", params={"sort_by": "desc:created", "size": 1}
    ).json()["items"]
    assert runs[0]["name"].startswith("stopped") and runs[0]["status"] == "stopped", runs
    steps = server.http.get(f"{server.url}/api/v1/runs/{runs[0]['id']}/steps").json()
    assert steps["quick"]["status"] == "completed", (steps, err)
    assert steps["endless"]["status"] == "stopped", (steps, err)


PROCESS_PIPELINE = textwrap.dedent(
    """
    from headrace import pipeline, step


    @step
    def source() -> int:
        return 1


    @step
    def double(value: int) -> int:
        return value * 2


    @step
    def add(left: int, right: int) -> int:
        return left + right


    @pipeline(
        enable_cache=False,
        settings={"orchestrator": {"processes": True, "max_parallelism": 2}},
    )
    def diamond() -> int:
        value = source()
        return add(double(value), double(value))


    if __name__ == "__main__":  # step processes import this file
        run = diamond()
        print("RUN", run.id, run.status.value)
    """
)


def test_steps_in_other_processes_send_their_records_before_they_return(
    server: HeadraceServer, tmp_path: Path
) -> None:
    (tmp_path / "diamond.py").write_text(PROCESS_PIPELINE)
    # Ten minutes of linger: the step processes must send their records themselves.
    result = subprocess.run(
        [sys.executable, "diamond.py"],
        cwd=tmp_path,
        env=client_environment(server, HEADRACE_STORE_WRITE_BEHIND_MS="600000"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("RUN"))
    _, run_id, status = line.split()
    assert status == "completed"
    steps = server.http.get(f"{server.url}/api/v1/runs/{run_id}/steps").json()
    assert len(steps) == 4, steps
    assert {step["status"] for step in steps.values()} == {"completed"}
