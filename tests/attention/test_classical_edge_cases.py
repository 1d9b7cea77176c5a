"""Edge cases of the ``classical`` backend, as a new user would hit them.

Every case is checked against an independent reference: float64 softmax attention computed
here (fully masked rows -> zero output and weights, the ``attention`` contract) or
``torch.nn.MultiheadAttention`` with the same weights. Covers odd shapes (L != S, one key, one
query, non-powers of two), the default dense path and the block-sparse estimator, gradients,
weights, key padding / per-query / causal / large-negative float masks, fully masked rows,
determinism across threads and grad modes, non-contiguous inputs, no in-place writes, and the
validation of every option.
"""

import itertools
import math

import pytest
import torch

from qiskit_qattn.attention import attention, quantum_inspired_attention_prototype

EXACT = ({"coverage": 1.0}, {"exact_fraction": 1.0})


def _rand(*shape, seed, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _qkv(B=2, L=9, S=40, E=8, Ev=5, dtype=torch.float32, seed=0):
    return (_rand(B, L, E, seed=seed, dtype=dtype), _rand(B, S, E, seed=seed + 1, dtype=dtype),
            _rand(B, S, Ev, seed=seed + 2, dtype=dtype))


def _reference(q, k, v, mask=None, *, causal=False, scale=None):
    """Float64 softmax attention; a row with no visible key gets zero output and weights."""
    q, k, v = q.double(), k.double(), v.double()
    s = q @ k.transpose(-1, -2) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask.double()
    if causal:
        L, S = s.shape[-2:]
        s = s.masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(), float("-inf"))
    dead = torch.isneginf(s).all(-1, keepdim=True)
    w = torch.softmax(s.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)
    return w @ v, w


def _assert_close(actual, expected, atol=2e-5):
    torch.testing.assert_close(actual.detach().double(), expected.detach().double(), atol=atol,
                               rtol=0)


def _amax(t):
    return float(t.detach().abs().max())


def _assert_in_value_hull(out, v, mask=None):
    """Strategy ``"none"`` weights are a distribution: each output lies within the values."""
    out = out.detach()
    lo = v.amin(-2, keepdim=True) - 1e-5
    hi = v.amax(-2, keepdim=True) + 1e-5
    assert bool(((out >= lo) & (out <= hi)).all())


# --------------------------------------------------------------------- odd shapes, two paths
@pytest.mark.parametrize(
    "L, S, E, Ev",
    [(1, 1, 7, 3), (1, 3, 1, 1), (5, 1, 7, 3), (3, 65, 7, 3), (2049, 3, 1, 2), (17, 1000, 7, 3),
     (8, 1700, 128, 32), (5, 300, 64, 64)],
)
@pytest.mark.parametrize("opts", [{}, *EXACT, {"coverage": 1.0, "sampling_strategy":
                                               "stratified"}], ids=["default", "coverage",
                                                                    "exact_fraction",
                                                                    "stratified-coverage"])
def test_exact_limits_and_default_dense_path_match_float64_reference(L, S, E, Ev, opts):
    q, k, v = _qkv(L=L, S=S, E=E, Ev=Ev)
    r = attention(q, k, v, backend="classical", seed=0, **opts)
    assert r.output.shape == (2, L, Ev) and r.output.dtype == torch.float32
    _assert_close(r.output, _reference(q, k, v)[0])
    assert r.info["path"] == ("dense" if not opts else "block-sparse")


@pytest.mark.parametrize("L, S", [(1, 5000), (64, 4096), (2049, 3), (33, 65), (1, 1)])
def test_estimator_path_output_is_a_convex_combination_of_values(L, S):
    q, k, v = _qkv(B=1, L=L, S=S, E=16, Ev=16)
    r = attention(q, k, v, backend="classical", seed=0, dense_fallback=False)
    assert r.info["path"] == "block-sparse" and r.output.shape == (1, L, 16)
    _assert_in_value_hull(r.output, v)
    if S <= 65:  # every key block is exact on tiny inputs
        _assert_close(r.output, _reference(q, k, v)[0])


