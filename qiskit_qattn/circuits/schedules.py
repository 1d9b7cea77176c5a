"""Default QAOA-attention schedules, reused for every row (never optimised per query).

``gammas`` are in units of ``1/σ`` where ``σ`` is the standard deviation of the kept scores
``s/τ`` of the row: the builder divides by ``σ``, which makes one schedule serve rows of any
spread. Fitted by ``python benchmarks/fit_default_schedule.py`` on real MiniLM score rows
(mean state fidelity with ``sqrt(softmax)``); that script prints the table below.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

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


# ----------------------------------------------------------------------------- family schedules
#
# The state-preparation families in ``qiskit_qattn.circuits.families`` take their angles from a
# *parameter map*: a small weight array fitted once on real MiniLM score rows by
# ``python benchmarks/fit_family_schedules.py`` and stored in ``qiskit_qattn/data/
# family_schedules.json``. Each family turns (row features, weights) into its angles without any
# per-row optimisation; the JSON also records each entry's fidelity on the fitting rows and on
# held-out rows (different text), which the tests re-check.

FAMILY_SCHEDULE_FILE = "family_schedules.json"


def schedule_key(family: str, num_qubits: int, reps: int, **options: object) -> str:
    """Key of one stored parameter map, e.g. ``"ma_qaoa|m=4|p=2|key_order=identity"``.

    Example:
        >>> schedule_key("warm_start", 3, 1, window=0, key_order="sorted")
        'warm_start|m=3|p=1|key_order=sorted|window=0'
    """
    opts = "".join(f"|{k}={options[k]}" for k in sorted(options))
    return f"{family}|m={int(num_qubits)}|p={int(reps)}{opts}"


@functools.lru_cache(maxsize=1)
def _family_table() -> dict:
    path = resources.files("qiskit_qattn.data").joinpath(FAMILY_SCHEDULE_FILE)
    if not path.is_file():
        return {"entries": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def family_schedule_table() -> dict:
    """The stored family schedules (parsed JSON: ``features``, ``command``, ``entries``).

    Example:
        >>> isinstance(family_schedule_table()["entries"], dict)
        True
    """
    return _family_table()


def family_schedule(family: str, num_qubits: int, reps: int, **options: object) -> dict:
    """One stored parameter map: ``{"weights": ndarray, "train": {...}, "heldout": {...}}``.

    Raises:
        KeyError: no map was fitted for this family, size, depth and options (the message lists
            what is available for the family).
    """
    key = schedule_key(family, num_qubits, reps, **options)
    entries = _family_table()["entries"]
    if key not in entries:
        have = sorted(k for k in entries if k.startswith(f"{family}|"))
        raise KeyError(
            f"no stored schedule {key!r}; fitted ones for {family!r}: {have[:12]}"
            f"{' ...' if len(have) > 12 else ''} (fit more with benchmarks/fit_family_schedules.py)"
        )
    entry = dict(entries[key])
    entry["weights"] = np.asarray(entry["weights"], dtype=float)
    return entry
