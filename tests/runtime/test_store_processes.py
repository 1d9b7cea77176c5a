"""The job store with real processes: concurrent runs, killed holders, a crash mid-transaction.

Every process here is a real OS process (multiprocessing, forkserver start method), sharing only
the store directory and, for the IBM-like cases, a job service kept on disk. Nothing is mocked in
the store; "crashes" are ``os._exit`` or SIGKILL.
"""

import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qiskit_qattn.runtime import JobStore, ResumableRunner

N = 8
_STARTED = []


@pytest.fixture(autouse=True)
def _no_stray_processes():
    """A failing test must not leave children behind (a hung holder, a waiter)."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=10)


@pytest.fixture(scope="module")
def task(manila, mp):
    _, helpers = mp
    q, k, v = helpers.head_inputs()
    return helpers.pack_head(q, k, v, device=manila, shots=256, label="mp-head").task


def _start(ctx, target, args_list, timeout=120):
    """Start one process per args tuple; release them together once all are ready."""
    queue, start = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=target, args=(i, *args[:-1], start, queue, *args[-1]))
             for i, args in enumerate(args_list)]
    for p in procs:
        p.start()
        _STARTED.append(p)
    ready = [queue.get(timeout=timeout) for _ in procs]
    assert all(r["event"] == "ready" for r in ready)
    start.set()
    return procs, queue


def _collect(procs, queue, n, timeout=120):
    out = [queue.get(timeout=timeout) for _ in range(n)]
    for p in procs:
        p.join(timeout=timeout)
        assert p.exitcode == 0, f"worker {p.pid} exited with {p.exitcode}"
    return sorted(out, key=lambda r: r["index"])


def _wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _kill(proc):
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL


def _only_record(store):
    records = store.records()
    assert len(records) == 1
    return records[0]


def test_eight_processes_local_runtime_one_submission(tmp_path, mp):
    """8 processes, same head, Runtime local testing mode: one job, eight identical results."""
    ctx, helpers = mp
    store_dir, count = tmp_path / "store", tmp_path / "submissions.txt"
    procs, queue = _start(ctx, helpers.local_head_worker,
                          [(store_dir, count, ())] * N)
    results = _collect(procs, queue, N)
    submissions = count.read_text().splitlines()
    assert len(submissions) == 1  # counted by the submitter itself, in whichever process
    job_id = submissions[0].split()[1]
    for r in results:
        np.testing.assert_array_equal(r["values"], results[0]["values"])
        assert r["job_ids"] == [job_id]
    assert len({r["pid"] for r in results}) == N
    record = _only_record(JobStore(store_dir))
    assert record["status"] == "done" and record["job_ids"] == [job_id]
    assert [(a["job_id"], a["status"]) for a in record["attempts"]] == [(job_id, "done")]
    assert record["claim"] is None


def test_eight_processes_job_service_one_submission(tmp_path, mp, task):
    ctx, helpers = mp
    store_dir, service_dir = tmp_path / "store", tmp_path / "service"
    procs, queue = _start(ctx, helpers.service_task_worker,
                          [(store_dir, service_dir, task, ({"delay": 0.3},))] * N)
    results = _collect(procs, queue, N)
    jobs = helpers.FileJobService(service_dir).jobs()
    assert len(jobs) == 1
    for r in results:
        np.testing.assert_array_equal(r["counts"], results[0]["counts"])
    assert results[0]["counts"].shape == (2, 256, 1)  # 2 queries x 256 shots x 1 byte
    record = _only_record(JobStore(store_dir))
    assert record["job_ids"] == [jobs[0]["id"]]
    assert [a["status"] for a in record["attempts"]] == ["done"]


@pytest.mark.parametrize("detect_dead, lease", [(True, 60.0), (False, 3.0)],
                         ids=["dead-holder-seen-at-once", "after-lease"])
def test_killed_holder_job_adopted_by_id(tmp_path, mp, task, detect_dead, lease):
    """Holder killed while its accepted job is queued: the next run takes over that same job."""
    ctx, helpers = mp
    store_dir, service_dir = tmp_path / "store", tmp_path / "service"
    store_kw = {"lease": lease, "detect_dead_holders": detect_dead}
    store = JobStore(store_dir, **store_kw)
    holder, _ = _start(ctx, helpers.service_task_worker,
                       [(store_dir, service_dir, task, ({"held": True}, store_kw))])
    record = _wait_for(lambda: (r := store.get(store.keys()[0]) if store.keys() else None)
                       and r["status"] == "submitted" and r, what="the holder's submission")
    _kill(holder[0])
    killed_at = time.time()
    record = store.get(record["key"])
    assert record["claim"] is not None  # a killed process releases nothing
    lease_until = record["claim"]["lease_until"]
    service = helpers.FileJobService(service_dir)
    (job,) = service.jobs()
    service.release(job["id"])

    procs, queue = _start(ctx, helpers.service_task_worker,
                          [(store_dir, service_dir, task, ({}, store_kw))])
    (result,) = _collect(procs, queue, 1)
    assert len(service.jobs()) == 1  # nothing was submitted again
    expected = service.job(job["id"]).result()[0].data.meas.array
    np.testing.assert_array_equal(result["counts"], expected)
    record = store.get(record["key"])
    assert record["job_ids"] == [job["id"]] and record["claim"] is None
    assert [(a["job_id"], a["status"]) for a in record["attempts"]] == [(job["id"], "done")]
    if detect_dead:
        assert result["finished"] < lease_until - 30  # did not wait for the 60 s lease
    else:
        assert result["finished"] >= lease_until > killed_at  # waited for the lease


@pytest.mark.parametrize("crash, attempts", [("after_accept", ["done"]),
                                             ("before_accept", ["lost", "done"])])
def test_holder_dies_during_submission(tmp_path, mp, task, crash, attempts):
    """Dies right after the service accepted (adopted by tag) or before (submitted once)."""
    ctx, helpers = mp
    store_dir, service_dir = tmp_path / "store", tmp_path / "service"
    procs, _ = _start(ctx, helpers.service_task_worker,
                      [(store_dir, service_dir, task, ({"crash": crash},))])
    procs[0].join(timeout=60)
    assert procs[0].exitcode == helpers.CRASH_EXIT
    store = JobStore(store_dir)
    record = _only_record(store)
    assert record["status"] == "submitting" and record["attempts"][-1]["job_id"] is None
    accepted = len(helpers.FileJobService(service_dir).jobs())
    assert accepted == (1 if crash == "after_accept" else 0)

    procs, queue = _start(ctx, helpers.service_task_worker,
                          [(store_dir, service_dir, task, ())])
    _collect(procs, queue, 1)
    jobs = helpers.FileJobService(service_dir).jobs()
    assert len(jobs) == 1  # exactly one job in all
    record = _only_record(store)
    assert [a["status"] for a in record["attempts"]] == attempts
    assert record["attempts"][-1]["job_id"] == jobs[0]["id"] and record["job_ids"] == [
        jobs[0]["id"]]


def test_killed_holder_in_local_mode_submits_once_more(tmp_path, mp):
    """Local testing mode: the killed holder's job died with it; the next run submits once."""
    ctx, helpers = mp
    store_dir, count = tmp_path / "store", tmp_path / "submissions.txt"
    holder, _ = _start(ctx, helpers.local_head_worker, [(store_dir, count, (True,))])
    store = JobStore(store_dir)
    _wait_for(lambda: store.keys() and store.get(store.keys()[0])["status"] == "submitted",
              what="the holder's local job")
    _kill(holder[0])
    procs, queue = _start(ctx, helpers.local_head_worker, [(store_dir, count, ())])
    (result,) = _collect(procs, queue, 1)
    lines = [line.split() for line in count.read_text().splitlines()]
    assert len(lines) == 2 and lines[0][0] == str(holder[0].pid)
    lost_id, new_id = lines[0][1], lines[1][1]
    record = _only_record(store)
    assert [(a["job_id"], a["status"]) for a in record["attempts"]] == [(lost_id, "lost"),
                                                                        (new_id, "done")]
    assert record["job_ids"] == [lost_id, new_id] and result["job_ids"] == [lost_id, new_id]


