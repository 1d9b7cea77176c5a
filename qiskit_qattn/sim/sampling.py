"""Shots from exact distributions: the package's one multinomial sampler."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..encoding import check_positive_int


def sample_counts(probabilities: Any, shots: int, seed: Any = None) -> np.ndarray:
    """Multinomial counts ``[rows, outcomes]`` of ``shots`` shots from each row's distribution.

    Rows are renormalised (tiny negative or rounding residues of exact simulations are clipped);
    ``seed`` is anything ``numpy.random.default_rng`` accepts (a ``Generator`` is used as is).

    Example:
        >>> sample_counts([[0.0, 1.0], [0.5, 0.5]], 10, seed=0)[0].tolist()
        [0, 10]
    """
    shots = check_positive_int(shots, "shots")
    rng = np.random.default_rng(seed)
    p = np.clip(np.atleast_2d(np.asarray(probabilities, dtype=np.float64)), 0.0, None)
    totals = p.sum(axis=1, keepdims=True)
    if np.any(totals <= 0) or not np.all(np.isfinite(totals)):
        raise ValueError("probabilities must have a positive, finite total in every row")
    p = p / totals
    return np.stack([rng.multinomial(shots, row) for row in p])
