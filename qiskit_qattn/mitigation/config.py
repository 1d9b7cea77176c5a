"""Which mitigation to apply and how: parsed from ``"zne+rem"``-style strings plus options."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .dd import DD_SEQUENCES, SCHEDULING_METHODS
from .extrapolation import ENGINES, EXTRAPOLATIONS
from .folding import FOLD_GATES, FOLD_METHODS, check_scale_factors
from .readout import READOUT_METHODS, READOUT_SOLVERS

#: Techniques understood by ``mitigation=``: combine with ``+`` (``"zne+rem"``,
#: ``"vncdr+rem"``, ``"dd+zne+rem"``), or ``"auto"`` alone (:mod:`.auto`).
TECHNIQUES = ("zne", "cdr", "vncdr", "rem", "dd", "twirling")
#: Techniques that turn noisy outcomes into noiseless estimates; at most one per run.
NOISE_REMOVERS = ("zne", "cdr", "vncdr")
_ALIASES = {"readout": "rem", "trex": "rem", "dynamical_decoupling": "dd",
            "variable_noise_cdr": "vncdr"}
SHOT_ALLOCATIONS = ("uniform", "optimal")
#: ZNE extrapolations plus ``"auto"`` (linear or Richardson by estimated bias and variance).
ZNE_EXTRAPOLATIONS = (*EXTRAPOLATIONS, "auto")
#: Total shots over the unmitigated run's that learning-based techniques and ``"auto"`` spend.
DEFAULT_BUDGET = 5.0
#: Options ``mitigation="auto"`` accepts (it decides the others).
AUTO_OPTIONS = frozenset({
    "budget", "shot_granularity", "training_fraction", "calibration_fraction",
    "training_circuits", "seed", "readout_solver",
})


@dataclass(frozen=True)
class MitigationConfig:
    """Mitigation settings (immutable). Build with :meth:`parse`.

    Attributes:
        techniques: requested techniques, a subset of :data:`TECHNIQUES` in canonical order,
            or ``("auto",)`` (resolved per batch and shot count by :func:`~.auto.resolve_auto`).
        scale_factors: noise scale factors (``>= 1``, at least two, distinct): ZNE's (default
            ``(1, 3, 5)``) or variable-noise CDR's (default ``None``: ``(1, lambda)`` with
            ``lambda`` chosen from the device's gate errors and the shots,
            :func:`~.allocation.second_scale_factor`).
        fold_method: ``"global"``, ``"local"``, ``"random"`` or ``"identity"``.
        fold_gates: ``"all"`` or ``"two_qubit"``.
        extrapolation: ``"richardson"`` (default; with factors 1, 3, 5 the best trade-off on
            the benchmark's device noise), ``"linear"`` (least noise, biased on deep circuits),
            ``"poly"``, ``"exponential"``, ``"poly_exp"``, or ``"auto"`` (linear or Richardson,
            whichever has the smaller estimated mean squared error on the measured data,
            :func:`~.allocation.choose_extrapolation`). Exponential fits with a free
            asymptote on three factors are ill-conditioned: give ``asymptote`` or more factors.
        order: polynomial order for ``"poly"``/``"poly_exp"``.
        asymptote: infinite-noise limit for exponential fits: a number, or ``"uniform"`` for the
            fully depolarised output (the mean of ``V`` over each query's kept keys).
        engine: ``"auto"`` (Mitiq if installed), ``"mitiq"`` or ``"native"``.
        factory: a Mitiq ``Factory`` instance overriding ``extrapolation``.
        readout_method: ``"tensored"`` or ``"full"`` calibration.
        readout_solver: ``"nnls"`` (non-negative least squares) or ``"inverse"``.
        dd_sequence: ``"XX"`` or ``"XY4"``.
        dd_scheduling: ``"alap"`` or ``"asap"``.
        budget: total shots of the execution over ``shots x queries`` (calibration and training
            included). ``None``: ZNE and REM run every circuit once with ``shots`` (the classic
            layout); ``cdr``, ``vncdr`` and ``auto`` default to :data:`DEFAULT_BUDGET`.
        shot_allocation: ZNE only: ``"uniform"`` (each scale factor gets ``shots``) or
            ``"optimal"`` (shots ``∝ |extrapolation weight|``, :mod:`.allocation`; the total is
            ``budget``, default the number of scale factors).
        shot_granularity: with a budget, circuits run at ``shots // shot_granularity`` shots and
            a circuit given more runs as several copies in the same execution.
        training_circuits: training circuits of ``cdr``/``vncdr`` (default: a
            ``training_fraction`` of the budget, one unit each).
        training_fraction: share of the budget for training circuits (default 0.1).
        calibration_fraction: share of the budget for readout calibration (default 0.05).
        non_clifford: non-Clifford angles kept in each training circuit: a count (default 2),
            or a fraction in ``(0, 1)`` of the circuit's non-Clifford angles (needs a
            statevector of the active qubits); 0 makes them Clifford, simulable at any width.
        seed: seed for random folding and training circuits.
    """

    techniques: tuple[str, ...] = ()
    scale_factors: tuple[float, ...] | None = None
    fold_method: str = "global"
    fold_gates: str = "all"
    extrapolation: str = "richardson"
    order: int | None = None
    asymptote: float | str | None = None
    engine: str = "auto"
    factory: Any | None = None
    readout_method: str = "tensored"
    readout_solver: str = "nnls"
    dd_sequence: str = "XX"
    dd_scheduling: str = "alap"
    budget: float | None = None
    shot_allocation: str = "uniform"
    shot_granularity: int = 4
    training_circuits: int | None = None
    training_fraction: float = 0.1
    calibration_fraction: float = 0.05
    non_clifford: int | float = 2
    seed: int | None = None

    def __post_init__(self) -> None:
        self._check_techniques()
        if self.scale_factors is None:
            if not (self.learning or self.is_auto):
                object.__setattr__(self, "scale_factors", (1.0, 3.0, 5.0))
        else:
            if self.has("cdr"):
                raise ValueError("cdr runs at one noise level and takes no scale_factors; use "
                                 "'vncdr' for variable-noise CDR")
            object.__setattr__(self, "scale_factors", check_scale_factors(self.scale_factors))
        choices = {
            "fold_method": FOLD_METHODS, "fold_gates": FOLD_GATES,
            "extrapolation": ZNE_EXTRAPOLATIONS, "engine": ENGINES,
            "readout_method": READOUT_METHODS, "readout_solver": READOUT_SOLVERS,
            "dd_sequence": DD_SEQUENCES, "dd_scheduling": SCHEDULING_METHODS,
            "shot_allocation": SHOT_ALLOCATIONS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}; got {getattr(self, name)!r}")
        if isinstance(self.asymptote, str) and self.asymptote != "uniform":
            raise ValueError(
                f"asymptote must be a number, 'uniform' or None; got {self.asymptote!r}"
            )
        if "zne" in self.techniques and self.extrapolation in ("poly", "poly_exp") and (
                self.order is None):
            raise ValueError(f"extrapolation={self.extrapolation!r} needs order=")
        if self.budget is not None and not (
                isinstance(self.budget, (int, float)) and not isinstance(self.budget, bool)
                and math.isfinite(self.budget) and self.budget > 0):
            raise ValueError(f"budget must be a positive number (total shots over shots x "
                             f"queries); got {self.budget!r}")
        from .training import kept_count

        kept_count(self.non_clifford, 0)
        for name in ("shot_granularity", "training_circuits"):
            value = getattr(self, name)
            low = 2 if name == "training_circuits" else 1
            if value is None and name == "training_circuits":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
        for name in ("training_fraction", "calibration_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    0 < value < 0.5):
                raise ValueError(f"{name} must be a number in (0, 0.5); got {value!r}")
        if self.shot_allocation == "optimal" and not self.has("zne"):
            raise ValueError("shot_allocation='optimal' applies to ZNE; cdr, vncdr and auto "
                             "always allocate by variance")
        if self.extrapolation == "auto" and self.engine == "mitiq":
            raise ValueError("extrapolation='auto' chooses between native polynomial fits; "
                             "drop engine='mitiq'")

    def _check_techniques(self) -> None:
        techniques = tuple(self.techniques)
        if techniques == ("auto",):
            for f in dataclasses.fields(self):
                if f.name in AUTO_OPTIONS or f.name == "techniques":
                    continue
                if getattr(self, f.name) != f.default:
                    raise ValueError(f"mitigation='auto' decides {f.name} itself; name the "
                                     f"techniques instead (e.g. 'vncdr+rem') to set it")
            return
        if "auto" in techniques:
            raise ValueError("mitigation='auto' picks every technique itself; it combines with "
                             "nothing (pass mitigation_options to tune it)")
        unknown = [t for t in techniques if t not in TECHNIQUES]
        if unknown:
            raise ValueError(f"unknown mitigation technique(s) {unknown}; choose from "
                             f"{TECHNIQUES} or 'auto'")
        removers = [t for t in techniques if t in NOISE_REMOVERS]
        if len(removers) > 1:
            raise ValueError(f"{' and '.join(removers)} both remove gate noise; choose one "
                             "(vncdr already combines CDR with ZNE's noise scaling)")

    @property
    def is_auto(self) -> bool:
        """Whether the techniques are chosen per run (``mitigation="auto"``)."""
        return self.techniques == ("auto",)

    @property
    def learning(self) -> bool:
        """Whether a learning-based technique (training circuits) is requested."""
        return self.has("cdr") or self.has("vncdr")

    def has(self, technique: str) -> bool:
        """Whether ``technique`` is requested."""
        return technique in self.techniques

    @property
    def label(self) -> str:
        """Canonical ``"a+b"`` label (``"none"`` when empty)."""
        return "+".join(self.techniques) or "none"

    @classmethod
    def parse(cls, mitigation: Any, options: Mapping[str, Any] | None = None
              ) -> MitigationConfig | None:
        """Parse ``mitigation`` (``None``, ``"zne+rem"``, a list, or a config) and ``options``.

        Example:
            >>> MitigationConfig.parse("rem+zne", {"scale_factors": (1, 2, 3)}).label
            'zne+rem'
            >>> MitigationConfig.parse("zne+magic")
            Traceback (most recent call last):
            ...
            ValueError: unknown mitigation technique 'magic'; choose from ('zne', 'cdr', 'vncdr', \
'rem', 'dd', 'twirling') combined with '+', e.g. 'zne+rem', or 'auto'
            >>> MitigationConfig.parse("auto").is_auto
            True
        """
        options = dict(options or {})
        if isinstance(mitigation, MitigationConfig):
            return dataclasses.replace(mitigation, **options) if options else mitigation
        if mitigation is None or mitigation == "none":
            if options:
                raise ValueError("mitigation_options given but mitigation is None")
            return None
        if isinstance(mitigation, str):
            parts = [p.strip().lower() for p in mitigation.replace(",", "+").split("+")]
        elif isinstance(mitigation, (list, tuple, set, frozenset)):
            parts = [str(p).strip().lower() for p in mitigation]
        else:
            raise TypeError(
                "mitigation must be None, a string like 'zne+rem', a list of techniques or a "
                f"MitigationConfig; got {type(mitigation).__name__}"
            )
        parts = [_ALIASES.get(p, p) for p in parts if p]
        for p in parts:
            if p not in TECHNIQUES and p != "auto":
                raise ValueError(
                    f"unknown mitigation technique {p!r}; choose from {TECHNIQUES} combined "
                    "with '+', e.g. 'zne+rem', or 'auto'"
                )
        if not parts:
            raise ValueError("mitigation names no technique; use None for no mitigation")
        fields = {f.name for f in dataclasses.fields(cls)} - {"techniques"}
        unknown = sorted(set(options) - fields)
        if unknown:
            raise ValueError(f"unknown mitigation option(s) {unknown}; valid: {sorted(fields)}")
        techniques = tuple(t for t in (*TECHNIQUES, "auto") if t in parts)
        return cls(techniques=techniques, **options)
