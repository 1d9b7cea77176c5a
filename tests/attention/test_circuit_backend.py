"""The "circuit" attention backend: every head through prepare -> compile -> execute -> mitigate.

References are independent of the backend: torch's SDPA / explicit softmax attention, the exact
noisy distributions of the compiled circuits (``LocalSampler.distributions``), finite
differences of the quantity each gradient convention documents.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.attention import attention, available_backends, outputs_from_counts
from qiskit_qattn.attention.circuit_heads import clear_compile_cache
from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.execution import (
    CircuitBatch,
    LocalSampler,
    Outcomes,
    StatevectorExecutor,
    compiled_batch,
)

ATOL = 1e-6


@pytest.fixture(scope="module")
def manila():
    return FakeManilaV2()


def _inputs(b=2, lq=3, s=5, e=4, ev=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, lq, e, generator=g, dtype=torch.float64)
    k = torch.randn(b, s, e, generator=g, dtype=torch.float64)
    v = torch.randn(b, s, ev, generator=g, dtype=torch.float64)
    return q, k, v


class ExactNoisySampler(LocalSampler):
    """The local sampler's exact noisy distributions, unsampled (the large-shot limit)."""

    @property
    def needs_shots(self) -> bool:
        return False

    def _run(self, batches, shots):
        return [Outcomes(probabilities=self.distributions(b), metadata=self.describe())
                for b in batches]


def test_registered_as_a_normal_backend():
    assert "circuit" in available_backends()


def test_statevector_equals_exact_attention_with_every_mask_kind():
    q, k, v = _inputs(b=2, lq=4, s=6)
    g = torch.Generator().manual_seed(3)
    keep = torch.rand(2, 4, 6, generator=g) > 0.3
    keep[:, :, 0] = True
    keep[1, 2] = False  # a fully masked query: zero output and weights, as SDPA's contract
    bias = torch.randn(4, 6, generator=g, dtype=torch.float64)  # finite additive mask (ALiBi)
    for mask in (None, keep, bias, torch.zeros(2, 4, 6, dtype=torch.float64).masked_fill(
            ~keep, float("-inf"))):
        out = attention(q, k, v, backend="circuit", attn_mask=mask, need_weights=True)
        ref = attention(q, k, v, backend="exact", attn_mask=mask, need_weights=True)
        torch.testing.assert_close(out.output, ref.output, atol=ATOL, rtol=0)
        torch.testing.assert_close(out.weights, ref.weights, atol=ATOL, rtol=0)
        assert out.info["executions"] == 1 and out.info["execution"] == "statevector"
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(attention(q, k, v, backend="circuit").output, sdpa, atol=ATOL,
                               rtol=0)


@pytest.mark.parametrize("family", ["warm_start", "qaoa"])
def test_statevector_of_an_approximate_family_is_its_own_circuits(family):
    """Approximate families give the attention of their own circuits' exact probabilities."""
    q, k, v = _inputs(b=1, lq=3, s=8)
    out = attention(q, k, v, backend="circuit", family=family, need_weights=True)
    scores = (q[0] @ k[0].T / 2.0).numpy()
    head = prepare_head(scores, np.eye(8), v[0].numpy(), family=family, scale=1.0)
    probs = StatevectorExecutor(method="statevector").probabilities(
        CircuitBatch(tuple(head.circuits), head.num_qubits))
    ref, _, w = outputs_from_counts(head.decode(probs), head.values, head.keep, exact=True)
    np.testing.assert_allclose(out.output[0].numpy(), ref, atol=1e-8)
    np.testing.assert_allclose(out.weights[0].numpy(), w[:, :8], atol=1e-8)
    exact = attention(q, k, v).output
    assert float((out.output - exact).abs().max()) > 1e-4  # approximate, not exact attention


