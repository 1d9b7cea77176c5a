"""Attention outputs from (mitigated) outcome distributions, with delta-method error bars.

Output column ``c`` of a query is the ratio estimator over kept keys,
``o_c = sum_kept p_j V[j,c] / sum_kept p_j``; its gradient in ``p`` is
``keep_j (V[j,c] - o_c) / sum_kept p``, so ``Var o_c = g^T Cov(p) g``. With raw counts and the
multinomial covariance this is the usual ``Var_w(V) / N_kept``; with readout mitigation
``Cov(p)`` carries the amplification by the inverse confusion matrix.
"""

from __future__ import annotations

import numpy as np


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
