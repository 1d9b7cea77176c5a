"""Sampling estimators and peers against exact attention: unbiasedness, error bars, limits."""

import numpy as np
import pytest
import torch

from qiskit_qattn.attention import (
    attention,
    estimate_attention,
    quantum_inspired_attention_prototype,
)
from qiskit_qattn.attention.quantum_sim import noisy_distribution

#: small leaves and query groups, so that the classical estimator has blocks to choose from
SMALL = {"leaf_size": 4, "query_block": 2}


def _clustered(L=6, S=96, E=4, Ev=3, seed=0):
    """Keys in a few blobs (like real heads) so clustering and the control variate matter."""
    g = torch.Generator().manual_seed(seed)
    centers = 2.0 * torch.randn(6, E, generator=g, dtype=torch.float64)
    k = centers[torch.arange(S) % 6] + 0.5 * torch.randn(S, E, generator=g, dtype=torch.float64)
    q = 1.5 * torch.randn(L, E, generator=g, dtype=torch.float64)
    v = torch.randn(S, Ev, generator=g, dtype=torch.float64) + 0.5
    return q, k, v


def _z_scores(backend, q, k, v, runs, **opts):
    ref = attention(q, k, v).output
    outs = torch.stack([attention(q, k, v, backend=backend, seed=s, **opts).output
                        for s in range(runs)])
    sem = outs.std(dim=0) / runs**0.5
    return ((outs.mean(dim=0) - ref) / sem).abs(), outs, ref


@pytest.mark.parametrize(
    "backend, opts",
    [
        ("phase0-proto", {"top_k": 8, "samples": 16}),
        ("quantum-sim", {"shots": 64}),
        ("classical", {"num_clusters": 6, "tail_samples": 48, "exact_fraction": 0.3,
                       "sampling_strategy": "stratified", **SMALL}),
        ("classical", {"num_clusters": 6, "tail_samples": 48, "exact_fraction": 0.3,
                       "sampling_strategy": "uniform", **SMALL}),
    ],
)
def test_mean_over_seeds_converges_to_exact(backend, opts):
    """Unbiasedness: the seed-average lies within a few of its own standard errors of exact."""
    q, k, v = _clustered()
    z, outs, ref = _z_scores(backend, q, k, v, 300, **opts)
    assert float(outs.std(dim=0).mean()) > 1e-4  # the estimator is really random
    # 18 entries; |z| < 4.5 for all of them fails by chance with probability < 1e-4.
    assert float(z.max()) < 4.5, z


def test_classical_ratio_bias_is_small_next_to_its_noise():
    q, k, v = _clustered(seed=3)
    ref = attention(q, k, v).output
    outs = torch.stack([attention(q, k, v, backend="classical", seed=s, num_clusters=6,
                                  tail_samples=24, exact_fraction=0.3,
                                  sampling_strategy="stratified", **SMALL).output
                        for s in range(300)])
    bias = (outs.mean(0) - ref).norm()
    noise = (outs - ref).norm(dim=(1, 2)).mean()
    assert float(bias) < 0.2 * float(noise)


@pytest.mark.parametrize(
    "backend, opts",
    [
        ("phase0-proto", {"top_k": 8, "samples": 32}),
        ("quantum-sim", {"shots": 256}),
        ("classical", {"num_clusters": 6, "tail_samples": 64, "exact_fraction": 0.3,
                       "sampling_strategy": "stratified", **SMALL}),
    ],
)
def test_error_estimate_covers_true_error(backend, opts):
    """Stated rate: ||o_hat_i - o_i|| <= 2 * error_estimate_i for >= 90% of queries."""
    q, k, v = _clustered(L=12)
    ref = attention(q, k, v).output
    hits, total = 0, 0
    for s in range(60):
        r = attention(q, k, v, backend=backend, seed=s, **opts)
        err = (r.output - ref).norm(dim=-1)
        hits += int((err <= 2 * r.error_estimate + 1e-12).sum())
        total += err.numel()
        assert r.std_error.shape == r.output.shape
    assert hits / total >= 0.9, hits / total


def test_per_entry_std_error_is_calibrated_for_born_sampling():
    q, k, v = _clustered(L=12)
    ref = attention(q, k, v).output
    zs = torch.cat([((r.output - ref) / r.std_error).flatten() for r in (
        attention(q, k, v, backend="quantum-sim", shots=512, seed=s) for s in range(40))])
    assert 0.8 < float(zs.std()) < 1.2
    assert float((zs.abs() <= 2).double().mean()) >= 0.9


def test_prototype_is_exact_when_every_cluster_is_exact():
    q, k, v = _clustered()
    r = quantum_inspired_attention_prototype(q, k, v, coverage=1.0, max_cluster_fraction=1.0,
                                             seed=0, need_weights=True)
    ref = attention(q, k, v, need_weights=True)
    torch.testing.assert_close(r.output, ref.output, atol=1e-10, rtol=0)
    torch.testing.assert_close(r.weights, ref.weights, atol=1e-10, rtol=0)
    assert r.std_error is None  # deterministic by default: no error bars to give
    assert r.info["exact_key_fraction"] == pytest.approx(1.0)
    s = quantum_inspired_attention_prototype(q, k, v, "stratified", coverage=1.0, seed=0)
    torch.testing.assert_close(s.output, ref.output, atol=1e-10, rtol=0)
    assert float(s.std_error.abs().max()) == 0.0


def test_prototype_gradients_match_exact_in_the_exact_limit():
    q, k, v = (t.requires_grad_() for t in _clustered(S=48))
    quantum_inspired_attention_prototype(q, k, v, coverage=1.0, max_cluster_fraction=1.0,
                                         seed=0).output.pow(2).sum().backward()
    q2, k2, v2 = (t.detach().clone().requires_grad_() for t in (q, k, v))
    attention(q2, k2, v2).output.pow(2).sum().backward()
    for a, b in ((q, q2), (k, k2), (v, v2)):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-9, rtol=1e-7)