def test_noisy_outputs_lie_within_their_error_bars(manila):
    """Device-noise shots scatter around the compiled circuits' exact noisy expectation by the
    standard errors the backend reports."""
    q, k, v = _inputs(b=2, lq=3, s=4, seed=5)
    out = attention(q, k, v, backend="circuit", device=manila, shots=20_000, seed=7)
    assert out.info["execution"] == "shots" and out.info["device"] == "fake_manila"
    z = []
    for b in range(2):
        scores = (q[b] @ k[b].T / 2.0).numpy()
        head = prepare_head(scores, np.eye(4), v[b].numpy(), family="softmax_state", scale=1.0)
        batch = compiled_batch(head, manila)
        expected, _, _ = outputs_from_counts(head.decode(LocalSampler(manila).distributions(
            batch)), head.values, head.keep, exact=True)
        z.append((out.output[b].numpy() - expected) / out.std_error[b].numpy())
    z = np.concatenate(z).ravel()
    assert np.all(np.abs(z) < 4.5), z
    assert 0.3 < np.sqrt(np.mean(z**2)) < 2.0  # error bars neither too tight nor too loose
    exact = attention(q, k, v).output
    assert float((out.output - exact).abs().max()) > 3 * float(out.std_error.max())  # noise


def test_one_execution_per_forward_across_batch_and_heads(manila):
    q, k, v = _inputs(b=3, lq=3, s=4, seed=1)
    executor = LocalSampler(manila, seed=2)
    out = attention(q, k, v, backend="circuit", family="warm_start", execution=executor,
                    shots=1000)
    assert executor.executions == 1 and out.info["executions"] == 1
    assert out.info["num_circuits"] == 9 and out.info["total_shots"] == 9000
    reports = []
    mitigated = attention(q, k, v, backend="circuit", family="warm_start", execution=executor,
                          shots=1000, mitigation="zne+rem", report=reports.append,
                          mitigation_options={"scale_factors": (1, 3)})
    assert reports == [mitigated.info]
    assert executor.executions == 2 and mitigated.info["executions"] == 1
    assert mitigated.info["num_circuits"] >= 2 * 9 + 2  # both folds of all 9 queries + REM
    assert set(mitigated.info["timings"]) >= {"compile", "execute", "mitigate"}


def test_template_families_bind_one_compiled_circuit(manila):
    clear_compile_cache()
    q, k, v = _inputs(b=2, lq=3, s=4, seed=4)
    first = attention(q, k, v, backend="circuit", family="warm_start", device=manila,
                      shots=100, seed=1)
    assert first.info["template"] == "structure"
    again = attention(q, k, v, backend="circuit", family="warm_start", device=manila,
                      shots=100, seed=1)
    assert again.info["compile_cache"] == {"hits": 2, "misses": 0}
    torch.testing.assert_close(again.output, first.output)
    qaoa = attention(q, k, v, backend="circuit", family="qaoa", device=manila, shots=100, seed=1)
    assert qaoa.info["template"] == "qaoa"
    per_row = attention(q, k, v, backend="circuit", family="warm_start", device=manila,
                        shots=100, seed=1, template=False, cache=False)
    assert per_row.info["template"] is None


def test_structural_template_matches_row_by_row_compilation(manila):
    """Bound to each row, the compiled structural template prepares the row's own state (ideal
    distributions of the compiled circuits agree) with as many two-qubit gates."""
    from qiskit_qattn.attention.circuit_heads import _compile, _structure_batch, make_executor
    from qiskit_qattn.attention.circuit_options import parse_circuit_options

    q, k, v = _inputs(b=1, lq=3, s=8, seed=9)
    common = dict(backend="circuit", family="warm_start",
                  execution=ExactNoisySampler(manila, noise_model=None))
    templ = attention(q, k, v, **common)
    rows = attention(q, k, v, template=False, cache=False, **common)
    assert templ.info["template"] == "structure" and rows.info["template"] is None
    torch.testing.assert_close(templ.output, rows.output, atol=1e-8, rtol=0)
    exact = attention(q, k, v, backend="circuit", family="warm_start")
    torch.testing.assert_close(templ.output, exact.output, atol=1e-8, rtol=0)
    opts = parse_circuit_options({"family": "warm_start", "device": manila})
    executor = make_executor(opts, 0)
    head = prepare_head((q[0] @ k[0].T / 2.0).numpy(), np.eye(8), v[0].numpy(),
                        family="warm_start", scale=1.0)
    bound = _structure_batch(head, executor, opts).circuits
    own = _compile(head, executor, opts).circuits

    def two_qubit(qc):
        return sum(1 for inst in qc.data if inst.operation.num_qubits == 2)

    assert [two_qubit(c) for c in bound] == [two_qubit(c) for c in own]


