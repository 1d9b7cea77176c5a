import numpy as np
import pytest

from qiskit_qattn.attention import exact_attention
from qiskit_qattn.runtime import JobStore, SubmissionDeclined, run_head


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
    est = run_head(Q, K, V, mode=manila, method="softmax_state", shots=4000, seed=4,
                   store=tmp_path, submitter=sub, confirm=lambda p: previews.append(p) or True)
    assert sub.calls == 1 and previews[0].circuits == 3
    assert est.execution == "runtime" and est.info["jobs"] == 1
    assert est.values.shape == (3, 2) and est.weights.shape == (3, 4)
    # Noisy device: the estimate is close to exact attention but not exact.
    assert est.relative_error(exact_attention(Q, K, V)) < 0.25
    again = run_head(Q, K, V, mode=manila, method="softmax_state", shots=4000, seed=4,
                     store=tmp_path, submitter=sub)
    assert sub.calls == 1
    np.testing.assert_array_equal(again.values, est.values)
    assert again.info["store_key"] == est.info["store_key"]
    assert JobStore(tmp_path).get(est.info["store_key"])["status"] == "done"


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
