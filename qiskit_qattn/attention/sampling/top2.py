"""The best and second-best entry of every row: what routes a query to its key blocks.

``torch`` needs two ``argmax`` passes and a ``scatter`` for this (~22 ms for 12 heads x 4096
queries x 64 blocks on one thread), ``topk(2)`` ~30 ms; one Numba pass over tiles of rows,
each tile transposed so the comparisons run branch-free across rows, takes ~3 ms.
:func:`route_order` sorts the rows by that pair with a counting sort in the same kernel
(a stable ``torch.sort`` of the keys took as long as the top-2 pass).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_KERNELS: dict[str, Any] = {}

#: Rows per tile of the kernel (a tile of 32 rows x 64 candidates stays in L1).
TILE = 32


def _kernel():
    """Compile on first use (nothing is compiled at import)."""
    if "top2" in _KERNELS:
        return _KERNELS["top2"]
    from numba import njit

    @njit(cache=True, nogil=True, boundscheck=False)
    def top2(x, first, second, tile_rows):  # pragma: no cover - compiled
        rows, cols = x.shape
        tile = np.empty((cols, tile_rows), dtype=x.dtype)
        v1 = np.empty(tile_rows, dtype=x.dtype)
        v2 = np.empty(tile_rows, dtype=x.dtype)
        f1 = np.zeros(tile_rows, dtype=np.int64)
        f2 = np.zeros(tile_rows, dtype=np.int64)
        for r0 in range(0, rows, tile_rows):
            n = min(tile_rows, rows - r0)
            for i in range(n):
                for j in range(cols):
                    tile[j, i] = x[r0 + i, j]
            for i in range(tile_rows):
                v1[i] = tile[0, i]
                f1[i] = 0
                v2[i] = -np.inf
                f2[i] = 0
            # the inner loop runs across the tile's rows, branch-free: LLVM vectorises it
            for j in range(1, cols):
                for i in range(tile_rows):
                    v = tile[j, i]
                    a1 = v1[i]
                    big = v > a1
                    mid = v > v2[i]
                    v2[i] = a1 if big else (v if mid else v2[i])
                    f2[i] = f1[i] if big else (j if mid else f2[i])
                    v1[i] = v if big else a1
                    f1[i] = j if big else f1[i]
            for i in range(n):
                first[r0 + i] = f1[i]
                second[r0 + i] = f2[i]

    @njit(cache=True, nogil=True, boundscheck=False)
    def order(x, group, n_groups, tile_rows, out):  # pragma: no cover - compiled
        # x [H, rows, n]; rows sorted by (group, best, second best), stable (counting sort)
        H, rows, n = x.shape
        first = np.empty(rows, dtype=np.int64)
        second = np.empty(rows, dtype=np.int64)
        buckets = n_groups * n * n
        count = np.zeros(buckets + 1, dtype=np.int64)
        key = np.empty(rows, dtype=np.int64)
        for h in range(H):
            top2(x[h], first, second, tile_rows)
            count[:] = 0
            for i in range(rows):
                key[i] = (group[i] * n + first[i]) * n + second[i]
                count[key[i] + 1] += 1
            for b in range(buckets):
                count[b + 1] += count[b]
            for i in range(rows):
                out[h, count[key[i]]] = i
                count[key[i]] += 1

    _KERNELS["top2"] = top2
    _KERNELS["order"] = order
    return top2


def top2_along_last_axis(x) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the largest and second-largest entry of every row.

    The layout is ``[..., rows, n]``: each row holds ``n`` candidates (e.g. key-block scores
    ``[heads, queries, blocks]``, one ``bmm`` away). Ties go to the lower index; with
    ``n == 1`` the second index repeats the first.

    Args:
        x: ``[..., rows, n]`` float array or tensor (no gradient).

    Returns:
        ``(first, second)``: ``int64`` arrays of shape ``x.shape[:-1]``.

    Example:
        >>> first, second = top2_along_last_axis(np.array([[1.0, 5.0, 3.0], [2.0, 2.0, 0.0]]))
        >>> first.tolist(), second.tolist()
        ([1, 0], [2, 1])
    """
    a = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    n = a.shape[-1]
    flat = np.ascontiguousarray(a.reshape(-1, n))
    first = np.empty(flat.shape[0], dtype=np.int64)
    second = np.empty(flat.shape[0], dtype=np.int64)
    if flat.shape[0]:
        _kernel()(flat, first, second, TILE)
    if n == 1:
        second = first.copy()
    shape = a.shape[:-1]
    return first.reshape(shape), second.reshape(shape)


def route_order(x, group=None) -> np.ndarray:
    """Row order by ``(group, best column, second-best column)``, stable, per batch entry.

    Args:
        x: ``[H, rows, n]`` float array or tensor (e.g. key-block scores of every query).
        group: optional ``int64 [rows]`` leading sort key (e.g. a causal position chunk),
            values in ``[0, groups)``.

    Returns:
        ``int64 [H, rows]``: the row indices in that order.

    Example:
        >>> route_order(np.array([[[0.0, 2.0, 1.0], [3.0, 1.0, 0.0], [0.0, 5.0, 4.0]]]))
        array([[1, 0, 2]])
    """
    a = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    a = np.ascontiguousarray(a)
    H, rows, n = a.shape
    g = np.zeros(rows, dtype=np.int64) if group is None else np.ascontiguousarray(
        np.asarray(group, dtype=np.int64))
    n_groups = int(g.max()) + 1 if rows else 1
    out = np.empty((H, rows), dtype=np.int64)
    if rows == 0:
        return out
    if n == 1:  # one candidate: by group only
        return np.broadcast_to(np.argsort(g, kind="stable"), (H, rows)).copy()
    if n_groups * n * n > 8 * rows + 2**16:  # more buckets than rows: a comparison sort
        first, second = top2_along_last_axis(a)
        return np.argsort((g * n + first) * n + second, axis=-1, kind="stable")
    _kernel()
    _KERNELS["order"](a, g, n_groups, TILE, out)
    return out
