"""Heads through qiskit_qattn.attention.attention: mask plumbing, shapes, gradients, seeds."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from qiskit_qattn.nn import (
    AttentionFunctionBackend,
    QuantumMultiheadAttention,
    available_backend_names,
    causal_mask,
    exact_heads,
)

E, H, N, L, S = 8, 2, 3, 4, 6


def _require(name: str) -> None:
    from qiskit_qattn.attention import get_backend

    try:
        get_backend(name)
    except ImportError as exc:  # lands with issue 6; the adapter is tested via "exact" below
        pytest.skip(f"attention backend {name!r} is not available yet: {exc}")


def _pair(**kw):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(E, H, **kw)
    qm = QuantumMultiheadAttention(E, H, quantum_backend=AttentionFunctionBackend("exact"), **kw)
    qm.load_state_dict(ref.state_dict())
    return ref, qm


@pytest.mark.parametrize("batch_first", [False, True])
def test_registry_adapter_passes_every_mask_like_torch(batch_first):
    ref, qm = _pair(batch_first=batch_first, add_zero_attn=True)
    shape = (N, L, E) if batch_first else (L, N, E)
    q = torch.randn(shape)
    k = torch.randn((N, S, E) if batch_first else (S, N, E))
    kpm = torch.rand(N, S) < 0.4
    kpm[:, 0] = False
    am2 = torch.randn(L, S)
    am3 = torch.zeros(N * H, L, S).masked_fill(torch.rand(N * H, L, S) < 0.4, float("-inf"))
    am3[..., 0] = 0
    for kw in ({}, {"key_padding_mask": kpm}, {"attn_mask": am2}, {"attn_mask": am3},
               {"key_padding_mask": kpm.float().masked_fill(kpm, float("-inf")),
                "attn_mask": am2}):
        for avg in (True, False):
            r, o = ref(q, k, k, average_attn_weights=avg, **kw), qm(q, k, k,
                                                                   average_attn_weights=avg, **kw)
            torch.testing.assert_close(o[0], r[0], atol=1e-6, rtol=0)
            torch.testing.assert_close(o[1], r[1], atol=1e-6, rtol=0)


def test_registry_adapter_builds_the_causal_mask_from_the_hint():
    ref, qm = _pair(batch_first=True)
    x = torch.randn(N, L, E)
    causal = nn.Transformer.generate_square_subsequent_mask(L)
    r = ref(x, x, x, attn_mask=causal, is_causal=True, need_weights=False)
    o = qm(x, x, x, attn_mask=causal, is_causal=True, need_weights=False)
    torch.testing.assert_close(o[0], r[0], atol=1e-6, rtol=0)
    q = torch.randn(1, 1, 3, 2)
    out, _ = AttentionFunctionBackend("exact")(q, q, q, None, is_causal=True, need_weights=False)
    want, _ = exact_heads(q, q, q, causal_mask(3, 3, q.dtype), need_weights=False)
    torch.testing.assert_close(out, want)


def test_adapter_validates_and_keeps_the_result():
    with pytest.raises(ValueError, match="quantum_backend"):
        AttentionFunctionBackend("nope")
    be = AttentionFunctionBackend("exact")
    q = torch.randn(2, 2, 3, 4)
    be(q, q, q, None)
    assert be.last_result.output.shape == (2, 2, 3, 4)
    assert "exact" in repr(be)
    assert {"exact", "variational", "phase0-proto", "quantum-sim"} <= set(
        available_backend_names())


@pytest.mark.parametrize(
    "name, options",
    [("phase0-proto", {"top_k": 2, "samples": 32}), ("quantum-sim", {}), ("classical", {})],
    ids=["phase0-proto", "quantum-sim", "classical"],
)
def test_approximate_backends_run_in_the_module(name, options):
    _require(name)
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(E, H, batch_first=True)
    qm = QuantumMultiheadAttention.from_torch(ref, name, seed=7, **options)
    x = torch.randn(N, 12, E, requires_grad=True)
    kpm = torch.zeros(N, 12, dtype=torch.bool)
    kpm[0, -3:] = True
    out, w = qm(x, x, x, key_padding_mask=kpm, average_attn_weights=False)
    assert out.shape == (N, 12, E) and w.shape == (N, H, 12, 12)
    assert bool(torch.isfinite(out).all())
    assert bool((w[0, :, :, -3:] == 0).all())  # padded keys never get weight
    again = qm(x, x, x, key_padding_mask=kpm, average_attn_weights=False)
    torch.testing.assert_close(again[0], out)  # fixed seed: same estimate
    want = ref(x, x, x, key_padding_mask=kpm)[0]
    rel = float((out - want).detach().norm() / want.detach().norm())
    assert rel < 0.5, rel  # an approximation of the same attention, not something else
    out.square().sum().backward()
    for pname, p in qm.named_parameters():
        assert p.grad is not None, pname
    unbatched = qm(x[0], x[0], x[0])
    assert unbatched[0].shape == (12, E)


def test_quantum_sim_is_the_default_backend():
    m = QuantumMultiheadAttention(E, H)
    assert m.quantum_backend == "quantum-sim"


@pytest.mark.parametrize(
    "name, options",
    [("phase0-proto", {"top_k": 2, "samples": 16}), ("quantum-sim", {"shots": None})],
    ids=["phase0-proto", "quantum-sim-expectation"],
)
def test_gradcheck_of_differentiable_sampling_backends(name, options):
    # With a fixed seed the random draws are fixed, so the estimate is a smooth function of the
    # inputs and its autograd gradient must match finite differences.
    _require(name)
    torch.manual_seed(0)
    qm = QuantumMultiheadAttention(4, 2, batch_first=True, quantum_backend=name, seed=3,
                                   dtype=torch.float64, **options)
    x = torch.randn(1, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: qm(t, t, t, need_weights=False)[0], (x,))


def test_quantum_sim_gradient_is_that_of_the_expectation():
    # forward = finite-shot estimate; backward = gradient of the large-shot expectation
    _require("quantum-sim")
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(4, 2, batch_first=True, dtype=torch.float64)
    grads, outs = {}, {}
    for shots in (None, 256):
        qm = QuantumMultiheadAttention.from_torch(ref, "quantum-sim", seed=3, shots=shots)
        x = torch.randn(1, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1),
                        requires_grad=True)
        out = qm(x, x, x, need_weights=False)[0]
        out.sum().backward()
        grads[shots], outs[shots] = x.grad, out.detach()
    torch.testing.assert_close(grads[256], grads[None])
    assert not torch.allclose(outs[256], outs[None])  # shot noise is in the forward value
