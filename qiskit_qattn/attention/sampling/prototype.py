"""Quantum-inspired attention: heavy key blocks exactly, the rest by tilted cluster summaries.

The ``classical`` backend of :func:`~qiskit_qattn.attention.attention`. The keys of every head
are ordered once into a balanced principal-axis tree (leaves of ``leaf_size`` keys, blocks of
``block_size``); queries into groups of ``query_block`` that share their choice of key blocks.
Each group computes its top blocks exactly, the next ones leaf by leaf and every other block as
one pseudo-key (key, value and log-mass of the block tilted to the group's mean query), all in
one call of torch's fastest exact kernel (see :mod:`.blocksparse`). Optional tail samples make
the estimate unbiased and give error bars.

**Bias statement.** ``sampling_strategy="none"`` (the default) is deterministic for a given seed
(the seed picks the tree's random starts) and biased: the pooled blocks are replaced by their
first-cumulant summaries, no error bars. ``"stratified"`` adds keys drawn without replacement
inside every non-exact block (strata = blocks, shared by a query group) and subtracts each drawn
key's pooled part (a control variate whose block total is known): the numerator and the
denominator are then unbiased, the output (their ratio) is consistent with a ratio bias of
order ``1 / samples``, and ``std_error`` / ``error_estimate`` come from random groups
(interpenetrating replicate samples; no finite-population correction, so slightly
conservative). ``"uniform"`` draws the tail keys uniformly (Horvitz-Thompson weights) instead.
With ``coverage=1.0`` (or ``exact_fraction=1.0``) every key is exact and the result is exact
attention.

**Error check.** After the estimate, ``error_probes`` random queries per head are attended
exactly (:mod:`.probe`): their relative output error estimates each head's
(``info["probe_error"]``), and with the deterministic strategy a head above ``max_error`` is
recomputed exactly, so inputs unlike the attention the budget was fitted to (random Gaussian
heads: 38-86 % error) do not come back silently wrong.

Masks: key padding and float key biases, causal masks (``is_causal=True`` or a dense top-left
causal mask: the sequence is cut into position chunks, later chunks are skipped, the diagonal
chunk is exact) and any other per-query mask (blocks the mask cuts for a group are computed
exactly, so a masked key never contributes; such masks can cost up to dense attention).
"""

from __future__ import annotations

import math
from typing import Any

from .._common import check_options, flag, positive_float, positive_int
from ..result import AttentionResult
from .blocksparse import BlockSparseConfig, MaskModel, _plan, block_sparse_attention
from .probe import probe_rows

STRATEGIES = ("none", "stratified", "uniform")
SELECTIONS = ("query", "group")
QUERY_ORDERS = ("tree", "route")

#: The defaults of the ``classical`` backend (see the trade-off table in benchmarks/RESULTS.md).
DEFAULTS = BlockSparseConfig()

_OPTIONS = (
    "sampling_strategy",
    "adaptive_samples",
    "control_variate",
    "num_clusters",
    "coverage",
    "max_cluster_fraction",
    "exact_fraction",
    "refine_fraction",
    "tail_samples",
    "min_stratum_samples",
    "leaf_size",
    "block_size",
    "query_block",
    "selection",
    "query_order",
    "tree_iters",
    "causal_block",
    "is_causal",
    "dense_fallback",
    "error_probes",
    "max_error",
)

#: Queries per head attended exactly to check the estimate (``error_probes``).
ERROR_PROBES = 16
#: Heads whose probed relative error exceeds this are recomputed exactly (``max_error``).
#: A guard against inputs unlike the attention the budget was fitted to (random Gaussian
#: heads: 38-86 % relative error), above real MiniLM heads (worst of 72: 26 % at 4096
#: tokens); 16 probes put ~0.3 of those 72 heads over it by chance (each costs 1/12 of SDPA).
MAX_ERROR = 0.35