def test_softmax_gradient_is_the_gradient_of_exact_attention(manila):
    """Documented convention for exact families: the backward is the expectation's gradient,
    i.e. exact softmax attention's — checked against its finite differences."""
    q, k, v = (t.clone().requires_grad_() for t in _inputs(b=1, lq=2, s=4, seed=2))
    out = attention(q, k, v, backend="circuit", device=manila, shots=2000, seed=3)
    assert out.info["gradient"] == "softmax"
    g = torch.randn(out.output.shape, generator=torch.Generator().manual_seed(0),
                    dtype=torch.float64)
    (out.output * g).sum().backward()

    def exact(qq, kk, vv):
        w = np.exp(qq @ kk.T / 2.0)
        w /= w.sum(axis=1, keepdims=True)
        return float(((w @ vv) * g[0].numpy()).sum())

    args = [t.detach()[0].numpy() for t in (q, k, v)]
    for i, t in enumerate((q, k, v)):
        fd = np.zeros(args[i].shape)
        for idx in np.ndindex(*args[i].shape):
            up = [a.copy() for a in args]
            dn = [a.copy() for a in args]
            up[i][idx] += 1e-6
            dn[i][idx] -= 1e-6
            fd[idx] = (exact(*up) - exact(*dn)) / 2e-6
        np.testing.assert_allclose(t.grad[0].numpy(), fd, atol=1e-6)


@pytest.mark.parametrize("noisy", [False, True])
def test_parameter_shift_gradient_matches_finite_differences(noisy, manila):
    """Template QAOA: the shifted rows run in the forward's one execution and give the
    derivative of the circuits' own expectation (exact statevector, or exact device noise)."""
    q, k, v = (t.clone().requires_grad_() for t in _inputs(b=1, lq=2, s=4, seed=6))
    execution = ExactNoisySampler(manila) if noisy else "statevector"
    mask = torch.tensor([[True, True, False, True], [True, True, True, True]])

    def forward(qq, kk, vv):
        return attention(qq, kk, vv, backend="circuit", family="qaoa", execution=execution,
                         attn_mask=mask, need_weights=True)

    out = forward(q, k, v)
    assert out.info["gradient"] == "parameter_shift" and out.info["executions"] == 1
    assert out.info["parameter_shift_rows"] == 2 * 2 * 2 * 3  # rows x (+,-) x reps x (2**m-1)
    g = torch.randn(out.output.shape, generator=torch.Generator().manual_seed(1),
                    dtype=torch.float64)
    gw = torch.randn(out.weights.shape, generator=torch.Generator().manual_seed(2),
                     dtype=torch.float64)
    ((out.output * g).sum() + (out.weights * gw).sum()).backward()
    eps = 1e-5
    with torch.no_grad():
        for name, t in (("q", q), ("k", k), ("v", v)):
            fd = torch.zeros_like(t)
            for idx in np.ndindex(*t.shape):
                args = {"qq": q, "kk": k, "vv": v}
                key = {"q": "qq", "k": "kk", "v": "vv"}[name]
                vals = []
                for sign in (1, -1):
                    moved = t.clone()
                    moved[idx] += sign * eps
                    args[key] = moved
                    r = forward(**args)
                    vals.append(float((r.output * g).sum() + (r.weights * gw).sum()))
                fd[idx] = (vals[0] - vals[1]) / (2 * eps)
            torch.testing.assert_close(t.grad, fd, atol=1e-6, rtol=1e-5)


