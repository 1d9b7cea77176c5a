"""Key clustering for the quantum-inspired estimator: k-means, contiguous blocks, cluster moments.

Clustering the keys is how heavy keys are found *without* all ``L x S`` scores: a query scores
the ``C`` centroids (``L x C`` products), and the score of any key in cluster ``c`` is bounded by
``q . mu_c + ||q|| r_c`` (``r_c`` the cluster radius). The per-cluster moments give a cheap
second-order estimate of each cluster's softmax mass (the control variate of the tail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class KeyClusters:
    """Keys sorted into contiguous clusters, with the moments the estimator needs.

    Attributes:
        order: permutation of the keys; cluster ``c`` is ``order[offsets[c]:offsets[c+1]]``.
        offsets: ``C + 1`` block boundaries (python ints).
        keys: sorted keys ``[S, E]``; values: sorted values ``[S, Ev]``.
        log_weights: sorted per-key log-weights ``[S]`` (finite key-only mask bias) or ``None``.
        counts: keys per cluster ``[C]`` (float); weight: summed key weights ``[C]``.
        centroids: weighted means ``[C, E]``; variances: weighted per-dim variances ``[C, E]``.
        radius: largest ``||k_j - mu_c||`` per cluster ``[C]``.
        value_sums: weighted value sums ``[C, Ev]``.
    """

    order: Any
    offsets: list[int]
    keys: Any
    values: Any
    log_weights: Any | None
    counts: Any
    weight: Any
    centroids: Any
    variances: Any
    radius: Any
    value_sums: Any

    @property
    def num_clusters(self) -> int:
        return len(self.offsets) - 1


def kmeans(x, num_clusters: int, *, iters: int, generator: Any):
    """Lloyd's k-means on the rows of ``x`` (no gradient); returns ``(centroids, assignment)``.

    Initial centroids are distinct rows drawn with ``generator``; empty clusters keep their
    previous centroid.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.0], [0.1], [5.0], [5.1]])
        >>> mu, a = kmeans(x, 2, iters=5, generator=torch.Generator().manual_seed(0))
        >>> sorted(torch.bincount(a).tolist())
        [2, 2]
    """
    import torch

    with torch.no_grad():
        x = x.detach()
        n = x.shape[0]
        c = min(num_clusters, n)
        mu = x[torch.randperm(n, generator=generator)[:c]].clone()
        sq = (x * x).sum(1, keepdim=True)
        assign = torch.zeros(n, dtype=torch.long)
        for _ in range(max(iters, 1)):
            dist = torch.addmm(sq, x, mu.T, alpha=-2.0) + (mu * mu).sum(1)
            assign = dist.argmin(1)
            counts = torch.bincount(assign, minlength=c)
            sums = torch.zeros_like(mu).index_add_(0, assign, x)
            nz = counts > 0
            mu[nz] = sums[nz] / counts[nz, None].to(x.dtype)
        return mu, assign


def cluster_keys(
    k, v, num_clusters: int, *, iters: int, generator: Any, log_weights: Any | None = None
) -> KeyClusters:
    """Cluster keys ``k [S, E]`` and sort keys/values into contiguous blocks with moments.

    The moments are torch expressions of ``k``/``v`` (differentiable); only the assignment is
    discrete. Empty clusters are dropped.
    """
    import torch

    _, assign = kmeans(k, num_clusters, iters=iters, generator=generator)
    order = torch.argsort(assign, stable=True)
    counts_l = torch.bincount(assign, minlength=int(assign.max()) + 1)
    counts_l = counts_l[counts_l > 0]
    c = counts_l.numel()
    sizes = counts_l.tolist()
    offsets = [0]
    for s in sizes:
        offsets.append(offsets[-1] + s)
    ks, vs = k[order], v[order]
    label = torch.repeat_interleave(torch.arange(c), counts_l)
    lw = None if log_weights is None else log_weights[order]
    w = torch.ones(ks.shape[0], dtype=k.dtype) if lw is None else torch.exp(lw - lw.max())
    weight = torch.zeros(c, dtype=k.dtype).index_add(0, label, w)
    wk = w[:, None]
    mu = torch.zeros(c, k.shape[1], dtype=k.dtype).index_add(0, label, wk * ks) / weight[:, None]
    delta = ks - mu[label]
    var = torch.zeros(c, k.shape[1], dtype=k.dtype).index_add(0, label, wk * delta * delta)
    var = var / weight[:, None]
    norms = delta.detach().norm(dim=1)
    radius = torch.zeros(c, dtype=k.dtype).scatter_reduce(0, label, norms, reduce="amax",
                                                          include_self=False)
    vsum = torch.zeros(c, v.shape[1], dtype=v.dtype).index_add(0, label, wk * vs)
    if lw is not None:
        # Keep weights relative to the largest key weight; fold the shift into log_weights.
        lw = lw - lw.max()
    return KeyClusters(
        order=order, offsets=offsets, keys=ks, values=vs, log_weights=lw,
        counts=counts_l.to(k.dtype), weight=weight, centroids=mu, variances=var,
        radius=radius, value_sums=vsum,
    )
