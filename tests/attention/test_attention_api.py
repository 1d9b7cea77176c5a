"""The torch front end: contract, exact backend vs SDPA, masks, seeds, registry, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from qiskit_qattn.attention import (
    AttentionResult,
    attention,
    available_backends,
    exact_attention,
    register_backend,
    unregister_backend,
)

BACKENDS = ("exact", "quantum-sim", "phase0-proto", "classical", "performer", "nystrom",
            "linformer")
RANDOM = ("quantum-sim", "phase0-proto", "classical", "performer", "linformer")
OPTS = {"linformer": {"projection": "gaussian"},  # the default pooling is deterministic
        "classical": {"sampling_strategy": "stratified"}}  # default: exact SDPA on 64 keys


def _qkv(*lead, L=6, S=40, E=8, Ev=3, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*lead, L, E, generator=g, dtype=dtype),
            torch.randn(*lead, S, E, generator=g, dtype=dtype),
            torch.randn(*lead, S, Ev, generator=g, dtype=dtype))


def test_builtins_registered():
    assert set(BACKENDS) <= set(available_backends())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_matches_sdpa_batched_with_weights(dtype):
    q, k, v = _qkv(2, 3, dtype=dtype)
    res = attention(q, k, v, need_weights=True)
    ref = F.scaled_dot_product_attention(q, k, v)
    assert res.output.shape == (2, 3, 6, 3) and res.weights.shape == (2, 3, 6, 40)
    torch.testing.assert_close(res.output, ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(res.weights @ v, ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(attention(q, k, v).output, ref, atol=1e-6, rtol=0)


def test_exact_matches_independent_numpy_reference_and_scale():
    q, k, v = _qkv(L=5, S=11)
    res = attention(q, k, v, scale=0.7)
    ref = exact_attention(q.numpy(), k.numpy(), v.numpy(), scale=0.7)
    np.testing.assert_allclose(res.output.numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_exact_masks_match_sdpa(kind):
    q, k, v = _qkv(2, L=5, S=9)
    keep = torch.rand(2, 5, 9, generator=torch.Generator().manual_seed(3)) > 0.4
    keep[:, :, 0] = True
    mask = keep if kind == "bool" else torch.zeros(keep.shape, dtype=q.dtype).masked_fill(
        ~keep, float("-inf")) + 0.3 * keep
    res = attention(q, k, v, attn_mask=mask, need_weights=True)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(res.output, ref, atol=1e-6, rtol=0)
    assert float(res.weights[~keep].abs().max()) == 0.0


@pytest.mark.parametrize("L, S", [(6, 6), (3, 8), (8, 3)])
@pytest.mark.parametrize("padded", [False, True])
def test_exact_causal_masks_match_sdpa(L, S, padded):
    # A plain top-left causal mask takes SDPA's is_causal kernel; with padding it stays a mask.
    q, k, v = _qkv(2, L=L, S=S)
    keep = torch.ones(L, S, dtype=torch.bool).tril()
    if padded:
        keep = keep & torch.tensor([True] * (S - 1) + [False])
        keep[:, 0] = True
    res = attention(q, k, v, attn_mask=keep)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    torch.testing.assert_close(res.output, ref, atol=1e-6, rtol=0)


def test_fully_masked_row_gives_zero_like_sdpa():
    q, k, v = _qkv(L=3, S=4)
    keep = torch.ones(3, 4, dtype=torch.bool)
    keep[1] = False
    res = attention(q, k, v, attn_mask=keep, need_weights=True)
    torch.testing.assert_close(res.output, F.scaled_dot_product_attention(q, k, v, attn_mask=keep))
    assert float(res.output[1].abs().max()) == 0.0 and float(res.weights[1].abs().max()) == 0.0


def test_broadcast_leading_dims_and_unbatched():
    q, _, _ = _qkv(2, 3)
    _, k, v = _qkv(1, 3, seed=1)
    res = attention(q, k, v)
    assert res.output.shape == (2, 3, 6, 3)
    out1 = attention(q[0, 0], k[0, 0], v[0, 0]).output
    torch.testing.assert_close(out1, res.output[0, 0])


def test_exact_is_differentiable():
    q, k, v = (t.requires_grad_() for t in _qkv(L=4, S=7))
    attention(q, k, v).output.sum().backward()
    q2, k2, v2 = (t.detach().clone().requires_grad_() for t in (q, k, v))
    F.scaled_dot_product_attention(q2, k2, v2).sum().backward()
    for a, b in ((q, q2), (k, k2), (v, v2)):
        torch.testing.assert_close(a.grad, b.grad)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_shapes_and_result_type(backend):
    q, k, v = _qkv(2, 2, L=8, S=64)
    res = attention(q, k, v, backend=backend, seed=0)
    assert isinstance(res, AttentionResult) and res.backend == backend
    assert res.output.shape == (2, 2, 8, 3)
    assert bool(torch.isfinite(res.output).all())
    out, _, se = res
    assert out is res.output and se is res.std_error


@pytest.mark.parametrize("backend", RANDOM)
def test_deterministic_with_seed(backend):
    q, k, v = _qkv(2, L=8, S=64)
    opts = OPTS.get(backend, {})
    a = attention(q, k, v, backend=backend, seed=7, **opts).output
    b = attention(q, k, v, backend=backend, seed=7, **opts).output
    c = attention(q, k, v, backend=backend, seed=8, **opts).output
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    torch.manual_seed(3)
    d = attention(q, k, v, backend=backend, **opts).output
    torch.manual_seed(3)
    assert torch.equal(d, attention(q, k, v, backend=backend, **opts).output)


@pytest.mark.parametrize("backend", ["quantum-sim", "phase0-proto", "classical"])
@pytest.mark.parametrize("kind", ["key", "query"])
def test_masks_honoured_by_sampling_backends(backend, kind):
    """Masked keys get no weight, and their values cannot change the output."""
    q, k, v = _qkv(L=6, S=48)
    g = torch.Generator().manual_seed(5)
    shape = (1, 48) if kind == "key" else (6, 48)
    keep = torch.rand(shape, generator=g) > 0.4
    keep[..., 0] = True
    res = attention(q, k, v, backend=backend, attn_mask=keep, need_weights=True, seed=1)
    w = res.weights.expand(6, 48) if res.weights.shape[0] == 1 else res.weights
    assert float(w[~keep.expand(6, 48)].abs().max()) == 0.0
    v2 = v.clone()
    v2[~keep.expand(6, 48).any(0)] = 1e6
    res2 = attention(q, k, v2, backend=backend, attn_mask=keep, seed=1)
    torch.testing.assert_close(res2.output, res.output)


@pytest.mark.parametrize("backend", ["performer", "nystrom", "linformer"])
def test_peers_honour_key_padding_and_reject_per_query_masks(backend):
    q, k, v = _qkv(L=6, S=48)
    keep = torch.ones(1, 48, dtype=torch.bool)
    keep[0, 30:] = False
    res = attention(q, k, v, backend=backend, attn_mask=keep, seed=2)
    ref = attention(q, k[:30], v[:30], backend=backend, seed=2)
    torch.testing.assert_close(res.output, ref.output)
    with pytest.raises(ValueError, match="key-padding"):
        attention(q, k, v, backend=backend,
                  attn_mask=torch.ones(6, 48, dtype=torch.bool).tril())
    # a key mask expanded to every query is a key mask
    full = attention(q, k, v, backend=backend, attn_mask=keep.expand(6, 48), seed=2)
    torch.testing.assert_close(full.output, res.output)


def test_registry_roundtrip_and_errors():
    def half(q, k, v, **kw):
        out = attention(q, k, v).output
        return AttentionResult(output=out / 2)

    register_backend("half-exact", half)
    try:
        q, k, v = _qkv(2)
        torch.testing.assert_close(attention(q, k, v, backend="half-exact").output,
                                   attention(q, k, v).output / 2)
        with pytest.raises(ValueError, match="already registered"):
            register_backend("half-exact", half)
    finally:
        unregister_backend("half-exact")
    assert "half-exact" not in available_backends()
    with pytest.raises(TypeError, match="callable"):
        register_backend("x", 3)
    with pytest.raises(ValueError, match="already registered"):
        register_backend("exact", half)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"backend": "nope"}, ValueError, "backend must be one of"),
        ({"attn_mask": torch.ones(5, 5, dtype=torch.bool)}, ValueError, "attn_mask"),
        ({"attn_mask": torch.ones(6, 40, dtype=torch.int64)}, TypeError, "attn_mask"),
        ({"attn_mask": torch.full((6, 40), float("nan"))}, ValueError, "NaN"),
        ({"scale": float("inf")}, ValueError, "scale"),
        ({"seed": -1}, ValueError, "seed"),
        ({"bogus_option": 1}, ValueError, "unknown option"),
        ({"backend": "classical", "tail_samples": 0}, ValueError, "tail_samples"),
        ({"backend": "classical", "num_clusters": -2}, ValueError, "num_clusters"),
        ({"backend": "classical", "coverage": 1.5}, ValueError, "coverage"),
        ({"backend": "classical", "sampling_strategy": "x"}, ValueError, "sampling_strategy"),
        ({"backend": "phase0-proto", "samples": 0}, ValueError, "samples"),
        ({"backend": "phase0-proto", "top_k": 0}, ValueError, "top_k"),
        ({"backend": "quantum-sim", "shots": 0}, ValueError, "shots"),
        ({"backend": "quantum-sim", "depolarizing": 2.0}, ValueError, "depolarizing"),
        ({"backend": "performer", "num_features": 0}, ValueError, "num_features"),
        ({"backend": "nystrom", "num_landmarks": 0}, ValueError, "num_landmarks"),
        ({"backend": "linformer", "proj_dim": 0}, ValueError, "proj_dim"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, exc, match):
    q, k, v = _qkv()
    with pytest.raises(exc, match=match):
        attention(q, k, v, **kwargs)


def test_bad_tensors_raise_clear_errors():
    q, k, v = _qkv()
    with pytest.raises(ValueError, match="embedding size"):
        attention(q, k[:, :5], v)
    with pytest.raises(ValueError, match="same number of keys"):
        attention(q, k, v[:7])
    with pytest.raises(ValueError, match="finite"):
        attention(q.clone().fill_(float("nan")), k, v)
    with pytest.raises(ValueError, match="finite"):
        attention(q, k, torch.full_like(v, float("inf")))
    with pytest.raises(TypeError, match="floating"):
        attention(q.long(), k, v)
    with pytest.raises(ValueError, match="at least 2-D"):
        attention(q[0, 0], k, v)
    with pytest.raises(ValueError, match="do not broadcast"):
        attention(torch.randn(2, 6, 8), torch.randn(3, 40, 8), torch.randn(3, 40, 3))
    with pytest.raises(ValueError, match="empty"):
        attention(q[:0], k, v)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_one_non_finite_entry_raises_and_an_overflowing_sum_does_not(bad):
    q, k, v = (t.float() for t in _qkv())
    for pos, name in enumerate(("query", "key", "value")):
        args = [q, k, v]
        args[pos] = args[pos].clone()
        args[pos].view(-1)[7] = bad
        with pytest.raises(ValueError, match=f"{name} must be finite"):
            attention(*args)
    huge = torch.full_like(v, 3e38)  # finite; its float32 sum overflows
    out = attention(q, k, huge).output
    assert bool(torch.isfinite(out).all()) and float(out.min()) > 2.9e38


def test_inputs_not_mutated():
    q, k, v = _qkv(L=8, S=64)
    copies = [t.clone() for t in (q, k, v)]
    for backend in BACKENDS:
        attention(q, k, v, backend=backend, seed=0)
    for a, b in zip((q, k, v), copies, strict=True):
        assert torch.equal(a, b)