def test_no_gradient_work_without_autograd():
    q, k, v = (t.clone().requires_grad_() for t in _inputs(b=1, lq=2, s=4))
    with torch.no_grad():
        out = attention(q, k, v, backend="circuit", family="qaoa")
    assert out.info["gradient"] == "none" and out.info["parameter_shift_rows"] == 0
    off = attention(q, k, v, backend="circuit", gradient="none")
    assert not off.output.requires_grad


@pytest.mark.parametrize(("options", "match"), [
    ({"family": "nope"}, "family must be one of"),
    ({"device": "fake_nowhere"}, "unknown fake device"),
    ({"device": "fake_manila", "shots": 0}, "shots must be an integer >= 1"),
    ({"shots": -5}, "shots must be an integer >= 1"),
    ({"shots": 2.5}, "shots must be an integer >= 1"),
    ({"family": "warm_start", "family_options": {"depth": 2}}, "takes no option"),
    ({"colour": "red"}, "unknown option"),
    ({"device": "fake_manila", "execution": "statevector"}, "exact and noiseless"),
    ({"execution": "magic"}, "execution must be one of"),
    ({"mitigation": "zne+rem"}, "noisy compiled execution"),
    ({"device": "fake_manila", "mitigation": "zne+voodoo"}, "unknown mitigation technique"),
    ({"gradient": "backprop"}, "gradient must be one of"),
    ({"gradient": "parameter_shift"}, "parametrised template family"),
    ({"store": "/tmp/x"}, "execution='runtime' only"),
    ({"template": "sometimes"}, "template must be"),
])
def test_bad_options_fail_before_anything_runs(options, match):
    q, k, v = _inputs(b=1, lq=2, s=4)
    with pytest.raises(ValueError, match=match):
        attention(q, k, v, backend="circuit", **options)


def test_report_must_be_callable():
    q, k, v = _inputs(b=1, lq=2, s=4)
    with pytest.raises(TypeError, match="report must be a callable"):
        attention(q, k, v, backend="circuit", report="stdout")


def test_paid_runtime_submission_needs_a_confirm():
    class HardwareLike(FakeManilaV2):
        @property
        def service(self):
            return type("Service", (), {"job": None, "is_local": False})()

    q, k, v = _inputs(b=1, lq=2, s=4)
    with pytest.raises(ValueError, match="needs confirm="):
        attention(q, k, v, backend="circuit", execution="runtime", mode=HardwareLike())
    from qiskit_qattn.execution import RuntimeExecutor

    with pytest.raises(ValueError, match="needs confirm="):
        attention(q, k, v, backend="circuit", execution=RuntimeExecutor(mode=HardwareLike()))


def test_parameter_shift_rows_are_mitigated_with_the_forward(manila):
    """With ZNE+REM the shifted rows are folded and calibrated in the same execution and their
    derivatives extrapolated like the values: on a noiseless compiled device the gradient is
    the statevector one, up to shot noise."""
    q, k, v = (t.clone().requires_grad_() for t in _inputs(b=1, lq=2, s=4, seed=6))
    attention(q, k, v, backend="circuit", family="qaoa").output.sum().backward()
    reference = q.grad.clone()
    q.grad = None
    executor = LocalSampler(manila, noise_model=None, seed=1)
    out = attention(q, k, v, backend="circuit", family="qaoa", execution=executor,
                    shots=10**6, mitigation="zne+rem",
                    mitigation_options={"scale_factors": (1, 3)})
    assert executor.executions == 1 and out.info["gradient"] == "parameter_shift"
    out.output.sum().backward()
    torch.testing.assert_close(q.grad, reference, atol=3e-3, rtol=0)
