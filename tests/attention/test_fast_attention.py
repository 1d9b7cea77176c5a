"""The block-sparse fast path of the ``classical`` backend against torch SDPA and exact attention.

Limits (every key exact) must equal SDPA; masked keys must be unable to move the output; the
sampled tail must be unbiased with covering error bars; shapes, dtypes and leading dims as the
``attention`` contract says.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from qiskit_qattn.attention import attention, quantum_inspired_attention_prototype
from qiskit_qattn.attention.sampling.blocksparse import auto_exact_fraction
from qiskit_qattn.attention.sampling.prototype import classify_mask
from qiskit_qattn.attention.sampling.tree import padded_size, tree_order

SMALL = {"block_size": 16, "leaf_size": 4, "query_block": 8}  # many blocks on small inputs


def _blobs(B=2, L=40, S=200, E=8, Ev=4, dtype=torch.float32, seed=0):
    """Keys in blobs (like real heads), queries near the blobs, values with an offset."""
    g = torch.Generator().manual_seed(seed)
    centers = 2.0 * torch.randn(B, 7, E, generator=g, dtype=dtype)
    k = centers[:, torch.arange(S) % 7] + 0.6 * torch.randn(B, S, E, generator=g, dtype=dtype)
    q = centers[:, torch.arange(L) % 7] + 0.8 * torch.randn(B, L, E, generator=g, dtype=dtype)
    v = torch.randn(B, S, Ev, generator=g, dtype=dtype) + 0.5
    return q, k, v


def _sdpa(q, k, v, mask=None, is_causal=False):
    """Reference: torch SDPA on 4-D input (its CPU flash kernel)."""
    return F.scaled_dot_product_attention(q[None], k[None], v[None], attn_mask=(
        None if mask is None else mask[None]), is_causal=is_causal)[0]


def _rel(a, b):
    return float((a - b).norm() / b.norm())


# ----------------------------------------------------------------------------- exact limits
@pytest.mark.parametrize("opts", [{"coverage": 1.0}, {"exact_fraction": 1.0}])
@pytest.mark.parametrize("L, S", [(40, 200), (37, 333), (1, 50), (64, 7)])
def test_every_key_exact_equals_sdpa(opts, L, S):
    q, k, v = _blobs(L=L, S=S)
    r = attention(q, k, v, backend="classical", seed=3, **SMALL, **opts)
    torch.testing.assert_close(r.output, _sdpa(q, k, v), atol=1e-5, rtol=0)
    assert r.info["exact_key_fraction"] == pytest.approx(1.0)


def test_every_key_exact_equals_sdpa_with_key_padding_and_float_bias():
    q, k, v = _blobs(S=150)
    keep = torch.rand(2, 1, 150, generator=torch.Generator().manual_seed(1)) > 0.3
    bias = torch.where(keep, torch.linspace(-1.0, 1.0, 150), float("-inf"))
    for mask in (keep, bias):
        r = attention(q, k, v, backend="classical", attn_mask=mask, coverage=1.0, seed=0,
                      **SMALL)
        torch.testing.assert_close(r.output, _sdpa(q, k, v, mask), atol=1e-5, rtol=0)


@pytest.mark.parametrize("how", ["is_causal", "dense"])
@pytest.mark.parametrize("L, S", [(100, 100), (70, 120)])
def test_every_key_exact_equals_sdpa_causal(how, L, S):
    q, k, v = _blobs(L=L, S=S)
    tri = torch.ones(L, S, dtype=torch.bool).tril()
    kw = {"is_causal": True} if how == "is_causal" else {"attn_mask": tri}
    r = attention(q, k, v, backend="classical", coverage=1.0, causal_block=32, seed=0,
                  **SMALL, **kw)
    assert r.info["mask"] == "causal"
    torch.testing.assert_close(r.output, _sdpa(q, k, v, tri), atol=1e-5, rtol=0)


def test_every_key_exact_equals_sdpa_causal_with_key_padding_over_many_chunks():
    q, k, v = _blobs(L=150, S=150)
    keep = torch.rand(2, 1, 150, generator=torch.Generator().manual_seed(5)) > 0.3
    keep[..., 0] = True
    tri = torch.ones(150, 150, dtype=torch.bool).tril()
    r = attention(q, k, v, backend="classical", attn_mask=keep & tri, coverage=1.0,
                  causal_block=16, seed=0, **SMALL)
    assert r.info["mask"] == "causal"
    torch.testing.assert_close(r.output, _sdpa(q, k, v, keep & tri), atol=1e-5, rtol=0)


@pytest.mark.parametrize("padded", [False, True])
def test_every_key_exact_equals_sdpa_causal_with_the_stepped_diagonal(padded):
    # causal_block 256 > DIAGONAL_STEP: the diagonal chunks are attended in query steps
    q, k, v = _blobs(B=1, L=600, S=600)
    mask = torch.ones(600, 600, dtype=torch.bool).tril()
    if padded:
        mask = mask & (torch.rand(1, 1, 600, generator=torch.Generator().manual_seed(6)) > 0.2)
        mask[..., 0] = True
    with torch.no_grad():
        r = attention(q, k, v, backend="classical", attn_mask=mask, coverage=1.0,
                      causal_block=256, seed=0, dense_fallback=False)
    assert r.info["mask"] == "causal" and r.info["path"] == "block-sparse"
    torch.testing.assert_close(r.output, _sdpa(q, k, v, mask.reshape(-1, 600, 600)[0]),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("L, S", [(4096, 4096), (4000, 3000), (1500, 2048), (513, 513)])
def test_causal_layout_shows_each_query_chunk_every_earlier_key_once(L, S):
    from qiskit_qattn.attention.sampling.blocksparse import _dyadic_segments

    chunk, block = 512, 64
    segments, visible = _dyadic_segments(L, S, chunk, block)
    starts = np.cumsum([0] + [slots // block for _, _, slots in segments])
    for c in range(visible.shape[0]):
        seen = np.zeros(S, dtype=int)
        for i, (first, n, _slots) in enumerate(segments):
            blocks = visible[c, starts[i]: starts[i + 1]]
            assert bool(blocks.all()) or not bool(blocks.any())  # whole segments only
            if bool(blocks.any()):
                seen[first: first + n] += 1
        assert (seen[: min(S, c * chunk)] == 1).all() and (seen[c * chunk:] == 0).all()


def test_every_key_exact_equals_sdpa_with_a_general_per_query_mask():
    q, k, v = _blobs(L=30, S=90)
    keep = torch.rand(2, 30, 90, generator=torch.Generator().manual_seed(2)) > 0.5
    keep[..., 0] = True
    r = attention(q, k, v, backend="classical", attn_mask=keep, coverage=1.0, seed=0, **SMALL)
    assert r.info["mask"] == "dense"
    torch.testing.assert_close(r.output, _sdpa(q, k, v, keep), atol=1e-5, rtol=0)


def test_every_key_exact_gradients_equal_sdpa_gradients():
    q, k, v = (t.double().requires_grad_() for t in _blobs(B=1, L=24, S=80))
    attention(q, k, v, backend="classical", coverage=1.0, seed=0, **SMALL).output.pow(
        2).sum().backward()
    q2, k2, v2 = (t.detach().clone().requires_grad_() for t in (q, k, v))
    _sdpa(q2, k2, v2).pow(2).sum().backward()
    for a, b in ((q, q2), (k, k2), (v, v2)):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-9, rtol=1e-7)


@pytest.mark.parametrize("L", [24, 80])
def test_every_key_exact_causal_gradients_equal_sdpa_gradients(L):
    # Causal chunks leave pack rows with no visible key and leaves that are only padding: their
    # log-sums must not turn the backward pass into NaN.
    q, k, v = (t.double().requires_grad_() for t in _blobs(B=1, L=L, S=L))
    attention(q, k, v, backend="classical", coverage=1.0, seed=0, is_causal=True,
              causal_block=32, **SMALL).output.pow(2).sum().backward()
    q2, k2, v2 = (t.detach().clone().requires_grad_() for t in (q, k, v))
    F.scaled_dot_product_attention(q2, k2, v2, is_causal=True).pow(2).sum().backward()
    for a, b in ((q, q2), (k, k2), (v, v2)):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-9, rtol=1e-7)


def test_causal_gradients_are_finite_on_the_approximate_path():
    q, k, v = (t.requires_grad_() for t in _blobs(B=1, L=256, S=256))
    mask = torch.ones(256, 256, dtype=torch.bool).tril()
    r = attention(q, k, v, backend="classical", attn_mask=mask, seed=0, exact_fraction=0.25,
                  causal_block=64, **SMALL)
    r.output.square().sum().backward()
    for t in (q, k, v):
        assert bool(torch.isfinite(t.grad).all()) and float(t.grad.abs().sum()) > 0


# ------------------------------------------------------------------------------------ masks
def _poison(k, v, hidden):
    """Keys and values of hidden keys replaced by huge numbers."""
    k2, v2 = k.clone(), v.clone()
    k2[hidden] = 50.0
    v2[hidden] = 1e6
    return k2, v2


@pytest.mark.parametrize("strategy", ["none", "stratified"])
def test_padded_keys_cannot_move_the_output(strategy):
    q, k, v = _blobs(S=180)
    keep = torch.ones(2, 1, 180, dtype=torch.bool)
    keep[0, 0, 100:] = False
    keep[1, 0, ::3] = False
    opts = {"sampling_strategy": strategy, "exact_fraction": 0.25, **SMALL}
    r = attention(q, k, v, backend="classical", attn_mask=keep, need_weights=True, seed=5,
                  **opts)
    assert float(r.weights[~keep.expand(2, 40, 180)].abs().max()) == 0.0
    k2, v2 = _poison(k, v, ~keep[:, 0])
    r2 = attention(q, k2, v2, backend="classical", attn_mask=keep, seed=5, **opts)
    # Masked keys have weight 0 in the tree too (sorted last), so nothing about them -
    # neither their keys nor their values - reaches the estimate.
    torch.testing.assert_close(r2.output, r.output)
    torch.testing.assert_close(r.weights @ v, r.output, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("strategy", ["none", "stratified"])
def test_causal_future_keys_cannot_move_the_output(strategy):
    q, k, v = _blobs(B=1, L=96, S=96)
    opts = {"sampling_strategy": strategy, "exact_fraction": 0.25, "causal_block": 32,
            "is_causal": True, **SMALL}
    r = attention(q, k, v, backend="classical", seed=2, **opts)
    # Poison the last 40 keys: the first 56 queries never see them.
    hidden = torch.zeros(1, 96, dtype=torch.bool)
    hidden[:, 56:] = True
    k2, v2 = _poison(k, v, hidden)
    r2 = attention(q, k2, v2, backend="classical", seed=2, **opts)
    torch.testing.assert_close(r2.output[:, :56], r.output[:, :56], atol=1e-4, rtol=1e-4)
    w = attention(q, k, v, backend="classical", seed=2, need_weights=True, **opts).weights
    assert float(w[0].triu(1).abs().max()) == 0.0


def test_per_query_mask_hidden_keys_get_no_weight_and_cannot_move_the_output():
    q, k, v = _blobs(B=1, L=24, S=96)
    keep = torch.rand(24, 96, generator=torch.Generator().manual_seed(4)) > 0.6
    keep[:, :3] = True
    opts = {"exact_fraction": 0.25, **SMALL}
    r = attention(q, k, v, backend="classical", attn_mask=keep, need_weights=True, seed=0,
                  **opts)
    assert float(r.weights[0][~keep].abs().max()) == 0.0
    torch.testing.assert_close(r.weights @ v, r.output, atol=1e-5, rtol=1e-5)
    never = ~keep.any(0)
    k2, v2 = _poison(k, v, never[None])
    r2 = attention(q, k2, v2, backend="classical", attn_mask=keep, seed=0, **opts)
    assert float(r2.output.abs().max()) < 10.0


def test_causal_masks_are_recognised_with_key_padding():
    tri = torch.zeros(5, 5).masked_fill(~torch.ones(5, 5, dtype=torch.bool).tril(),
                                        float("-inf"))
    pad = torch.zeros(2, 1, 5)
    pad[1, 0, 4] = float("-inf")
    key, model = classify_mask(tri[None] + pad, 2, 5, 5, False, torch.float32)
    assert model.kind == "causal"
    assert torch.isneginf(key[1, 4]) and float(key[0].abs().max()) == 0.0
    other = tri.clone()
    other[3, 0] = float("-inf")
    assert classify_mask(other[None], 1, 5, 5, False, torch.float32)[1].kind == "dense"
    assert classify_mask(None, 1, 5, 5, True, torch.float32)[1].kind == "causal"


# ------------------------------------------------------------------- sampled tail estimator
def _replicas(q, k, v, n, seeds, **opts):
    """``n * len(seeds)`` independent estimates (batch replicas draw independent samples)."""
    outs, errs = [], []
    for s in seeds:
        rep = [t.expand(n, *t.shape[-2:]) for t in (q, k, v)]
        r = attention(*rep, backend="classical", seed=s, **opts)
        outs.append(r.output)
        errs.append(r.error_estimate)
    return torch.cat(outs), torch.cat(errs)


@pytest.mark.parametrize("strategy", ["stratified", "uniform"])
def test_sampled_tail_mean_over_seeds_converges_to_exact(strategy):
    """Unbiasedness: the replica mean lies within a few of its own standard errors of exact."""
    q, k, v = (t[0].double() for t in _blobs(B=1, L=6, S=96, Ev=3))
    ref = _sdpa(q, k, v)
    opts = {"sampling_strategy": strategy, "exact_fraction": 0.25, "tail_samples": 48,
            **SMALL}
    outs, _ = _replicas(q, k, v, 150, [0, 1], **opts)
    sem = outs.std(0) / math.sqrt(outs.shape[0])
    assert float(outs.std(0).mean()) > 1e-4  # really random
    z = ((outs.mean(0) - ref) / sem).abs()
    # 18 entries; |z| < 4.5 for all of them fails by chance with probability < 1e-4.
    assert float(z.max()) < 4.5, z


def test_error_estimate_covers_the_true_error():
    """Stated rate: ||o_hat_i - o_i|| <= 2 * error_estimate_i for >= 85% of queries.

    Pooled over four seeds (each its own key trees and draws): the rate of a single seed
    varies by +-2 points with the tree (0.87-0.92 over seeds here).
    """
    q, k, v = (t[0].double() for t in _blobs(B=1, L=16, S=128, Ev=3, seed=3))
    ref = _sdpa(q, k, v)
    outs, est = _replicas(q, k, v, 60, [0, 1, 2, 3], sampling_strategy="stratified",
                          exact_fraction=0.25, tail_samples=96, **SMALL)
    hit = ((outs - ref).norm(dim=-1) <= 2 * est + 1e-12).double().mean()
    assert float(hit) >= 0.85, float(hit)
    assert float(est.mean()) > 0


def test_control_variate_and_more_exact_blocks_cut_the_error():
    q, k, v = (t.double() for t in _blobs(B=1, L=32, S=256, seed=6))
    ref = _sdpa(q, k, v)

    def err(**opts):
        outs, _ = _replicas(q[0], k[0], v[0], 20, [0], sampling_strategy="stratified",
                            tail_samples=32, **SMALL, **opts)
        return float(((outs - ref[0]).norm(dim=(1, 2)) / ref[0].norm()).mean())

    assert err(exact_fraction=0.125) < 0.8 * err(exact_fraction=0.125, control_variate=False)
    assert err(exact_fraction=0.5) < err(exact_fraction=0.125)


def test_deterministic_tail_has_no_error_bars_and_is_repeatable():
    q, k, v = _blobs()
    a = attention(q, k, v, backend="classical", seed=4, exact_fraction=0.25, **SMALL)
    b = attention(q, k, v, backend="classical", seed=4, exact_fraction=0.25, **SMALL)
    assert torch.equal(a.output, b.output)
    assert a.std_error is None and a.error_estimate is None
    assert "biased" in a.info["bias"]


# ------------------------------------------------------------- shapes, dtypes, weights, nn
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_dtypes_and_leading_dims(dtype):
    q, k, v = _blobs(B=6, L=33, S=130, dtype=dtype)
    q, k, v = (t.reshape(2, 3, *t.shape[1:]) for t in (q, k, v))
    r = attention(q, k, v, backend="classical", seed=0, need_weights=True,
                  sampling_strategy="stratified", exact_fraction=0.25, **SMALL)
    assert r.output.shape == (2, 3, 33, 4) and r.output.dtype == dtype
    assert r.weights.shape == (2, 3, 33, 130) and r.std_error.shape == (2, 3, 33, 4)
    assert r.error_estimate.shape == (2, 3, 33)
    torch.testing.assert_close(r.weights @ v, r.output, atol=1e-4, rtol=1e-4)
    # each head on its own gives the same structure only through its own seed, so compare
    # an unbatched call with a batch of one
    one = attention(q[0, 0], k[0, 0], v[0, 0], backend="classical", seed=0, **SMALL)
    assert one.output.shape == (33, 4)


def test_broadcast_key_value_heads():
    q, k, v = _blobs(B=4)
    r = attention(q.reshape(2, 2, 40, 8), k[:2, None], v[:2, None], backend="classical",
                  seed=0, coverage=1.0, **SMALL)
    ref = _sdpa(q.reshape(2, 2, 40, 8), k[:2, None].expand(2, 2, 200, 8),
                v[:2, None].expand(2, 2, 200, 4))
    torch.testing.assert_close(r.output, ref, atol=1e-5, rtol=0)


def test_default_weights_are_a_distribution_that_reproduces_the_output():
    q, k, v = _blobs(S=256)
    r = quantum_inspired_attention_prototype(q, k, v, need_weights=True, seed=0,
                                             exact_fraction=0.25, **SMALL)
    torch.testing.assert_close(r.weights.sum(-1), torch.ones(2, 40), atol=1e-5, rtol=0)
    assert float(r.weights.min()) >= 0.0
    torch.testing.assert_close(r.weights @ v, r.output, atol=1e-5, rtol=1e-5)
    assert 0.0 < r.info["exact_key_fraction"] < 1.0


def test_gradients_flow_through_the_estimate():
    q, k, v = (t.requires_grad_() for t in _blobs(B=1, S=256))
    r = attention(q, k, v, backend="classical", seed=0, exact_fraction=0.25, **SMALL)
    r.output.square().sum().backward()
    for t in (q, k, v):
        assert bool(torch.isfinite(t.grad).all()) and float(t.grad.abs().sum()) > 0


def test_a_fully_masked_query_gets_zeros_like_sdpa():
    q, k, v = _blobs(B=1, L=8, S=64)
    keep = torch.ones(8, 64, dtype=torch.bool)
    keep[3] = False
    r = attention(q, k, v, backend="classical", attn_mask=keep, seed=0, **SMALL)
    assert float(r.output[0, 3].abs().max()) == 0.0


def test_multihead_module_uses_the_fast_path_for_causal_masks():
    """``QuantumMultiheadAttention(quantum_backend="classical")`` needs no code of its own."""
    from qiskit_qattn.nn import QuantumMultiheadAttention

    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(16, 2, batch_first=True)
    qm = QuantumMultiheadAttention.from_torch(ref, "classical", seed=1, coverage=1.0)
    x = torch.randn(2, 48, 16)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(48)
    out = qm(x, x, x, attn_mask=causal, is_causal=True, need_weights=False)[0]
    want = ref(x, x, x, attn_mask=causal, is_causal=True, need_weights=False)[0]
    torch.testing.assert_close(out, want, atol=1e-5, rtol=0)
    assert qm._backend.last_result.info["mask"] == "causal"


@pytest.mark.parametrize(
    "opts, match",
    [
        ({"leaf_size": 6}, "leaf_size"),
        ({"block_size": 0}, "block_size"),
        ({"query_block": 3}, "query_block"),
        ({"selection": "x"}, "selection"),
        ({"query_order": "x"}, "query_order"),
        ({"exact_fraction": 0.0}, "exact_fraction"),
        ({"refine_fraction": 1.5}, "refine_fraction"),
        ({"tree_iters": -1}, "tree_iters"),
        ({"causal_block": 100}, "causal_block"),
    ],
)
def test_bad_fast_path_options_raise(opts, match):
    q, k, v = _blobs(B=1)
    with pytest.raises(ValueError, match=match):
        attention(q, k, v, backend="classical", **opts)


# ------------------------------------------------------------------------------ the order
def test_tree_order_is_a_permutation_that_groups_blobs():
    g = np.random.default_rng(0)
    centers = 10.0 * g.normal(size=(8, 4))
    x = centers[np.arange(64) % 8] + 0.01 * g.normal(size=(64, 4))
    perm = tree_order(x[None], np.ones((1, 64)), segment=64, leaf=8, seed=3)[0]
    assert sorted(perm.tolist()) == list(range(64))
    labels = (perm % 8).reshape(8, 8)  # each leaf of 8 holds one blob
    assert all(len(set(row)) == 1 for row in labels.tolist())


def test_tree_order_puts_zero_weight_rows_last_and_pads():
    x = np.random.default_rng(1).normal(size=(2, 13, 3))
    w = np.ones((2, 13))
    w[0, [2, 5]] = 0.0
    perm = tree_order(x, w, segment=padded_size(13, 4), leaf=4, seed=0)
    assert perm.shape == (2, 16)
    # weighted rows fill the first leaves (11 rows: the first 3 leaves of 4)
    assert set(range(13)) - {2, 5} <= set(perm[0, :12].tolist())
    assert sorted(perm[0].tolist()) == sorted([*range(13), 13, 13, 13])
    assert set(perm[1, :13].tolist()) <= set(range(14)) and (perm[1, 16 - 4:] != -1).all()
    assert set(range(13)) <= set(perm[1, :16].tolist()) and set(perm[1, 12:].tolist()) >= {13}
    with pytest.raises(ValueError, match="segment"):
        tree_order(x, w, segment=12, leaf=4)


def _brute_force_median_splits(x, w, perm, leaf):
    """Check every aligned node of ``perm`` against its own rows: returns the nodes' axes.

    A node's two halves must be separated by a hyperplane along the node's principal axis
    (computed here with numpy's eigendecomposition) up to a small angle: each half's
    projections lie on one side of the median (the halves are a median split) and the split
    direction found by the tree is close to the exact principal axis.
    """
    seg = perm.shape[0]
    m = seg
    while m > leaf:
        for s in range(0, seg, m):
            rows = perm[s:s + m]
            live = rows[rows < len(x)]
            live = live[w[live] > 0]
            lo, hi = perm[s:s + m // 2], perm[s + m // 2:s + m]
            lo_live = [r for r in lo.tolist() if r < len(x) and w[r] > 0]
            hi_live = [r for r in hi.tolist() if r < len(x) and w[r] > 0]
            # weighted rows fill the first half before any weight-0 or padding row
            assert not hi_live or len(lo_live) == m // 2
            if len(lo_live) < 2 or len(hi_live) < 2:
                continue
            xc = x[live] - x[live].mean(0)
            axis = np.linalg.eigh(xc.T @ xc)[1][:, -1]
            # the best separating direction of the two halves (difference of their means)
            # must be close to the principal axis...
            sep = x[hi_live].mean(0) - x[lo_live].mean(0)
            assert abs(sep @ axis) / np.linalg.norm(sep) > 0.9, (m, s)
            # ...and the halves barely overlap along it
            plo, phi = np.sort(x[lo_live] @ axis), np.sort(x[hi_live] @ axis)
            if phi.mean() < plo.mean():
                plo, phi = -plo, -phi
            overlap = (plo[:, None] > phi[None, :]).mean()
            assert overlap < 0.02, (m, s, overlap)
        m //= 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tree_order_nodes_are_median_splits_along_the_principal_axis(dtype):
    """Every aligned node splits at its median along its principal axis (brute-force check).

    Rows are a known hierarchy of clusters: every node of it has one clearly dominant direction
    (its next bit; the spreads below shrink geometrically), so the exact principal axis of each
    node is well separated and its median split unique. A node's children have no variance
    along their parent's axis (a start from it alone would fail).
    """
    g = np.random.default_rng(5)
    E, n, levels = 32, 128, 7
    dirs = np.linalg.qr(g.normal(size=(E, E)))[0]
    # bit j of a row's index along direction j, scale 2**-j: each level dominates all below
    bits = (np.arange(n)[:, None] >> np.arange(levels)[None, ::-1]) & 1
    x = ((2 * bits - 1) * 2.0 ** -np.arange(levels)) @ dirs[:levels]
    x = (x + 1e-5 * g.normal(size=(n, E)))[g.permutation(n)].astype(dtype)
    w = np.ones(n)
    perm = tree_order(x[None], w[None], segment=n, leaf=4, seed=11)[0]
    assert sorted(perm.tolist()) == list(range(n))
    _brute_force_median_splits(x.astype(np.float64), w, perm, 4)


def test_tree_order_is_deterministic_and_follows_the_seed():
    x = np.random.default_rng(2).normal(size=(3, 200, 5)).astype(np.float32)
    w = np.ones((3, 200))
    a = tree_order(x, w, segment=256, leaf=8, seed=4)
    assert (a == tree_order(x, w, segment=256, leaf=8, seed=4)).all()
    assert not (a == tree_order(x, w, segment=256, leaf=8, seed=5)).all()
    # float64 input of the same rows gives the same tree up to near-ties
    b = tree_order(x.astype(np.float64), w, segment=256, leaf=8, seed=4)
    leaves = lambda p: {frozenset(r) for r in p.reshape(-1, 8).tolist()}  # noqa: E731
    assert len(leaves(a[0]) & leaves(b[0])) >= 0.9 * len(leaves(a[0]))


def test_tree_order_many_masked_rows_and_segments():
    """Mostly weight-0 rows (ties of the select) and several segments, with iters 0 and 5."""
    g = np.random.default_rng(8)
    x = g.normal(size=(2, 300, 4))
    w = (g.random((2, 300)) < 0.1).astype(float)
    for iters in (0, 1, 5):
        perm = tree_order(x, w, segment=128, leaf=8, iters=iters, seed=1)
        assert perm.shape == (2, 384)
        for h in range(2):
            for lo in range(0, 384, 128):
                part = perm[h, lo:lo + 128]
                rows = [r for r in range(lo, min(lo + 128, 300))]
                assert sorted(part[part < 300].tolist()) == rows
                alive = int(w[h, rows].sum())  # weighted rows fill the first leaves
                assert {r for r in rows if w[h, r] > 0} <= set(part[:-(-alive // 8) * 8].tolist())


def test_tree_order_ignores_the_values_of_masked_rows():
    g = np.random.default_rng(9)
    x = g.normal(size=(1, 90, 6)).astype(np.float32)
    w = np.ones((1, 90))
    w[0, ::5] = 0.0
    y = x.copy()
    y[0, ::5] = np.where(g.random((18, 6)) < 0.5, np.nan, np.inf)
    a, b = (tree_order(z, w, segment=128, leaf=8, seed=2) for z in (x, y))
    assert (a == b).all()


def test_block_scores_are_the_second_order_log_mass_of_each_blocks_unmasked_keys():
    from qiskit_qattn.attention.sampling.blocksparse import _block_moments, _block_scores

    gen = torch.Generator().manual_seed(11)
    q = torch.randn(2, 5, 3, generator=gen, dtype=torch.float64)
    ks = torch.randn(2, 12, 3, generator=gen, dtype=torch.float64)
    bias = torch.zeros(2, 12, dtype=torch.float64)
    bias[0, 4:7] = float("-inf")  # block 1 of head 0 keeps one key
    bias[1, 8:] = float("-inf")  # block 2 of head 1 is empty
    sc = _block_scores(q, _block_moments(ks, bias, 3, 4))
    for h in range(2):
        for b in range(3):
            keys = ks[h, 4 * b: 4 * b + 4][bias[h, 4 * b: 4 * b + 4] == 0]
            for i in range(5):
                if len(keys) == 0:
                    assert sc[h, i, b] == float("-inf")
                    continue
                mu, var = keys.mean(0), keys.var(0, unbiased=False)
                want = q[h, i] @ mu + math.log(len(keys)) + 0.5 * (q[h, i] ** 2) @ var
                torch.testing.assert_close(sc[h, i, b], want)
    # keys that are all alike: the score is the block's exact log-mass
    same = torch.ones(1, 4, 3, dtype=torch.float64)
    exact = torch.logsumexp(q[:1] @ same[0].T, -1)
    moments = _block_moments(same, torch.zeros(1, 4, dtype=torch.float64), 1, 4)
    torch.testing.assert_close(_block_scores(q[:1], moments)[..., 0], exact)


def test_default_falls_back_to_sdpa_where_the_estimator_would_not_be_faster():
    from qiskit_qattn.attention.sampling.blocksparse import BlockSparseConfig, MaskModel
    from qiskit_qattn.attention.sampling.prototype import _dense_is_cheaper

    gen = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(2, 1536, 32, generator=gen) for _ in range(3))
    r = attention(q, k, v, backend="classical", seed=0)
    assert r.info["path"] == "dense"
    torch.testing.assert_close(r.output, F.scaled_dot_product_attention(q[None], k[None],
                                                                        v[None])[0],
                               atol=1e-5, rtol=0)
    cfg, plain = BlockSparseConfig(), MaskModel()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert _dense_is_cheaper(cfg, 1536, 1536, 32, 32, plain, False)
        assert not _dense_is_cheaper(cfg, 2048, 2048, 32, 32, plain, False)
        assert not _dense_is_cheaper(cfg, 4096, 4096, 32, 32, plain, False)
        assert not _dense_is_cheaper(cfg, 3072, 3072, 32, 32, plain, False)
        torch.set_num_threads(2)  # the flash kernel gains more from a second thread
        assert _dense_is_cheaper(cfg, 2048, 2048, 32, 32, plain, False)
        assert not _dense_is_cheaper(cfg, 2560, 2560, 32, 32, plain, False)
        torch.set_num_threads(8)
        assert _dense_is_cheaper(cfg, 2560, 2560, 32, 32, plain, False)
        assert not _dense_is_cheaper(cfg, 4096, 4096, 32, 32, plain, False)
    finally:
        torch.set_num_threads(threads)


def test_head_chunks_on_two_threads_give_the_same_output_and_restore_the_thread_count(
        monkeypatch):
    from qiskit_qattn.attention.sampling import blocksparse

    monkeypatch.setattr(blocksparse, "CACHE_BYTES", 1)  # one head per chunk: 5 chunks
    gen = torch.Generator().manual_seed(8)
    q, k, v = (torch.randn(5, 300, 16, generator=gen) for _ in range(3))
    opts = dict(backend="classical", seed=0, exact_fraction=0.25, is_causal=True)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = attention(q, k, v, **opts).output
        torch.set_num_threads(2)
        two = attention(q, k, v, **opts).output
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)


def test_run_chunks_keeps_order_and_restores_threads_after_an_error():
    from qiskit_qattn.attention.sampling.chunks import run_chunks

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        seen = []
        assert run_chunks(lambda s: seen.append(torch.get_num_threads()) or s * 10,
                          [3, 1, 2]) == [30, 10, 20]
        assert seen == [1, 1, 1]  # each worker single-threaded

        def boom(s):
            raise ValueError(f"chunk {s}")

        with pytest.raises(ValueError, match="chunk"):
            run_chunks(boom, [0, 1])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_auto_exact_budget_shrinks_with_length():
    fr = [auto_exact_fraction(n) for n in (512, 1024, 4096, 16384)]
    assert fr == sorted(fr, reverse=True) and fr[-1] < 0.1 and auto_exact_fraction(64) == 1.0


@pytest.mark.slow
def test_default_is_accurate_on_real_minilm_heads():
    """All 72 real MiniLM heads on 512 tokens: the default is exact there (its automatic
    budget would attend to most keys, so it falls back to SDPA); the estimator itself with 3/4 of
    the key blocks exact stays under 10% mean error."""
    from qiskit_qattn.data import capture_heads

    heads = capture_heads(512)
    q, k, v = (torch.tensor(a).reshape(72, 512, 32) for a in
               (heads.queries, heads.keys, heads.values))
    ref = F.scaled_dot_product_attention(q[None], k[None], v[None], scale=heads.scale)[0]
    r = attention(q, k, v, backend="classical", scale=heads.scale, seed=0)
    assert r.info["path"] == "dense"
    torch.testing.assert_close(r.output, ref, atol=1e-5, rtol=0)
    r = attention(q, k, v, backend="classical", scale=heads.scale, seed=0, exact_fraction=0.75)
    assert r.info["path"] == "block-sparse" and r.info["exact_key_fraction"] < 0.9
    err = (r.output - ref).norm(dim=(1, 2)) / ref.norm(dim=(1, 2))
    assert float(err.mean()) < 0.10, err


def _real_heads(n=256):
    """12 real MiniLM heads (every 6th of the 72) on ``n`` tokens: keys and values of one width,
    queries far from their group means - what the blob data of the other tests lacks."""
    from qiskit_qattn.data import capture_heads

    heads = capture_heads(n)
    q, k, v = (torch.tensor(a).reshape(72, n, 32)[::6].contiguous() for a in
               (heads.queries, heads.keys, heads.values))
    return q, k, v, heads.scale


def test_sampled_tail_is_accurate_on_real_minilm_heads():
    """Regression: the control variate once used the pooled *values* as pseudo-keys whenever
    keys and values had the same width (every real head; the blob tests have E != Ev), and
    the estimated denominators crossed zero (errors of 5-370x on real heads)."""
    q, k, v, scale = _real_heads()
    ref = F.scaled_dot_product_attention(q[None], k[None], v[None], scale=scale)[0]

    def err(**opts):
        r = attention(q, k, v, backend="classical", scale=scale, seed=0, exact_fraction=0.5,
                      **opts)
        return (r.output - ref).norm(dim=(1, 2)) / ref.norm(dim=(1, 2))

    for strategy in ("stratified", "uniform"):
        e = err(sampling_strategy=strategy)
        assert float(e.mean()) < 0.3 and float(e.max()) < 0.6, (strategy, e)
    no_cv = err(sampling_strategy="stratified", control_variate=False)
    assert float(err(sampling_strategy="stratified").mean()) < float(no_cv.mean())


def test_sampled_tail_is_unbiased_on_a_real_head():
    """z-test over seeds on one real head (keys and values both 32 wide)."""
    q, k, v, scale = _real_heads()
    q, k, v = (t[3].double() for t in (q, k, v))
    q, k, v = q[:6] * scale, k[:128], v[:128]
    ref = F.scaled_dot_product_attention(q[None], k[None], v[None], scale=1.0)[0]
    outs, _ = _replicas(q, k, v, 150, [0, 1], sampling_strategy="stratified", scale=1.0,
                        exact_fraction=0.25, tail_samples=48, **SMALL)
    sem = outs.std(0) / math.sqrt(outs.shape[0])
    assert float(outs.std(0).mean()) > 1e-4
    z = ((outs.mean(0) - ref) / sem).abs()
    # 192 entries; |z| < 5 for all of them fails by chance with probability < 1e-4.
    assert float(z.max()) < 5.0, z


def test_route_top2_matches_two_argmax_passes_with_ties_and_masked_entries():
    from qiskit_qattn.attention.sampling.top2 import TILE, top2_along_last_axis

    # rows not a multiple of the kernel's tile: the last tile is partial
    x = torch.randn(3, 2 * TILE + 5, 10, generator=torch.Generator().manual_seed(7))
    x[0, 0, 2:5] = 9.0  # a three-way tie: the lower indices win
    x[1, 1, :] = float("-inf")
    x[2, 2, 3:] = float("-inf")  # only three finite candidates
    first, second = top2_along_last_axis(x)
    want1 = x.argmax(-1)
    want2 = x.scatter(-1, want1[..., None], float("-inf")).argmax(-1)
    assert torch.equal(torch.from_numpy(first), want1)
    assert torch.equal(torch.from_numpy(second), want2)
    assert (first[0, 0], second[0, 0]) == (2, 3)
    one_first, one_second = top2_along_last_axis(x[..., :1])
    assert (one_first == 0).all() and (one_second == 0).all()


@pytest.mark.parametrize("blocks, groups", [(7, 3), (40, 50)])  # counting sort; comparison sort
def test_route_order_sorts_by_group_then_best_then_second_best_stably(blocks, groups):
    from qiskit_qattn.attention.sampling.top2 import route_order

    gen = torch.Generator().manual_seed(3)
    x = torch.randint(0, 4, (2, 300, blocks), generator=gen).float()  # many ties
    group = torch.randint(0, groups, (300,), generator=gen)
    order = torch.from_numpy(route_order(x, group.numpy()))
    first = x.argmax(-1)
    second = x.scatter(-1, first[..., None], float("-inf")).argmax(-1)
    key = (group * blocks + first) * blocks + second
    assert torch.equal(order, torch.sort(key, dim=-1, stable=True).indices)


def test_exact_budget_goes_to_blocks_whose_pooling_errs_not_to_the_heaviest():
    # Half the keys are one repeated key holding 99.8 % of the mass: pooled, they are exact
    # for every query. With half the blocks exact, the spread keys must be the exact ones,
    # and the output is then exact attention (ranking by mass alone: 0.5 % error).
    gen = torch.Generator().manual_seed(3)
    E = 8
    spread = torch.randn(1, 64, E, generator=gen, dtype=torch.float64)
    tight = torch.full((1, 64, E), 1.5, dtype=torch.float64)
    k = torch.cat([spread, tight], 1)
    v = torch.randn(1, 128, E, generator=gen, dtype=torch.float64)
    q = torch.randn(1, 16, E, generator=gen, dtype=torch.float64) * 0.5 + 1.0
    p = torch.softmax(q @ k.transpose(1, 2), -1)
    assert float(p[..., 64:].sum(-1).min()) > 0.99
    r = attention(q, k, v, backend="classical", scale=1.0, dense_fallback=False,
                  exact_fraction=0.5, refine_fraction=0.0, block_size=16, seed=0)
    assert r.info["exact_blocks"] == 4 and r.info["key_blocks"] == 8
    torch.testing.assert_close(r.output, p @ v, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("causal", [False, True], ids=["plain", "causal-padded"])
def test_budgets_per_head_and_group_attend_in_buckets_like_the_packed_single_call(causal):
    # coverage gives every head and query group its own number of exact blocks; inference
    # attends each bucket of equal budgets apart, the differentiable path packs all of them
    # into one masked call: the same estimator, so the same output
    q, k, v = _blobs(B=3, L=96 if not causal else 300, S=400 if not causal else 300,
                     dtype=torch.float64, seed=6)
    opts = dict(backend="classical", seed=1, coverage=0.8, **SMALL)
    mask = None
    if causal:
        opts.update(is_causal=True, causal_block=64)
        mask = torch.zeros(3, 1, 300, dtype=torch.float64)
        mask[1, :, 250:] = float("-inf")  # key padding on top of the causal mask
        opts["attn_mask"] = mask
    bucketed = attention(q, k, v, **opts).output
    packed = attention(q.clone().requires_grad_(), k, v, **opts).output.detach()
    torch.testing.assert_close(bucketed, packed, atol=1e-10, rtol=1e-10)
    if not causal:
        assert 0.0 < _rel(bucketed, _sdpa(q, k, v)) < 0.2