def test_default_path_switches_to_the_estimator_at_4096_keys_and_stays_close():
    q, k, v = _qkv(B=1, L=128, S=4096, E=16, Ev=16)
    r = attention(q, k, v, backend="classical", seed=0)
    assert r.info["path"] == "block-sparse"
    _assert_in_value_hull(r.output, v)
    want = _reference(q, k, v)[0]
    # random (structureless) keys: the approximation error stays far below the output scale
    assert _amax(r.output - want) < 0.25


@pytest.mark.parametrize("lead", [(), (3,), (2, 1), (1, 2, 1, 2)])
def test_leading_dims_broadcast_with_masks_float64(lead):
    g = torch.Generator().manual_seed(len(lead))
    q = torch.randn(*lead, 9, 8, generator=g, dtype=torch.float64)
    k = torch.randn(*lead, 70, 8, generator=g, dtype=torch.float64)
    v = torch.randn(*lead, 70, 3, generator=g, dtype=torch.float64)
    for shape in [(70,), (9, 70), (*lead, 1, 70)]:
        m = torch.rand(*shape, generator=g) > 0.3
        r = attention(q, k, v, backend="classical", seed=0, attn_mask=m, coverage=1.0,
                      need_weights=True)
        want, w = _reference(q, k, v, m)
        assert r.output.dtype == torch.float64 and r.output.shape == (*lead, 9, 3)
        torch.testing.assert_close(r.output, want, atol=1e-12, rtol=0)
        torch.testing.assert_close(r.weights, w, atol=1e-12, rtol=0)


def test_query_and_key_leading_dims_broadcast_against_each_other():
    q, k, v = _rand(4, 1, 9, 8, seed=1), _rand(1, 3, 70, 8, seed=2), _rand(1, 3, 70, 2, seed=3)
    for opts in ({"coverage": 1.0}, {"dense_fallback": False}):
        r = attention(q, k, v, backend="classical", seed=0, **opts)
        assert r.output.shape == (4, 3, 9, 2)
        _assert_close(r.output, _reference(q, k, v)[0])


# ------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("L, S", [(1, 1), (5, 3), (40, 1000), (8, 1700)])
@pytest.mark.parametrize("opts", [*EXACT, {"coverage": 1.0, "sampling_strategy": "stratified"},
                                  {}], ids=["coverage", "exact_fraction", "stratified", "default"])
@pytest.mark.parametrize("need_weights", [False, True])
def test_exact_limits_gradients_match_float64_reference(L, S, opts, need_weights):
    q, k, v = _qkv(L=L, S=S, E=7, Ev=3)
    up = _rand(2, L, 3, seed=9, dtype=torch.float64)
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    r = attention(*leaves, backend="classical", seed=0, need_weights=need_weights, **opts)
    (r.output.double() * up).sum().backward()
    ref = [t.double().requires_grad_() for t in (q, k, v)]
    (_reference(*ref)[0] * up).sum().backward()
    _assert_close(r.output, _reference(q, k, v)[0])
    for a, b in zip(leaves, ref, strict=True):
        _assert_close(a.grad, b.grad)


def test_gradient_of_a_key_padding_float_bias_matches_reference():
    q, k, v = _qkv(L=20, S=300)
    bias0 = _rand(2, 1, 300, seed=5)
    bias0[..., ::7] = float("-inf")
    bias = bias0.clone().requires_grad_()
    attention(q, k, v, backend="classical", attn_mask=bias, coverage=1.0,
              seed=0).output.sum().backward()
    ref = bias0.double().requires_grad_()
    _reference(q, k, v, ref)[0].sum().backward()
    _assert_close(bias.grad, ref.grad)


@pytest.mark.parametrize("strategy", ["none", "stratified", "uniform"])
def test_gradients_are_finite_on_the_estimator_path_with_padding(strategy):
    q, k, v = _qkv(B=2, L=64, S=1500, E=16, Ev=8)
    keep = torch.rand(2, 1, 1500, generator=torch.Generator().manual_seed(0)) > 0.2
    keep[1] = False  # one batch entry with every key padded
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    r = attention(*leaves, backend="classical", attn_mask=keep, seed=0,
                  sampling_strategy=strategy, dense_fallback=False)
    r.output.square().sum().backward()
    for t in leaves:
        assert bool(torch.isfinite(t.grad).all())
    assert _amax(r.output[1]) == 0.0


# -------------------------------------------------------------------------- weights, masks
@pytest.mark.parametrize("S", [65, 1000])
@pytest.mark.parametrize("opts", [{}, {"dense_fallback": False},
                                  {"sampling_strategy": "stratified"}, {"coverage": 1.0}])