def quantum_inspired_attention_prototype(
    Q: Any,
    K: Any,
    V: Any,
    sampling_strategy: str = DEFAULTS.strategy,
    adaptive_samples: bool = False,
    control_variate: bool = True,
    *,
    attn_mask: Any | None = None,
    scale: float | None = None,
    need_weights: bool = False,
    seed: int | None = None,
    **options: Any,
) -> AttentionResult:
    """Quantum-inspired attention (the ``"classical"`` backend of ``attention``).

    Args:
        Q: queries ``[..., L, E]``; K: keys ``[..., S, E]``; V: values ``[..., S, Ev]``
            (torch tensors or array-likes).
        sampling_strategy: ``"none"`` (deterministic pooled tail, fastest), ``"stratified"``
            (tail samples per block: unbiased numerator and denominator, error bars) or
            ``"uniform"``.
        adaptive_samples: choose each group's number of exact blocks by ``coverage`` of its
            estimated mass (up to ``max_cluster_fraction`` of the blocks) instead of the fixed
            ``exact_fraction``.
        control_variate: pool the non-exact blocks into pseudo-keys (off: the tail comes from
            samples only, or is dropped with ``"none"``).
        attn_mask: boolean (``True`` = attend) or additive float mask, as in ``attention``.
        scale: score scale (default ``1/sqrt(E)``).
        need_weights: also return the estimator's effective weights ``[..., L, S]`` (rows
            sum to 1 and ``weights @ V`` is the output; with a sampling strategy the control
            variate can make some of them negative).
        seed: seeds the tree ordering and the tail samples.
        **options: ``exact_fraction`` (of the key blocks per query group; automatic:
            ``57 * keys**0.3`` exact keys: 11 of 64 blocks at 4096),
            ``refine_fraction`` (0.375, pooled leaf by leaf), ``coverage`` (exact blocks by
            mass; ``1.0`` = exact attention), ``max_cluster_fraction`` (0.5),
            ``num_clusters`` (key blocks; sets ``block_size``), ``block_size`` (64),
            ``leaf_size`` (8), ``query_block`` (256 from 4096 queries unless causal, else 128),
            ``selection`` (``"query"`` or ``"group"``), ``tree_iters`` (3),
            ``tail_samples`` (per query group, default 2 per block),
            ``min_stratum_samples`` (2), ``causal_block`` (512),
            ``is_causal`` (top-left causal mask without building it), ``dense_fallback``
            (``True``: when the automatic budget would attend to more than ``DENSE_ABOVE``
            = 0.37 of the keys, lower with more torch threads, or under a causal mask, the
            result is exact SDPA, ``info["path"] == "dense"``), ``error_probes`` (16: that
            many random queries per head attended exactly after the estimate;
            ``info["probe_error"]`` / ``info["probe_error_max"]`` are the mean / worst head's
            relative output error on them, 0-3 % of SDPA's time from 2048 tokens on,
            benchmarks/RESULTS.md; ``0`` = off),
            ``max_error`` (0.35: heads whose probed error exceeds it are recomputed exactly,
            counted in ``info["exact_heads"]``; ``None`` = report only; the sampled
            strategies keep their unbiased estimate and error bars and only report).

    Returns:
        :class:`~qiskit_qattn.attention.AttentionResult`; ``std_error`` and ``error_estimate``
        with a sampling strategy (``None`` for the deterministic one); ``info`` has the exact
        key fraction and the block layout.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> q, k = torch.randn(64, 8, generator=g), torch.randn(256, 8, generator=g)
        >>> v = torch.randn(256, 4, generator=g)
        >>> r = quantum_inspired_attention_prototype(q, k, v, "stratified", seed=1)
        >>> r.output.shape, r.error_estimate.shape
        (torch.Size([64, 4]), torch.Size([64]))
        >>> full = quantum_inspired_attention_prototype(q, k, v, coverage=1.0)  # all exact
        >>> ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        >>> bool(torch.allclose(full.output, ref, atol=1e-5))
        True
    """
    from ..api import attention

    return attention(
        Q, K, V, backend="classical", attn_mask=attn_mask, scale=scale,
        need_weights=need_weights, seed=seed, sampling_strategy=sampling_strategy,
        adaptive_samples=adaptive_samples, control_variate=control_variate, **options,
    )


