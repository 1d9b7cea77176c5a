"""Ray (optional extra ``ray``): the same sweep and split simulation as in this process.

Skipped cleanly when Ray is not installed (``pip install qiskit-qattn[ray]``)."""

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from qiskit_qattn.sim import qaoa_problem, simulate  # noqa: E402
from qiskit_qattn.sweeps import InProcessWorkers, RayWorkers, run_sweep  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_workers():
    workers = RayWorkers(2)
    yield workers
    workers.close()


def test_ray_sweep_and_split_simulation_match_this_process(ray_workers, helpers, tmp_path):
    units = helpers.exact_units(3)
    on_ray = run_sweep(units, store=tmp_path, workers=ray_workers)
    here = run_sweep(units, workers=InProcessWorkers())
    for unit in units:
        np.testing.assert_array_equal(on_ray[unit].arrays["values"], here[unit].arrays["values"])
    assert on_ray.workers["engine"] == "ray" and on_ray.computed == 3
    again = run_sweep(units, store=tmp_path, workers=ray_workers)
    assert again.from_store == 3 and again.computed == 0
    problem = qaoa_problem(np.random.default_rng(2).normal(size=(12, 8)), reps=2)
    V = np.arange(16.0).reshape(8, 2)
    split = simulate(problem, V, shots=300, seed=3, workers=ray_workers)
    np.testing.assert_array_equal(split.values,
                                  simulate(problem, V, shots=300, seed=3,
                                           workers=InProcessWorkers()).values)


def test_a_failing_unit_on_ray_raises_its_own_error(ray_workers):
    from qiskit_qattn.sweeps import SweepError, Unit

    bad = Unit("numpy:linspace", {"start": 0.0, "stop": 1.0, "num": -2})
    with pytest.raises(SweepError, match="ValueError"):
        run_sweep([bad], workers=ray_workers)
