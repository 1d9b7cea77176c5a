"""The executor protocol: one call of :meth:`Executor.run` is one execution (one Runtime job)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from .batch import CircuitBatch, Outcomes


class Executor(ABC):
    """Runs circuit batches and returns their outcomes per basis state.

    Subclasses say whether they need circuits compiled for a device (:attr:`device`) and
    measured (:attr:`measured`), and implement :meth:`_run`. :attr:`executions` counts the calls
    of :meth:`run`: all batches of one call run in one execution (one job on Runtime), which is
    how mitigation runs every fold and calibration circuit at once.

    Example:
        >>> from qiskit_qattn.execution import StatevectorExecutor
        >>> StatevectorExecutor().describe()["execution"]
        'statevector'
    """

    #: The ``execution=`` name this executor implements.
    name: str = ""

    def __init__(self) -> None:
        # Shared with copies made by ``with_options``: a mitigated run counts on the original.
        self._executions = [0]

    @property
    def executions(self) -> int:
        """How many times :meth:`run` was called (one job each on Runtime)."""
        return self._executions[0]

    @property
    def device(self) -> Any | None:
        """The ``BackendV2`` circuits must be compiled for, or ``None`` for logical circuits."""
        return None

    @property
    def measured(self) -> bool:
        """Whether compiled circuits must measure the key register (samplers)."""
        return self.device is not None

    @property
    def needs_shots(self) -> bool:
        """Whether :meth:`run` needs ``shots``."""
        return True

    @property
    def server_side(self) -> tuple[str, ...]:
        """Mitigation techniques this executor can have the device service apply (Runtime)."""
        return ()

    def with_options(self, options: dict) -> Executor:
        """A copy whose primitive options include ``options`` (Runtime executors only)."""
        raise ValueError(f"the {self.name!r} executor takes no primitive options")

    def describe(self) -> dict[str, Any]:
        """JSON-safe summary for reports (no credentials)."""
        out: dict[str, Any] = {"execution": self.name}
        if self.device is not None:
            out["device"] = self.device.name
        return out

    def run(self, batches: Sequence[CircuitBatch], shots: int | None = None) -> list[Outcomes]:
        """Run every batch in one execution and return one :class:`Outcomes` per batch."""
        batches = list(batches)
        if not batches:
            raise ValueError("batches must not be empty")
        for batch in batches:
            if self.device is not None and batch.device not in (None, self.device.name):
                raise ValueError(f"batch {batch.label!r} was compiled for {batch.device!r}, not "
                                 f"for this executor's device {self.device.name!r}")
        if self.needs_shots and shots is None:
            raise ValueError(f"the {self.name!r} execution needs shots")
        self._executions[0] += 1
        return self._run(batches, shots)

    @abstractmethod
    def _run(self, batches: list[CircuitBatch], shots: int | None) -> list[Outcomes]:
        """Execute (see :meth:`run`)."""
