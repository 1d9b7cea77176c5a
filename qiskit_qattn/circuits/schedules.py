"""Default QAOA-attention schedules, reused for every row (never optimised per query).

``gammas`` are in units of ``1/σ`` where ``σ`` is the standard deviation of the kept scores
``s/τ`` of the row: the builder divides by ``σ``, which makes one schedule serve rows of any
spread. Fitted by ``python benchmarks/fit_default_schedule.py`` on real MiniLM score rows
(mean state fidelity with ``sqrt(softmax)``); that script prints the table below.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ScheduleChoice:
    """The stored parameter map a family uses for a requested size, and how it was chosen.

    Attributes:
        weights: the stored weights (shape as fitted, for ``num_qubits``/``options`` below).
        num_qubits: key qubits the map was fitted for.
        reps: depth it was fitted for (always the requested one).
        options: the stored entry's options (e.g. ``max_order``, ``key_order``).
        exact: ``True`` when the stored entry matches the request exactly.
        record: the stored entry itself (``train``/``heldout`` fidelities and the rest).
    """

    weights: np.ndarray
    num_qubits: int
    reps: int
    options: dict
    exact: bool
    record: dict

    @property
    def source(self) -> str:
        """``"stored"`` or ``"nearest stored (m=.., options)"`` for reports and metadata."""
        if self.exact:
            return "stored"
        opts = ", ".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"nearest stored (m={self.num_qubits}, {opts})"


def _parse_key(key: str) -> tuple[str, int, int, dict]:
    family, m, p, *rest = key.split("|")
    options = {}
    for item in rest:
        name, value = item.split("=", 1)
        options[name] = int(value) if value.lstrip("-").isdigit() else value
    return family, int(m[2:]), int(p[2:]), options


def family_schedule(
    family: str,
    num_qubits: int,
    reps: int,
    *,
    flexible: tuple[str, ...] = (),
    **options: object,
) -> ScheduleChoice:
    """The stored parameter map for ``family`` at ``num_qubits`` key qubits and depth ``reps``.

    Rule when no map was fitted for exactly this request: among the stored maps of the same
    family, depth and non-flexible options, take the one with the nearest ``m`` (ties: the larger
    ``m``); a flexible integer option (``max_order``) then prefers the largest stored value not
    above the requested one, else the smallest above it. The family adapts the map: qubits are
    matched most-significant first (:func:`qubit_map`) and Walsh orders beyond the stored ones
    get zero angles (the fitted circuit itself, embedded).

    Raises:
        ValueError: the depth or a non-flexible option has no stored map at any size (the
            message names what is stored).

    Example:
        >>> family_schedule("born_machine", 5, 2, key_order="sorted").exact
        True
        >>> family_schedule("born_machine", 1, 2, key_order="sorted").num_qubits
        3
    """
    key = schedule_key(family, num_qubits, reps, **options)
    entries = _family_table()["entries"]
    if key in entries:
        record = entries[key]
        return ScheduleChoice(np.asarray(record["weights"], dtype=float), int(num_qubits),
                              int(reps), dict(options), True, record)
    stored = [(_parse_key(k), k) for k in entries if k.startswith(f"{family}|")]
    fixed = {k: v for k, v in options.items() if k not in flexible}
    same = [(m, o, k) for (_, m, p, o), k in stored
            if p == reps and all(o.get(n) == v for n, v in fixed.items())]
    if not same:
        depths = sorted({p for (_, _, p, o), _ in stored
                         if all(o.get(n) == v for n, v in fixed.items())})
        combos = sorted({tuple(sorted((n, v) for n, v in o.items() if n not in flexible))
                         for (_, _, _, o), _ in stored})
        if depths:
            raise ValueError(
                f"{family} has stored schedules for depths {depths} with {fixed}; got "
                f"depth {reps}: pass explicit angles or fit more with "
                "benchmarks/fit_family_schedules.py"
            )
        raise ValueError(
            f"{family} has no stored schedule for options {fixed}; stored option sets: "
            f"{[dict(c) for c in combos]} (or pass explicit angles)"
        )

    def rank(item):
        m, o, _ = item
        score = [abs(m - num_qubits), -m]
        for name in flexible:
            want, have = options.get(name), o.get(name)
            if isinstance(want, int) and isinstance(have, int):
                score.append((0, -have) if have <= want else (1, have))
        return score

    m, o, k = min(same, key=rank)
    record = entries[k]
    return ScheduleChoice(np.asarray(record["weights"], dtype=float), m, int(reps), o, False,
                          record)


def qubit_map(num_qubits: int, stored_qubits: int) -> np.ndarray:
    """Stored qubit used for each requested qubit, most significant qubits matched first.

    Example:
        >>> qubit_map(2, 4).tolist(), qubit_map(5, 3).tolist()
        ([2, 3], [0, 0, 0, 1, 2])
    """
    shift = num_qubits - stored_qubits
    return np.clip(np.arange(num_qubits) - shift, 0, stored_qubits - 1)
