"""The "circuit" attention backend on Runtime: one job per forward, cost preview, resume."""

from __future__ import annotations

import pytest
import torch
from qiskit.primitives import StatevectorSampler

from qiskit_qattn.attention import attention
from qiskit_qattn.attention.circuit_heads import clear_compile_cache
from qiskit_qattn.execution import RuntimeExecutor
from qiskit_qattn.runtime import JobStore, RuntimeSubmitter, SubmissionDeclined


def _inputs():
    g = torch.Generator().manual_seed(4)
    return (torch.randn(2, 3, 4, generator=g, dtype=torch.float64),
            torch.randn(2, 4, 4, generator=g, dtype=torch.float64),
            torch.randn(2, 4, 2, generator=g, dtype=torch.float64))


def _forward(executor, **options):
    q, k, v = _inputs()
    return attention(q, k, v, backend="circuit", family="warm_start", execution=executor,
                     shots=2000, seed=5, need_weights=True, **options)


def test_local_runtime_forward_is_one_job_with_a_cost_preview(tmp_path, manila):
    previews = []
    executor = RuntimeExecutor(manila, store=tmp_path, seed=3,
                               confirm=lambda p: previews.append(p) or True)
    out = _forward(executor)
    assert executor.executions == 1 and out.info["jobs"] == 1
    assert len(previews) == 1 and previews[0].circuits == 6  # 2 heads x 3 queries
    assert out.info["cost_preview"]["circuits"] == 6
    assert out.output.shape == (2, 3, 2) and out.weights.shape == (2, 3, 4)
    exact = attention(*_inputs()).output
    assert float((out.output - exact).abs().max()) < 0.5  # noisy, but attention


def test_declined_preview_submits_nothing(tmp_path, manila, faults):
    sub = faults.FlakySubmitter(RuntimeSubmitter(StatevectorSampler(seed=1)))
    executor = RuntimeExecutor(manila, store=tmp_path, submitter=sub, confirm=lambda p: False)
    with pytest.raises(SubmissionDeclined):
        _forward(executor)
    assert sub.calls == 0 and JobStore(tmp_path).keys() == []


@pytest.mark.parametrize("mitigation", [None, "zne+rem"])
def test_killed_forward_resumes_from_the_store(tmp_path, manila, faults, mitigation):
    """The client dies right after the service accepted the forward's job: the same forward
    again adopts that job from the store (nothing resubmitted) and gives the result an
    uninterrupted forward gives."""
    opts = {} if mitigation is None else {"mitigation": mitigation,
                                          "mitigation_options": {"scale_factors": (1, 3)}}
    service = faults.FakeJobService()

    def executor(store, submitter):
        return RuntimeExecutor(manila, store=store, submitter=submitter)

    crashing = faults.FlakySubmitter(RuntimeSubmitter(StatevectorSampler(seed=9)), service,
                                     crash_after=(1,))
    with pytest.raises(faults.SimulatedCrash):
        _forward(executor(tmp_path / "a", crashing), **opts)
    clear_compile_cache()  # as in a new process: the rerun compiles again, to the same job
    rerun = faults.FlakySubmitter(RuntimeSubmitter(StatevectorSampler(seed=9)), service)
    resumed = _forward(executor(tmp_path / "a", rerun), **opts)
    assert rerun.calls == 0 and sum(service.accepted.values()) == 1
    assert resumed.info["job_ids"] == list(service.jobs)
    clean = faults.FlakySubmitter(RuntimeSubmitter(StatevectorSampler(seed=9)))
    reference = _forward(executor(tmp_path / "b", clean), **opts)
    torch.testing.assert_close(resumed.output, reference.output, atol=0, rtol=0)
    torch.testing.assert_close(resumed.weights, reference.weights, atol=0, rtol=0)
