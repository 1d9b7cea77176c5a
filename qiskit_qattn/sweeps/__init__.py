"""Sweeps: many independent units of work on many workers, resumable through the job store.

A *unit* (:class:`Unit`) is one function call sized to seconds — one attention head through a
family, an execution, a device and mitigation; a ``simulate()`` batch; a benchmark cell; a
schedule-fitting configuration — keyed by a fingerprint of everything that determines its
result. :func:`run_sweep` runs units on *workers* (:mod:`.workers`: this process, a local
process pool, a Dask cluster — a ``LocalCluster`` or ``Client(address)`` — or Ray) and streams
each result into the job store as it arrives, so a killed sweep reruns only the missing units
and never runs a finished one twice. :func:`sweep_model` runs a whole model's attention
(MiniLM on real text, every layer and head) this way; ``qattn sweep`` is its command line.

The same :class:`Workers` objects split one large ``simulate()`` or ``estimate_attention`` call
across workers (``workers=``).
"""

from .attention import (
    HeadResult,
    ModelSweep,
    attention_units,
    estimate_head,
    sweep_model,
    unit_seed,
)
from .runner import SweepError, SweepResult, execute_unit, run_sweep
from .units import Unit, UnitOutput, fingerprint
from .workers import (
    ENGINES,
    DaskWorkers,
    InProcessWorkers,
    ProcessPoolWorkers,
    RayWorkers,
    WorkerLostError,
    Workers,
    resolve_workers,
)

__all__ = [
    "ENGINES",
    "DaskWorkers",
    "HeadResult",
    "InProcessWorkers",
    "ModelSweep",
    "ProcessPoolWorkers",
    "RayWorkers",
    "SweepError",
    "SweepResult",
    "Unit",
    "UnitOutput",
    "WorkerLostError",
    "Workers",
    "attention_units",
    "estimate_head",
    "execute_unit",
    "fingerprint",
    "resolve_workers",
    "run_sweep",
    "sweep_model",
    "unit_seed",
]
