"""Schedule fitting as sweep units: one unit per (key qubits ``m``, family configuration).

``benchmarks/fit_family_schedules.py`` fits every family configuration at every register size
(about an hour on one core). The configurations are independent, so each (m, configuration) is
one unit — all its depths ``p`` in order, since each depth starts from the previous one — and
the script runs them on any :mod:`.workers` through :func:`~.runner.run_sweep` (resumable from
a store: a killed fit keeps the configurations it finished).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .units import Unit

__all__ = ["fit_config_unit", "fit_family_config", "pad_previous"]

FIT_FUNCTION = "qiskit_qattn.sweeps.fitting:fit_family_config"


def pad_previous(family: str, shape: tuple[int, ...], previous: np.ndarray) -> np.ndarray:
    """The (p-1)-layer map extended by a layer that leaves its state unchanged.

    QAOA-type families: an appended zero layer is the identity. Born machine: a *prepended*
    zero layer is, since ``RY(0)`` keeps ``|0...0>`` and CZ acts trivially on it.

    Example:
        >>> pad_previous("ma_qaoa", (3, 2), np.ones((2, 2))).tolist()
        [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]
    """
    out = np.zeros(shape)
    if family == "born_machine":
        out[1:] = previous
    else:
        out[: previous.shape[0]] = previous
    return out


def fit_family_config(m: int, family: str, options: Mapping[str, Any], reps: Sequence[int],
                      steps: int, train_rows: int, heldout_rows: int | None = None
                      ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Fit one family configuration at ``m`` key qubits for every depth in ``reps`` (a unit).

    Train rows come from the TRAIN text windows (half at a random temperature in [0.5, 2]),
    held-out rows from the disjoint HELD-OUT windows; each depth starts from the best of the
    default initialisation and the previous depth's map padded with an identity layer.

    Returns:
        arrays ``weights_p<p>`` and metadata ``{"entries": {schedule_key: record}}`` — the
        records ``family_schedules.json`` stores (rounded weights, train and held-out
        fidelities) — and ``seconds_per_depth``. Runs torch single-threaded (units run side by
        side on a worker's cores) and restores the caller's thread count after.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit_depths(m, family, options, reps, steps, train_rows, heldout_rows)
    finally:
        torch.set_num_threads(threads)


def _fit_depths(m: int, family: str, options: Mapping[str, Any], reps: Sequence[int],
                steps: int, train_rows: int, heldout_rows: int | None
                ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The body of :func:`fit_family_config`, at the current torch thread count."""
    import time

    from ..circuits.schedules import schedule_key
    from ..fitting.fit import (
        TRAIN_WINDOWS,
        FamilyConfig,
        family_states,
        fidelities,
        fit_schedule,
        heldout_corpus,
        load_corpus,
    )

    n = 2**m
    train = load_corpus(n, TRAIN_WINDOWS, max_rows=train_rows, temperature_range=(0.5, 2.0),
                        seed=0)
    held = heldout_corpus(n)
    if heldout_rows is not None:
        held = held.subset(np.arange(min(heldout_rows, len(held.scores))))
    arrays: dict[str, np.ndarray] = {}
    entries: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    previous = None
    for p in reps:
        start = time.perf_counter()
        config = FamilyConfig(family, p, dict(options))
        rows_tr = train.prepared(config.key_order)
        rows_ho = held.prepared(config.key_order)
        fits = [fit_schedule(config, rows_tr, steps=steps, seed=p)]
        if previous is not None:
            init = pad_previous(family, config.weight_shape(m), previous)
            fits.append(fit_schedule(config, rows_tr, steps=steps, init=init))
        best = max(fits, key=lambda f: f.train_fidelity)
        weights = np.round(best.weights, 5)
        previous = weights
        f_tr = fidelities(family_states(config, rows_tr, weights), rows_tr)
        f_ho = fidelities(family_states(config, rows_ho, weights), rows_ho)
        key = schedule_key(family, m, p, **config.schedule_options(m))
        entries[key] = {
            "weights": weights.tolist(),
            "train": {"rows": int(len(f_tr)), "mean_fidelity": round(float(f_tr.mean()), 6)},
            "heldout": {
                "rows": int(len(f_ho)),
                "mean_fidelity": round(float(f_ho.mean()), 6),
                "p10_fidelity": round(float(np.percentile(f_ho, 10)), 6),
            },
        }
        arrays[f"weights_p{p}"] = weights
        seconds[key] = time.perf_counter() - start
    return arrays, {"entries": entries, "seconds_per_depth": seconds}


def fit_config_unit(m: int, family: str, options: Mapping[str, Any], reps: Sequence[int],
                    steps: int, train_rows: int, heldout_rows: int | None = None) -> Unit:
    """The unit of :func:`fit_family_config` for these settings (keyed by all of them).

    Example:
        >>> unit = fit_config_unit(3, "born_machine", {"key_order": "sorted"}, [1, 2], 40, 200)
        >>> unit.label
        'm=3 born_machine key_order=sorted'
    """
    opts = dict(options)
    label = f"m={m} {family} " + " ".join(f"{k}={v}" for k, v in sorted(opts.items()))
    return Unit(FIT_FUNCTION, {"m": int(m), "family": family, "options": opts,
                               "reps": [int(p) for p in reps], "steps": int(steps),
                               "train_rows": int(train_rows), "heldout_rows": heldout_rows},
                label=label.strip(), meta={"m": int(m), "family": family})