def prototype_backend(
    q, k, v, *, bias, scale: float, need_weights: bool, generator: Any, **options: Any
) -> AttentionResult:
    """Registry entry ``"classical"``: the block-sparse estimator on ``[B, L, E]`` batches."""
    import torch

    check_options("classical", options, _OPTIONS)
    cfg = config_from_options(options, k.shape[1])
    probes, max_error = _guard_options(options)
    B, L, _ = q.shape
    S = k.shape[1]
    is_causal = flag(options.get("is_causal", False), "is_causal")
    bias = drop_negligible_keys(bias, q, k, scale)
    key_bias, mask = classify_mask(bias, B, L, S, is_causal, q.dtype)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    if flag(options.get("dense_fallback", True), "dense_fallback") and _dense_is_cheaper(
            cfg, L, S, q.shape[-1], v.shape[-1], mask, need_weights):
        return _dense(q, k, v, bias, key_bias, scale, is_causal, need_weights, mask)
    dtype = q.dtype
    if dtype in (torch.float16, torch.bfloat16):
        # the estimator's kernels and trees run in float32; the results come back in the
        # input's dtype (as SDPA's do)
        q, k, v = q.float(), k.float(), v.float()
        key_bias = None if key_bias is None else key_bias.float()
        if mask.bias is not None:
            mask = MaskModel(mask.kind, mask.bias.float())
    # the probes get their own stream: the tail samples stay what they were for a seed
    rows = probe_rows(L, probes, torch.Generator().manual_seed(seed)) if probes else None
    res = block_sparse_attention(q * scale, k, v, key_bias=key_bias, mask=mask, cfg=cfg,
                                 seed=seed, generator=generator, need_weights=need_weights,
                                 probes=rows)
    checked = {}
    if probes:
        err = res.pop("probe_error")
        bad = (err > max_error) if max_error is not None and cfg.strategy == "none" else None
        if bad is not None and bool(bad.any()):
            res = _recompute_heads(res, bad.nonzero()[:, 0], q, k, v, bias, key_bias, scale,
                                   is_causal, need_weights, mask)
        checked = {"probe_error": float(err.mean()), "probe_error_max": float(err.max()),
                   "exact_heads": 0 if bad is None else int(bad.sum())}
    res = {key: val.to(dtype) if isinstance(val, torch.Tensor) else val
           for key, val in res.items()}
    std = res["std_error"]
    info = dict(res["info"])
    info["mask"] = mask.kind if key_bias is None or mask.kind != "none" else "key"
    info["path"] = "block-sparse"
    info.update(checked)
    info["bias"] = (
        "deterministic pooled tail (biased), no error bars" if cfg.strategy == "none" else
        "numerator and denominator unbiased; ratio bias O(1/samples)")
    return AttentionResult(
        output=res["output"], weights=res["weights"], std_error=std,
        error_estimate=None if std is None else std.norm(dim=-1), backend="classical",
        info=info,
    )


#: The automatic budget falls back to exact SDPA above this many attended keys per query
#: (exact + pooled, as a share of the keys). On real MiniLM heads (12 heads, paired with
#: SDPA's flash kernel, the budget of :func:`.blocksparse.auto_exact_fraction`) the estimator
#: ran at 1 thread at 1.20x with 0.44 of the keys (1536 tokens), 1.01x with 0.38 (1792),
#: 0.88x with 0.34-0.38 (2048) and ~0.46x with 0.23 (4096): the estimator is the default from
#: 2048 tokens on. The flash kernel gains more from a second thread than the estimator (whose
#: chunks of heads run one per thread, :mod:`.chunks`): at 2 threads 1.16x at 2048 and 1.00x
#: at 2304 (0.34 of the keys each), 0.88x at 2560 (measured with the earlier, larger budget);
#: so the limit is ``DENSE_ABOVE * threads**-DENSE_THREAD_EXPONENT`` (2 threads: 0.33, the
#: estimator from ~2500 tokens on).
DENSE_ABOVE = 0.37
DENSE_THREAD_EXPONENT = 0.15


