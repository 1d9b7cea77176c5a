"""Default QAOA-attention schedules, reused for every row (never optimised per query).

``gammas`` are in units of ``1/σ`` where ``σ`` is the standard deviation of the kept scores
``s/τ`` of the row: the builder divides by ``σ``, which makes one schedule serve rows of any
spread. Fitted by ``python benchmarks/fit_default_schedule.py`` on real MiniLM score rows
(mean state fidelity with ``sqrt(softmax)``); that script prints the table below.
"""

from __future__ import annotations

import numpy as np

# reps -> (gammas, betas); written by benchmarks/fit_default_schedule.py
DEFAULT_SCHEDULES: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {
    1: ((0.349,), (-0.3695,)),  # mean fidelity 0.8444 on the fitting corpus
    2: ((0.2595, -0.2527), (-0.7379, 3.5111)),  # 0.8952
    3: ((0.2133, -0.1278, -0.3143), (-1.3242, 0.6219, 0.3455)),  # 0.9046
}


def default_schedule(reps: int) -> tuple[np.ndarray, np.ndarray]:
    """Default ``(gammas, betas)`` for ``reps`` layers (``gammas`` in units of ``1/σ``).

    Depths without a fitted entry split the one-layer angles evenly over the layers.

    Example:
        >>> g, b = default_schedule(2)
        >>> g.shape, b.shape
        ((2,), (2,))
    """
    if reps in DEFAULT_SCHEDULES:
        g, b = DEFAULT_SCHEDULES[reps]
        return np.array(g, dtype=float), np.array(b, dtype=float)
    if reps < 1:
        raise ValueError(f"reps must be an integer >= 1; got {reps!r}")
    # Beyond the table: a conservative fallback that spreads the one-layer angles over the
    # layers; fitted schedules for deeper circuits belong in the table.
    g1, b1 = DEFAULT_SCHEDULES[1]
    return np.full(reps, g1[0] / reps), np.full(reps, b1[0] / reps)
