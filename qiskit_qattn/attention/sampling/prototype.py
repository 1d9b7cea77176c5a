"""Phase-1 quantum-inspired attention: clustered heavy keys, stratified tail, control variate.

For query ``i`` the output is ``o_i = N_i / D_i`` with ``N_i = sum_j e^{s_ij} v_j`` and
``D_i = sum_j e^{s_ij}``. The estimator splits the keys into clusters (k-means on the keys, see
:mod:`.clustering`) and, per query:

1. **Heavy keys without all scores.** The query scores the ``C`` centroids; the estimated mass
   of cluster ``c`` is ``W_c exp(a_ic)`` with ``a_ic = q.mu_c + min(q^T diag(var_c) q / 2,
   moment_cap)``, capped by the key-norm bound ``q.mu_c + ||q|| r_c`` (second-order moment
   expansion of ``sum_{j in c} e^{q.k_j}``; the cap stops the log-normal picture from
   overrating broad clusters). Clusters are taken in decreasing estimated mass until a
   ``coverage`` fraction of the estimated row mass is reached (``adaptive_samples``: the count
   follows the row's estimated spread — a flat, high-entropy row needs more clusters), or a
   fixed ``top_clusters``; the ``bound_clusters`` clusters with the largest score bound are
   always added (they may hold the row's top key). Scores on the keys of those clusters are
   exact, computed tile by tile (one dense product per cluster and the queries that selected
   it), never the full matrix.
2. **Stratified tail.** Every other cluster is a stratum. Keys are drawn without replacement
   inside each stratum, shared by all queries for which it is tail, with counts allocated in
   proportion to the strata's estimated tail mass (high / medium / low importance get many /
   few / the minimum of ``min_stratum_samples``); ``"uniform"`` draws the tail keys uniformly
   from all keys instead (Horvitz–Thompson weights).
3. **Control variate.** Each tail key's term ``e^{s_ij} v_j`` is paired with
   ``g_ij = e^{a_ic} v_j`` (``a_ic`` the cluster's moment estimate), whose cluster sum is known
   exactly from the per-cluster value sums; only the residual ``f - g`` is sampled.

**Bias statement.** ``N_i`` and ``D_i`` are each estimated *without bias* (exact heavy part plus
an unbiased stratified estimate of the tail; the control variate does not change the
expectation) whenever every tail stratum gets at least one sample, which the allocation ensures
(and ``sampling_strategy="uniform"`` is unbiased by inclusion probabilities). The output is
their ratio: consistent, with the usual ratio-estimator bias of order ``1 / samples``, and
exact when no query has a tail. ``sampling_strategy="none"`` keeps only the control variate
(deterministic, biased, no error bars). The returned ``std_error`` is the delta-method standard
error of the ratio, estimated by random groups: the tail sample is dealt into
``min(min_stratum_samples, 4)`` interpenetrating replicate samples and their spread gives the
variance (no finite-population correction, so slightly conservative; with 2 groups each
entry's estimate has 1 degree of freedom, so use the pooled per-query ``error_estimate``, the
root sum of squares over the row: measured ``||o_hat_i - o_i|| <= 2 error_estimate_i`` for
~90% of queries on MiniLM heads).

Cost per head: k-means ``O(S C E iters)``, centroid scores ``O(L C E)``, exact tiles
``O(L k (E + Ev))`` for ``k`` selected keys per query, tail ``O(L s (E + Ev))`` for ``s`` tail
samples; memory ``O(L (C + Ev) + S E)`` plus one tile at a time — never ``L x S`` (unless
``need_weights`` or a per-query mask is given, which are ``L x S`` themselves).
"""

from __future__ import annotations

import math
from typing import Any

from .._common import bias_for, check_options, positive_float, positive_int
from ..result import AttentionResult
from .clustering import KeyClusters, cluster_keys

STRATEGIES = ("stratified", "uniform", "none")

_OPTIONS = (
    "sampling_strategy",
    "adaptive_samples",
    "control_variate",
    "num_clusters",
    "coverage",
    "top_clusters",
    "max_cluster_fraction",
    "tail_samples",
    "min_stratum_samples",
    "kmeans_iters",
    "bound_clusters",
    "moment_cap",
)