def test_prototype_weights_reproduce_output_and_gradients_flow():
    q, k, v = (t.requires_grad_() for t in _clustered())
    r = quantum_inspired_attention_prototype(q, k, v, need_weights=True, seed=4,
                                             exact_fraction=0.3, num_clusters=6, **SMALL)
    torch.testing.assert_close(r.weights @ v.detach(), r.output.detach(), atol=1e-10, rtol=0)
    r.output.sum().backward()
    assert all(bool(torch.isfinite(t.grad).all()) and float(t.grad.abs().sum()) > 0
               for t in (q, k, v))


def test_prototype_control_variate_and_strata_reduce_error():
    """On clustered keys the pooled summaries cut the error; stratification does too when the
    values differ between clusters (it removes the between-strata variance)."""
    q, k, v = _clustered(L=24, S=192, seed=5)
    blob = (torch.arange(192) % 6).to(torch.float64)
    v_strata = torch.stack([blob, -blob, blob**2 / 5], dim=1) + 0.1 * v

    def mean_err(values, **opts):
        ref = attention(q, k, values).output
        opts = {"sampling_strategy": "stratified", "max_error": None, **opts}
        return np.mean([float((attention(q, k, values, backend="classical", seed=s,
                                         num_clusters=12, exact_fraction=0.25,
                                         tail_samples=36, leaf_size=4, query_block=8,
                                         **opts).output - ref).norm()) for s in range(60)])

    # the pooled summaries (control variate) against dropping the non-exact blocks
    assert mean_err(v, sampling_strategy="none") < 0.8 * mean_err(
        v, sampling_strategy="none", control_variate=False)
    assert mean_err(v_strata, control_variate=False) < 0.95 * mean_err(
        v_strata, sampling_strategy="uniform", control_variate=False)


def test_prototype_adaptive_spends_more_on_flat_rows():
    """Adaptive selection gives high-entropy (flat) rows more exact keys than peaked rows."""
    q, k, v = _clustered(L=2, S=192)
    q = torch.stack([q[0] * 0.05, q[0] * 4.0])  # flat row, peaked row
    sizes = []
    for row in (0, 1):
        r = attention(q[row:row + 1], k, v, backend="classical", seed=0, coverage=0.9,
                      num_clusters=12, max_cluster_fraction=1.0, leaf_size=4)
        sizes.append(r.info["exact_key_fraction"])
    assert sizes[0] > sizes[1]


def test_prototype_float_key_bias_matches_exact_in_the_exact_limit():
    q, k, v = _clustered()
    bias = torch.linspace(-1.0, 1.0, k.shape[0], dtype=torch.float64)[None, :]
    r = attention(q, k, v, backend="classical", attn_mask=bias, coverage=1.0,
                  max_cluster_fraction=1.0, seed=0)
    torch.testing.assert_close(r.output, attention(q, k, v, attn_mask=bias).output)


def test_quantum_sim_expectation_matches_circuit_statevector():
    q, k, v = _clustered(L=3, S=11)
    keep = torch.ones(3, 11, dtype=torch.bool)
    keep[:, 4] = False
    sim = attention(q, k, v, backend="quantum-sim", shots=None, attn_mask=keep).output
    circ = estimate_attention(q.numpy(), k.numpy(), v.numpy(), mask=keep.numpy())
    np.testing.assert_allclose(sim.numpy(), circ.values, atol=1e-9)


def test_quantum_sim_noise_models_and_gradient():
    p = torch.tensor([[0.5, 0.25, 0.25, 0.0]], dtype=torch.float64)
    dep = noisy_distribution(p, 2, 0.2, 0.0)
    torch.testing.assert_close(dep, 0.8 * p + 0.05)
    flip = noisy_distribution(torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64), 2, 0.0, 0.1)
    torch.testing.assert_close(flip, torch.tensor([[0.81, 0.09, 0.09, 0.01]],
                                                  dtype=torch.float64))
    q, k, v = (t.requires_grad_() for t in _clustered(L=3, S=11))
    r = attention(q, k, v, backend="quantum-sim", shots=32, depolarizing=0.1, seed=0)
    expected = attention(q, k, v, backend="quantum-sim", shots=None, depolarizing=0.1).output
    r.output.sum().backward()
    g1 = q.grad.clone()
    q.grad = None
    expected.sum().backward()
    torch.testing.assert_close(g1, q.grad)  # gradient of the expectation, shot noise detached


def test_performer_approaches_exact_with_many_features():
    g = torch.Generator().manual_seed(0)
    q, k = (0.5 * torch.randn(n, 4, generator=g, dtype=torch.float64) for n in (8, 64))
    v = torch.randn(64, 3, generator=g, dtype=torch.float64) + 1.0
    ref = attention(q, k, v).output
    errs = [float((attention(q, k, v, backend="performer", seed=s, num_features=m).output - ref)
                  .norm() / ref.norm()) for m in (8, 4096) for s in range(3)]
    assert np.mean(errs[3:]) < 0.25 * np.mean(errs[:3])
    assert np.mean(errs[3:]) < 0.03


def test_nystrom_and_linformer_exact_at_full_rank():
    q, k, v = _clustered(L=16, S=16, seed=2)
    ref = attention(q, k, v).output
    ny = attention(q, k, v, backend="nystrom", num_landmarks=16, pinv_iters=60).output
    torch.testing.assert_close(ny, ref, atol=1e-6, rtol=0)
    lin = attention(q, k, v, backend="linformer", proj_dim=16).output
    torch.testing.assert_close(lin, ref, atol=1e-12, rtol=0)
