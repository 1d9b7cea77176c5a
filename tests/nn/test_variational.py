"""QSANN maps: simulator vs Qiskit Statevector, adjoint VJP vs gradcheck, Qiskit engines agree."""

from __future__ import annotations

import pytest
import torch
from qiskit.quantum_info import Statevector
from torch.func import functional_call

from qiskit_qattn.circuits.variational import variational_block, z_observables
from qiskit_qattn.nn import QsannMaps, QsannSpec, QuantumMultiheadAttention, qsann_expectations
from qiskit_qattn.nn.connector import (
    NaiveConnectorMaps,
    connector_expectations,
    estimator_expectations,
    qsann_qnn,
)
from qiskit_qattn.nn.qsann_sim import qsann_group_expectations


def _random(spec, rows, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, spec.num_qubits, dtype=torch.float64, generator=g)
    th = torch.randn(rows, spec.num_weights, dtype=torch.float64, generator=g)
    return x, th


@pytest.mark.parametrize("entanglement", ["linear", "circular", "pairwise"])
@pytest.mark.parametrize("n, reps", [(1, 1), (3, 2), (4, 0)])
def test_simulator_matches_qiskit_statevector(entanglement, n, reps):
    spec = QsannSpec(n, reps, entanglement)
    x, th = _random(spec, 3)
    got = qsann_expectations(x, th, spec)
    qc = variational_block(n, reps, entanglement=entanglement)
    by_name = {p.name: p for p in qc.parameters}
    for r in range(3):
        bind = {by_name[nm]: float(x[r, i]) for i, nm in enumerate(qc.metadata["input_parameters"])}
        bind |= {by_name[nm]: float(th[r, i])
                 for i, nm in enumerate(qc.metadata["weight_parameters"])}
        sv = Statevector(qc.assign_parameters(bind))
        ref = [sv.expectation_value(op).real for op in z_observables(n)]
        torch.testing.assert_close(got[r], torch.tensor(ref, dtype=torch.float64), atol=1e-12,
                                   rtol=0)


@pytest.mark.parametrize("entanglement", ["linear", "circular"])
def test_adjoint_backward_passes_gradcheck(entanglement):
    spec = QsannSpec(3, 2, entanglement)
    x, th = _random(spec, 4, seed=1)
    x.requires_grad_(), th.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: qsann_expectations(a, b, spec), (x, th))


@pytest.mark.parametrize("rows", [3, 9], ids=["gate-by-gate", "group-unitary"])
def test_grouped_rows_match_per_row_simulation_and_gradcheck(rows):
    # rows >= 2^n takes the shared-unitary path, fewer rows the per-row path
    spec = QsannSpec(3, 2, "circular")
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, rows, 3, dtype=torch.float64, generator=g, requires_grad=True)
    th = torch.randn(2, spec.num_weights, dtype=torch.float64, generator=g, requires_grad=True)
    got = qsann_group_expectations(x, th, spec)
    want = qsann_expectations(x.reshape(-1, 3), th.repeat_interleave(rows, 0), spec)
    torch.testing.assert_close(got.reshape(-1, 3), want, atol=1e-12, rtol=0)
    assert torch.autograd.gradcheck(lambda a, b: qsann_group_expectations(a, b, spec), (x, th))
    with pytest.raises(ValueError, match="G, R, n"):
        qsann_group_expectations(x[0], th, spec)


def test_shared_weight_vector_broadcasts():
    spec = QsannSpec(2, 1)
    x, th = _random(spec, 3)
    w = th[0].clone().requires_grad_()
    out = qsann_expectations(x, w, spec)
    torch.testing.assert_close(out, qsann_expectations(x, w.detach().expand(3, -1), spec))
    out.sum().backward()
    assert w.grad.shape == w.shape


