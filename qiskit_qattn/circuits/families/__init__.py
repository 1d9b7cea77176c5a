"""Circuit families: every way the package prepares a head's key-register states.

A *family* builds one circuit per query whose key distribution is (or approximates) the
attention row ``softmax(s/τ)``. Every builder has the signature
``builder(scores, *family_angles, temperature=1.0, mask=None, **family_options)`` and records
the row in ``circuit.metadata`` (``family``, ``num_keys``, ``key_order``, ``schedule``, ...).

- ``softmax_state``: exact amplitude encoding (the reference; O(n) CNOTs).
- ``qaoa``: textbook QAOA (``H^m``, phase separator, RX mixer) with the default schedule.
- ``ma_qaoa``: multi-angle QAOA (one phase angle per Walsh order, one mixer angle per qubit).
- ``warm_start``: closed-form truncated amplitude tree, optional QAOA correction layers.
- ``amplification``: phase oracle + generalised reflection layers.
- ``born_machine``: hardware-efficient RY/CZ Born machine with mapped angles.

The scheduled families take their default angles from maps fitted once on real MiniLM
attention (``benchmarks/fit_family_schedules.py``, stored for ``m = 3..8`` key qubits); other
sizes use the nearest stored map (:func:`~qiskit_qattn.circuits.schedules.family_schedule`), so
every family builds circuits for every head of ``n >= 2`` keys up to :data:`MAX_KEYS`.
``key_order="sorted"`` lays keys out by score rank (see :mod:`qiskit_qattn.circuits.rows`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from qiskit import QuantumCircuit

from .amplification import amplification_attention
from .born_machine import born_machine_attention
from .ma_qaoa import ma_qaoa_attention
from .qaoa import QAOA_MAX_KEYS, qaoa_angles, qaoa_attention
from .softmax_state import SOFTMAX_STATE_MAX_KEYS, softmax_state
from .warm_start import warm_start_attention, warm_start_probabilities

#: Largest head (keys) any family accepts: 12 key qubits.
MAX_KEYS = 2**12


@dataclass(frozen=True)
class Family:
    """One circuit family of the registry.

    Attributes:
        name: registry name (``family=`` everywhere).
        builder: ``builder(scores, ..., temperature=, mask=, **options) -> QuantumCircuit``.
        summary: one line for help texts.
        exact: prepares ``sqrt(softmax)`` exactly, so its ideal output is exact attention.
        key_order: the builder's default key layout (``"identity"`` or ``"sorted"``).
        max_keys: largest number of keys.
    """

    name: str
    builder: Callable[..., QuantumCircuit]
    summary: str
    exact: bool = False
    key_order: str = "identity"
    max_keys: int = MAX_KEYS

    @property
    def options(self) -> tuple[str, ...]:
        """Option names the builder accepts besides ``scores``, ``temperature`` and ``mask``.

        Example:
            >>> get_family("qaoa").options
            ('reps', 'gammas', 'betas', 'phase_separator')
        """
        params = inspect.signature(self.builder).parameters
        return tuple(p for p in params if p not in ("scores", "temperature", "mask"))

    def check_options(self, options: dict) -> None:
        """Raise ``ValueError`` naming any option this family does not take."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise ValueError(
                f"family {self.name!r} takes no option(s) {unknown}; its options are "
                f"{list(self.options)}"
            )


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("softmax_state", softmax_state, "exact amplitude encoding of sqrt(softmax)",
               exact=True, max_keys=SOFTMAX_STATE_MAX_KEYS),
        Family("qaoa", qaoa_attention, "textbook QAOA, default schedule",
               max_keys=QAOA_MAX_KEYS),
        Family("ma_qaoa", ma_qaoa_attention, "multi-angle QAOA, fitted schedule"),
        Family("warm_start", warm_start_attention,
               "closed-form warm-start tree on score-sorted keys (+ optional QAOA layers)",
               key_order="sorted"),
        Family("amplification", amplification_attention,
               "phase oracle + generalised reflections, fitted schedule"),
        Family("born_machine", born_machine_attention, "RY/CZ Born machine, mapped angles",
               key_order="sorted"),
    )
}

#: Family names, in registry order.
FAMILY_NAMES = tuple(FAMILIES)

#: The default of ``run_head``, ``qattn run`` and the demo: the family with the lowest output
#: error per two-qubit gate on real MiniLM heads compiled for FakeTorino (figures in
#: ``benchmarks/RESULTS.md``, section ``families``).
DEFAULT_FAMILY = "warm_start"


def get_family(name: str) -> Family:
    """The registered family called ``name``.

    Raises:
        ValueError: ``name`` is not a family (the message lists them).

    Example:
        >>> get_family("warm_start").key_order
        'sorted'
    """
    if name not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILY_NAMES}; got {name!r}")
    return FAMILIES[name]


__all__ = [
    "DEFAULT_FAMILY",
    "FAMILIES",
    "FAMILY_NAMES",
    "MAX_KEYS",
    "QAOA_MAX_KEYS",
    "SOFTMAX_STATE_MAX_KEYS",
    "Family",
    "amplification_attention",
    "born_machine_attention",
    "get_family",
    "ma_qaoa_attention",
    "qaoa_angles",
    "qaoa_attention",
    "softmax_state",
    "warm_start_attention",
    "warm_start_probabilities",
]
