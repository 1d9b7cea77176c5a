"""Attention outputs from key-register outcome statistics (exact, shots, or mitigated).

A measured key index ``j`` is a Born-rule sample of the attention row. Output column ``c`` is
estimated by the ratio estimator over *kept* keys, ``ô_c = sum_kept n_j V[j,c] / sum_kept n_j``,
which removes the weight a noisy or approximate circuit puts on padding and masked keys. Its
standard error (delta method) is ``sqrt(sample variance of V[j,c] over kept shots / N_kept)``.
With mitigated distributions and their covariances (:func:`outputs_with_covariance`) the
gradient of ``o_c`` in ``p`` is ``keep_j (V[j,c] - o_c) / sum_kept p`` and
``Var o_c = g^T Cov(p) g``, which carries the amplification by an inverse confusion matrix.
"""

from __future__ import annotations

import numpy as np


def outputs_from_counts(
    counts: np.ndarray, values: np.ndarray, keep: np.ndarray, *, exact: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate outputs, their standard errors and the kept-key weights from counts.

    Args:
        counts: ``[n_q, 2**m]`` outcome counts, or exact probabilities with ``exact=True``.
        values: ``[2**m, d_v]`` padded value matrix.
        keep: ``[n_q, 2**m]`` boolean, ``True`` on kept keys.
        exact: ``counts`` are exact probabilities: standard errors are zero.

    Returns:
        ``(outputs [n_q, d_v], std_errors [n_q, d_v], weights [n_q, 2**m])``.

    Example:
        >>> o, se, w = outputs_from_counts(
        ...     np.array([[3, 1]]), np.array([[0.0], [1.0]]), np.array([[True, True]]))
        >>> o.tolist(), w.tolist()
        ([[0.25]], [[0.75, 0.25]])
    """
    kept = np.where(keep, counts, 0).astype(np.float64)
    total = kept.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        rows = np.flatnonzero(total[:, 0] <= 0).tolist()
        raise ValueError(f"no outcome landed on a kept key for queries {rows}; add shots")
    weights = kept / total
    outputs = weights @ values
    second = weights @ values**2
    variance = np.clip(second - outputs**2, 0.0, None)
    if exact:
        return outputs, np.zeros_like(outputs), weights
    # Unbiased sample variance over the kept shots, divided by their number.
    std = np.sqrt(variance / np.maximum(total - 1, 1))
    return outputs, std, weights


def outputs_with_covariance(
    probs: np.ndarray, covs: np.ndarray, values: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outputs, standard errors and kept-key weights from distributions and their covariances.

    Args:
        probs: ``[n, 2**m]`` outcome distributions (mitigated ones may hold small negatives).
        covs: ``[n, 2**m, 2**m]`` their covariances.
        values: ``[2**m, d_v]`` padded value matrix.
        keep: ``[n, 2**m]`` boolean kept keys.

    Returns:
        ``(outputs [n, d_v], std_errors [n, d_v], weights [n, 2**m])``.

    Example:
        >>> p = np.array([[0.75, 0.25]])
        >>> cov = (np.diag(p[0]) - np.outer(p[0], p[0]))[None] / 100
        >>> keep = np.ones((1, 2), bool)
        >>> o, se, w = outputs_with_covariance(p, cov, np.array([[0.0], [1.0]]), keep)
        >>> o.tolist(), round(float(se[0, 0]), 4)
        ([[0.25]], 0.0433)
    """
    probs = np.asarray(probs, dtype=float)
    kept = np.where(keep, probs, 0.0)
    total = kept.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        rows = np.flatnonzero(total[:, 0] <= 0).tolist()
        raise ValueError(f"no probability on a kept key for queries {rows}; add shots")
    weights = kept / total
    outputs = weights @ values
    # grad[n, j, c] = keep[n, j] * (V[j, c] - o[n, c]) / total[n]
    grad = keep[:, :, None] * (values[None, :, :] - outputs[:, None, :]) / total[:, :, None]
    variance = np.einsum("njc,njk,nkc->nc", grad, covs, grad)
    return outputs, np.sqrt(np.clip(variance, 0.0, None)), weights
