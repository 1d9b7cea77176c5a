import numpy as np
import pytest

from qiskit_qattn.attention import exact_attention, run_head
from qiskit_qattn.runtime import JobStore, SubmissionDeclined


@pytest.fixture
def head():
    rng = np.random.default_rng(3)
    return rng.normal(size=(3, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 2))


def test_run_head_local_runtime_and_resume(tmp_path, manila, head, faults):
    """Runtime local testing mode (executor Sampler, device noise) end to end, then resumed."""
    Q, K, V = head
    from qiskit_qattn.runtime import RuntimeSubmitter

    sub = faults.FlakySubmitter(RuntimeSubmitter(manila, seed=4))
    previews = []
    est = run_head(Q, K, V, mode=manila, family="softmax_state", shots=4000, seed=4,
                   store=tmp_path, submitter=sub, confirm=lambda p: previews.append(p) or True)
    assert sub.calls == 1 and previews[0].circuits == 3
    assert est.execution == "runtime" and est.metadata["jobs"] == 1
    assert est.values.shape == (3, 2) and est.weights.shape == (3, 4)
    # Noisy device: the estimate is close to exact attention but not exact.
    assert est.relative_error(exact_attention(Q, K, V)) < 0.25
    again = run_head(Q, K, V, mode=manila, family="softmax_state", shots=4000, seed=4,
                     store=tmp_path, submitter=sub)
    assert sub.calls == 1
    np.testing.assert_array_equal(again.values, est.values)
    assert again.metadata["store_key"] == est.metadata["store_key"]
    assert JobStore(tmp_path).get(est.metadata["store_key"])["status"] == "done"


def test_run_head_declined_submits_nothing(tmp_path, manila, head, faults, sv_submitter):
    sub = faults.FlakySubmitter(sv_submitter)
    with pytest.raises(SubmissionDeclined, match="QPU s"):
        run_head(*head, mode=manila, store=tmp_path, submitter=sub, confirm=lambda p: False)
    assert sub.calls == 0 and JobStore(tmp_path).keys() == []


def test_run_head_estimator_on_local_runtime(tmp_path, manila, head):
    """The executor Estimator works in local mode on a small fake device."""
    Q, K, V = head
    est = run_head(Q, K, V, mode=manila, primitive="estimator", precision=0.02, seed=2,
                   store=tmp_path, options={"resilience_level": 0})
    assert est.values.shape == (3, 2) and np.isnan(est.weights).all()
    assert est.relative_error(exact_attention(Q, K, V)) < 0.35


def test_killed_mitigated_run_adopts_its_job_and_matches_an_uninterrupted_run(
        tmp_path, manila, head, faults):
    """The client dies right after the service accepted the mitigated job: the rerun adopts
    that job by its tag from the store, submits nothing, and gives the uninterrupted result."""
    from qiskit.primitives import StatevectorSampler

    from qiskit_qattn.runtime import RuntimeSubmitter

    Q, K, V = head
    opts = {"mode": manila, "family": "warm_start", "shots": 2000, "seed": 3,
            "mitigation": "zne+rem", "mitigation_options": {"scale_factors": (1, 3)}}
    service = faults.FakeJobService()
    crashing = faults.FlakySubmitter(RuntimeSubmitter(StatevectorSampler(seed=9)), service,
                                     crash_after=(1,))
    with pytest.raises(faults.SimulatedCrash):
        run_head(Q, K, V, store=tmp_path / "a", submitter=crashing, **opts)
    rerun = faults.FlakySubmitter(RuntimeSubmitter(StatevectorSampler(seed=9)), service)
    est = run_head(Q, K, V, store=tmp_path / "a", submitter=rerun, **opts)
    assert rerun.calls == 0 and sum(service.accepted.values()) == 1  # adopted, not resubmitted
    assert est.metadata["job_ids"] == list(service.jobs)
    clean = faults.FlakySubmitter(RuntimeSubmitter(StatevectorSampler(seed=9)))
    reference = run_head(Q, K, V, store=tmp_path / "b", submitter=clean, **opts)
    np.testing.assert_array_equal(est.values, reference.values)
    np.testing.assert_array_equal(est.mitigation.raw_values, reference.mitigation.raw_values)
    # 2 folds x 3 queries + 2 calibration circuits per measured-qubit set, all in one job
    expected = 2 * 3 + 2 * len(est.mitigation.readout_fidelity)
    assert est.mitigation.num_circuits == expected == est.metadata["cost_preview"]["circuits"]