def _dense_is_cheaper(cfg: BlockSparseConfig, L: int, S: int, E: int, Ev: int,
                      mask: MaskModel, need_weights: bool) -> bool:
    """Whether the automatic budget would cost more than exact SDPA.

    That is: attend to more than ``DENSE_ABOVE`` of the keys, less with more torch threads
    (see :data:`DENSE_ABOVE`); under a causal mask, always: on real MiniLM heads the causal
    estimator (diagonal chunks exact, dyadic key ranges) ran at 1.12-1.32x SDPA's causal time at
    4096 tokens (benchmarks/attention.py), ~1.15x at 8192 and 2.2x at 16384 (12 heads, 10.9 %
    mean error), slower at every length measured. ``dense_fallback=False`` or an explicit
    budget keeps it. A per-query mask follows the rule of its keys (the blocks it cuts only
    add exact work to the estimator).
    """
    if cfg.exact_fraction is not None or cfg.coverage is not None or cfg.strategy != "none":
        return False
    import torch

    if mask.kind == "causal":
        return True
    plan = _plan(L, S, E, Ev, cfg, mask, need_weights)
    limit = DENSE_ABOVE * max(1, torch.get_num_threads()) ** -DENSE_THREAD_EXPONENT
    return plan["work"] > limit * plan["dense_work"]


def _dense(q, k, v, bias, key_bias, scale, is_causal, need_weights, mask):
    """Exact attention (the ``exact`` backend), reported as the classical backend's dense path."""
    import torch

    from ..torch_exact import exact_backend, flash_sdpa

    L, S = q.shape[1], k.shape[1]
    plain = key_bias is None or not bool(key_bias.any())
    weights = None
    if mask.kind == "causal" and plain and not need_weights:
        # a plain causal mask (given or built): SDPA's causal kernel, no mask to build or read
        output = flash_sdpa(q, k, v, scale=scale, is_causal=True)
    else:
        if is_causal:
            tri = torch.zeros(L, S, dtype=q.dtype).masked_fill_(
                ~torch.ones(L, S, dtype=torch.bool).tril(), float("-inf"))[None]
            bias = tri if bias is None else bias + tri
        if need_weights:
            res = exact_backend(q, k, v, bias=bias, scale=scale, need_weights=True,
                                generator=None)
            output, weights = res.output, res.weights
        else:  # straight to the kernel (the exact backend's zero error bars cost ~2 %)
            output = flash_sdpa(q, k, v, scale=scale, bias=bias)
    return AttentionResult(
        output=output, weights=weights, std_error=None, error_estimate=None,
        backend="classical",
        info={"path": "dense", "exact_key_fraction": 1.0, "keys_per_query": 1.0,
              "tail_samples_per_group": 0.0, "mask": mask.kind,
              "bias": "exact attention (the automatic budget would cost more than SDPA)"},
    )


def _guard_options(options: dict[str, Any]) -> tuple[int, float | None]:
    """``(error_probes, max_error)`` from the backend options, validated."""
    probes = _nonneg_int(options.get("error_probes", ERROR_PROBES), "error_probes")
    max_error = options.get("max_error", MAX_ERROR)
    if max_error is not None:
        max_error = positive_float(max_error, "max_error")
    return probes, max_error


