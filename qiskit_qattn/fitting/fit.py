"""Fit reusable family schedules on real attention rows (torch, exact and batched).

A *schedule* here is a small weight array per (family, key qubits ``m``, depth ``p``, options)
that maps simple statistics of a row (:data:`qiskit_qattn.circuits.rows.FEATURES`: spread
``log σ``, top gap, range, entropy; the temperature enters through ``σ`` of ``s/τ``) to the
family's angles. It is fitted once, by gradient ascent of the mean state fidelity
``|<sqrt(softmax)|ψ>|²`` over a corpus of real MiniLM score rows, on the exact differentiable
simulator (:mod:`.torch_states` on :mod:`qiskit_qattn.sim.torch_layers`), and is then applied to
unseen rows with no optimisation. ``benchmarks/fit_family_schedules.py`` runs the fits and
writes ``qiskit_qattn/data/family_schedules.json``.

This module imports torch and the MiniLM data loader; the circuit builders do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..circuits.families.born_machine import initial_weights
from ..circuits.families.warm_start import warm_start_probabilities
from ..circuits.rows import FEATURES, ScoreRows, prepare_rows, to_key_order
from ..circuits.schedules import default_schedule
from ..data.minilm import capture_heads
from . import torch_states as ts

FAMILIES = ("ma_qaoa", "warm_start", "amplification", "born_machine")

#: Text windows the stored schedules were fitted on, and the disjoint held-out windows.
TRAIN_WINDOWS = (0, 1, 2, 3, 4, 5)
HELDOUT_WINDOWS = (12, 13)
#: Held-out sample the stored records use: ``load_corpus(n, HELDOUT_WINDOWS, **HELDOUT_SAMPLE)``.
HELDOUT_SAMPLE = {"max_rows": 1000, "seed": 1}


# ----------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class ScoreCorpus:
    """Real score rows with the values of their head (for attention-output errors).

    Attributes:
        scores: ``[R, n]`` scores ``q_i . k_j / sqrt(d)`` (not yet divided by ``τ``).
        temperatures: ``[R]`` softmax temperature of each row.
        head: ``[R]`` index into ``values``.
        values: ``[H, n, d_v]`` value vectors of the keys, per captured head.
    """

    scores: np.ndarray
    temperatures: np.ndarray
    head: np.ndarray
    values: np.ndarray

    def subset(self, index: np.ndarray) -> ScoreCorpus:
        """Rows ``index`` (values are shared)."""
        return ScoreCorpus(self.scores[index], self.temperatures[index], self.head[index],
                           self.values)

    def prepared(self, key_order: str) -> ScoreRows:
        """Rows laid out for the families (``s/τ`` per row, ``τ`` folded into the scores)."""
        return prepare_rows(self.scores / self.temperatures[:, None], 1.0, None, key_order)


def load_corpus(
    num_keys: int,
    windows: Sequence[int],
    *,
    max_rows: int | None = None,
    temperature_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> ScoreCorpus:
    """Score rows of every MiniLM layer and head over ``num_keys`` keys, for text ``windows``.

    Window ``w`` is the text at ``4000 w`` characters of :func:`qiskit_qattn.data.reference_text`
    (as in :func:`qiskit_qattn.data.real_score_rows`), so disjoint window sets are disjoint text.

    Args:
        num_keys: keys per row (queries and keys are the first ``num_keys`` tokens after [CLS]).
        windows: text windows to use.
        max_rows: random subsample of this many rows (seeded).
        temperature_range: if given, half the rows get ``τ`` log-uniform in this range (the
            rest ``τ = 1``), so fitted schedules see a range of temperatures.
        seed: subsampling / temperature seed.

    Example:
        >>> corpus = load_corpus(8, [0], max_rows=5)  # doctest: +SKIP
        >>> corpus.scores.shape  # doctest: +SKIP
        (5, 8)
    """
    scores, heads, values = [], [], []
    for w in windows:
        cap = capture_heads(num_keys + 2, offset_chars=int(w) * 4000)
        q = cap.queries[:, :, 1 : num_keys + 1].astype(np.float64)
        k = cap.keys[:, :, 1 : num_keys + 1].astype(np.float64)
        v = cap.values[:, :, 1 : num_keys + 1].astype(np.float64)
        layers, num_heads = q.shape[:2]
        for layer in range(layers):
            s = np.einsum("hid,hjd->hij", q[layer], k[layer]) * cap.scale
            for h in range(num_heads):
                heads.append(np.full(num_keys, len(values)))
                values.append(v[layer, h])
                scores.append(s[h])
    out_scores = np.concatenate(scores)
    out_head = np.concatenate(heads)
    rng = np.random.default_rng(seed)
    if max_rows is not None and max_rows < len(out_scores):
        idx = np.sort(rng.choice(len(out_scores), size=max_rows, replace=False))
        out_scores, out_head = out_scores[idx], out_head[idx]
    temps = np.ones(len(out_scores))
    if temperature_range is not None:
        lo, hi = temperature_range
        varied = rng.random(len(temps)) < 0.5
        temps[varied] = np.exp(rng.uniform(np.log(lo), np.log(hi), size=varied.sum()))
    return ScoreCorpus(out_scores, temps, out_head, np.stack(values))


# ----------------------------------------------------------------------------- families


@dataclass(frozen=True)
class FamilyConfig:
    """One schedule to fit or evaluate: family, depth and options.

    ``options`` are the builder keywords that select the stored map: ``ma_qaoa``:
    ``key_order``, ``max_order``; ``warm_start``: ``key_order``, ``max_order``, ``window``;
    ``amplification``: ``initial``, ``key_order``, ``max_order``; ``born_machine``:
    ``key_order``.
    """

    family: str
    reps: int
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}; got {self.family!r}")

    @property
    def key_order(self) -> str:
        """Key layout the family uses."""
        default = "sorted" if self.family in ("warm_start", "born_machine") else "identity"
        return str(self.options.get("key_order", default))

    def max_order(self, num_qubits: int) -> int:
        """Resolved Walsh-order cut ``K``."""
        k = self.options.get("max_order")
        if k is None:
            k = 2 if self.family == "warm_start" else num_qubits
        return int(min(k, num_qubits))

    def schedule_options(self, num_qubits: int) -> dict[str, Any]:
        """Options exactly as the builders pass them to ``family_schedule``."""
        if self.family == "born_machine":
            return {"key_order": self.key_order}
        opts: dict[str, Any] = {"key_order": self.key_order,
                                "max_order": self.max_order(num_qubits)}
        if self.family == "warm_start":
            opts["window"] = int(min(self.options.get("window", 1), num_qubits - 1))
        if self.family == "amplification":
            opts["initial"] = self.options.get("initial", "uniform")
        return opts

    def weight_shape(self, num_qubits: int) -> tuple[int, ...]:
        """Shape of the map weights for ``m`` key qubits."""
        m, p, f = num_qubits, self.reps, len(FEATURES)
        if self.family == "born_machine":
            return tuple(initial_weights(m, p).shape)
        if self.family == "amplification":
            return (2 * p, f)
        return (p * (self.max_order(m) + m), f)

    def initial_weights(self, num_qubits: int, rng: np.random.Generator) -> np.ndarray:
        """A starting point: textbook schedule (QAOA), identity corrections, warm start."""
        m, p = num_qubits, self.reps
        shape = self.weight_shape(m)
        w = np.zeros(shape)
        if self.family == "born_machine":
            return initial_weights(m, p) + rng.normal(0, 0.02, size=shape)
        if self.family == "ma_qaoa":
            k = self.max_order(m)
            g, b = default_schedule(p)
            per = np.concatenate([np.outer(g, np.ones(k)), np.outer(b, np.ones(m))], axis=1)
            w[:, 0] = per.reshape(-1)
            return w + rng.normal(0, 0.01, size=shape)
        if self.family == "amplification":
            w[:, 0] = np.tile([0.8, np.pi / 2], p)
            return w + rng.normal(0, 0.05, size=shape)
        return rng.normal(0, 0.05, size=shape)  # warm_start corrections: near identity


def family_states(
    config: FamilyConfig, rows: ScoreRows, weights: torch.Tensor | np.ndarray,
    dtype: torch.dtype = torch.complex128,
) -> torch.Tensor:
    """States ``[R, 2**m]`` of ``config`` on ``rows`` with map ``weights`` (differentiable)."""
    w = torch.as_tensor(weights, dtype=torch.float64) if isinstance(weights, np.ndarray) else (
        weights
    )
    m, p = rows.num_qubits, config.reps
    feats = torch.as_tensor(rows.features, dtype=torch.float64)
    if config.family == "born_machine":
        return ts.born_machine_mapped_states(rows, w, dtype)
    params = feats @ w.T
    if config.family == "amplification":
        opts = config.schedule_options(m)
        return ts.amplification_states(rows, params.reshape(-1, p, 2), opts["initial"],
                                       opts["max_order"], dtype)
    k = config.max_order(m)
    if p == 0:
        window = config.schedule_options(m)["window"]
        return ts.warm_start_states(rows, window, dtype=dtype)
    per = params.reshape(-1, p, k + m)
    gammas, betas = per[:, :, :k], per[:, :, k:]
    parts = ts.order_parts(rows, k, dtype)
    if config.family == "ma_qaoa":
        return ts.ma_qaoa_states(parts, gammas, betas, dtype)
    window = config.schedule_options(m)["window"]
    return ts.warm_start_states(rows, window, parts, gammas, betas, dtype)


def stored_weights(config: FamilyConfig, num_qubits: int) -> np.ndarray:
    """The packaged map weights for ``config`` at ``m`` key qubits (``KeyError`` if absent)."""
    from ..circuits.schedules import family_schedule

    if config.family == "warm_start" and config.reps == 0:
        return np.zeros((0, len(FEATURES)))
    entry = family_schedule(config.family, num_qubits, config.reps,
                            **config.schedule_options(num_qubits))
    if not entry.exact:
        raise KeyError(f"no stored {config.family} map for m={num_qubits}, p={config.reps} "
                       f"(the builders would use the {entry.source} one)")
    return entry.weights


def heldout_corpus(num_keys: int) -> ScoreCorpus:
    """The held-out rows the stored records refer to (text never used for fitting)."""
    return load_corpus(num_keys, HELDOUT_WINDOWS, **HELDOUT_SAMPLE)


def fidelities(psi: torch.Tensor, rows: ScoreRows) -> np.ndarray:
    """``|<sqrt(softmax)|ψ>|²`` per row."""
    return ts.tl.fidelity(psi, ts.target_states(rows, psi.dtype)).detach().cpu().numpy()


@dataclass
class FitResult:
    """A fitted map and its record."""

    config: FamilyConfig
    num_qubits: int
    weights: np.ndarray
    train_fidelity: float
    history: list[float]


def fit_schedule(
    config: FamilyConfig,
    rows: ScoreRows,
    *,
    steps: int = 60,
    method: str = "lbfgs",
    lr: float | None = None,
    init: np.ndarray | None = None,
    seed: int = 0,
) -> FitResult:
    """Maximise the mean fidelity over ``rows`` of ``config``'s map (full batch, exact).

    Args:
        config: family, depth and options.
        rows: prepared training rows (their ``key_order`` must match ``config.key_order``).
        steps: L-BFGS iterations (strong-Wolfe line search) or Adam steps.
        method: ``"lbfgs"`` (default: the map has few weights and the loss is smooth, so it
            converges in tens of iterations) or ``"adam"``.
        lr: step size (default 1 for L-BFGS, 0.03 for Adam).
        init: starting weights (default :meth:`FamilyConfig.initial_weights`).
        seed: seed of the default initialisation.

    Example:
        >>> rows = prepare_rows(np.random.default_rng(0).normal(size=(16, 8)))
        >>> fit = fit_schedule(FamilyConfig("ma_qaoa", 1), rows, steps=10)
        >>> fit.weights.shape, fit.train_fidelity >= fit.history[0]
        ((6, 5), True)
    """
    if method not in ("lbfgs", "adam"):
        raise ValueError(f"method must be 'lbfgs' or 'adam'; got {method!r}")
    m = rows.num_qubits
    if config.family == "warm_start" and config.reps == 0:
        f = float(fidelities(family_states(config, rows, np.zeros((0, len(FEATURES)))),
                             rows).mean())
        return FitResult(config, m, np.zeros((0, len(FEATURES))), f, [f])
    rng = np.random.default_rng(seed)
    w0 = config.initial_weights(m, rng) if init is None else np.asarray(init, dtype=float)
    if w0.shape != config.weight_shape(m):
        raise ValueError(f"init must have shape {config.weight_shape(m)}; got {w0.shape}")
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    target = ts.target_states(rows)
    history: list[float] = []
    best = {"value": -1.0, "w": w0.copy()}

    def closure() -> torch.Tensor:
        opt.zero_grad()
        fid = ts.tl.fidelity(family_states(config, rows, w), target).mean()
        (-fid).backward()
        value = float(fid.detach())
        history.append(value)
        if value > best["value"] and np.isfinite(value):
            best["value"], best["w"] = value, w.detach().numpy().copy()
        return -fid

    if method == "lbfgs":
        opt = torch.optim.LBFGS([w], lr=lr or 1.0, max_iter=steps, history_size=20,
                                line_search_fn="strong_wolfe")
        opt.step(closure)
    else:
        opt = torch.optim.Adam([w], lr=lr or 0.03)
        for _ in range(steps):
            opt.step(closure)
    final = float(fidelities(family_states(config, rows, best["w"]), rows).mean())
    return FitResult(config, m, best["w"], final, history)


# ----------------------------------------------------------------------------- evaluation


def output_errors(
    basis_probs: np.ndarray, rows: ScoreRows, corpus: ScoreCorpus
) -> np.ndarray:
    """Relative attention-output error per row of a key distribution (exact probabilities).

    Outcomes are relabelled to keys (``rows.order``), renormalised over kept keys (the ratio
    estimator of :mod:`qiskit_qattn.attention.key_estimators`) and compared with the exact
    ``softmax(s/τ) V``: ``||o - o_exact|| / ||o_exact||``.
    """
    n = rows.num_keys
    approx = to_key_order(basis_probs, rows.order, n)
    exact = to_key_order(rows.probs, rows.order, n)
    approx = approx / approx.sum(axis=1, keepdims=True)
    v = corpus.values[corpus.head]
    o = np.einsum("rn,rnd->rd", approx, v)
    o_ref = np.einsum("rn,rnd->rd", exact, v)
    return np.linalg.norm(o - o_ref, axis=1) / np.linalg.norm(o_ref, axis=1)


def shots_for_error(
    basis_probs: np.ndarray, rows: ScoreRows, corpus: ScoreCorpus, target: float
) -> np.ndarray:
    """Shots per row for expected relative output error ``target`` (``inf`` if bias too large).

    With ``S`` shots the ratio estimator's mean squared error is about
    ``||bias||² + sum_c Var_q(V[:, c]) / S``; solving ``= target² ||o_exact||²`` for ``S``.
    """
    n = rows.num_keys
    approx = to_key_order(basis_probs, rows.order, n)
    approx = approx / approx.sum(axis=1, keepdims=True)
    exact = to_key_order(rows.probs, rows.order, n)
    v = corpus.values[corpus.head]
    o = np.einsum("rn,rnd->rd", approx, v)
    o_ref = np.einsum("rn,rnd->rd", exact, v)
    var = np.einsum("rn,rnd->r", approx, v**2) - (o**2).sum(axis=1)
    budget = target**2 * (o_ref**2).sum(axis=1) - ((o - o_ref) ** 2).sum(axis=1)
    with np.errstate(divide="ignore"):
        return np.where(budget > 0, np.ceil(np.maximum(var, 0) / np.maximum(budget, 1e-300)),
                        np.inf)


def warm_start_fidelity(rows: ScoreRows, window: int) -> np.ndarray:
    """Closed-form fidelity of the bare warm start per row (no circuit needed)."""
    q = warm_start_probabilities(rows.probs, window)
    return np.sum(np.sqrt(rows.probs * q), axis=1) ** 2
