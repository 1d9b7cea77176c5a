"""Balanced principal-axis trees: an order of rows in which every aligned block is a cluster.

Recursive bisection: a node (a contiguous range of rows) is split at the median of its rows'
projections on the node's principal axis (a few power iterations from a seeded random start), so
that every aligned range of ``leaf * 2**j`` rows is one node of the tree, i.e. a tight cluster.
Keys ordered this way give contiguous *key blocks* (selection units) made of *leaves* (pooling
units); queries ordered this way give *query groups* that share their selected key blocks. One
pass costs ``O(n E (iters + 2) log(n / leaf))`` per head and runs in Numba, heads in parallel
on Python threads (the caller's torch thread budget; no OpenMP runtime of Numba's, which
would share torch's and change its thread count).

Rows of weight 0 (masked keys, padding) go after every weighted row of their node at each split,
so the weighted rows of a segment fill its first leaves (only the last of these leaves may also
hold weight-0 rows); ``n_pad - n`` padding slots hold the index ``n``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_KERNELS: dict[str, Any] = {}

#: Rows of a node the power iterations look at (an evenly strided subsample of bigger nodes).
SUB = 256


def _kernels():
    """Compile the Numba kernels on first use (nothing is compiled at import)."""
    if _KERNELS:
        return _KERNELS["order"]
    from numba import njit

    # Reassociation lets LLVM vectorise the reductions; no "no-inf" assumptions: masked rows
    # are marked with inf projections and must compare correctly.
    fast = {"reassoc", "contract", "nsz"}

    @njit(cache=True, fastmath=fast, boundscheck=False)
    def _project(xs, ws, s, m, iters, proj, mu, u, t):  # pragma: no cover - compiled
        # The axis comes from power iterations on an evenly strided subsample of at most
        # SUB rows (a big node's principal axis is well determined by a few hundred rows);
        # every row is then projected once. The projection needs no centring: the split is
        # at the median, which a constant shift does not move.
        E = xs.shape[1]
        step = max(1, m // SUB)
        wsum = 0.0
        for e in range(E):
            mu[e] = 0.0
        for i in range(s, s + m, step):
            w = ws[i]
            if w > 0:
                wsum += w
                for e in range(E):
                    mu[e] += w * xs[i, e]
        if wsum > 0:
            for e in range(E):
                mu[e] /= wsum
        for _ in range(iters):
            for e in range(E):
                t[e] = 0.0
            for i in range(s, s + m, step):
                w = ws[i]
                if w > 0:
                    p = 0.0
                    for e in range(E):
                        p += (xs[i, e] - mu[e]) * u[e]
                    p *= w
                    for e in range(E):
                        t[e] += (xs[i, e] - mu[e]) * p
            nrm = 0.0
            for e in range(E):
                nrm += t[e] * t[e]
            if nrm == 0.0:
                break
            nrm = 1.0 / np.sqrt(nrm)
            for e in range(E):
                u[e] = t[e] * nrm
        for i in range(m):
            if ws[s + i] > 0:
                p = 0.0
                for e in range(E):
                    p += xs[s + i, e] * u[e]
                proj[i] = p
            else:
                proj[i] = np.inf

    @njit(cache=True, boundscheck=False)
    def _kth(a, m, k):  # pragma: no cover - compiled
        """The k-th smallest of ``a[:m]`` (quickselect, reorders ``a`` in place)."""
        lo = 0
        hi = m - 1
        while lo < hi:
            pivot = a[(lo + hi) // 2]
            i = lo
            j = hi
            while i <= j:
                while a[i] < pivot:
                    i += 1
                while a[j] > pivot:
                    j -= 1
                if i <= j:
                    tmp = a[i]
                    a[i] = a[j]
                    a[j] = tmp
                    i += 1
                    j -= 1
            if k <= j:
                hi = j
            elif k >= i:
                lo = i
            else:
                break
        return a[k]

    @njit(cache=True, boundscheck=False)
    def _order_segment(x, w, lo, n_seg, seg, leaf, iters, out, xs, ws, ps, xd, wd, pd, proj,
                       scratch, mu, u, t):  # pragma: no cover - compiled
        E = x.shape[1]
        n = x.shape[0]
        for i in range(seg):
            j = lo + i
            if i < n_seg:
                ps[i] = j
                ws[i] = w[j]
                for e in range(E):
                    xs[i, e] = x[j, e]
            else:
                ps[i] = n
                ws[i] = 0.0
                for e in range(E):
                    xs[i, e] = 0.0
        m = seg
        while m > leaf:
            half = m // 2
            for s in range(0, seg, m):
                for e in range(E):
                    u[e] = np.random.standard_normal()
                _project(xs, ws, s, m, iters, proj, mu, u, t)
                for i in range(m):
                    scratch[i] = proj[i]
                med = _kth(scratch, m, half)
                nlow = 0
                for i in range(m):
                    if proj[i] < med:
                        nlow += 1
                ties = half - nlow
                a = s
                b = s + half
                for i in range(m):
                    p = proj[i]
                    if p < med or (p == med and ties > 0):
                        if p == med:
                            ties -= 1
                        dst = a
                        a += 1
                    else:
                        dst = b
                        b += 1
                    for e in range(E):
                        xd[dst, e] = xs[s + i, e]
                    wd[dst] = ws[s + i]
                    pd[dst] = ps[s + i]
            xs, xd = xd, xs
            ws, wd = wd, ws
            ps, pd = pd, ps
            m = half
        for i in range(seg):
            out[i] = ps[i]

    @njit(cache=True, nogil=True)
    def order(x, w, seg, leaf, iters, seed, first, last, out):  # pragma: no cover - compiled
        n, E = x.shape[1], x.shape[2]
        nseg = out.shape[1] // seg
        xs = np.empty((seg, E), dtype=x.dtype)
        xd = np.empty((seg, E), dtype=x.dtype)
        ws = np.empty(seg, dtype=x.dtype)
        wd = np.empty(seg, dtype=x.dtype)
        ps = np.empty(seg, dtype=np.int64)
        pd = np.empty(seg, dtype=np.int64)
        proj = np.empty(seg, dtype=x.dtype)
        scratch = np.empty(seg, dtype=x.dtype)
        mu = np.empty(E, dtype=x.dtype)
        u = np.empty(E, dtype=x.dtype)
        t = np.empty(E, dtype=x.dtype)
        for job in range(first * nseg, last * nseg):
            h = job // nseg
            lo = (job % nseg) * seg
            np.random.seed(seed + job)
            _order_segment(x[h], w[h], lo, min(seg, n - lo), seg, leaf, iters,
                           out[h, lo:lo + seg], xs, ws, ps, xd, wd, pd, proj, scratch, mu, u,
                           t)

    _KERNELS["order"] = order
    return order


def padded_size(n: int, leaf: int) -> int:
    """Smallest ``leaf * 2**j >= n`` (the slots of one tree over ``n`` rows).

    Example:
        >>> padded_size(1000, 16), padded_size(1024, 16), padded_size(5, 8)
        (1024, 1024, 8)
    """
    return leaf * 2 ** max(0, math.ceil(math.log2(max(1, math.ceil(n / leaf)))))


def tree_order(x, weight, *, segment: int, leaf: int, iters: int = 3, seed: int = 0):
    """Balanced-tree order of the rows of ``x [H, n, E]`` inside segments of ``segment`` rows.

    Args:
        x: rows to order, ``[H, n, E]`` (torch tensor or array; no gradient).
        weight: ``[H, n]`` non-negative row weights (0 = masked, sorted last).
        segment: rows per independently ordered segment (``leaf * 2**j``); the last segment
            is padded.
        leaf: stop splitting at this node size.
        iters: power iterations per split.
        seed: seeds the random start of the power iterations.

    Returns:
        ``int64`` numpy array ``[H, ceil(n / segment) * segment]``: slot -> row index, ``n``
        for padding slots.

    Example:
        >>> import numpy as np
        >>> x = np.array([[[0.0], [5.0], [0.1], [5.1]]])
        >>> perm = tree_order(x, np.ones((1, 4)), segment=4, leaf=2)
        >>> sorted([sorted(perm[0, :2].tolist()), sorted(perm[0, 2:].tolist())])
        [[0, 2], [1, 3]]
    """
    if segment % leaf or (segment // leaf) & (segment // leaf - 1):
        raise ValueError(f"segment must be leaf * 2**j; got segment={segment}, leaf={leaf}")
    xa = np.ascontiguousarray(_numpy(x))
    if xa.dtype not in (np.float32, np.float64):
        xa = xa.astype(np.float64)
    wa = np.ascontiguousarray(_numpy(weight), dtype=xa.dtype)
    kernel = _kernels()
    H, n = xa.shape[0], xa.shape[1]
    out = np.empty((H, max(1, -(-n // segment)) * segment), dtype=np.int64)
    args = (xa, wa, int(segment), int(leaf), int(iters), int(seed) % (2**31))
    workers = min(H, _threads())
    if workers <= 1:
        kernel(*args, 0, H, out)
        return out
    # Heads in parallel on Python threads (the kernel releases the GIL): no OpenMP runtime
    # of Numba's, which would share and change torch's thread settings.
    from concurrent.futures import ThreadPoolExecutor

    bounds = [H * i // workers for i in range(workers + 1)]
    with ThreadPoolExecutor(workers) as pool:
        jobs = [pool.submit(kernel, *args, a, b, out)
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
                if b > a]
        for job in jobs:
            job.result()
    return out


def _threads() -> int:
    """The caller's thread budget: torch's intra-op thread count."""
    import torch

    return max(1, torch.get_num_threads())


def _numpy(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)