def test_sweep_units_each_computed_once_by_concurrent_workers(tmp_path, mp):
    ctx, helpers = mp
    keys = [f"unit-{i}" for i in range(6)]
    log = tmp_path / "log.txt"
    procs, queue = _start(ctx, helpers.unit_worker, [(tmp_path / "s", keys, log, ())] * 4)
    results = _collect(procs, queue, 4)
    lines = log.read_text().splitlines()
    for key in keys:
        assert sum(line.startswith(f"start {key} ") for line in lines) == 1
        assert sum(line.startswith(f"end {key} ") for line in lines) == 1
        expected = np.frombuffer(key.encode(), dtype=np.uint8).astype(float)
        for r in results:
            np.testing.assert_array_equal(r["values"][key], expected)
    assert JobStore(tmp_path / "s").statuses(keys) == dict.fromkeys(keys, "done")


def test_killed_sweep_reruns_only_missing_units(tmp_path, mp):
    ctx, helpers = mp
    keys = [f"unit-{i}" for i in range(5)]
    log, store_dir = tmp_path / "log.txt", tmp_path / "s"
    worker, _ = _start(ctx, helpers.unit_worker, [(store_dir, keys, log, (0.3,))])
    store = JobStore(store_dir)
    _wait_for(lambda: list(store.statuses(keys).values()).count("done") >= 2,
              what="two finished units")
    _kill(worker[0])
    finished_before = {k for k, s in store.statuses(keys).items() if s == "done"}
    procs, queue = _start(ctx, helpers.unit_worker, [(store_dir, keys, log, (0.01,))])
    _collect(procs, queue, 1)
    ends = [line.split()[1] for line in log.read_text().splitlines() if line.startswith("end")]
    assert sorted(ends) == sorted(keys)  # every unit finished exactly once over both runs
    rerun = {line.split()[1] for line in log.read_text().splitlines()
             if line.startswith("start") and line.split()[2] == str(procs[0].pid)}
    assert rerun == set(keys) - finished_before
    assert store.statuses(keys) == dict.fromkeys(keys, "done")