def _recompute_heads(res: dict[str, Any], heads, q, k, v, bias, key_bias, scale: float,
                     is_causal: bool, need_weights: bool, mask: MaskModel) -> dict[str, Any]:
    """``res`` with the batch rows ``heads`` replaced by exact attention (differentiably)."""
    def pick(t):
        return None if t is None else (t[heads] if t.shape[0] > 1 else t).to(q.dtype)

    sub = MaskModel(mask.kind, pick(mask.bias))
    exact = _dense(q[heads], k[heads], v[heads], pick(bias), pick(key_bias), scale,
                   is_causal, need_weights, sub)
    out = dict(res)
    out["output"] = res["output"].index_copy(0, heads, exact.output.to(res["output"].dtype))
    if need_weights:
        out["weights"] = res["weights"].index_copy(
            0, heads, exact.weights.to(res["weights"].dtype))
    if res["std_error"] is not None:
        out["std_error"] = res["std_error"].index_fill(0, heads, 0.0)
    return out


def config_from_options(options: dict[str, Any], S: int) -> BlockSparseConfig:
    """Validated :class:`BlockSparseConfig` from backend options (names kept from Phase 1)."""
    strategy = options.get("sampling_strategy", DEFAULTS.strategy)
    if strategy not in STRATEGIES:
        raise ValueError(f"sampling_strategy must be one of {STRATEGIES}; got {strategy!r}")
    selection = options.get("selection", DEFAULTS.selection)
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}; got {selection!r}")
    query_order = options.get("query_order", DEFAULTS.query_order)
    if query_order not in QUERY_ORDERS:
        raise ValueError(f"query_order must be one of {QUERY_ORDERS}; got {query_order!r}")
    leaf = _power_of_two(options.get("leaf_size", DEFAULTS.leaf), "leaf_size")
    block = _power_of_two(options.get("block_size", DEFAULTS.block), "block_size")
    if "num_clusters" in options:
        c = positive_int(options["num_clusters"], "num_clusters")
        block = 2 ** max(0, round(math.log2(max(1.0, S / c))))
    block = max(block, leaf)
    coverage = options.get("coverage")
    if coverage is not None:
        coverage = positive_float(coverage, "coverage", upper=1.0)
    adaptive = flag(options.get("adaptive_samples", False), "adaptive_samples")
    if adaptive and coverage is None:
        coverage = 0.9
    max_frac = positive_float(options.get("max_cluster_fraction", DEFAULTS.max_fraction),
                              "max_cluster_fraction", upper=1.0)
    exact = options.get("exact_fraction", DEFAULTS.exact_fraction)
    if exact is not None:
        exact = positive_float(exact, "exact_fraction", upper=1.0)
    refine = options.get("refine_fraction", DEFAULTS.refine_fraction)
    if isinstance(refine, bool) or refine != 0:
        refine = positive_float(refine, "refine_fraction", upper=1.0)
    if coverage is not None and coverage >= 1.0:
        exact, max_frac, coverage = 1.0, 1.0, None
    tail = options.get("tail_samples")
    if tail is not None:
        tail = positive_int(tail, "tail_samples")
    return BlockSparseConfig(
        leaf=leaf, block=block,
        query_block=(None if options.get("query_block") is None else
                     _power_of_two(options["query_block"], "query_block")),
        exact_fraction=exact, refine_fraction=float(refine), coverage=coverage,
        max_fraction=max_frac, selection=selection, query_order=query_order,
        iters=_nonneg_int(options.get("tree_iters", DEFAULTS.iters), "tree_iters"),
        causal_block=_power_of_two(options.get("causal_block", DEFAULTS.causal_block),
                                   "causal_block"),
        strategy=strategy, tail_samples=tail,
        min_stratum_samples=positive_int(
            options.get("min_stratum_samples", DEFAULTS.min_stratum_samples),
            "min_stratum_samples"),
        control_variate=flag(options.get("control_variate", True), "control_variate"),
    )


#: Keys whose bias lies this far (plus the largest possible score gap) below the best key
#: of their row carry a weight below exp(-NEGLIGIBLE_LOGIT) of it: zero in float32.
NEGLIGIBLE_LOGIT = 200.0