def test_padding_all_but_one_key_returns_that_keys_value(S, opts):
    q, k, v = _qkv(L=7, S=S)
    keep = torch.zeros(2, 1, S, dtype=torch.bool)
    keep[0, 0, 3] = keep[1, 0, S - 1] = True
    r = attention(q, k, v, backend="classical", attn_mask=keep, seed=0, need_weights=True,
                  **opts)
    _assert_close(r.output[0], v[0, 3].expand(7, -1))
    _assert_close(r.output[1], v[1, S - 1].expand(7, -1))
    want_w = keep.expand(2, 7, S).float()
    _assert_close(r.weights, want_w, atol=1e-6)


@pytest.mark.parametrize("fill", [float("-inf"), -1e9, torch.finfo(torch.float32).min])
@pytest.mark.parametrize("opts", [{}, {"coverage": 1.0}, {"dense_fallback": False},
                                  {"sampling_strategy": "stratified"}])
def test_large_negative_key_biases_mask_like_minus_inf(fill, opts):
    q, k, v = _qkv(L=40, S=1000, Ev=8)
    bias = torch.zeros(2, 1, 1000)
    bias[..., ::3] = fill
    keep = torch.ones(2, 1, 1000, dtype=torch.bool)
    keep[..., ::3] = False
    r = attention(q, k, v, backend="classical", attn_mask=bias, seed=0, need_weights=True,
                  **opts)
    want, w = _reference(q, k, v, keep)
    assert _amax(r.weights[..., ::3]) == 0.0
    _assert_close(r.weights.sum(-1), torch.ones(2, 40), atol=1e-5)
    _assert_close(r.weights @ v, r.output, atol=1e-5)
    if opts in ({}, {"coverage": 1.0}):
        _assert_close(r.output, want)
        _assert_close(r.weights, w)
        masked = attention(q, k, v, backend="classical", attn_mask=keep, seed=0, **opts)
        _assert_close(r.output, masked.output, atol=1e-5)


@pytest.mark.parametrize("opts", [{}, {"coverage": 1.0}, {"dense_fallback": False},
                                  {"sampling_strategy": "stratified"}, {"is_causal": True}])
@pytest.mark.parametrize("L, S", [(8, 40), (64, 3000)])
def test_fully_masked_rows_and_batches_give_zeros_and_finite_gradients(opts, L, S):
    q, k, v = _qkv(L=L, S=S)
    keep = torch.ones(2, L, S, dtype=torch.bool)
    keep[0, 3] = False  # one query of batch 0 sees nothing
    keep[1] = False  # batch 1 sees nothing at all
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    r = attention(*leaves, backend="classical", attn_mask=keep, seed=0, need_weights=True,
                  **opts)
    r.output.sum().backward()
    assert _amax(r.output[0, 3]) == 0.0 and _amax(r.output[1]) == 0.0
    assert _amax(r.weights[0, 3]) == 0.0 and _amax(r.weights[1]) == 0.0
    assert all(bool(torch.isfinite(t.grad).all()) for t in leaves)
    live = torch.ones(2, L, dtype=torch.bool)
    live[0, 3] = live[1] = False
    _assert_close(r.weights.sum(-1)[live], torch.ones(int(live.sum())), atol=1e-5)


@pytest.mark.parametrize("L, S", [(1, 1), (1, 5), (5, 1), (65, 7), (700, 300), (300, 700)])
@pytest.mark.parametrize("how", ["is_causal", "bool", "float"])
def test_causal_with_more_or_fewer_queries_than_keys(L, S, how):
    q, k, v = _qkv(L=L, S=S, E=8, Ev=5)
    tri = torch.ones(L, S, dtype=torch.bool).tril()
    kw = ({"is_causal": True} if how == "is_causal" else {"attn_mask": tri} if how == "bool"
          else {"attn_mask": torch.zeros(L, S).masked_fill(~tri, float("-inf"))})
    want = _reference(q, k, v, causal=True)[0]
    for opts in ({}, {"coverage": 1.0}):
        _assert_close(attention(q, k, v, backend="classical", seed=0, **kw, **opts).output, want)
    approx = attention(q, k, v, backend="classical", seed=0, dense_fallback=False, **kw)
    _assert_in_value_hull(approx.output, v)