def quantum_inspired_attention_prototype(
    Q: Any,
    K: Any,
    V: Any,
    sampling_strategy: str = "stratified",
    adaptive_samples: bool = True,
    control_variate: bool = True,
    *,
    attn_mask: Any | None = None,
    scale: float | None = None,
    need_weights: bool = False,
    seed: int | None = None,
    **options: Any,
) -> AttentionResult:
    """Phase-1 quantum-inspired attention (the ``"classical"`` backend of ``attention``).

    Args:
        Q: queries ``[..., L, E]``; K: keys ``[..., S, E]``; V: values ``[..., S, Ev]``
            (torch tensors).
        sampling_strategy: tail sampling: ``"stratified"`` (per-cluster strata), ``"uniform"``
            or ``"none"`` (control variate only, deterministic and biased).
        adaptive_samples: choose each query's exact clusters by ``coverage`` of its estimated
            mass (adapts to the row's entropy) instead of a fixed ``top_clusters``.
        control_variate: use the cluster-moment control variate for the tail.
        attn_mask: boolean (``True`` = attend) or additive float mask, as in ``attention``.
        scale: score scale (default ``1/sqrt(E)``).
        need_weights: also return the estimator's effective weights ``[..., L, S]``.
        seed: seed of k-means initialisation and tail samples.
        **options: ``num_clusters`` (default ``~sqrt(S)``), ``coverage`` (0.9),
            ``top_clusters`` (``C // 8``), ``max_cluster_fraction`` (0.5), ``tail_samples``
            (total tail keys per head, default ``2 C``), ``min_stratum_samples`` (2),
            ``kmeans_iters`` (4), ``bound_clusters`` (2: the clusters with the largest score
            upper bound ``q.mu_c + ||q|| r_c`` are always exact).

    Returns:
        :class:`~qiskit_qattn.attention.AttentionResult` with ``std_error`` and per-query
        ``error_estimate``; ``info`` has the mean exact-key fraction and sample counts.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> q, k = torch.randn(64, 8, generator=g), torch.randn(256, 8, generator=g)
        >>> v = torch.randn(256, 4, generator=g)
        >>> r = quantum_inspired_attention_prototype(q, k, v, seed=1)
        >>> r.output.shape, r.error_estimate.shape
        (torch.Size([64, 4]), torch.Size([64]))
        >>> full = quantum_inspired_attention_prototype(q, k, v, coverage=1.0,
        ...                                             max_cluster_fraction=1.0)  # all exact
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
    """Registry entry ``"classical"``: the Phase-1 estimator on ``[B, L, E]`` batches."""
    import torch

    check_options("classical", options, _OPTIONS)
    cfg = _config(options, k.shape[1])
    outs, ses, ws, fracs, samples = [], [], [], [], []
    for b in range(q.shape[0]):
        o, se, w, frac, ns = _head(q[b], k[b], v[b], bias_for(bias, b), scale, generator,
                                   need_weights, cfg)
        outs.append(o)
        ses.append(se)
        ws.append(w)
        fracs.append(frac)
        samples.append(ns)
    std = torch.stack(ses)
    return AttentionResult(
        output=torch.stack(outs),
        weights=torch.stack(ws) if need_weights else None,
        std_error=std,
        error_estimate=std.norm(dim=-1),
        backend="classical",
        info={
            "exact_key_fraction": sum(fracs) / len(fracs),
            "tail_samples_per_head": sum(samples) / len(samples),
            "bias": "numerator and denominator unbiased; ratio bias O(1/samples)"
            if cfg["strategy"] != "none" else "deterministic control variate only (biased)",
            "num_clusters": cfg["num_clusters"],
        },
    )


def _config(options: dict[str, Any], S: int) -> dict[str, Any]:
    strategy = options.get("sampling_strategy", "stratified")
    if strategy not in STRATEGIES:
        raise ValueError(f"sampling_strategy must be one of {STRATEGIES}; got {strategy!r}")
    default_c = max(1, min(S, round(math.sqrt(S))))
    c = positive_int(options.get("num_clusters", default_c), "num_clusters")
    c = min(c, S)
    top = options.get("top_clusters")
    top = max(1, c // 8) if top is None else positive_int(top, "top_clusters")
    tail = options.get("tail_samples")
    tail = 2 * c if tail is None else positive_int(tail, "tail_samples")
    return {
        "strategy": strategy,
        "adaptive": bool(options.get("adaptive_samples", True)),
        "cv": bool(options.get("control_variate", True)),
        "num_clusters": c,
        "coverage": positive_float(options.get("coverage", 0.9), "coverage", upper=1.0),
        "top": top,
        "max_frac": positive_float(options.get("max_cluster_fraction", 0.5),
                                   "max_cluster_fraction", upper=1.0),
        "tail": tail,
        "min_stratum": positive_int(options.get("min_stratum_samples", 2),
                                    "min_stratum_samples"),
        "iters": positive_int(options.get("kmeans_iters", 4), "kmeans_iters"),
        "bound_clusters": _nonneg_int(options.get("bound_clusters", 2), "bound_clusters"),
        "moment_cap": positive_float(options.get("moment_cap", 2.0), "moment_cap"),
    }


def _nonneg_int(value: Any, name: str) -> int:
    if value == 0 and not isinstance(value, bool):
        return 0
    return positive_int(value, name)


def _head(q, k, v, bias2, scale, generator, need_weights, cfg):
    """One head: returns ``(output [L, Ev], std_error [L, Ev], weights or None, frac, samples)``."""
    import torch

    L, S, Ev = q.shape[0], k.shape[0], v.shape[1]
    general = None  # per-query additive mask, [L, S]
    kept_idx = None
    log_w = None
    if bias2 is not None and bias2.shape[0] == 1:
        b = bias2[0]
        keep = ~torch.isneginf(b)
        if not bool(keep.any()):
            zero = torch.zeros(L, Ev, dtype=v.dtype)
            w = torch.zeros(L, S, dtype=v.dtype) if need_weights else None
            return zero + 0.0 * v.sum(), zero, w, 0.0, 0
        if not bool(keep.all()):
            kept_idx = keep.nonzero().squeeze(1)
            k, v, b = k[kept_idx], v[kept_idx], b[kept_idx]
        if bool((b != 0).any()):
            log_w = b
    elif bias2 is not None:
        general = bias2
    cl = cluster_keys(k, v, cfg["num_clusters"], iters=cfg["iters"], generator=generator,
                      log_weights=log_w)
    C = cl.num_clusters
    off = cl.offsets
    qs = q * scale
    proj = qs @ cl.centroids.T
    # Second-order moment term, capped: on broad clusters the log-normal picture overrates the
    # mass by orders of magnitude, which would make the control variate a noise source.
    a = proj + (0.5 * ((qs * qs) @ cl.variances.T)).clamp(max=cfg["moment_cap"])
    # No key of cluster c scores above q.mu_c + ||q|| r_c: cap the moment estimate there.
    a = torch.minimum(a, (proj + qs.norm(dim=1, keepdim=True) * cl.radius).detach())
    gsort = key_w = vsums = None
    if general is not None:
        gmax = general.detach().max(dim=1, keepdim=True).values
        gmax = torch.where(torch.isneginf(gmax), torch.zeros_like(gmax), gmax)
        gsort = general[:, cl.order] - gmax  # <= 0; the row constant cancels in the ratio
        key_w = torch.exp(gsort)  # [L, S] per-query key weights (0 on masked keys)
        wsum = torch.cumsum(torch.nn.functional.pad(key_w, (1, 0)), dim=1)
        bounds = torch.tensor(off)
        weight = wsum[:, bounds[1:]] - wsum[:, bounds[:-1]]  # [L, C]
        alive = weight > 0
        # Per-query masked value sums of every cluster (the control variate's exact total).
        vsums = torch.stack(
            [key_w[:, lo:hi] @ cl.values[lo:hi] for lo, hi in zip(off[:-1], off[1:], strict=True)],
            dim=1,
        )  # [L, C, Ev]
        log_weight = torch.log(weight.detach().clamp(min=1e-300))
    else:
        alive = None
        log_weight = torch.log(cl.weight.detach())[None, :]
    with torch.no_grad():
        qn = qs.detach().norm(dim=1, keepdim=True)
        upper = proj.detach() + qn * cl.radius
        logmass = a.detach() + log_weight
        if alive is not None:
            logmass = logmass.masked_fill(~alive, -math.inf)
            upper = upper.masked_fill(~alive, -math.inf)
        shift = upper.max(dim=1, keepdim=True).values
        shift = shift.masked_fill(torch.isneginf(shift), 0.0)
        sel = _select(logmass, cfg)
        if cfg["bound_clusters"] > 0:
            # Key-norm bound: the clusters that may hold the row's largest score are exact too
            # (catches peaked rows whose heavy key the moment estimate underrates).
            rest = upper
            for _ in range(min(cfg["bound_clusters"], C)):
                top = rest.max(dim=1, keepdim=True).values
                sel |= upper >= top
                rest = rest.masked_fill(rest >= top, -math.inf)
        tail = ~sel
        if alive is not None:
            sel &= alive
            tail &= alive
        # Augmented rows: one product gives q.k*scale - shift (+ key log-weight).
        ones = torch.ones(L, 1, dtype=qs.dtype)
        lw = cl.log_weights
        if lw is None:
            lw = torch.zeros(cl.offsets[-1], dtype=qs.dtype)
    qa = torch.cat([qs, -shift, ones], dim=1)
    ka = torch.cat([cl.keys, torch.ones_like(lw)[:, None], lw[:, None]], dim=1)
    # Exact tiles: cluster c against the queries that selected it; one product gives the
    # numerator and the denominator (values extended by a column of ones).
    vext = torch.cat([cl.values, torch.ones(cl.values.shape[0], 1, dtype=v.dtype)], dim=1)
    acc = torch.zeros(L, Ev + 1, dtype=v.dtype)
    tiles = []  # (cluster, query idx, exp-scores) for the weights
    pairs = sel.T.nonzero()  # (cluster, query), grouped by cluster
    per_cluster = torch.bincount(pairs[:, 0], minlength=C).tolist()
    for c, idx in zip(range(C), torch.split(pairs[:, 1], per_cluster), strict=True):
        if idx.numel() == 0:
            continue
        lo, hi = off[c], off[c + 1]
        e = qa[idx] @ ka[lo:hi].T
        if gsort is not None:
            e = e + gsort[idx, lo:hi]
        e = torch.exp(e)
        acc.index_add_(0, idx, e @ vext[lo:hi])
        if need_weights:
            tiles.append((c, idx, e))
    num, den = acc[:, :Ev], acc[:, Ev]
    # Control variate: e^{a_ic} times the cluster's (weighted) key count and value sum.
    base = torch.exp(a - shift) * tail  # [L, C]
    if cfg["cv"]:
        if general is None:
            den = den + base @ cl.weight
            num = num + base @ cl.value_sums
        else:
            den = den + (base * weight).sum(1)
            num = num + (base[:, :, None] * vsums).sum(1)
    part = _tail_samples(qa, ka, cl, tail, base, logmass, gsort, key_w, generator, cfg)
    if part is not None:
        est = _tail_products(part, base, cl, part["fac"][None, :], cfg)[:, 0]
        num = num + est[:, :Ev]
        den = den + est[:, Ev]
    safe = torch.where(den > 0, den, torch.ones_like(den))
    out = torch.where((den > 0)[:, None], num / safe[:, None], torch.zeros_like(num))
    se = _std_error(out.detach(), safe.detach(), part, base.detach(), cl, cfg, L, Ev)
    weights = None
    if need_weights:
        weights = _dense_weights(L, S, cl, tiles, base, key_w, part, safe, kept_idx, cfg)
    frac = float(((sel.to(cl.counts.dtype) @ cl.counts) / k.shape[0]).mean())
    return out, se, weights, frac, 0 if part is None else int(part["samp"].numel())


def _select(logmass, cfg):
    """Exact clusters per query: by coverage of the estimated mass, or a fixed top count."""
    import torch

    L, C = logmass.shape
    cap = max(1, min(C, math.ceil(cfg["max_frac"] * C)))
    if cfg["adaptive"]:
        p = torch.softmax(logmass, dim=1).nan_to_num(0.0)
        ps = torch.sort(p, dim=1, descending=True).values
        count = ((torch.cumsum(ps, dim=1) < cfg["coverage"]).sum(1) + 1).clamp(max=cap)
        thr = ps.gather(1, (count - 1)[:, None])
        return p >= thr
    top = min(cfg["top"], cap)
    thr = torch.topk(logmass, top, dim=1).values[:, -1:]
    return logmass >= thr


def _allocate(tail, mass, cl: KeyClusters, cfg):
    """Stratum sample counts: proportional to estimated tail mass, at least the minimum."""
    import torch

    sizes = cl.counts.long()
    need = tail.any(dim=0)
    imp = (mass * tail).sum(0)
    floor = torch.minimum(sizes, torch.full_like(sizes, cfg["min_stratum"])) * need
    extra = max(cfg["tail"] - int(floor.sum()), 0)
    if float(imp.sum()) > 0:
        share = imp / imp.sum()
    else:
        share = need.to(imp.dtype) / max(int(need.sum()), 1)
    alloc = floor + torch.floor(share * extra).long()
    return torch.minimum(alloc, sizes) * need


def _tail_samples(qa, ka, cl, tail, base, logmass, gsort, key_w, generator, cfg):
    """Draw the tail keys (shared by all queries) and score them in one dense product.

    Returns ``None`` (no tail or ``strategy == "none"``) or a dict with ``samp [M]`` (sorted key
    positions), ``strata [M]``, ``a [L, M]`` (``e^{s_ij}`` on tail (query, key) pairs, 0
    elsewhere; minus the control variate ``g_ij`` under a per-query mask), ``kw [M]`` (key
    weights), ``fac [M]`` (inverse inclusion probabilities) and the replicate groups
    ``group_fac [R, M]`` used for the variance.
    """
    import torch

    if cfg["strategy"] == "none" or not bool(tail.any()):
        return None
    with torch.no_grad():
        mass = torch.softmax(logmass, dim=1).nan_to_num(0.0)
    off = cl.offsets
    S = off[-1]
    if cfg["strategy"] == "stratified":
        alloc = _allocate(tail, mass, cl, cfg)
        if int(alloc.sum()) == 0:
            return None
        R = max(1, min(cfg["min_stratum"], 4))
        # Without replacement inside every stratum at once: random keys, ranked per cluster.
        sizes = cl.counts.long()
        label = torch.repeat_interleave(torch.arange(cl.num_clusters), sizes)
        u = torch.rand(S, generator=generator, dtype=torch.float64)
        perm = torch.argsort(label.to(torch.float64) + u)  # stays inside each cluster block
        starts = torch.tensor(off[:-1])
        rank = torch.arange(S) - starts[label]
        chosen = rank < alloc[label]
        samp = perm[chosen]
        sc = label[chosen]
        rk = rank[chosen]
        m_c = alloc[sc]
        fac = sizes[sc] / m_c
        group = rk % R
        # Replicate group r holds ceil/floor(m_c / R) of the stratum's draws.
        per_group = (m_c - group + R - 1) // R
        gfac = sizes[sc] / per_group.clamp(min=1)
    else:
        m_total = min(cfg["tail"], S)
        R = max(1, min(cfg["min_stratum"], 4, m_total))
        samp = torch.randperm(S, generator=generator)[:m_total]
        sc = torch.bucketize(samp, torch.tensor(off[1:]), right=True)
        fac = torch.full((m_total,), S / m_total)
        group = torch.arange(m_total) % R
        gfac = S / torch.bincount(group, minlength=R).clamp(min=1)[group]
    dtype = qa.dtype
    group_fac = (gfac[None, :] * (group[None, :] == torch.arange(R)[:, None])).to(dtype)
    e = qa @ ka[samp].T
    if gsort is not None:
        e = e + gsort[:, samp]
    e = torch.exp(e) * tail[:, sc]
    if key_w is not None:
        kw = None
        if cfg["cv"]:
            e = e - base[:, sc] * key_w[:, samp]
    elif cl.log_weights is not None:
        kw = torch.exp(cl.log_weights[samp])
    else:
        kw = torch.ones(samp.numel(), dtype=dtype)
    return {"samp": samp, "strata": sc, "a": e, "kw": kw, "fac": fac.to(dtype),
            "group_fac": group_fac}


def _tail_products(part, base, cl, col_weights, cfg):
    """Tail totals ``[L, G, Ev + 1]`` (numerator | denominator) for ``G`` column weightings.

    ``col_weights [G, M]`` are per-sample factors (the full sample, or one replicate group
    each). With a key-only mask the control variate is subtracted at cluster level:
    ``sum_j w_j g_ij v_j = sum_c base_ic sum_{j in c} w_j kw_j v_j``.
    """
    import torch

    vs = cl.values[part["samp"]]
    G, M = col_weights.shape
    Ev = vs.shape[1]
    ext = torch.cat([vs, torch.ones(M, 1, dtype=vs.dtype)], dim=1)  # [M, Ev + 1]
    z = (col_weights[:, :, None] * ext[None]).permute(1, 0, 2).reshape(M, G * (Ev + 1))
    out = part["a"] @ z
    if cfg["cv"] and part["kw"] is not None:
        gz = torch.zeros(cl.num_clusters, G * (Ev + 1), dtype=vs.dtype)
        gz = gz.index_add(0, part["strata"], part["kw"][:, None] * z)
        out = out - base @ gz
    return out.reshape(-1, G, Ev + 1)


def _std_error(out, den, part, base, cl, cfg, L, Ev):
    """Standard error of the ratio by random groups (interpenetrating replicate subsamples).

    The tail sample is split into ``R`` replicate groups, each a complete (stratified) sample
    of its own; the spread of the replicate estimates of the linearised residual
    ``sum (e - g)(v - o)`` gives the variance (no finite-population correction: conservative).
    """
    import torch

    if part is None or part["group_fac"].shape[0] < 2:
        return torch.zeros(L, Ev, dtype=out.dtype)
    gf = part["group_fac"]
    R = gf.shape[0]
    with torch.no_grad():
        detached = {key: (val.detach() if hasattr(val, "detach") else val)
                    for key, val in part.items()}
        t = _tail_products(detached, base, cl, gf, cfg)  # [L, R, Ev + 1]
        reps = t[..., :Ev] - out[:, None, :] * t[..., Ev:]
        dev = reps - reps.mean(dim=1, keepdim=True)
        var = (dev * dev).sum(dim=1) / (R * (R - 1))
    return var.sqrt() / den[:, None]


def _dense_weights(L, S, cl, tiles, base, key_w, part, den, kept_idx, cfg):
    """Effective weights ``[L, S]`` with ``output == weights @ V`` (for ``need_weights``)."""
    import torch

    Sk = cl.offsets[-1]
    w = torch.zeros(L, Sk, dtype=den.dtype)
    for c, idx, e in tiles:
        lo, hi = cl.offsets[c], cl.offsets[c + 1]
        w[idx, lo:hi] += e.detach()
    b = base.detach()
    if key_w is not None:
        kw = key_w.detach()
    elif cl.log_weights is not None:
        kw = torch.exp(cl.log_weights.detach())[None, :]
    else:
        kw = torch.ones(1, Sk, dtype=den.dtype)
    if cfg["cv"]:
        label = torch.repeat_interleave(torch.arange(cl.num_clusters), cl.counts.long())
        w += b[:, label] * kw
    if part is not None:
        samp = part["samp"]
        a = part["a"].detach()
        if cfg["cv"] and part["kw"] is not None:
            a = a - b[:, part["strata"]] * part["kw"].detach()
        w[:, samp] += a * part["fac"]
    w = w / den[:, None]
    full = torch.zeros(L, Sk, dtype=den.dtype)
    full[:, cl.order] = w
    if kept_idx is not None:
        out = torch.zeros(L, S, dtype=den.dtype)
        out[:, kept_idx] = full
        return out
    return full