def drop_negligible_keys(bias, q, k, scale: float):
    """``bias`` with finite "masked" entries (``finfo.min``, ``-1e9``) made ``-inf``.

    Hugging Face and many models mask keys with a huge finite negative bias, not ``-inf``.
    Such a key's weight is ``exp(bias - max bias + score gap)``: when that is below
    ``exp(-NEGLIGIBLE_LOGIT)`` for every score the queries and keys can produce
    (``|score| <= scale * max|q| * max|k|``), the key is masked in effect, and the estimator
    treats it as masked (no pooling, no budget). A row whose keys are all that far below
    nothing (every key equally masked) keeps its finite bias, as SDPA would.

    Example:
        >>> import torch
        >>> q = k = torch.ones(1, 2, 2)
        >>> drop_negligible_keys(torch.tensor([[[0.0, -1e9]]]), q, k, 1.0)
        tensor([[[0., -inf]]])
    """
    import torch

    if bias is None:
        return None
    with torch.no_grad():
        # (boolean temporaries only: this runs on every masked call)
        if not bool(((bias < -NEGLIGIBLE_LOGIT) & torch.isfinite(bias)).any()):
            return bias
        gap = 2.0 * abs(scale) * float(q.detach().norm(dim=-1).max()) * float(
            k.detach().norm(dim=-1).max())
        drop = bias < bias.amax(-1, keepdim=True) - (gap + NEGLIGIBLE_LOGIT)
        if not bool(drop.any()):
            return bias
    return bias.masked_fill(drop, float("-inf"))


def classify_mask(bias, B: int, L: int, S: int, is_causal: bool, dtype):
    """Split the additive mask ``[Bm, Lm, S]`` into a key bias ``[B, S]`` and a mask model.

    A per-query mask equal to the top-left causal mask plus a key-only bias is recognised as
    causal (what ``nn.MultiheadAttention`` passes for ``is_causal``).

    Example:
        >>> import torch
        >>> causal = torch.full((3, 3), float("-inf")).triu(1)[None]
        >>> classify_mask(causal, 1, 3, 3, False, torch.float32)[1].kind
        'causal'
    """
    import torch

    if bias is None:
        return None, MaskModel("causal" if is_causal else "none")
    if bias.shape[1] == 1:
        return bias[:, 0, :].expand(B, S).to(dtype), MaskModel(
            "causal" if is_causal else "none")
    if not is_causal:
        key = _causal_key_bias(bias, L, S)
        if key is not None:
            return key.expand(B, S).to(dtype), MaskModel("causal")
        return None, MaskModel("dense", bias.to(dtype))
    full = bias + torch.zeros(L, S, dtype=bias.dtype).masked_fill_(
        ~torch.ones(L, S, dtype=torch.bool).tril(), float("-inf"))
    return None, MaskModel("dense", full.to(dtype))


def _causal_key_bias(bias, L: int, S: int):
    """The key bias ``[Bm, S]`` if ``bias == causal + key bias``, else ``None``."""
    import torch

    ninf = float("-inf")
    last = min(L, S) - 1
    key = bias[:, last, :].clone()
    key[:, last + 1:] = 0.0
    # Cheap necessary checks before the full comparison.
    for i in sorted({0, last // 2, last}):
        row = bias[:, i, :]
        if bool((row[:, i + 1:] != ninf).any()) or not torch.equal(row[:, : i + 1],
                                                                   key[:, : i + 1]):
            return None
    visible = torch.ones(L, S, dtype=torch.bool).tril()
    want = key[:, None, :].expand(bias.shape[0], L, S).masked_fill(~visible, ninf)
    return key if torch.equal(bias, want) else None


def _power_of_two(value: Any, name: str) -> int:
    v = positive_int(value, name)
    if v & (v - 1):
        raise ValueError(f"{name} must be a power of two; got {value!r}")
    return v


def _nonneg_int(value: Any, name: str) -> int:
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0; got {value!r}")
    return int(value)