@pytest.mark.parametrize("L, S", [(7, 65), (300, 700)])
def test_causal_weights_with_no_more_queries_than_keys(L, S):
    q, k, v = _qkv(L=L, S=S)
    tri = torch.ones(L, S, dtype=torch.bool).tril()
    for opts in ({}, {"coverage": 1.0}, {"dense_fallback": False}):
        r = attention(q, k, v, backend="classical", seed=0, is_causal=True, need_weights=True,
                      **opts)
        assert _amax(r.weights[..., ~tri]) == 0.0
        _assert_close(r.weights.sum(-1), torch.ones(2, L), atol=1e-5)
        if opts != {"dense_fallback": False}:
            _assert_close(r.weights, _reference(q, k, v, causal=True)[1])


# ---------------------------------------------------- determinism, threads, modes, inputs
def test_same_output_for_repeated_calls_threads_and_grad_modes():
    q, k, v = _qkv(B=4, L=300, S=4096, E=16, Ev=8)
    keep = torch.rand(4, 1, 4096, generator=torch.Generator().manual_seed(3)) > 0.2
    threads = torch.get_num_threads()
    results = {}
    try:
        for n, strategy, mode in itertools.product([1, 2], ["none", "stratified"],
                                                   ["grad", "no_grad", "inference"]):
            torch.set_num_threads(n)
            ctx = {"grad": torch.enable_grad, "no_grad": torch.no_grad,
                   "inference": torch.inference_mode}[mode]()
            with ctx:
                outs = [attention(q, k, v, backend="classical", seed=7, attn_mask=keep,
                                  sampling_strategy=strategy).output for _ in range(2)]
            assert torch.equal(outs[0], outs[1])
            assert torch.get_num_threads() == n
            results.setdefault(strategy, []).append(outs[0].clone())
    finally:
        torch.set_num_threads(threads)
    for outs in results.values():  # the split (inference) and packed paths agree
        for o in outs[1:]:
            _assert_close(o, outs[0], atol=1e-5)


def test_seed_none_follows_torch_manual_seed():
    q, k, v = _qkv(L=64, S=600)
    torch.manual_seed(11)
    a = attention(q, k, v, backend="classical", sampling_strategy="stratified").output
    torch.manual_seed(11)
    b = attention(q, k, v, backend="classical", sampling_strategy="stratified").output
    assert torch.equal(a, b)


@pytest.mark.parametrize("S, opts", [(65, {}), (3000, {}), (3000, {"coverage": 1.0})])
def test_non_contiguous_inputs_give_the_contiguous_result(S, opts):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, 8, 33, generator=g).transpose(-1, -2)
    k = torch.randn(2, 3, 8, S, generator=g).transpose(-1, -2)
    v = torch.randn(2, 3, S, 10, generator=g)[..., ::2]
    assert not (q.is_contiguous() or k.is_contiguous() or v.is_contiguous())
    a = attention(q, k, v, backend="classical", seed=1, **opts).output
    b = attention(q.contiguous(), k.contiguous(), v.contiguous(), backend="classical", seed=1,
                  **opts).output
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    "mask_kind, opts, causal",
    [("key_float", {}, False), ("key_float", {"dense_fallback": False}, True),
     ("dense_float", {"coverage": 1.0}, False), ("causal_float", {}, False),
     ("key_bool", {"sampling_strategy": "stratified"}, False),
     ("dense_float", {"dense_fallback": False}, True)],
)
@pytest.mark.parametrize("need_weights", [False, True])
def test_inputs_and_masks_are_never_modified(mask_kind, opts, causal, need_weights):
    L, S = 60, 700
    q, k, v = _qkv(L=L, S=S)
    g = torch.Generator().manual_seed(1)
    if mask_kind == "key_float":
        m = torch.randn(2, 1, S, generator=g)
        m[..., ::5] = float("-inf")
    elif mask_kind == "dense_float":
        m = torch.randn(2, L, S, generator=g)
        m[..., 1::3] = float("-inf")
    elif mask_kind == "causal_float":
        m = torch.zeros(L, S).masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(),
                                          float("-inf"))
    else:
        m = torch.rand(2, 1, S, generator=g) > 0.3
    q, k, v = (t.requires_grad_() for t in (q, k, v))
    before = [t.detach().clone() for t in (q, k, v, m)]
    r = attention(q, k, v, backend="classical", seed=0, attn_mask=m, is_causal=causal,
                  need_weights=need_weights, **opts)
    r.output.sum().backward()
    for t, b in zip((q, k, v, m), before, strict=True):
        assert torch.equal(t.detach(), b)


