"""A lean numpy MPS (TEBD with a tracked orthogonality centre) for the ``mps`` method.

Sites hold ``[left, 2, right]`` arrays; single-qubit gates act in place, two-qubit gates move the
orthogonality centre next to the pair (QR sweeps), contract, apply the gate and split by SVD with
the bond-dimension cap and a relative squared-weight cutoff (quimb's ``rsum2`` rule). Because the
split happens at the centre, the discarded squared singular values are exactly the weight lost,
and the sum of their square roots bounds ``|| psi_exact - psi_mps ||``. Non-adjacent gates are
brought together with SWAPs (each a truncating split, counted the same way) and swapped back.
"""

from __future__ import annotations

import numpy as np

_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)


def _svd(theta: np.ndarray):
    from ._kernels import small_svd

    try:
        return small_svd(np.ascontiguousarray(theta))
    except (np.linalg.LinAlgError, ValueError):  # pragma: no cover - rare gesdd failure
        import scipy.linalg

        return scipy.linalg.svd(theta, full_matrices=False, lapack_driver="gesvd")


def _qr(matrix: np.ndarray):
    from ._kernels import small_qr

    return small_qr(np.ascontiguousarray(matrix))


class NativeMPS:
    """Matrix product state of ``num_qubits`` qubits in ``|0...0>``; qubit ``i`` is site ``i``.

    Example:
        >>> mps = NativeMPS(3)
        >>> h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
        >>> cx = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]])
        >>> mps.apply_1q(0, h); mps.apply_2q(0, 2, cx)  # GHZ-like pair across a gap
        >>> mps.bond_dimension(), mps.distance_bound
        (2, 0.0)
    """

    def __init__(
        self,
        num_qubits: int,
        *,
        dtype: str | np.dtype = "complex128",
        max_bond: int | None = None,
        cutoff: float = 1e-12,
    ):
        self.dtype = np.dtype(dtype)
        self.max_bond = max_bond
        self.cutoff = float(cutoff)
        zero = np.zeros((1, 2, 1), dtype=self.dtype)
        zero[0, 0, 0] = 1.0
        self.tensors = [zero.copy() for _ in range(num_qubits)]
        self.center = 0
        self.norm2 = 1.0  # squared norm of the (truncated, unnormalised) state
        self.distance_bound = 0.0  # bound on || psi_exact - psi_mps ||
        self.splits = 0

    @property
    def num_qubits(self) -> int:
        return len(self.tensors)

    def bond_dimension(self) -> int:
        """Largest bond dimension of the state."""
        return max((t.shape[2] for t in self.tensors[:-1]), default=1)

    @property
    def truncation_error(self) -> float:
        """``1 - <psi_mps|psi_mps>``: the weight discarded so far (quimb's error estimate)."""
        return max(0.0, 1.0 - self.norm2)

    # -- canonical form -------------------------------------------------------------------------
    def _move_center(self, target: int) -> None:
        t = self.tensors
        while self.center < target:
            c = self.center
            left, phys, right = t[c].shape
            q, r = _qr(t[c].reshape(left * phys, right))
            k = q.shape[1]
            t[c] = q.reshape(left, phys, k)
            nxt = t[c + 1]
            t[c + 1] = (r @ nxt.reshape(right, -1)).reshape(k, 2, nxt.shape[2])
            self.center += 1
        while self.center > target:
            c = self.center
            left, phys, right = t[c].shape
            q, r = _qr(t[c].reshape(left, phys * right).T)
            k = q.shape[1]
            t[c] = q.T.reshape(k, phys, right)
            prev = t[c - 1]
            t[c - 1] = (prev.reshape(-1, left) @ r.T).reshape(prev.shape[0], 2, k)
            self.center -= 1

    # -- gates ----------------------------------------------------------------------------------
    def apply_1q(self, qubit: int, matrix: np.ndarray) -> None:
        """Apply a 2x2 unitary to ``qubit`` (keeps the canonical form)."""
        u = np.asarray(matrix, dtype=self.dtype)
        self.tensors[qubit] = np.einsum("ps,lsr->lpr", u, self.tensors[qubit])

    def apply_2q(self, a: int, b: int, matrix: np.ndarray) -> None:
        """Apply a 4x4 unitary, little-endian over ``(a, b)`` (index ``bit_a + 2 bit_b``)."""
        if a == b:
            raise ValueError("a two-qubit gate needs two distinct qubits")
        lo, hi = min(a, b), max(a, b)
        for k in range(hi - 1, lo, -1):  # bring qubit hi next to lo
            self._adjacent(k, k + 1, _SWAP)
        self._adjacent(a if a == lo else lo + 1, b if b == lo else lo + 1, matrix)
        for k in range(lo + 1, hi):  # and back
            self._adjacent(k, k + 1, _SWAP)

    def _adjacent(self, a: int, b: int, matrix: np.ndarray) -> None:
        i = min(a, b)
        self._move_center(i)
        g = np.asarray(matrix, dtype=self.dtype).reshape(2, 2, 2, 2)  # [b', a', b, a]
        if a == i:  # sites (i, i+1) carry (a, b): want [s_i', s_j', s_i, s_j] = [a', b', a, b]
            g = g.transpose(1, 0, 3, 2)
        left, right = self.tensors[i], self.tensors[i + 1]
        dl, dm, dr = left.shape[0], left.shape[2], right.shape[2]
        theta = (left.reshape(dl * 2, dm) @ right.reshape(dm, 2 * dr)).reshape(dl, 2, 2, dr)
        theta = np.einsum("xyst,lstr->lxyr", g, theta)
        u, s, vh = _svd(theta.reshape(dl * 2, 2 * dr))
        keep = self._kept(s)
        lost = float(np.sum(s[keep:] ** 2))
        self.splits += 1
        if lost > 0.0:
            self.norm2 -= lost
            self.distance_bound += float(np.sqrt(lost))
        u, s, vh = u[:, :keep], s[:keep], vh[:keep]
        self.tensors[i] = u.reshape(dl, 2, keep)
        self.tensors[i + 1] = (s[:, None] * vh).astype(self.dtype).reshape(keep, 2, dr)
        self.center = i + 1

    def _kept(self, s: np.ndarray) -> int:
        from ._kernels import kept_singular_values

        cap = 0 if self.max_bond is None else int(self.max_bond)
        return int(kept_singular_values(s, self.cutoff, cap))

    def site_arrays(self) -> list[np.ndarray]:
        """Sites as ``[left, right, physical]`` arrays (the layout the measurement code uses)."""
        return [t.transpose(0, 2, 1) for t in self.tensors]
