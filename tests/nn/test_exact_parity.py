"""The exact backend reproduces torch.nn.MultiheadAttention: outputs and weights to 1e-6."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from qiskit_qattn.nn import QuantumMultiheadAttention

E, H, N, L, S = 8, 2, 3, 4, 6
ATOL = 1e-6


def _pair(dtype=torch.float32, **kwargs):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(E, H, dtype=dtype, **kwargs)
    qm = QuantumMultiheadAttention(E, H, dtype=dtype, quantum_backend="exact", **kwargs)
    qm.load_state_dict(ref.state_dict())
    return ref, qm


def _seq(bf: bool, n: int, length: int, dim: int, dtype) -> torch.Tensor:
    return torch.randn(n, length, dim, dtype=dtype) if bf else torch.randn(length, n, dim,
                                                                            dtype=dtype)


def _masks(dtype, L_, S_):
    g = torch.Generator().manual_seed(1)
    kpm = torch.rand(N, S_, generator=g) < 0.4
    kpm[:, 0] = False  # every row keeps a key (fully masked rows: separate test)
    am2 = torch.rand(L_, S_, generator=g) < 0.4
    am2[:, 0] = False
    am3 = torch.rand(N * H, L_, S_, generator=g) < 0.4
    am3[..., 0] = False

    def as_float(m):
        return torch.zeros(m.shape, dtype=dtype).masked_fill(m, float("-inf"))

    soft2 = torch.randn(L_, S_, generator=g).to(dtype)
    soft3 = torch.randn(N * H, L_, S_, generator=g).to(dtype)
    return {
        "none": (None, None),
        "kpm-bool": (kpm, None),
        "kpm-float": (as_float(kpm), None),
        "attn2-bool": (None, am2),
        "attn2-float": (None, soft2),
        "attn3-bool": (None, am3),
        "attn3-float": (None, soft3),
        "both-bool": (kpm, am2),
        "both-float": (as_float(kpm), soft2),
        "kpm+attn3-bool": (kpm, am3),
        "kpm+attn3-float": (as_float(kpm), soft3 + as_float(am3)),
    }


def _assert_matches_torch(ref, qm, args, *, atol=ATOL, **kw):
    r_out, r_w = ref(*args, **kw)
    q_out, q_w = qm(*args, **kw)
    assert q_out.shape == r_out.shape
    torch.testing.assert_close(q_out, r_out, atol=atol, rtol=0, equal_nan=True)
    if r_w is None:
        assert q_w is None
    else:
        assert q_w.shape == r_w.shape
        torch.testing.assert_close(q_w, r_w, atol=atol, rtol=0, equal_nan=True)


CONFIGS = [
    dict(bias=True),
    dict(bias=False),
    dict(add_bias_kv=True),
    dict(add_zero_attn=True),
    dict(add_bias_kv=True, add_zero_attn=True, bias=False),
]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dims", [None, (3, 5)], ids=["same-dims", "kdim3-vdim5"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in
                                                                     c.items()))
def test_every_mask_combination_matches_torch(batch_first, dims, config):
    kdim, vdim = dims or (None, None)
    ref, qm = _pair(batch_first=batch_first, kdim=kdim, vdim=vdim, **config)
    q = _seq(batch_first, N, L, E, torch.float32)
    k = _seq(batch_first, N, S, kdim or E, torch.float32)
    v = _seq(batch_first, N, S, vdim or E, torch.float32)
    x = _seq(batch_first, N, S, E, torch.float32)
    calls = [("cross", (q, k, v), L)]
    if dims is None:
        calls += [("self", (x, x, x), S), ("shared-kv", (q, x, x), L)]
    for (_kind, args, L_), flags in itertools.product(calls, [(True, True), (True, False),
                                                             (False, True)]):
        need_weights, average = flags
        for _name, (kpm, am) in _masks(torch.float32, L_, S).items():
            _assert_matches_torch(ref, qm, args, key_padding_mask=kpm, attn_mask=am,
                     need_weights=need_weights, average_attn_weights=average)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("with_kpm", [False, True])
def test_is_causal_matches_torch(need_weights, with_kpm):
    ref, qm = _pair(batch_first=True)
    x = torch.randn(N, L, E)
    causal = nn.Transformer.generate_square_subsequent_mask(L)
    kpm = torch.zeros(N, L, dtype=torch.bool)
    kpm[1, -1] = True
    kpm = kpm.float().masked_fill(kpm, float("-inf")) if with_kpm else None
    _assert_matches_torch(ref, qm, (x, x, x), attn_mask=causal, is_causal=True,
                          key_padding_mask=kpm, need_weights=need_weights)


@pytest.mark.parametrize("mask_kind", ["none", "kpm", "attn2", "attn3"])
def test_unbatched_input_matches_torch(mask_kind):
    ref, qm = _pair(batch_first=True)  # batch_first is ignored for unbatched input
    q, k = torch.randn(L, E), torch.randn(S, E)
    kpm = torch.tensor([False, True, False, False, True, False])
    masks = {
        "none": {},
        "kpm": {"key_padding_mask": kpm},
        "attn2": {"attn_mask": torch.randn(L, S)},
        "attn3": {"attn_mask": torch.randn(H, L, S)},
    }[mask_kind]
    for avg in (True, False):
        _assert_matches_torch(ref, qm, (q, k, k), average_attn_weights=avg, **masks)


def test_float64_matches_to_machine_precision():
    ref, qm = _pair(dtype=torch.float64, kdim=3, vdim=5)
    q = torch.randn(L, N, E, dtype=torch.float64)
    k = torch.randn(S, N, 3, dtype=torch.float64)
    v = torch.randn(S, N, 5, dtype=torch.float64)
    _assert_matches_torch(ref, qm, (q, k, v), attn_mask=torch.randn(L, S, dtype=torch.float64),
                          atol=1e-12)


@pytest.mark.parametrize("need_weights", [True, False])
def test_fully_masked_rows_behave_like_torch(need_weights):
    # torch: NaN rows with need_weights=True, zero-attention rows through SDPA otherwise
    ref, qm = _pair(batch_first=True)
    x = torch.randn(2, 3, E)
    kpm = torch.tensor([[True, True, True], [False, True, False]])
    _assert_matches_torch(ref, qm, (x, x, x), key_padding_mask=kpm, need_weights=need_weights)


@pytest.mark.parametrize("need_weights", [True, False])
def test_dropout_in_training_draws_the_same_masks_as_torch(need_weights):
    ref, qm = _pair(batch_first=True, dropout=0.5)
    x = torch.randn(N, L, E)
    torch.manual_seed(7)
    r = ref(x, x, x, need_weights=need_weights)
    torch.manual_seed(7)
    q = qm(x, x, x, need_weights=need_weights)
    torch.testing.assert_close(q[0], r[0], atol=ATOL, rtol=0)
    ref.eval(), qm.eval()
    _assert_matches_torch(ref, qm, (x, x, x), need_weights=need_weights)


def test_gradients_match_torch():
    ref, qm = _pair(batch_first=True, add_bias_kv=True)
    x = torch.randn(N, L, E, requires_grad=True)
    kpm = torch.tensor([[False] * L, [False] * (L - 1) + [True], [False] * L])
    ref(x, x, x, key_padding_mask=kpm)[0].square().sum().backward()
    ref_grads = {n: p.grad.clone() for n, p in ref.named_parameters()}
    gx = x.grad.clone()
    x.grad = None
    qm(x, x, x, key_padding_mask=kpm)[0].square().sum().backward()
    for n, p in qm.named_parameters():
        torch.testing.assert_close(p.grad, ref_grads[n], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(x.grad, gx, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("need_weights", [True, False])
def test_gradcheck_exact_backend(need_weights):
    torch.manual_seed(0)
    qm = QuantumMultiheadAttention(4, 2, quantum_backend="exact", dtype=torch.float64,
                                   add_bias_kv=True, kdim=3)
    q = torch.randn(3, 2, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    v = torch.randn(5, 2, 4, dtype=torch.float64, requires_grad=True)
    kpm = torch.tensor([[False, False, True, False, False], [False] * 5])

    def f(q, k, v):
        out, w = qm(q, k, v, key_padding_mask=kpm, need_weights=need_weights)
        return (out, w) if need_weights else out

    assert torch.autograd.gradcheck(f, (q, k, v))
