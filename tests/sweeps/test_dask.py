"""Sweeps on a real Dask LocalCluster (2 worker processes): same results, killed workers, killed
drivers, and simulate()/estimate_attention split across the workers. No mocks: processes are
killed with SIGKILL for real."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qiskit_qattn.attention import estimate_attention, exact_attention
from qiskit_qattn.runtime import JobStore
from qiskit_qattn.sim import qaoa_problem_from_attention, simulate
from qiskit_qattn.sweeps import InProcessWorkers, run_sweep
from qiskit_qattn.sweeps.workers import wait_for_workers

HERE = Path(__file__).parent


def _values(result, units):
    return [result[u].arrays["values"] for u in units]


def _done_once(store: JobStore, units) -> None:
    """Every unit is in the store exactly once, done, with exactly one finished attempt."""
    records = {r["key"]: r for r in store.records(kind="unit")}
    assert set(records) == {u.key for u in units}
    for record in records.values():
        assert record["status"] == "done" and record["result"] is not None
        assert [a["status"] for a in record["attempts"]].count("done") == 1
        assert record["claim"] is None


@pytest.mark.slow  # > 20 s: the first test on the shared cluster also warms its workers
def test_two_dask_workers_give_the_in_process_results_for_the_same_seed(dask_workers, helpers,
                                                                       tmp_path):
    units = helpers.noisy_units(4)
    on_dask = run_sweep(units, store=tmp_path / "dask", workers=dask_workers)
    here = run_sweep(units, workers=InProcessWorkers())
    for a, b in zip(_values(on_dask, units), _values(here, units), strict=True):
        np.testing.assert_array_equal(a, b)
    used = {on_dask[u].metadata["worker"] for u in units}
    assert len(used) == 2, used  # both worker processes took units
    assert os.getpid() not in {int(w.rsplit(":", 1)[1]) for w in used}
    _done_once(JobStore(tmp_path / "dask"), units)


def test_a_worker_killed_mid_sweep_the_sweep_completes_with_every_unit_once(dask_workers,
                                                                           helpers, tmp_path):
    units = helpers.noisy_units(6, seed=21)
    killed: dict = {}

    def kill_a_busy_worker(done, total, unit, source):
        if killed:
            return
        busy = [addr for addr, n in dask_workers.processing().items() if n > 0]
        if not busy:
            return
        pid = dask_workers.worker_pids()[busy[0]]
        os.kill(pid, signal.SIGKILL)
        killed.update(pid=pid, address=busy[0], after=done)

    result = run_sweep(units, store=tmp_path, workers=dask_workers,
                       progress=kill_a_busy_worker)
    assert killed, "no worker was busy to kill"
    assert killed["after"] < len(units)
    assert result.computed == len(units) and not result.errors
    _done_once(JobStore(tmp_path), units)
    # The nanny restarted the killed worker: a new process took its place.
    wait_for_workers(dask_workers, 2, timeout=300)  # a loaded machine starts slowly
    assert killed["pid"] not in dask_workers.worker_pids().values()
    reference = run_sweep(units, workers=InProcessWorkers())
    for a, b in zip(_values(result, units), _values(reference, units), strict=True):
        np.testing.assert_array_equal(a, b)


DRIVER = """
import sys
sys.path.insert(0, {here!r})
import sweep_helpers
from qiskit_qattn.sweeps import DaskWorkers, run_sweep

units = sweep_helpers.noisy_units(10, seed=33)
with DaskWorkers(address=sys.argv[1]) as workers:
    run_sweep(units, store=sys.argv[2], workers=workers,
              progress=lambda done, total, unit, source: print(done, flush=True))
print("finished", flush=True)
"""


def test_a_killed_driver_reruns_only_the_missing_units(dask_workers, helpers, tmp_path):
    units = helpers.noisy_units(10, seed=33)
    keys = [u.key for u in units]
    log = tmp_path / "driver.log"
    with open(log, "wb") as out:
        child = subprocess.Popen([sys.executable, "-c", DRIVER.format(here=str(HERE)),
                                  dask_workers.address, str(tmp_path / "store")],
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    store = JobStore(tmp_path / "store")
    try:
        deadline = time.monotonic() + 240
        while sum(s == "done" for s in store.statuses(keys).values()) < 3:
            assert child.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the driver finished no unit in time"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    before = {r["key"]: r for r in store.records(kind="unit") if r["status"] == "done"}
    assert 3 <= len(before) < len(units)
    held = [r for r in store.records(kind="unit") if r["claim"] is not None]
    assert held, "the killed driver held no claim (nothing was in flight?)"

    rerun = run_sweep(units, store=store, workers=dask_workers)
    assert rerun.from_store == len(before)
    assert rerun.computed == len(units) - len(before)
    assert {k for k, s in rerun.sources.items() if s == "store"} == set(before)
    for key, record in before.items():  # finished units were not touched
        now = store.get(key)
        assert now["updated"] == record["updated"] and now["attempts"] == record["attempts"]
    _done_once(store, units)
    # The dead driver's in-flight units were taken over at once (its process is gone) and run
    # here; an attempt it had started is marked abandoned, not left "running".
    assert {rerun.sources[r["key"]] for r in held} == {"computed"}
    for record in held:
        statuses = [a["status"] for a in store.get(record["key"])["attempts"]]
        assert statuses[-1] == "done" and set(statuses[:-1]) <= {"abandoned"}
    assert any("abandoned" in [a["status"] for a in store.get(r["key"])["attempts"]]
               for r in held)


def test_simulate_and_estimate_attention_split_across_dask_workers(dask_workers):
    rng = np.random.default_rng(5)
    Q, K = rng.normal(size=(3, 20, 8)), rng.normal(size=(3, 16, 8))
    V = rng.normal(size=(16, 2))
    problem = qaoa_problem_from_attention(Q, K, reps=2)
    whole = simulate(problem, V)
    split = simulate(problem, V, workers=dask_workers)
    np.testing.assert_allclose(split.values, whole.values, atol=1e-12)
    assert split.batch_shape == (3, 20) and split.metadata["split"]["pieces"] == 3
    sampled = simulate(problem, V, shots=500, seed=9, workers=dask_workers)
    sampled_here = simulate(problem, V, shots=500, seed=9, workers=InProcessWorkers())
    np.testing.assert_array_equal(sampled.values, sampled_here.values)
    assert sampled.counts == sampled_here.counts

    q, k, v = Q[0], K[0], rng.normal(size=(16, 3))
    exact = estimate_attention(q, k, v, family="softmax_state", workers=dask_workers)
    np.testing.assert_allclose(exact.values, exact_attention(q, k, v), atol=1e-10)
    assert exact.metadata["split"]["pieces"] == 16
    noisy = estimate_attention(q[:6], k, v, family="warm_start", execution="shots",
                               device="fake_torino", shots=2000, seed=4, mitigation="rem",
                               workers=dask_workers)
    noisy_here = estimate_attention(q[:6], k, v, family="warm_start", execution="shots",
                                    device="fake_torino", shots=2000, seed=4, mitigation="rem",
                                    workers=InProcessWorkers())
    np.testing.assert_array_equal(noisy.values, noisy_here.values)
    assert noisy.mitigation.total_shots == noisy_here.mitigation.total_shots > 6 * 2000
    assert noisy.relative_error(exact_attention(q[:6], k, v)) < 0.5
