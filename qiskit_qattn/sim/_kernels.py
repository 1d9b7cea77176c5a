"""Numba kernels on batches of dense statevectors ``state[batch, 2**n]`` (little-endian qubits).

Every kernel is a lazy ``njit`` (no signature, ``cache=True``): nothing compiles at import; the
first call compiles one specialisation per dtype (complex128 or complex64) and caches it on disk.
Matrices must have the state's dtype so complex64 runs stay in single precision.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Low qubits whose mixers are applied inside one cache-resident block (2**12 amplitudes).
BLOCK_QUBITS = 12


@njit(cache=True)
def _insert_zero(k, bit):
    """Insert a 0 bit at position ``bit`` of ``k``."""
    low = k & ((1 << bit) - 1)
    return ((k >> bit) << (bit + 1)) | low


@njit(cache=True)
def apply_1q(state, q, mat):
    """Apply the 2x2 ``mat`` to qubit ``q`` of every row of ``state`` in place."""
    batch, size = state.shape
    s = 1 << q
    m00 = mat[0, 0]
    m01 = mat[0, 1]
    m10 = mat[1, 0]
    m11 = mat[1, 1]
    for b in range(batch):
        row = state[b]
        for hi in range(0, size, 2 * s):
            for i in range(hi, hi + s):
                a0 = row[i]
                a1 = row[i + s]
                row[i] = m00 * a0 + m01 * a1
                row[i + s] = m10 * a0 + m11 * a1


@njit(cache=True)
def apply_kq(state, qubits, mat):
    """Apply the ``2**k x 2**k`` ``mat`` to ``qubits`` (``qubits[0]`` = least significant)."""
    batch, size = state.shape
    k = qubits.shape[0]
    dim = 1 << k
    order = np.sort(qubits)
    offsets = np.zeros(dim, dtype=np.int64)
    for sub in range(dim):
        off = 0
        for j in range(k):
            if (sub >> j) & 1:
                off |= 1 << qubits[j]
        offsets[sub] = off
    tmp = np.empty(dim, dtype=state.dtype)
    for b in range(batch):
        row = state[b]
        for c in range(size >> k):
            base = c
            for j in range(k):
                base = _insert_zero(base, order[j])
            for sub in range(dim):
                tmp[sub] = row[base + offsets[sub]]
            for r in range(dim):
                acc = mat[r, 0] * tmp[0]
                for sub in range(1, dim):
                    acc += mat[r, sub] * tmp[sub]
                row[base + offsets[r]] = acc


@njit(cache=True)
def apply_diagonal(state, qubits, diag):
    """Multiply each amplitude by ``diag[index restricted to qubits]`` (little-endian)."""
    batch, size = state.shape
    k = qubits.shape[0]
    for b in range(batch):
        row = state[b]
        for i in range(size):
            sub = 0
            for j in range(k):
                sub |= ((i >> qubits[j]) & 1) << j
            row[i] *= diag[sub]


@njit(cache=True)
def apply_multiplexed(state, target, controls, mats):
    """Uniformly controlled 2x2 gate: ``mats[c]`` acts on ``target`` when controls read ``c``."""
    batch, size = state.shape
    k = controls.shape[0]
    s = 1 << target
    for b in range(batch):
        row = state[b]
        for c in range(size >> 1):
            i = _insert_zero(c, target)
            sub = 0
            for j in range(k):
                sub |= ((i >> controls[j]) & 1) << j
            a0 = row[i]
            a1 = row[i + s]
            row[i] = mats[sub, 0, 0] * a0 + mats[sub, 0, 1] * a1
            row[i + s] = mats[sub, 1, 0] * a0 + mats[sub, 1, 1] * a1


@njit(cache=True)
def apply_prepare(state, qubits, amps):
    """Replace qubits that are in ``|0>`` by the state ``amps`` (``qubits[0]`` = low bit)."""
    batch, size = state.shape
    k = qubits.shape[0]
    mask = 0
    for j in range(k):
        mask |= 1 << qubits[j]
    for b in range(batch):
        row = state[b]
        # descending order: the source index (bits cleared) is never overwritten before use
        for i in range(size - 1, -1, -1):
            sub = 0
            for j in range(k):
                sub |= ((i >> qubits[j]) & 1) << j
            row[i] = row[i & ~mask] * amps[sub]


@njit(cache=True)
def probabilities(state, out):
    """``out[b, i] = |state[b, i]|**2`` in float64."""
    batch, size = state.shape
    for b in range(batch):
        for i in range(size):
            v = state[b, i]
            out[b, i] = v.real * v.real + v.imag * v.imag


@njit(cache=True)
def fwht_rows(x):
    """In-place unnormalised Walsh–Hadamard transform of every row of a real 2-D array."""
    batch, size = x.shape
    for b in range(batch):
        row = x[b]
        h = 1
        while h < size:
            for hi in range(0, size, 2 * h):
                for i in range(hi, hi + h):
                    a = row[i]
                    c = row[i + h]
                    row[i] = a + c
                    row[i + h] = a - c
            h *= 2


@njit(cache=True)
def pauli_expectation(state, xmask, zmask):
    """``sum_i conj(psi_i) (-1)**|i & z| psi_{i ^ x}`` for each row (multiply by ``(-i)**q``)."""
    batch, size = state.shape
    out = np.zeros(batch, dtype=np.complex128)
    for b in range(batch):
        row = state[b]
        acc = 0.0 + 0.0j
        for i in range(size):
            v = np.conj(row[i]) * row[i ^ xmask]
            parity = 0
            t = i & zmask
            while t:
                t &= t - 1
                parity ^= 1
            if parity:
                acc -= v
            else:
                acc += v
        out[b] = acc
    return out


# Phases e^{iθ} are a table value e^{i k h} times a short Taylor series in |r| <= h/2.
_PHASE_STEPS = 16  # table entries per radian (h = 1/16: |r| <= 1/32, Taylor error < 1e-17)
_PHASE_TABLE_MAX = 1 << 20


@njit(cache=True, fastmath=True)
def _cis_small(r):
    r2 = r * r
    c = 1.0 - r2 * (0.5 - r2 * (1.0 / 24.0 - r2 * (1.0 / 720.0 - r2 / 40320.0)))
    s = r * (1.0 - r2 * (1.0 / 6.0 - r2 * (1.0 / 120.0 - r2 * (1.0 / 5040.0 - r2 / 362880.0))))
    return c, s


@njit(cache=True)
def _phase_table(theta_min, theta_max):
    k0 = int(np.floor(theta_min * _PHASE_STEPS + 0.5))
    k1 = int(np.floor(theta_max * _PHASE_STEPS + 0.5))
    size = k1 - k0 + 1
    tc = np.empty(size)
    ts = np.empty(size)
    for k in range(size):
        angle = (k0 + k) / _PHASE_STEPS
        tc[k] = np.cos(angle)
        ts[k] = np.sin(angle)
    return k0, tc, ts


@njit(cache=True, fastmath=True)
def _phase_block(f, start, stop, b, scores, keep, g, fill_c, fill_s, k0, tc, ts):
    """Multiply amplitudes ``start:stop`` of the real view ``f`` by ``e^{i g s_j}``."""
    n = scores.shape[1]
    for i in range(start, min(stop, n)):
        if keep[b, i]:
            theta = g * scores[b, i]
            kf = np.floor(theta * _PHASE_STEPS + 0.5)
            cr, sr = _cis_small(theta - kf / _PHASE_STEPS)
            k = int(kf) - k0
            c = tc[k] * cr - ts[k] * sr
            s = ts[k] * cr + tc[k] * sr
        else:
            c = fill_c
            s = fill_s
        re = f[2 * i]
        im = f[2 * i + 1]
        f[2 * i] = re * c - im * s
        f[2 * i + 1] = re * s + im * c
    for i in range(max(start, n), stop):
        re = f[2 * i]
        im = f[2 * i + 1]
        f[2 * i] = re * fill_c - im * fill_s
        f[2 * i + 1] = re * fill_s + im * fill_c


@njit(cache=True, fastmath=True)
def _rx_qubit(f, start, stop, q, c, s):
    """``RX(2β)`` (``c = cos β``, ``s = sin β``) on qubit ``q`` of amplitudes ``start:stop``."""
    stride = 1 << q
    for hi in range(start, stop, 2 * stride):
        for i in range(hi, hi + stride):
            j = i + stride
            r0 = f[2 * i]
            i0 = f[2 * i + 1]
            r1 = f[2 * j]
            i1 = f[2 * j + 1]
            f[2 * i] = c * r0 + s * i1
            f[2 * i + 1] = c * i0 - s * r1
            f[2 * j] = c * r1 + s * i0
            f[2 * j + 1] = c * i1 - s * r0


@njit(cache=True, fastmath=True)
def _rx8(f, a, b, c, s):
    # one RX butterfly on amplitudes a and b of the real view (inlined by LLVM)
    r0 = f[2 * a]
    i0 = f[2 * a + 1]
    r1 = f[2 * b]
    i1 = f[2 * b + 1]
    f[2 * a] = c * r0 + s * i1
    f[2 * a + 1] = c * i0 - s * r1
    f[2 * b] = c * r1 + s * i0
    f[2 * b + 1] = c * i1 - s * r0


@njit(cache=True, fastmath=True)
def _rx_three_qubits(f, q, c, s):
    """RX on qubits ``q, q+1, q+2`` in one pass over the state (memory-bound high qubits)."""
    s1 = 1 << q
    size = f.shape[0] // 2
    for hi in range(0, size, 8 * s1):
        for i in range(hi, hi + s1):
            for k in range(4):  # qubit q: pairs differing in bit q
                base = i + ((k & 1) << 1) * s1 + ((k >> 1) << 2) * s1
                _rx8(f, base, base + s1, c, s)
            for k in range(4):  # qubit q+1
                base = i + (k & 1) * s1 + ((k >> 1) << 2) * s1
                _rx8(f, base, base + 2 * s1, c, s)
            for k in range(4):  # qubit q+2
                base = i + k * s1
                _rx8(f, base, base + 4 * s1, c, s)


@njit(cache=True)
def _phase_block_direct(f, start, stop, b, scores, keep, g, fill_c, fill_s):
    n = scores.shape[1]
    for i in range(start, stop):
        if i < n and keep[b, i]:
            c = np.cos(g * scores[b, i])
            s = np.sin(g * scores[b, i])
        else:
            c = fill_c
            s = fill_s
        re = f[2 * i]
        im = f[2 * i + 1]
        f[2 * i] = re * c - im * s
        f[2 * i + 1] = re * s + im * c


@njit(cache=True)
def qaoa_rows(state_f, scores, keep, fill, inv_tau, gammas, mix_c, mix_s, block_qubits):
    """QAOA attention states, one per row, without building a circuit.

    For row ``b``: start from the uniform state, then for each layer ``l`` multiply amplitude
    ``j`` by ``exp(i γ_l d_j)`` with ``d_j = scores[b, j] / τ`` on kept keys and ``fill[b] / τ``
    on masked and padding keys, and apply ``RX(2 β_l)`` to every qubit. Cost ``O(p n m)`` per row;
    the phase and the mixers of the low qubits share one cache-resident pass over each block,
    the remaining qubits take one pass per three qubits. Phases come from a small table of
    ``e^{i k/16}`` times a Taylor series (no per-amplitude ``cos``/``sin``).

    Args:
        state_f: output ``[batch, 2 * 2**m]`` real view (float64 or float32) of the complex
            states (overwritten).
        scores: ``[batch, n]`` float64 scores (``n <= 2**m``).
        keep: ``[batch, n]`` bool keep-mask.
        fill: ``[batch]`` score used for masked and padding keys.
        inv_tau: ``1 / temperature``.
        gammas: ``[batch, p]`` phase angles.
        mix_c: ``[batch, p]`` ``cos β_l`` in the view's dtype.
        mix_s: ``[batch, p]`` ``sin β_l`` in the view's dtype.
        block_qubits: low qubits handled in one cache-resident pass.
    """
    batch = state_f.shape[0]
    size = state_f.shape[1] // 2
    n = scores.shape[1]
    m = 0
    while (1 << m) < size:
        m += 1
    reps = gammas.shape[1]
    low = min(m, block_qubits)
    block = 1 << low
    amp = 1.0 / np.sqrt(size)
    for b in range(batch):
        f = state_f[b]
        for i in range(size):
            f[2 * i] = amp
            f[2 * i + 1] = 0.0
        lo = fill[b]
        hi = fill[b]
        for i in range(n):
            if keep[b, i]:
                lo = min(lo, scores[b, i])
                hi = max(hi, scores[b, i])
        for layer in range(reps):
            g = gammas[b, layer] * inv_tau
            c = mix_c[b, layer]
            s = mix_s[b, layer]
            fill_c = np.cos(g * fill[b])
            fill_s = np.sin(g * fill[b])
            t_lo, t_hi = min(g * lo, g * hi), max(g * lo, g * hi)
            # an absurdly wide angle range would need a huge table: use cos/sin directly
            use_table = (t_hi - t_lo) * _PHASE_STEPS < _PHASE_TABLE_MAX
            k0, tc, ts = _phase_table(t_lo, t_hi) if use_table else _phase_table(0.0, 0.0)
            for start in range(0, size, block):
                if use_table:
                    _phase_block(f, start, start + block, b, scores, keep, g, fill_c, fill_s,
                                 k0, tc, ts)
                else:
                    _phase_block_direct(f, start, start + block, b, scores, keep, g,
                                        fill_c, fill_s)
                for q in range(low):
                    _rx_qubit(f, start, start + block, q, c, s)
            q = low
            while q + 3 <= m:  # three qubits per pass over memory
                _rx_three_qubits(f, q, c, s)
                q += 3
            while q < m:
                _rx_qubit(f, 0, size, q, c, s)
                q += 1


@njit(cache=True)
def small_qr(a):
    """Reduced QR of a small contiguous matrix (LAPACK through Numba: no Python overhead)."""
    return np.linalg.qr(a)


@njit(cache=True)
def small_svd(a):
    """Thin SVD of a small contiguous matrix (LAPACK through Numba)."""
    return np.linalg.svd(a, full_matrices=False)


@njit(cache=True)
def kept_singular_values(s, cutoff, max_bond):
    """How many singular values of ``s`` (descending) to keep.

    Drops the longest tail whose squared sum is at most ``cutoff`` times the total (quimb's
    ``rsum2`` rule), then caps at ``max_bond`` (``<= 0``: no cap).
    """
    keep = 0
    for k in range(s.shape[0]):
        if s[k] > 0:
            keep = k + 1
    keep = max(keep, 1)
    if cutoff > 0 and keep > 1:
        total = 0.0
        for k in range(keep):
            total += s[k] * s[k]
        allowed = cutoff * total
        tail = 0.0
        k = keep
        while k > 1:
            tail += s[k - 1] * s[k - 1]
            if tail > allowed:
                break
            k -= 1
        keep = k
    if max_bond > 0 and keep > max_bond:
        keep = max_bond
    return keep