# ------------------------------------------------------------------------------ dtypes
def test_float16_on_the_dense_path_and_with_distinct_value_width():
    for S, Ev in ((40, 8), (4096, 4)):
        q, k, v = (t.half() for t in _qkv(L=9, S=S, E=8, Ev=Ev))
        r = attention(q, k, v, backend="classical", seed=0, coverage=1.0)
        assert r.output.dtype == torch.float16
        _assert_close(r.output, _reference(q, k, v)[0], atol=2e-3)
    r = attention(*(t.half() for t in _qkv(L=9, S=40)), backend="classical", seed=0)
    assert r.output.dtype == torch.float16 and r.info["path"] == "dense"


def test_mixed_input_dtypes_are_promoted():
    q, k, v = _rand(1, 5, 4, seed=0), _rand(1, 7, 4, seed=1, dtype=torch.float64), _rand(
        1, 7, 3, seed=2).half()
    r = attention(q, k, v, backend="classical", coverage=1.0, seed=0)
    assert r.output.dtype == torch.float64
    _assert_close(r.output, _reference(q, k, v)[0], atol=1e-3)


# ---------------------------------------------------------------------------- validation
_INT_BAD = ["x", None, 2.0, 0.5, float("nan"), True, -1, 0, [1]]
_POW2 = ["leaf_size", "block_size", "query_block", "causal_block"]


@pytest.mark.parametrize(
    "option, value",
    [*[(o, b) for o in _POW2 for b in [*_INT_BAD, 3, 12] if not (o == "query_block" and b is None)],
     *[(o, b) for o in ("tail_samples", "min_stratum_samples", "num_clusters")
       for b in _INT_BAD if not (o == "tail_samples" and b is None)],
     *[(o, b) for o in ("tree_iters", "error_probes")
       for b in ("x", None, 1.5, -1, True, 0.0, 2.0)],
     *[("max_error", b) for b in ("x", 0, -0.1, float("nan"), float("inf"), True, [1])],
     *[(o, b) for o in ("coverage", "exact_fraction", "max_cluster_fraction", "refine_fraction")
       for b in ("x", -0.5, 1.5, float("nan"), float("inf"), [1])],
     *[(o, b) for o in ("coverage", "exact_fraction", "max_cluster_fraction")
       for b in (0, 0.0, False, True)],
     ("refine_fraction", False), ("refine_fraction", True),
     ("max_cluster_fraction", None), ("refine_fraction", None),
     *[(o, b) for o in ("sampling_strategy", "selection", "query_order")
       for b in ("x", None, 1, "NONE")]],
)
def test_every_bad_option_raises_a_value_error_naming_it(option, value):
    q, k, v = _qkv(B=1)
    with pytest.raises(ValueError, match=option):
        attention(q, k, v, backend="classical", **{option: value})


@pytest.mark.parametrize(
    "kwargs, error, match",
    [({"key_padding_mask": torch.zeros(1, 40, dtype=torch.bool)}, ValueError,
      "key_padding_mask"),
     ({"seed": -1}, ValueError, "seed"), ({"seed": 1.5}, ValueError, "seed"),
     ({"seed": True}, ValueError, "seed"), ({"seed": 2**70}, ValueError, "seed"),
     ({"scale": True}, ValueError, "scale"), ({"need_weights": "no"}, TypeError, "need_weights"),
     ({"need_weights": None}, TypeError, "need_weights"),
     ({"scale": float("nan")}, ValueError, "scale"),
     ({"scale": "x"}, ValueError, "scale"),
     ({"attn_mask": torch.ones(9, 40, dtype=torch.int64)}, TypeError, "attn_mask"),
     ({"attn_mask": torch.full((9, 40), float("nan"))}, ValueError, "attn_mask"),
     ({"attn_mask": torch.ones(9, 41, dtype=torch.bool)}, ValueError, "attn_mask")],
)
def test_bad_call_arguments_raise_naming_them(kwargs, error, match):
    q, k, v = _qkv(B=1)
    with pytest.raises(error, match=match):
        attention(q, k, v, backend="classical", **kwargs)


