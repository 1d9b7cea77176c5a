"""Which mitigation to apply and how: parsed from ``"zne+rem"``-style strings plus options."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .dd import DD_SEQUENCES, SCHEDULING_METHODS
from .extrapolation import ENGINES, EXTRAPOLATIONS
from .folding import FOLD_GATES, FOLD_METHODS, check_scale_factors
from .readout import READOUT_METHODS, READOUT_SOLVERS

#: Techniques understood by ``mitigation=``: combine with ``+`` (``"zne+rem"``, ``"dd+zne+rem"``).
TECHNIQUES = ("zne", "rem", "dd", "twirling")
_ALIASES = {"readout": "rem", "trex": "rem", "dynamical_decoupling": "dd"}


@dataclass(frozen=True)
class MitigationConfig:
    """Mitigation settings (immutable). Build with :meth:`parse`.

    Attributes:
        techniques: requested techniques, a subset of :data:`TECHNIQUES` in canonical order.
        scale_factors: ZNE noise scale factors (``>= 1``, at least two, distinct).
        fold_method: ``"global"``, ``"local"``, ``"random"`` or ``"identity"``.
        fold_gates: ``"all"`` or ``"two_qubit"``.
        extrapolation: ``"richardson"`` (default; with factors 1, 3, 5 the best trade-off on
            the benchmark's device noise), ``"linear"`` (least noise, biased on deep circuits),
            ``"poly"``, ``"exponential"``, ``"poly_exp"``. Exponential fits with a free
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
        seed: seed for random folding.
    """

    techniques: tuple[str, ...] = ()
    scale_factors: tuple[float, ...] = (1.0, 3.0, 5.0)
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
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale_factors", check_scale_factors(self.scale_factors))
        choices = {
            "fold_method": FOLD_METHODS, "fold_gates": FOLD_GATES,
            "extrapolation": EXTRAPOLATIONS, "engine": ENGINES,
            "readout_method": READOUT_METHODS, "readout_solver": READOUT_SOLVERS,
            "dd_sequence": DD_SEQUENCES, "dd_scheduling": SCHEDULING_METHODS,
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
            ValueError: unknown mitigation technique 'magic'; choose from ('zne', 'rem', 'dd', \
'twirling') combined with '+', e.g. 'zne+rem'
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
            if p not in TECHNIQUES:
                raise ValueError(
                    f"unknown mitigation technique {p!r}; choose from {TECHNIQUES} combined "
                    "with '+', e.g. 'zne+rem'"
                )
        if not parts:
            raise ValueError("mitigation names no technique; use None for no mitigation")
        fields = {f.name for f in dataclasses.fields(cls)} - {"techniques"}
        unknown = sorted(set(options) - fields)
        if unknown:
            raise ValueError(f"unknown mitigation option(s) {unknown}; valid: {sorted(fields)}")
        techniques = tuple(t for t in TECHNIQUES if t in parts)
        return cls(techniques=techniques, **options)