def test_crash_inside_the_completing_transaction_keeps_previous_record(tmp_path, mp):
    ctx, helpers = mp
    queue = ctx.Queue()
    proc = ctx.Process(target=helpers.crash_in_complete_worker, args=(tmp_path, "u1", queue))
    proc.start()
    _STARTED.append(proc)
    assert queue.get(timeout=60) == "claimed"
    proc.join(timeout=60)
    assert proc.exitcode == helpers.CRASH_EXIT
    store = JobStore(tmp_path)
    record = store.get("u1")
    assert record["status"] == "new" and record["result"] is None  # the 'done' never committed
    assert [a["status"] for a in record["attempts"]] == ["running"]
    assert store.load_arrays("u1") is None
    # The dead holder's claim is taken over at once (same machine) and the unit completes.
    arrays, _ = store.run_once("u1", lambda: {"x": np.arange(3)})
    assert arrays["x"].tolist() == [0, 1, 2]
    assert [a["status"] for a in store.get("u1")["attempts"]] == ["abandoned", "done"]


@pytest.mark.slow
def test_two_qattn_run_commands_at_once_submit_once(tmp_path):
    """The issue's reproduction: two ``qattn run`` on one store at the same moment."""
    import json
    import subprocess

    script = Path(sys.executable).with_name("qattn")
    cmd = [str(script), "run", "--random", "--device", "fake_manila", "--keys", "4",
           "--queries", "2", "--shots", "1000", "--store", str(tmp_path), "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0]["metadata"]["job_ids"] == outs[1]["metadata"]["job_ids"]
    assert len(outs[0]["metadata"]["job_ids"]) == 1
    np.testing.assert_array_equal(outs[0]["values"], outs[1]["values"])
    record = _only_record(JobStore(tmp_path))
    assert record["status"] == "done" and len(record["attempts"]) == 1


def test_runner_in_parent_sees_no_leftover_claims(tmp_path, sv_submitter, small_heads):
    """Sanity: an in-process run leaves no claim behind (released on every exit path)."""
    store = JobStore(tmp_path)
    ResumableRunner(sv_submitter, store).run(small_heads[0].task)
    assert all(r["claim"] is None for r in store.records())
