"""One attention head's output estimated on another framework's simulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .head_circuits import head_circuits, outcomes_by_key
from .run import framework_counts, framework_probabilities


@dataclass
class HandoffEstimate:
    """Attention output of a head estimated on ``metadata["framework"]``.

    Attributes:
        values: output ``[n_q, d_v]`` (ratio estimator over each query's kept keys).
        std_errors: its shot-noise standard errors (delta method; zeros without shots).
        metadata: framework, family, shots, seed, kept shots per query.
    """

    values: np.ndarray
    std_errors: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)


def estimate_head_on(framework: str, Q: Any, K: Any, V: Any, *, family: str = "softmax_state",
                     shots: int | None = 8192, seed: int | None = None, mask: Any | None = None,
                     scale: float | None = None, **family_options: Any) -> HandoffEstimate:
    """Build the head's circuits here, run them on ``framework``, estimate the output.

    Output column ``c`` of query ``i`` is ``sum_j n_ij V[j, c] / sum_j n_ij`` over the keys ``j``
    the query keeps (``mask``; padding states of the key register are dropped), with standard
    error ``sqrt(Var_p(V[:, c]) / N_i)`` from the same shots. ``shots=None`` uses the
    framework's exact probabilities (standard errors zero).

    Args:
        framework: one of :data:`~qiskit_qattn.interop.run.FRAMEWORKS`.
        Q: queries ``[n_q, d]``.
        K: keys ``[n_k, d]``.
        V: values ``[n_k, d_v]``.
        family: circuit family (``softmax_state``, ``qaoa``, ``warm_start``, ...).
        shots: shots per query circuit, or ``None``.
        seed: sampling seed (``None`` for Braket, which cannot be seeded).
        mask: boolean keep-mask ``[n_q, n_k]`` (``True`` = attend).
        scale: score scale (default ``1/sqrt(d)``).
        **family_options: forwarded to the family's builder (e.g. ``reps``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(16, 4)), rng.normal(size=(16, 3))
        >>> est = estimate_head_on("qiskit", Q, K, V, shots=None)
        >>> from qiskit_qattn.attention import exact_attention
        >>> bool(np.allclose(est.values, exact_attention(Q, K, V)))
        True
    """
    values = np.asarray(V, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"V must be 2-D [n_k, d_v]; got shape {values.shape}")
    circuits = head_circuits(Q, K, family=family, mask=mask, scale=scale, **family_options)
    n_q, n_k = len(circuits), values.shape[0]
    if shots is None:
        outcomes = framework_probabilities(circuits, framework)
    else:
        outcomes = framework_counts(circuits, framework, shots, seed=seed)
    by_key = outcomes_by_key(outcomes, circuits)[:, :n_k]
    keep = np.ones((n_q, n_k), dtype=bool) if mask is None else np.broadcast_to(
        np.asarray(mask, dtype=bool), (n_q, n_k))
    weights = np.where(keep, by_key, 0.0)
    kept = weights.sum(axis=1)
    if np.any(kept <= 0):
        raise ValueError(f"no kept key was observed for queries {np.flatnonzero(kept <= 0)}; "
                         "use more shots")
    p = weights / kept[:, None]
    out = p @ values
    var = p @ values**2 - out**2
    se = np.zeros_like(out) if shots is None else np.sqrt(np.clip(var, 0, None) / kept[:, None])
    return HandoffEstimate(out, se, {"framework": framework, "family": family, "shots": shots,
                                     "seed": seed, "kept_shots": kept if shots else None})
