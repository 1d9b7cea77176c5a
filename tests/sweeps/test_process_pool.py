"""The local process pool: a worker killed mid-sweep breaks the pool; the pool is rebuilt and the
lost units run again, every unit once in the store."""

import os
import signal

import numpy as np

from qiskit_qattn.runtime import JobStore
from qiskit_qattn.sweeps import InProcessWorkers, ProcessPoolWorkers, run_sweep


def test_a_killed_pool_worker_is_replaced_and_its_units_rerun(helpers, tmp_path):
    units = helpers.exact_units(6, keys=8, queries=4)
    killed = []

    def kill_a_worker(done, total, unit, source):
        if not killed and done == 1:
            pid = workers.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    with ProcessPoolWorkers(2) as workers:
        result = run_sweep(units, store=tmp_path, workers=workers, progress=kill_a_worker)
        assert workers.describe()["rebuilds"] >= 1
        assert killed[0] not in workers.worker_pids()
    assert killed and not result.errors and result.computed == len(units)
    assert sum(result.resubmitted.values()) >= 1  # units in flight when the pool broke
    reference = run_sweep(units, workers=InProcessWorkers())
    for unit in units:
        np.testing.assert_array_equal(result[unit].arrays["values"],
                                      reference[unit].arrays["values"])
    store = JobStore(tmp_path)
    for unit in units:
        record = store.get(unit.key)
        statuses = [a["status"] for a in record["attempts"]]
        assert record["status"] == "done" and statuses.count("done") == 1
        assert set(statuses[:-1]) <= {"abandoned"}