def test_qiskit_engines_match_adjoint_values_and_vjp():
    spec = QsannSpec(3, 1)
    x, th = _random(spec, 5, seed=2)
    x.requires_grad_(), th.requires_grad_()
    g = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    ref = qsann_expectations(x, th, spec)
    ref_grads = torch.autograd.grad(ref, (x, th), g)
    est = estimator_expectations(x, th, spec, qsann_qnn(spec))
    est_grads = torch.autograd.grad(est, (x, th), g)
    torch.testing.assert_close(est, ref, atol=1e-12, rtol=0)
    for a, b in zip(est_grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)

    from qiskit_machine_learning.connectors import TorchConnector

    conn = connector_expectations(x, th, TorchConnector(qsann_qnn(spec)))  # float32 inside
    conn_grads = torch.autograd.grad(conn, (x, th), g)
    torch.testing.assert_close(conn, ref, atol=1e-6, rtol=0)
    for a, b in zip(conn_grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_estimator_precision_zero_is_exact_and_nonzero_is_noisy():
    spec = QsannSpec(2, 1)
    x, th = _random(spec, 4)
    exact = qsann_expectations(x, th, spec)
    noisy = estimator_expectations(x, th, spec, qsann_qnn(spec, precision=0.05))
    assert 0 < float((noisy - exact).abs().max()) < 0.5


def test_naive_torch_connector_maps_agree_with_batched_maps():
    torch.manual_seed(0)
    maps = QsannMaps(2, 3, reps=1, dtype=torch.float64)
    q = torch.randn(2, 2, 2, 3, dtype=torch.float64)
    k, v = torch.randn_like(q), torch.randn_like(q)
    naive = NaiveConnectorMaps(maps.spec, maps.weight.detach())
    fast = maps(q, k, v)
    slow = naive(q, k, v)
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    # weight gradients: naive connector (role r, head h) <-> maps.weight[r, h]
    sum(t.square().sum() for t in fast).backward()
    sum(t.square().sum() for t in slow).backward()
    for r in range(3):
        for h in range(2):
            torch.testing.assert_close(
                naive.connector(r, h).weight.grad.double(), maps.weight.grad[r, h],
                atol=1e-5, rtol=1e-4,
            )


def test_module_gradcheck_inputs_and_parameters():
    torch.manual_seed(0)
    m = QuantumMultiheadAttention(4, 2, batch_first=True, quantum_backend="variational",
                                  reps=1, dtype=torch.float64, add_bias_kv=True)
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    kpm = torch.tensor([[False, False, True], [False, False, False]])
    names = ["in_proj_weight", "quantum.maps.weight", "quantum.log_scale", "bias_k"]
    own = dict(m.named_parameters())
    params = {n: own[n].detach().clone().requires_grad_() for n in names}

    def f(x, *ps):
        out, w = functional_call(m, dict(zip(names, ps, strict=True)), (x, x, x),
                                 {"key_padding_mask": kpm})
        return out, w

    assert torch.autograd.gradcheck(f, (x, *params.values()), atol=1e-6)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    m = QuantumMultiheadAttention(8, 2, quantum_backend="variational", reps=1, add_bias_kv=True,
                                  kdim=3, vdim=5)
    q, k, v = torch.randn(4, 2, 8), torch.randn(5, 2, 3), torch.randn(5, 2, 5)
    out, w = m(q, k, v)
    (out.square().sum() + w.square().sum()).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), name


def test_engines_agree_inside_the_module():
    torch.manual_seed(0)
    m = QuantumMultiheadAttention(6, 2, quantum_backend="variational", reps=1,
                                  dtype=torch.float64)
    x = torch.randn(3, 2, 6, dtype=torch.float64)
    kpm = torch.tensor([[False, True, False], [False, False, False]])
    results = {}
    for engine in ("adjoint", "estimator"):
        m.quantum.maps.engine = engine
        m.zero_grad()
        out, w = m(x, x, x, key_padding_mask=kpm)
        (out.sin().sum() + w.square().sum()).backward()
        results[engine] = (out, w, {n: p.grad.clone() for n, p in m.named_parameters()})
    (o1, w1, g1), (o2, w2, g2) = results["adjoint"], results["estimator"]
    torch.testing.assert_close(o2, o1, atol=1e-10, rtol=0)
    torch.testing.assert_close(w2, w1, atol=1e-10, rtol=0)
    for name in g1:
        torch.testing.assert_close(g2[name], g1[name], atol=1e-10, rtol=0)


def test_spec_and_input_validation():
    with pytest.raises(ValueError, match="num_qubits"):
        QsannSpec(13)
    with pytest.raises(ValueError, match="reps"):
        QsannSpec(2, -1)
    with pytest.raises(ValueError, match="entanglement"):
        QsannSpec(2, 1, "full")
    spec = QsannSpec(2, 1)
    with pytest.raises(ValueError, match="x must"):
        qsann_expectations(torch.zeros(3, 3), torch.zeros(6), spec)
    with pytest.raises(ValueError, match="theta"):
        qsann_expectations(torch.zeros(3, 2), torch.zeros(5), spec)
    with pytest.raises(TypeError, match="float32 or float64"):
        qsann_expectations(torch.zeros(3, 2, dtype=torch.int64), torch.zeros(6), spec)
    with pytest.raises(ValueError, match="weights"):
        NaiveConnectorMaps(spec, torch.zeros(3, 1, 5))


class _FlakyEstimator:
    """A StatevectorEstimator whose first ``failures`` jobs raise (a transient timeout)."""

    def __init__(self, failures: int) -> None:
        from qiskit.primitives import StatevectorEstimator

        self._inner = StatevectorEstimator(default_precision=0.0)
        self.failures = failures
        self.calls = 0

    def run(self, pubs, *, precision=None):
        self.calls += 1
        if self.calls <= self.failures:
            raise TimeoutError("simulated primitive timeout")
        return self._inner.run(pubs, precision=precision)


@pytest.mark.filterwarnings("ignore:estimator .* failed:RuntimeWarning")  # the retries we test
def test_estimator_engine_retries_transient_failures():
    spec = QsannSpec(2, 1)
    x, th = _random(spec, 3)
    x.requires_grad_()
    flaky = _FlakyEstimator(failures=1)
    out = estimator_expectations(x, th, spec, qsann_qnn(spec, estimator=flaky), retries=1)
    torch.testing.assert_close(out, qsann_expectations(x, th, spec))
    flaky.failures = flaky.calls + 1  # the gradient job fails once, then succeeds
    out.sum().backward()
    assert x.grad is not None and flaky.calls == 4
    always = _FlakyEstimator(failures=10)
    with pytest.raises(RuntimeError, match="after 2 attempts"):
        estimator_expectations(x, th, spec, qsann_qnn(spec, estimator=always), retries=1)
    with pytest.raises(ValueError, match="retries"):
        estimator_expectations(x, th, spec, qsann_qnn(spec), retries=-1)
