"""Balanced principal-axis trees: an order of rows in which every aligned block is a cluster.

Recursive bisection: a node (a contiguous range of rows) is split at the median of its rows'
projections on the node's principal axis, so that every aligned range of ``leaf * 2**j`` rows is
one node of the tree, i.e. a tight cluster. Keys ordered this way give contiguous *key blocks*
(selection units) made of *leaves* (pooling units); queries ordered this way give *query groups*
that share their selected key blocks.

The axis is the top Ritz vector of the node's weighted covariance in a small Krylov space
(Lanczos, ``iters`` steps on big nodes, which look at an evenly strided subsample of ``SUB``
rows): the best axis of the space that ``iters`` power iterations explore, at the same cost.
The root starts from a seeded random direction; every other node starts from the sum of its
parent's axis and its parent's second Ritz vector (the direction the parent's children usually
spread along next) and takes one step fewer (one for the split into leaves). One pass costs
``O(n E iters log(n / leaf))`` per head and runs in Numba, heads in parallel on Python threads
(the caller's torch thread budget; no OpenMP runtime of Numba's, which would share torch's and
change its thread count).

Rows of weight 0 (masked keys, padding) go after every weighted row of their node at each split,
so the weighted rows of a segment fill its first leaves (only the last of these leaves may also
hold weight-0 rows); ``n_pad - n`` padding slots hold the index ``n``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_KERNELS: dict[str, Any] = {}

#: Rows of a node the axis is computed from (an evenly strided subsample of bigger nodes).
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
    def _dots(xs, ws, s, m, step, v, dk):  # pragma: no cover - compiled
        # dk[j] = x_i.v for the node's sampled rows i = s + j * step; returns the total weight
        # W and the weighted mean c of x.v. Four rows per round: independent reductions.
        E = xs.shape[1]
        zero = v[0] - v[0]
        cnt = (m + step - 1) // step
        j = 0
        while j + 4 <= cnt:
            i0 = s + j * step
            i1 = i0 + step
            i2 = i1 + step
            i3 = i2 + step
            d0 = zero
            d1 = zero
            d2 = zero
            d3 = zero
            for e in range(E):
                ve = v[e]
                d0 += xs[i0, e] * ve
                d1 += xs[i1, e] * ve
                d2 += xs[i2, e] * ve
                d3 += xs[i3, e] * ve
            dk[j] = d0
            dk[j + 1] = d1
            dk[j + 2] = d2
            dk[j + 3] = d3
            j += 4
        while j < cnt:
            i0 = s + j * step
            d0 = zero
            for e in range(E):
                d0 += xs[i0, e] * v[e]
            dk[j] = d0
            j += 1
        W = zero
        D = zero
        for j in range(cnt):
            w = ws[s + j * step]
            W += w
            D += w * dk[j]
        c = D / W if W > 0 else zero
        return cnt, W, c

    @njit(cache=True, fastmath=fast, boundscheck=False)
    def _matvec(xs, ws, s, m, step, v, dk, t):  # pragma: no cover - compiled
        # t = W C v: the weighted covariance of the node's sampled rows (times the total
        # weight W) applied to v, as sum_i w_i (x_i.v - c) x_i; dk as in _dots. Returns W.
        E = xs.shape[1]
        cnt, W, c = _dots(xs, ws, s, m, step, v, dk)
        zero = v[0] - v[0]
        for e in range(E):
            t[e] = zero
        if not W > 0:
            return W
        j = 0
        while j + 4 <= cnt:
            i0 = s + j * step
            i1 = i0 + step
            i2 = i1 + step
            i3 = i2 + step
            a0 = ws[i0] * (dk[j] - c)
            a1 = ws[i1] * (dk[j + 1] - c)
            a2 = ws[i2] * (dk[j + 2] - c)
            a3 = ws[i3] * (dk[j + 3] - c)
            for e in range(E):
                t[e] += a0 * xs[i0, e] + a1 * xs[i1, e] + a2 * xs[i2, e] + a3 * xs[i3, e]
            j += 4
        while j < cnt:
            i0 = s + j * step
            a0 = ws[i0] * (dk[j] - c)
            for e in range(E):
                t[e] += a0 * xs[i0, e]
            j += 1
        return W

    @njit(cache=True, fastmath=fast, boundscheck=False)
    def _variance(xs, ws, s, m, step, v, dk):  # pragma: no cover - compiled
        # dk as in _dots, and W times the weighted variance of x.v.
        cnt, W, c = _dots(xs, ws, s, m, step, v, dk)
        var = 0.0
        for j in range(cnt):
            var += ws[s + j * step] * (dk[j] - c) ** 2
        return var

    @njit(cache=True, fastmath=fast, boundscheck=False)
    def _axis(xs, ws, s, m, step, K, V, T, P, Q, R, y, y2, dots, t,
              second):  # pragma: no cover - compiled
        # The node's principal axis: the top Ritz vector of its sampled rows' weighted
        # covariance C in the Krylov space {v, Cv, ..., C^K v} of v = V[0] (Lanczos with full
        # re-orthogonalisation of E-dimensional vectors): K passes over the rows with a
        # matrix-vector product and one with dot products only, the cost of K power iterations
        # and the projection, but the best axis of the whole space instead of its last vector.
        # On return V[:nb] is the basis, y[:nb] the axis' coefficients (y2[:nb] the second
        # Ritz vector's if ``second``), dots[:nb] the rows' dot products with the basis.
        E = xs.shape[1]
        zero = V[0, 0] - V[0, 0]
        nb = 1
        for k in range(K):
            W = _matvec(xs, ws, s, m, step, V[k], dots[k], t)
            if not W > 0:
                break
            # T = V' (W C) V, one column per product; its entries are also the coefficients
            # of the (classical) Gram-Schmidt step, done twice for float32 rows. E-long loops
            # in the rows' dtype so that they vectorise.
            for r in range(2):
                for j in range(k + 1):
                    p = zero
                    for e in range(E):
                        p += V[j, e] * t[e]
                    if r == 0:
                        T[j, k] = p
                        T[k, j] = p
                    for e in range(E):
                        t[e] -= p * V[j, e]
            nrm = zero
            for e in range(E):
                nrm += t[e] * t[e]
            if not (nrm > 0 and nrm > 1e-12 * T[k, k]):
                break
            nrm = np.sqrt(nrm)
            inv = 1 / nrm
            for e in range(E):
                V[k + 1, e] = t[e] * inv
            # Lanczos: C V[k] lies in span(V[:k + 2]), so V[k + 1]' W C V[j] = 0 for j < k
            for j in range(k):
                T[j, k + 1] = 0.0
                T[k + 1, j] = 0.0
            T[k, k + 1] = nrm
            T[k + 1, k] = nrm
            nb = k + 2
        if nb > 1:
            T[nb - 1, nb - 1] = _variance(xs, ws, s, m, step, V[nb - 1], dots[nb - 1])
        else:
            y[0] = 1.0
            y2[0] = 0.0
            return nb
        _top_eigenvector(T, P, Q, nb, y)
        if not second:
            return nb
        # the second: the same for T - lam1 y y' (the parent's next direction, where its
        # children's axes start)
        lam = 0.0
        for i in range(nb):
            for j in range(nb):
                lam += y[i] * T[i, j] * y[j]
        for i in range(nb):
            for j in range(nb):
                R[i, j] = T[i, j] - lam * y[i] * y[j]
        _top_eigenvector(R, P, Q, nb, y2)
        return nb

    @njit(cache=True, boundscheck=False)
    def _top_eigenvector(T, P, Q, nb, y):  # pragma: no cover - compiled
        # of the symmetric PSD T[:nb, :nb]: repeated squaring (T^64, renormalised), then its
        # column with the largest diagonal entry
        for i in range(nb):
            for j in range(nb):
                P[i, j] = T[i, j]
        for _ in range(6):
            mx = 0.0
            for i in range(nb):
                for j in range(nb):
                    a = 0.0
                    for k in range(nb):
                        a += P[i, k] * P[k, j]
                    Q[i, j] = a
                    mx = max(mx, abs(a))
            if not mx > 0:
                break
            for i in range(nb):
                for j in range(nb):
                    P[i, j] = Q[i, j] / mx
        best = 0
        for i in range(nb):
            if P[i, i] > P[best, best]:
                best = i
        nrm = 0.0
        for i in range(nb):
            nrm += P[i, best] ** 2
        if not nrm > 0:
            for i in range(nb):
                y[i] = 0.0
            return
        nrm = np.sqrt(nrm)
        for i in range(nb):
            y[i] = P[i, best] / nrm

    @njit(cache=True, boundscheck=False)
    def _select(a, m, k):  # pragma: no cover - compiled
        """Reorder the distinct keys ``a[:m]`` so that ``a[:k]`` are the k smallest.

        Quickselect (median-of-three pivot) with a branch-free Lomuto partition.
        """
        lo = 0
        hi = m - 1
        while lo < hi:
            mid = (lo + hi) // 2  # the median of three goes to a[hi] as the pivot
            if a[mid] < a[lo]:
                a[mid], a[lo] = a[lo], a[mid]
            if a[hi] < a[lo]:
                a[hi], a[lo] = a[lo], a[hi]
            if a[mid] < a[hi]:
                a[mid], a[hi] = a[hi], a[mid]
            pv = a[hi]
            j = lo
            for i in range(lo, hi):
                ai = a[i]
                a[i] = a[j]
                a[j] = ai
                j += ai < pv
            a[hi] = a[j]
            a[j] = pv
            if j == k:
                break
            if k < j:
                hi = j - 1
            else:
                lo = j + 1

    @njit(cache=True, fastmath=fast, boundscheck=False)
    def _order_segment(x, w, lo, n_seg, seg, leaf, iters, out, xs, ws, ps, xd, wd, pd, proj,
                       key, p32, mu, V, T, P, Q, R, y, y2, dots, t, rng, axes, axes_new,
                       yv):  # pragma: no cover - compiled
        E = x.shape[1]
        n = x.shape[0]
        # Rows are centred on the mean of the weighted rows (no split depends on a shift).
        cnt = 0
        for e in range(E):
            mu[e] = 0.0
        for j in range(lo, lo + n_seg):
            if w[j] > 0:
                cnt += 1
                for e in range(E):
                    mu[e] += x[j, e]
        for e in range(E):
            mu[e] /= max(cnt, 1)
        # Weight-0 rows become zeros: their values never matter (they sort last and the
        # passes add them with weight 0), and whatever they held (inf, nan) cannot leak.
        for i in range(seg):
            j = lo + i
            if i < n_seg and w[j] > 0:
                ps[i] = j
                ws[i] = w[j]
                for e in range(E):
                    xs[i, e] = x[j, e] - mu[e]
            else:
                ps[i] = j if i < n_seg else n
                ws[i] = 0.0
                for e in range(E):
                    xs[i, e] = 0.0
        mul = np.uint64(6364136223846793005)
        inc = np.uint64(1442695040888963407)
        shift = np.uint64(40)
        state = rng[0]
        bits = p32.view(np.uint32)
        sign = np.uint64(0x80000000)
        low = np.uint64(0xFFFFFFFF)
        hshift = np.uint64(32)
        m = seg
        while m > leaf:
            half = m // 2
            final = half <= leaf  # the split into leaves: only the order is needed after it
            step = max(1, m // SUB)
            # Lanczos steps: all of them on (subsampled) big nodes; one fewer on nodes read in
            # full, which start from their parent's axis; one for the split into leaves.
            if step > 1:
                K = iters
            elif not final:
                K = max(iters - 1, min(iters, 1))
            else:
                K = min(iters, 1)
            for s in range(0, seg, m):
                node = s // m
                start = 0.0
                if iters > 0 and m < seg:
                    for e in range(E):
                        V[0, e] = axes[(node // 2) * E + e]
                        start += V[0, e] * V[0, e]
                    if start > 0.25:  # (axis + second)/sqrt 2 is not unit when nb < 2
                        inv0 = 1.0 / np.sqrt(start)
                        for e in range(E):
                            V[0, e] *= inv0
                if not start > 0.25:
                    # random start (a 64-bit LCG: the draws of a node cost nanoseconds)
                    nrm = 0.0
                    for e in range(E):
                        state = state * mul + inc
                        r = np.float64(state >> shift) * (1.0 / 16777216.0) - 0.5
                        V[0, e] = r
                        nrm += r * r
                    nrm = 1.0 / np.sqrt(nrm)
                    for e in range(E):
                        V[0, e] *= nrm
                nb = _axis(xs, ws, s, m, step, K, V, T, P, Q, R, y, y2, dots, t, not final)
                # the axis u = V' y (in t) and the projections (for fully sampled nodes,
                # combinations of the dot products of the last passes)
                for j in range(nb):
                    yv[j] = y[j]
                for e in range(E):
                    t[e] = yv[0] * V[0, e]
                for j in range(1, nb):
                    for e in range(E):
                        t[e] += yv[j] * V[j, e]
                if step == 1 and K > 0:
                    for i in range(m):
                        proj[i] = yv[0] * dots[0, i]
                    for j in range(1, nb):
                        for i in range(m):
                            proj[i] += yv[j] * dots[j, i]
                else:
                    for i in range(m):
                        d = t[0] - t[0]
                        for e in range(E):
                            d += xs[s + i, e] * t[e]
                        proj[i] = d
                if not final:
                    # the children's start: the node's axis (a good start on real keys) plus
                    # its second Ritz vector, along which children whose spread along the axis
                    # is gone (well separated clusters) spread next; equal parts measured best
                    for j in range(nb):
                        yv[j] = (y[j] + y2[j]) * 0.7071067811865476
                    for e in range(E):
                        axes_new[node * E + e] = yv[0] * V[0, e]
                    for j in range(1, nb):
                        for e in range(E):
                            axes_new[node * E + e] += yv[j] * V[j, e]
                # sort keys: the projection's order-preserving float32 bits, then the row
                # (distinct keys, no ties); weight-0 rows get the largest key (sorted last)
                for i in range(m):
                    if ws[s + i] > 0:
                        p32[i] = min(max(proj[i], -3.0e38), 3.0e38)
                    else:
                        p32[i] = np.inf
                for i in range(m):
                    bi = np.uint64(bits[i])
                    if bi & sign:
                        bi = ~bi & low
                    else:
                        bi = bi | sign
                    if not ws[s + i] > 0:
                        bi = low
                    key[i] = (bi << hshift) | np.uint64(i)
                _select(key, m, half)
                if final:
                    for j in range(m):
                        pd[s + j] = ps[s + np.int64(key[j] & low)]
                    continue
                for j in range(m):
                    src = s + np.int64(key[j] & low)
                    for e in range(E):
                        xd[s + j, e] = xs[src, e]
                    wd[s + j] = ws[src]
                    pd[s + j] = ps[src]
            xs, xd = xd, xs
            axes, axes_new = axes_new, axes
            ws, wd = wd, ws
            ps, pd = pd, ps
            m = half
        rng[0] = state
        for i in range(seg):
            out[i] = ps[i]

    @njit(cache=True, nogil=True)
    def order(x, w, seg, leaf, iters, seed, first, last, out):  # pragma: no cover - compiled
        n, E = x.shape[1], x.shape[2]
        nseg = out.shape[1] // seg
        K = max(0, iters)
        xs = np.empty((seg, E), dtype=x.dtype)
        xd = np.empty((seg, E), dtype=x.dtype)
        ws = np.empty(seg, dtype=x.dtype)
        wd = np.empty(seg, dtype=x.dtype)
        ps = np.empty(seg, dtype=np.int64)
        pd = np.empty(seg, dtype=np.int64)
        proj = np.empty(seg, dtype=x.dtype)
        key = np.empty(seg, dtype=np.uint64)
        p32 = np.empty(seg, dtype=np.float32)
        mu = np.empty(E, dtype=x.dtype)
        V = np.empty((K + 1, E), dtype=x.dtype)
        T = np.empty((K + 1, K + 1))
        P = np.empty((K + 1, K + 1))
        Q = np.empty((K + 1, K + 1))
        R = np.empty((K + 1, K + 1))
        y2 = np.empty(K + 1)
        y = np.empty(K + 1)
        yv = np.empty(K + 1, dtype=x.dtype)
        dots = np.empty((K + 1, min(seg, 2 * SUB)), dtype=x.dtype)
        t = np.empty(E, dtype=x.dtype)
        rng = np.empty(1, dtype=np.uint64)
        axes = np.empty(seg * E, dtype=x.dtype)
        axes_new = np.empty(seg * E, dtype=x.dtype)
        for job in range(first * nseg, last * nseg):
            h = job // nseg
            lo = (job % nseg) * seg
            np.random.seed(seed + job)
            rng[0] = np.uint64(np.random.randint(1, 2**62)) * np.uint64(2) + np.uint64(1)
            _order_segment(x[h], w[h], lo, min(seg, n - lo), seg, leaf, K,
                           out[h, lo:lo + seg], xs, ws, ps, xd, wd, pd, proj, key, p32, mu, V, T,
                           P, Q, R, y, y2, dots, t, rng, axes, axes_new, yv)

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
        iters: Lanczos steps (matrix-vector products) per split of a big node; one fewer
            below ``2 * SUB`` rows, one for the split into leaves; 0 = random axes.
        seed: seeds the random start of each segment's root axis.

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
