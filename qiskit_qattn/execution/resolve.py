"""``execution="statevector" | "shots" | "runtime"`` (or an executor) to an :class:`Executor`."""

from __future__ import annotations

from typing import Any

from .base import Executor

#: Execution names :func:`resolve_executor` understands.
EXECUTIONS = ("statevector", "shots", "runtime")


def resolve_executor(
    execution: str | Executor,
    *,
    device: Any | None = None,
    noise_model: Any = "device",
    mode: Any | None = None,
    seed: int | None = None,
) -> Executor:
    """The executor for an ``execution`` name, or ``execution`` itself if it is one.

    - ``"statevector"``: :class:`~.StatevectorExecutor` (exact probabilities; no device).
    - ``"shots"``: :class:`~.LocalSampler` (ideal sampling without ``device``; with one, the
      circuits are compiled for it and sampled under ``noise_model``).
    - ``"runtime"``: :class:`~.RuntimeExecutor` in ``mode`` (default: ``device``, else
      ``fake_torino``), through the job store.

    Example:
        >>> resolve_executor("shots", device="fake_manila").describe()["noise"]
        'device (reduced)'
    """
    if isinstance(execution, Executor):
        if device is not None or mode is not None:
            raise ValueError("device/mode are set on the executor itself when execution= is an "
                             "Executor instance")
        return execution
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS} or an Executor; got "
                         f"{execution!r}")
    if mode is not None and execution != "runtime":
        raise ValueError("mode applies to execution='runtime' only")
    if execution == "statevector":
        if device is not None:
            raise ValueError("execution='statevector' is exact and noiseless: drop device, or "
                             "use execution='shots' to sample under the device's noise")
        from .statevector import StatevectorExecutor

        return StatevectorExecutor()
    if execution == "shots":
        from .local import LocalSampler

        return LocalSampler(device, noise_model=noise_model if device is not None else None,
                            seed=seed)
    from .runtime import RuntimeExecutor

    return RuntimeExecutor(device, mode=mode, seed=seed)