@pytest.mark.parametrize("option", ["dense_fallback", "is_causal", "control_variate",
                                    "adaptive_samples"])
@pytest.mark.parametrize("value", ["no", "false", None, 1, 0, []])
def test_switches_take_only_booleans(option, value):
    q, k, v = _qkv(B=1)
    with pytest.raises(TypeError, match=option):
        attention(q, k, v, backend="classical", **{option: value})


def test_bad_inputs_raise_naming_them():
    q, k, v = _qkv(B=1)
    cases = [((q.int(), k, v), TypeError, "query"), ((q, k.to(torch.complex64), v), TypeError,
                                                     "key"),
             ((q, k, v[..., :0]), ValueError, "value"), ((q, k[:, :3], v), ValueError, "key"),
             ((q[..., :3], k, v), ValueError, "query")]
    for args, error, match in cases:
        with pytest.raises(error, match=match):
            quantum_inspired_attention_prototype(*args)


# ------------------------------------------------------------------ QuantumMultiheadAttention
def _mha_inputs(batch_first, L, S, kdim, vdim, N=2, E=16, dtype=torch.float32):
    g = torch.Generator().manual_seed(5)

    def x(n, d):
        shape = (N, n, d) if batch_first else (n, N, d)
        return torch.randn(*shape, generator=g, dtype=dtype)

    return x(L, E), x(S, kdim or E), x(S, vdim or E)


_MHA_CASES = [
    # batch_first, (kdim, vdim), (L, S), key padding, attn_mask, is_causal
    (True, (None, None), (6, 6), None, None, False),
    (False, (5, 7), (3, 9), "bool", None, False),
    (True, (5, 7), (9, 3), "float", "float2", False),
    (False, (None, None), (6, 6), None, "bool2", True),
    (True, (None, None), (6, 6), "bool", "bool2", True),
    (True, (None, None), (1, 1), None, None, False),
    (False, (None, None), (4, 11), "bool", "bool3", False),
    (True, (5, 7), (11, 4), None, "float3", False),
    (True, (None, None), (130, 300), "bool", "bool2", False),
]


