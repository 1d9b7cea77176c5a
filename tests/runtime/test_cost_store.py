import json

import numpy as np
import pytest
from qiskit.primitives import StatevectorEstimator, StatevectorSampler

from qiskit_qattn.runtime import JobStore, cost_preview


@pytest.fixture
def _head(faults):
    def build(manila, **kw):
        rng = np.random.default_rng(1)
        return faults.pack_head(rng.normal(size=(3, 4)), rng.normal(size=(4, 4)),
                                rng.normal(size=(4, 2)), device=manila, **kw)

    return build


def test_cost_preview_matches_hand_count(manila, _head):
    job = _head(manila, family="softmax_state", shots=1000)
    p = cost_preview(job.task, manila, job_overhead=1.5)
    assert (p.pubs, p.circuits, p.shots_per_circuit, p.total_shots) == (3, 3, 1000, 3000)
    durations = [pub.circuit.estimate_duration(manila.target, unit="s") for pub in job.task.pubs]
    assert p.max_circuit_seconds == pytest.approx(max(durations))
    expected = 1.5 + sum(1000 * (d + p.rep_delay) for d in durations)
    assert p.estimated_qpu_seconds == pytest.approx(expected)
    assert "3000 shots" in p.summary()
    json.dumps(p.as_dict())


def test_cost_preview_estimator_shots_from_precision(manila, _head):
    job = _head(manila, family="qaoa", primitive="estimator", precision=0.01)
    p = cost_preview(job.task, manila)
    assert (p.pubs, p.circuits, p.shots_per_circuit) == (1, 3, 10000)


def test_store_round_trips_sampler_and_estimator_results(tmp_path, manila, _head):
    store = JobStore(tmp_path)
    sampler_job = _head(manila, shots=64)
    result = StatevectorSampler(seed=1).run(list(sampler_job.task.pubs)).result()
    store.save_result("s1", result)
    back = store.load_result("s1")
    np.testing.assert_array_equal(sampler_job.counts(back), sampler_job.counts(result))
    est_job = _head(manila, family="qaoa", primitive="estimator", precision=0.05)
    result = StatevectorEstimator(seed=2).run(list(est_job.task.pubs)).result()
    store.save_result("e1", result)
    back = store.load_result("e1")
    np.testing.assert_array_equal(back[0].data.evs, result[0].data.evs)
    np.testing.assert_array_equal(back[0].data.stds, result[0].data.stds)
    assert store.load_result("missing") is None
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert store.load_result("bad") is None


def test_store_records_validate_and_scrub(tmp_path):
    store = JobStore(tmp_path / "new")
    assert store.keys() == [] and store.get("k") is None
    rec = store.create("k", {"options": {"password": "p", "shots": 3}})
    assert rec["options"] == {"shots": 3}
    assert store.create("k", {"other": 1}) == rec  # existing record returned unchanged
    with pytest.raises(ValueError, match="status"):
        store.save(dict(rec, status="exploded"))
    with pytest.raises(ValueError, match="key"):
        store.get("../escape")
