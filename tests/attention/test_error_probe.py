"""The classical backend's error probe and guard, against float64 softmax attention."""

import math

import pytest
import torch
import torch.nn.functional as F

from qiskit_qattn.attention import attention
from qiskit_qattn.attention.sampling.blocksparse import MaskModel
from qiskit_qattn.attention.sampling.probe import probe_errors, probe_rows


def _reference(q, k, v, bias=None):
    s = q.double() @ k.double().transpose(-1, -2) / math.sqrt(q.shape[-1])
    if bias is not None:
        s = s + bias.double()
    return torch.softmax(s, -1) @ v.double()


def _rel(out, ref):
    """Relative Frobenius error of each batch row."""
    return (out.double() - ref).norm(dim=(1, 2)) / ref.norm(dim=(1, 2))


def _heads(B=2, n=512, E=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(B, n, E, generator=g) for _ in range(3))


@pytest.mark.parametrize("kind", ["none", "key", "causal", "dense"])
def test_probing_every_query_gives_the_exact_relative_error(kind):
    q, k, v = _heads(B=3, n=40, E=8)
    S = k.shape[1]
    bias, key_bias, model = None, None, MaskModel()
    if kind == "key":
        key_bias = torch.zeros(3, S).masked_fill_(torch.arange(S) >= 30, float("-inf"))
        bias = key_bias[:, None, :]
    elif kind == "causal":
        bias = torch.full((40, S), float("-inf")).triu(1)[None]
        model = MaskModel("causal")
    elif kind == "dense":
        bias = torch.randn(3, 40, S, generator=torch.Generator().manual_seed(1))
        model = MaskModel("dense", bias)
    ref = _reference(q, k, v, bias)
    out = (ref + 0.05 * torch.randn(ref.shape, generator=torch.Generator().manual_seed(2),
                                    dtype=torch.float64)).float()
    est = probe_errors(q, k, v, out, scale=8**-0.5, key_bias=key_bias, mask=model,
                       rows=probe_rows(40, 99, torch.Generator().manual_seed(3)))
    torch.testing.assert_close(est, _rel(out, ref), atol=1e-5, rtol=1e-4)


def test_few_probes_estimate_the_error_consistently():
    q, k, v = _heads(B=1, n=400, E=8)
    ref = _reference(q, k, v)
    scale = torch.rand(ref.shape[:-1], generator=torch.Generator().manual_seed(4))[..., None]
    out = ref * (1 + scale)  # per-query relative errors spread uniformly in [0, 1)
    draws = torch.stack([probe_errors(q, k, v, out, scale=8**-0.5, key_bias=None,
                                      mask=MaskModel(),
                                      rows=probe_rows(400, 16, torch.Generator().manual_seed(s)))
                         for s in range(200)])[:, 0]
    truth = float(_rel(out, ref)[0])
    # 200 draws of a 16-query ratio: spread ~0.1 each, ratio bias O(1/16)
    assert abs(float(draws.mean()) - truth) < 0.03, (float(draws.mean()), truth)
    assert float(draws.std()) > 0.01  # the probes are random


def test_heads_above_max_error_are_exact_and_the_others_untouched():
    q, k, v = _heads(B=2)
    # head 1: sharp attention to near-duplicate keys, which the estimator gets almost exactly
    k[1] = k[1, :8].repeat(64, 1) + 0.01 * k[1]
    q[1] = 4 * q[1]
    free = attention(q, k, v, backend="classical", seed=0, dense_fallback=False,
                     max_error=None)
    ref = _reference(q, k, v)
    errs = _rel(free.output, ref)
    assert errs[0] > 0.2 and errs[1] < 0.01, errs
    guarded = attention(q, k, v, backend="classical", seed=0, dense_fallback=False,
                        max_error=0.1)
    assert guarded.info["exact_heads"] == 1 and guarded.info["probe_error_max"] > 0.1
    torch.testing.assert_close(guarded.output[0].double(), ref[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(guarded.output[1], free.output[1], atol=0, rtol=0)
    assert free.info["exact_heads"] == 0 and free.info["probe_error"] > 0.1


def test_guarded_heads_have_the_exact_gradient_and_weights():
    q, k, v = (t.requires_grad_() for t in _heads(B=2, n=256))
    r = attention(q, k, v, backend="classical", seed=0, dense_fallback=False, max_error=1e-9,
                  need_weights=True)
    assert r.info["exact_heads"] == 2
    w = torch.softmax(q.detach() @ k.detach().transpose(1, 2) / 4, -1)
    torch.testing.assert_close(r.weights, w, atol=1e-6, rtol=0)
    r.output.square().sum().backward()
    qq, kk, vv = (t.detach().clone().requires_grad_() for t in (q, k, v))
    F.scaled_dot_product_attention(qq, kk, vv).square().sum().backward()
    for got, want in ((q, qq), (k, kk), (v, vv)):
        torch.testing.assert_close(got.grad, want.grad, atol=1e-4, rtol=1e-4)


def test_guard_honours_causal_and_key_masks():
    q, k, v = _heads(B=2, n=384)
    keep = torch.ones(2, 384, dtype=torch.bool)
    keep[0, 300:] = False
    mask = torch.ones(384, 384, dtype=torch.bool).tril()[None] & keep[:, None, :]
    r = attention(q, k, v, backend="classical", attn_mask=mask, seed=0, dense_fallback=False,
                  max_error=1e-9)
    assert r.info["exact_heads"] == 2
    ref = _reference(q, k, v, torch.zeros(mask.shape).masked_fill_(~mask, float("-inf")))
    torch.testing.assert_close(r.output.double(), ref, atol=1e-5, rtol=0)


def test_sampled_strategies_report_the_probe_but_keep_their_estimate():
    q, k, v = _heads(B=2, n=256)
    opts = {"sampling_strategy": "stratified", "seed": 0}
    r = attention(q, k, v, backend="classical", max_error=1e-9, **opts)
    plain = attention(q, k, v, backend="classical", max_error=None, **opts)
    assert r.info["exact_heads"] == 0 and r.info["probe_error"] > 0
    torch.testing.assert_close(r.output, plain.output, atol=0, rtol=0)
    off = attention(q, k, v, backend="classical", error_probes=0, dense_fallback=False, seed=0)
    assert "probe_error" not in off.info