@pytest.mark.parametrize("batch_first, dims, sizes, kpm_kind, am_kind, is_causal", _MHA_CASES)
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
def test_multihead_module_matches_torch_with_every_key_exact(batch_first, dims, sizes, kpm_kind,
                                                             am_kind, is_causal, need_weights,
                                                             average):
    from qiskit_qattn.nn import QuantumMultiheadAttention

    (kdim, vdim), (L, S), N, H = dims, sizes, 2, 2
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(16, H, batch_first=batch_first, kdim=kdim,
                                      vdim=vdim).eval()
    qm = QuantumMultiheadAttention.from_torch(ref, "classical", seed=1, coverage=1.0).eval()
    q, k, v = _mha_inputs(batch_first, L, S, kdim, vdim)
    g = torch.Generator().manual_seed(6)
    pad = torch.zeros(N, S, dtype=torch.bool)
    pad[:, S // 2 + 1:] = True
    kpm = {None: None, "bool": pad,
           "float": torch.zeros(N, S).masked_fill(pad, float("-inf"))}[kpm_kind]
    future = ~torch.ones(L, S, dtype=torch.bool).tril()
    blocked = torch.rand(N * H, L, S, generator=g) > 0.7
    blocked[..., 0] = False
    am = {None: None, "bool2": future,
          "float2": torch.zeros(L, S).masked_fill(future, float("-inf")),
          "bool3": blocked, "float3": torch.randn(N * H, L, S, generator=g)}[am_kind]
    args = dict(key_padding_mask=kpm, attn_mask=am, need_weights=need_weights,
                average_attn_weights=average, is_causal=is_causal)
    before = [t.clone() for t in (q, k, v)]
    want = ref(q, k, v, **args)
    got = qm(q, k, v, **args)
    for t, b in zip((q, k, v), before, strict=True):
        assert torch.equal(t, b)
    _assert_close(got[0], want[0], atol=1e-5)
    if need_weights:
        assert got[1].shape == want[1].shape
        _assert_close(got[1], want[1], atol=1e-5)
    else:
        assert got[1] is None


def test_multihead_module_fully_masked_rows_match_torchs_sdpa_output():
    # torch gives NaN weights (softmax of -inf rows) when need_weights=True and SDPA's zero
    # rows when need_weights=False; the classical backend follows SDPA in both cases.
    from qiskit_qattn.nn import QuantumMultiheadAttention

    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(16, 2, batch_first=True).eval()
    x, y = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    kpm = torch.tensor([[True] * 7, [False] * 7])
    want = ref(x, y, y, key_padding_mask=kpm, need_weights=False)[0]
    for opts in ({}, {"coverage": 1.0}, {"dense_fallback": False}):
        qm = QuantumMultiheadAttention.from_torch(ref, "classical", seed=1, **opts).eval()
        out, w = qm(x, y, y, key_padding_mask=kpm, need_weights=True)
        _assert_close(out, want, atol=1e-5)
        assert _amax(w[0]) == 0.0
        _assert_close(w[1].sum(-1), torch.ones(5), atol=1e-5)


def test_multihead_module_float64_estimator_path_is_finite_and_differentiable():
    from qiskit_qattn.nn import QuantumMultiheadAttention

    torch.manual_seed(0)
    qm = QuantumMultiheadAttention(32, 4, batch_first=True, dtype=torch.float64,
                                   quantum_backend="classical", seed=0, dense_fallback=False)
    x = torch.randn(2, 600, 32, dtype=torch.float64, requires_grad=True)
    kpm = torch.zeros(2, 600, dtype=torch.bool)
    kpm[1, 400:] = True
    out, w = qm(x, x, x, key_padding_mask=kpm, average_attn_weights=False)
    assert out.dtype == torch.float64 and w.shape == (2, 4, 600, 600)
    assert _amax(w[1, ..., 400:]) == 0.0
    _assert_close(w.sum(-1), torch.ones(2, 4, 600), atol=1e-9)
    out.square().sum().backward()
    assert bool(torch.isfinite(x.grad).all())


# ------------------------------------------------- regressions of the fuzz pass (issue 15)
def test_huge_finite_bias_on_every_key_is_normalised_on_the_math_path():
    # E != Ev takes the matmul path: weights normalised by their sum, not by exp(lse)
    # (which rounds to the bias in float32 and made every weight 1).
    q, k, v = _qkv(B=1, L=7, S=65, E=8, Ev=5)
    bias = torch.full((1, 1, 65), -1e9)
    want = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    for opts in ({"coverage": 1.0}, {"sampling_strategy": "stratified", "coverage": 1.0}):
        out = attention(q, k, v, backend="classical", attn_mask=bias, seed=0, **opts).output
        _assert_close(out, want, atol=1e-5)
    qd, kd, vd = (t.double() for t in (q, k, v))
    out = attention(qd, kd, vd, backend="classical", attn_mask=bias.double(), coverage=1.0,
                    seed=0).output
    _assert_close(out, _reference(qd, kd, vd, bias.double())[0], atol=1e-10)


@pytest.mark.parametrize("L, S", [(700, 300), (1100, 520)])
def test_causal_weights_with_more_queries_than_keys(L, S):
    q, k, v = _qkv(B=1, L=L, S=S)
    r = attention(q, k, v, backend="classical", is_causal=True, need_weights=True,
                  coverage=1.0, seed=0)
    want, w = _reference(q, k, v, causal=True)
    _assert_close(r.output, want)
    _assert_close(r.weights, w)


def test_one_dimensional_float64_keys_order_without_dividing_by_zero():
    q, k, v = _qkv(B=1, L=10, S=300, E=1, Ev=1, dtype=torch.float64)
    out = attention(q, k, v, backend="classical", coverage=1.0, dense_fallback=False).output
    _assert_close(out, _reference(q, k, v)[0], atol=1e-10)
    _assert_in_value_hull(attention(q, k, v, backend="classical", dense_fallback=False).output, v)


def test_per_query_float_bias_gets_the_exact_gradient():
    q, k, v = _qkv(B=2, L=50, S=300, E=4, Ev=3, dtype=torch.float64)
    b0 = _rand(50, 300, seed=9, dtype=torch.float64)
    grads = []
    for backend, opts in (("exact", {}), ("classical", {"coverage": 1.0}),
                          ("classical", {"exact_fraction": 1.0, "dense_fallback": False})):
        bias = b0.clone().requires_grad_()
        attention(q, k, v, backend=backend, attn_mask=bias, **opts).output.square().sum(
            ).backward()
        grads.append(bias.grad)
    assert _amax(grads[0]) > 0
    for g in grads[1:]:
        _assert_close(g, grads[0], atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("opts", [{}, {"sampling_strategy": "stratified"}])
def test_half_precision_estimator_keeps_the_input_dtype(dtype, opts):
    q, k, v = _qkv(B=1, L=64, S=4096, E=8, Ev=8)
    r = attention(q.to(dtype), k.to(dtype), v.to(dtype), backend="classical", seed=0, **opts)
    assert r.info["path"] == "block-sparse" and r.output.dtype == dtype
    # the same (rounded) inputs in float32: the same estimate, up to the output's rounding
    full = attention(*(t.to(dtype).float() for t in (q, k, v)), backend="classical", seed=0,
                     **opts).output
    assert float((r.output.float() - full).norm() / full.norm()) < 1e-2


def test_a_per_query_mask_below_the_crossover_takes_the_exact_path():
    q, k, v = _qkv(B=2, L=500, S=1000)
    keep = torch.ones(500, 1000, dtype=torch.bool)
    keep[:, ::7] = False
    keep[::5, 1::7] = False
    r = attention(q, k, v, backend="classical", attn_mask=keep)
    assert r.info["path"] == "dense"
    _assert_close(r.output, _reference(q, k, v, keep)[0])


def test_finite_padding_bias_is_treated_as_masked_keys():
    # Hugging Face pads with finfo.min: the estimator must see those keys as masked (same
    # structure, budget and output as -inf), and its causal + padding mask as causal.
    q, k, v = _qkv(B=2, L=256, S=4096, E=8, Ev=8)
    keep = _rand(2, 1, 4096, seed=5) > 0
    outs = {}
    for fill in (float("-inf"), torch.finfo(torch.float32).min):
        bias = torch.zeros(2, 1, 4096).masked_fill(~keep, fill)
        outs[fill] = attention(q, k, v, backend="classical", attn_mask=bias, seed=0)
    a, b = outs.values()
    assert a.info["exact_key_fraction"] == b.info["exact_key_fraction"]
    _assert_close(a.output, b.output, atol=1e-6)
    L = 300
    qc, kc, vc = _qkv(B=2, L=L, S=L)
    pad = torch.zeros(2, 1, 1, L)
    pad[1, ..., L - 40:] = torch.finfo(torch.float32).min  # right padding: every row sees keys
    hf = torch.full((L, L), torch.finfo(torch.float32).min).triu(1) + pad
    r = attention(qc, kc, vc, backend="classical", attn_mask=hf[:, 0], coverage=1.0, seed=0)
    assert r.info["mask"] == "causal"
    keepc = torch.ones(L, L, dtype=torch.bool).tril()[None].repeat(2, 1, 1)
    keepc[1, :, L - 40:] = False
    _assert_close(r.output, _reference(qc, kc, vc, keepc)[0])


@pytest.mark.parametrize("backend", ["classical", "exact"])
def test_a_key_mask_expanded_to_every_query_is_a_key_mask(backend):
    # Hugging Face passes padding as [B, 1, L, S]: same result as the [B, 1, 1, S] mask, and
    # the classical estimator takes its key-mask path
    q, k, v = (t.reshape(1, 2, *t.shape[1:]) for t in _qkv(L=64, S=4096, E=8, Ev=8))
    keep = _rand(1, 1, 1, 4096, seed=4) > -0.5
    pad = torch.zeros(keep.shape).masked_fill(~keep, torch.finfo(torch.float32).min)
    a = attention(q, k, v, backend=backend, attn_mask=pad, seed=0)
    b = attention(q, k, v, backend=backend, attn_mask=pad.expand(1, 1, 64, 4096).clone(),
                  seed=0)
    _assert_close(a.output, b.output, atol=1e-6)
    _assert_close(b.output, _reference(q, k, v, keep)[0], atol=1e-5 if backend == "exact" else 1.0)
    if backend == "classical":
        assert a.info["mask"] == b.info["mask"] == "key"
