"""``"quantum-sim"``: the circuit estimator simulated in torch, differentiable in expectation.

The package's circuit estimator (see :mod:`qiskit_qattn.attention.key_estimators`) measures the
key register of ``sum_j sqrt(p_ij)|j>`` on ``m = ceil(log2 S)`` qubits (padding states have zero
amplitude) and estimates output column ``c`` with the ratio estimator over kept keys,
``o_c = sum_kept n_j V[j, c] / sum_kept n_j``. This backend reproduces it without building
circuits:

- the outcome distribution is the softmax row (exact amplitude encoding), optionally through a
  global ``depolarizing`` channel (``(1 - lam) p + lam / 2**m``) and symmetric per-qubit
  ``readout_error`` bit flips;
- the output is the estimator's large-shot value ``sum_kept p~_j v_j / sum_kept p~_j``
  (differentiable w.r.t. query, key and value) plus the *detached* shot noise of one run of
  ``shots`` multinomial outcomes: ``output = expected + (sampled - expected).detach()``, so the
  forward value is an honest finite-shot estimate and gradients are those of the expectation;
- ``std_error`` is the ratio estimator's standard error from the kept shots.

``shots=None`` returns the expectation alone (statevector execution). For real circuits on
simulators or devices use :func:`qiskit_qattn.attention.estimate_attention`.
"""

from __future__ import annotations

import math
from typing import Any

from ._common import check_options, positive_int
from .result import AttentionResult
from .torch_exact import exact_weights

_OPTIONS = ("shots", "depolarizing", "readout_error", "chunk_size")


def _probability(value: Any, name: str, upper: float) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number in [0, {upper}]; got {value!r}") from exc
    if not (0.0 <= p <= upper):
        raise ValueError(f"{name} must be a number in [0, {upper}]; got {value!r}")
    return p


def noisy_distribution(p, num_qubits: int, depolarizing: float, readout_error: float):
    """Outcome distribution ``[..., 2**m]`` of the key register under the simple noise models.

    Example:
        >>> import torch
        >>> noisy_distribution(torch.tensor([[1.0, 0.0]]), 1, 0.0, 0.1).tolist()
        [[0.8999999761581421, 0.10000000149011612]]
    """
    import torch

    if depolarizing > 0:
        p = (1 - depolarizing) * p + depolarizing / 2**num_qubits
    if readout_error > 0 and num_qubits > 0:
        lead = p.shape[:-1]
        t = p.reshape(*lead, *([2] * num_qubits))
        nd = len(lead)
        for axis in range(nd, nd + num_qubits):
            t = (1 - readout_error) * t + readout_error * torch.flip(t, dims=(axis,))
        p = t.reshape(*lead, 2**num_qubits)
    return p


def quantum_sim_backend(
    q, k, v, *, bias, scale: float, need_weights: bool, generator: Any, **options: Any
) -> AttentionResult:
    """Registry entry ``"quantum-sim"``.

    Options: ``shots=1024`` (``None``: expectation only), ``depolarizing=0``,
    ``readout_error=0``, ``chunk_size=4096`` (queries per sampling chunk).
    """
    import torch

    check_options("quantum-sim", options, _OPTIONS)
    shots = options.get("shots", 1024)
    shots = None if shots is None else positive_int(shots, "shots")
    lam = _probability(options.get("depolarizing", 0.0), "depolarizing", 1.0)
    eps = _probability(options.get("readout_error", 0.0), "readout_error", 0.5)
    chunk = positive_int(options.get("chunk_size", 4096), "chunk_size")
    B, L, _ = q.shape
    S = v.shape[1]
    m = max(1, math.ceil(math.log2(S))) if S > 1 else 1
    dim = 2**m
    weights = exact_weights(q, k, bias=bias, scale=scale)  # [B, L, S], differentiable
    keep = torch.ones(1, 1, S, dtype=torch.bool) if bias is None else ~torch.isneginf(bias)
    keep = keep.expand(B, L, S)
    pad = dim - S
    probs = torch.nn.functional.pad(weights, (0, pad))
    kept = torch.nn.functional.pad(keep, (0, pad), value=False)
    noisy = noisy_distribution(probs, m, lam, eps)
    kept_p = noisy[..., :S] * keep
    total = kept_p.sum(-1, keepdim=True)
    alive = total > 0
    expected = torch.where(alive, (kept_p @ v) / torch.where(alive, total, 1.0), 0.0)
    info = {"shots": shots, "depolarizing": lam, "readout_error": eps, "num_key_qubits": m}
    if shots is None:
        std = torch.zeros_like(expected.detach())
        w = kept_p / torch.where(alive, total, 1.0) if need_weights else None
        return AttentionResult(expected, w, std, std[..., 0], "quantum-sim", info)
    flat = noisy.detach().reshape(B * L, dim)
    flat = flat / flat.sum(-1, keepdim=True).clamp(min=1e-300)
    counts = torch.zeros(B * L, dim, dtype=v.dtype)
    for lo in range(0, B * L, chunk):
        hi = min(lo + chunk, B * L)
        draw = torch.multinomial(flat[lo:hi], shots, replacement=True, generator=generator)
        counts[lo:hi].scatter_add_(1, draw, torch.ones(draw.shape, dtype=v.dtype))
    counts = counts.reshape(B, L, dim) * kept
    n_kept = counts.sum(-1, keepdim=True)
    got = n_kept > 0
    freq = counts[..., :S] / torch.where(got, n_kept, 1.0)
    vd = v.detach()
    sampled = freq @ vd
    second = freq @ (vd * vd)
    var = (second - sampled * sampled).clamp(min=0) / (n_kept - 1).clamp(min=1)
    # A query with no kept outcome keeps the expectation (reported in info).
    sampled = torch.where(got, sampled, expected.detach())
    output = expected + (sampled - expected.detach())
    std = torch.where(got, var.sqrt(), torch.zeros_like(var))
    info["queries_without_kept_shots"] = int((~got & alive).sum())
    return AttentionResult(
        output=output, weights=freq if need_weights else None, std_error=std,
        error_estimate=std.norm(dim=-1), backend="quantum-sim", info=info,
    )
