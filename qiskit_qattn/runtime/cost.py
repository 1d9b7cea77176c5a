"""Cost preview of a packed job before it is submitted: executions, shots, rough QPU seconds.

The QPU-time figure is a transparent model, not IBM's meter:

    seconds ≈ job_overhead + Σ_executions shots × (circuit duration + rep_delay)

with the circuit duration from the device target's instruction durations
(``QuantumCircuit.estimate_duration``) and ``rep_delay`` from the device configuration
(250 µs on current IBM devices). Real usage also includes compilation and readout overheads on
IBM's side; treat the figure as an order of magnitude to decide whether to submit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .pubs import PackedTask

DEFAULT_REP_DELAY = 250e-6
DEFAULT_JOB_OVERHEAD = 2.0


@dataclass(frozen=True)
class CostPreview:
    """What a job will cost, computed before submission.

    Attributes:
        device: device name.
        primitive: ``"sampler"`` or ``"estimator"``.
        pubs: number of PUBs (one job).
        circuits: circuit executions (parameter bindings) across the PUBs.
        shots_per_circuit: shots per execution (estimator: ``ceil(1/precision**2)``).
        total_shots: ``circuits × shots_per_circuit``.
        max_circuit_seconds: longest circuit duration on the device, measurement included.
        rep_delay: delay between shots used in the estimate.
        estimated_qpu_seconds: the model above.
    """

    device: str
    primitive: str
    pubs: int
    circuits: int
    shots_per_circuit: int
    total_shots: int
    max_circuit_seconds: float
    rep_delay: float
    estimated_qpu_seconds: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe)."""
        return asdict(self)

    def summary(self) -> str:
        """One line for people."""
        return (f"{self.device}: {self.pubs} PUB(s), {self.circuits} circuit(s) x "
                f"{self.shots_per_circuit} shots = {self.total_shots} shots, "
                f"~{self.estimated_qpu_seconds:.1f} QPU s (rough estimate)")


def _rep_delay(device: Any) -> float:
    conf = None
    if hasattr(device, "configuration"):
        try:
            conf = device.configuration()
        except Exception:  # some BackendV2 have no configuration
            conf = None
    value = getattr(conf, "default_rep_delay", None) or getattr(device, "default_rep_delay",
                                                                None)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return DEFAULT_REP_DELAY
    # IBM configurations state rep_delay in seconds; guard against a microsecond value.
    return value * 1e-6 if value > 1e-2 else value


def cost_preview(task: PackedTask, device: Any = None,
                 job_overhead: float = DEFAULT_JOB_OVERHEAD) -> CostPreview:
    """Estimate the cost of submitting ``task`` on ``device``.

    Args:
        task: the packed job.
        device: ``BackendV2`` whose target gives instruction durations (``None``: durations 0).
        job_overhead: fixed seconds per job in the model.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit.primitives.containers.sampler_pub import SamplerPub
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> qc = QuantumCircuit(1, 1); _ = qc.x(0); _ = qc.measure(0, 0)
        >>> task = PackedTask("sampler", (SamplerPub.coerce(qc, shots=1000),) * 2, 1000, None,
        ...                   "fake_manila")
        >>> p = cost_preview(task, FakeManilaV2())
        >>> p.circuits, p.total_shots, p.estimated_qpu_seconds > 2.0
        (2, 2000, True)
    """
    if task.primitive == "sampler":
        shots = int(task.shots)
    else:
        shots = int(np.ceil(1.0 / float(task.precision) ** 2))
    rep_delay = _rep_delay(device) if device is not None else DEFAULT_REP_DELAY
    seconds = float(job_overhead)
    longest = 0.0
    executions = 0
    for pub in task.pubs:
        n = max(1, int(np.prod(pub.parameter_values.shape)))
        executions += n
        duration = 0.0
        if device is not None:
            try:
                duration = float(pub.circuit.estimate_duration(device.target, unit="s"))
            except Exception:  # a target without durations: count the rep delay only
                duration = 0.0
        longest = max(longest, duration)
        seconds += n * shots * (duration + rep_delay)
    return CostPreview(
        device=task.device, primitive=task.primitive, pubs=len(task.pubs),
        circuits=executions, shots_per_circuit=shots, total_shots=executions * shots,
        max_circuit_seconds=longest, rep_delay=rep_delay, estimated_qpu_seconds=seconds,
    )


class SubmissionDeclined(RuntimeError):
    """The ``confirm`` callback declined the cost preview; nothing was submitted."""
