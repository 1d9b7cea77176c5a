"""Options of the ``"circuit"`` attention backend: parsed and checked once, with clear errors.

Every option is validated before any circuit is built, so a bad ``family``, ``device``,
``shots`` or ``mitigation`` fails on the first call (and, through
:class:`~qiskit_qattn.nn.QuantumMultiheadAttention`, already when the layer is constructed).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._common import check_options, positive_float, positive_int

#: Gradient conventions of the circuit backend (see :mod:`.circuit_backend`).
GRADIENTS = ("auto", "softmax", "parameter_shift", "none")

#: Every option the circuit backend accepts.
OPTION_NAMES = (
    "family", "family_options", "execution", "device", "shots", "noise_model", "mitigation",
    "mitigation_options", "mode", "store", "confirm", "runtime_options", "optimization_level",
    "optimization_method", "seed_transpiler", "temperature", "gradient", "cache", "template",
    "report",
)

#: Families whose rows share one compiled structure at no cost in two-qubit gates (measured on
#: real MiniLM heads for FakeTorino): ``template="auto"`` binds them to one compiled template.
STRUCTURE_TEMPLATE_FAMILIES = ("warm_start", "born_machine")


@dataclass(frozen=True)
class CircuitHeadOptions:
    """Validated options of the ``"circuit"`` backend.

    Attributes:
        family: circuit family name (:data:`~qiskit_qattn.circuits.FAMILY_NAMES`).
        family_options: builder options of the family (``reps``, ``window``, ...).
        execution: ``"statevector"``, ``"shots"``, ``"runtime"`` or an
            :class:`~qiskit_qattn.execution.Executor` instance.
        device: the resolved ``BackendV2`` (``None`` for logical executions).
        shots: shots per circuit (sampling executions).
        noise_model: ``"device"``, an Aer ``NoiseModel`` or ``None`` (``execution="shots"``).
        mitigation: the parsed :class:`~qiskit_qattn.mitigation.MitigationConfig` or ``None``.
        mode, store, confirm, runtime_options: Runtime settings (``execution="runtime"``).
        optimization_level, optimization_method, seed_transpiler: compilation settings.
        temperature: softmax temperature of the circuits.
        gradient: one of :data:`GRADIENTS`.
        cache: reuse compiled heads across calls when their inputs repeat.
        template: ``"auto"`` (textbook QAOA always binds its template; ``warm_start`` and
            ``born_machine`` bind a structural template when it costs no two-qubit gate over
            compiling row by row), ``True`` (a structural template for any family whose rows
            share a structure), ``False`` (compile every row).
        report: ``None`` or a callable receiving each call's ``info`` dict (circuits, shots,
            executions, timings, job ids): how a caller sees them through the nn layer or a
            Hugging Face model, which do not hand the backend's result back.
    """

    family: str = "softmax_state"
    family_options: dict = field(default_factory=dict)
    execution: Any = "statevector"
    device: Any = None
    shots: int = 4096
    noise_model: Any = "device"
    mitigation: Any = None
    mode: Any = None
    store: Any = None
    confirm: Callable[[Any], bool] | None = None
    runtime_options: dict | None = None
    optimization_level: int = 3
    optimization_method: str | None = None
    seed_transpiler: int = 0
    temperature: float = 1.0
    gradient: str = "auto"
    cache: bool = True
    template: bool | str = "auto"
    report: Callable[[dict], Any] | None = None

    @property
    def execution_name(self) -> str:
        """``"statevector"``, ``"shots"`` or ``"runtime"`` (an executor's own name)."""
        return self.execution if isinstance(self.execution, str) else self.execution.name

    @property
    def uses_template(self) -> bool:
        """Whether the family compiles one parametrised template per head size (textbook QAOA).

        Example:
            >>> parse_circuit_options({"family": "qaoa"}).uses_template
            True
        """
        return self.family == "qaoa" and self.family_options.get(
            "phase_separator", "walsh") == "walsh"


def parse_circuit_options(options: Mapping[str, Any]) -> CircuitHeadOptions:
    """Check the ``"circuit"`` backend's options and resolve its device and mitigation.

    Args:
        options: the keyword options given to ``attention(..., backend="circuit", **options)``.

    Returns:
        :class:`CircuitHeadOptions`.

    Raises:
        ValueError: an unknown option, family, family option, device name, execution, gradient,
            mitigation technique, or ``shots``/``temperature`` out of range.
        TypeError: an option of the wrong type.

    Example:
        >>> parse_circuit_options({"family": "warm_start", "device": "fake_manila"}).execution
        'shots'
        >>> parse_circuit_options({"shots": 0})
        Traceback (most recent call last):
        ...
        ValueError: shots must be an integer >= 1; got 0
    """
    from ..circuits import get_family

    options = dict(options)
    check_options("circuit", options, OPTION_NAMES)
    family = options.get("family", "softmax_state")
    if not isinstance(family, str):
        raise TypeError(f"family must be a family name (str); got {type(family).__name__}")
    fam = get_family(family)
    family_options = options.get("family_options") or {}
    if not isinstance(family_options, Mapping):
        raise TypeError(f"family_options must be a dict of builder options; got "
                        f"{type(family_options).__name__}")
    family_options = dict(family_options)
    fam.check_options(family_options)
    shots = positive_int(options.get("shots", 4096), "shots")
    temperature = positive_float(options.get("temperature", 1.0), "temperature")
    device = options.get("device")
    if device is not None:
        from ..runtime import resolve_device

        device = resolve_device(device)
    execution = _execution(options.get("execution"), device, options.get("mode"))
    level = options.get("optimization_level", 3)
    if isinstance(level, bool) or level not in (0, 1, 2, 3):
        raise ValueError(f"optimization_level must be 0, 1, 2 or 3; got {level!r}")
    method = options.get("optimization_method")
    if method is not None and not isinstance(method, str):
        raise TypeError(f"optimization_method must be a stage plugin name or None; got {method!r}")
    seed_transpiler = options.get("seed_transpiler", 0)
    if isinstance(seed_transpiler, bool) or not isinstance(seed_transpiler, numbers.Integral) or (
            seed_transpiler < 0):
        raise ValueError(f"seed_transpiler must be an integer >= 0; got {seed_transpiler!r}")
    gradient = options.get("gradient", "auto")
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient must be one of {GRADIENTS}; got {gradient!r}")
    confirm = options.get("confirm")
    if confirm is not None and not callable(confirm):
        raise TypeError("confirm must be a callable taking the cost preview and returning a bool")
    report = options.get("report")
    if report is not None and not callable(report):
        raise TypeError("report must be a callable taking each call's info dict, or None")
    runtime_options = options.get("runtime_options")
    if runtime_options is not None and not isinstance(runtime_options, Mapping):
        raise TypeError("runtime_options must be a dict of Runtime primitive options")
    for name in ("mode", "store", "confirm", "runtime_options"):
        if options.get(name) is not None and execution != "runtime":
            raise ValueError(f"{name} applies to execution='runtime' only; got execution="
                             f"{_label(execution)!r}")
    noise_model = options.get("noise_model", "device")
    if isinstance(noise_model, str) and noise_model != "device":
        raise ValueError(f"noise_model must be 'device', an Aer NoiseModel or None; got "
                         f"{noise_model!r}")
    if "noise_model" in options and execution != "shots":
        raise ValueError("noise_model applies to execution='shots' only")
    mitigation = _mitigation(options.get("mitigation"), options.get("mitigation_options"),
                             execution, device)
    _check_paid(execution, device, options.get("mode"), confirm)
    parsed = CircuitHeadOptions(
        family=family, family_options=family_options, execution=execution, device=device,
        shots=shots, noise_model=noise_model, mitigation=mitigation, mode=options.get("mode"),
        store=options.get("store"), confirm=confirm,
        runtime_options=None if runtime_options is None else dict(runtime_options),
        optimization_level=int(level), optimization_method=method,
        seed_transpiler=int(seed_transpiler), temperature=temperature, gradient=gradient,
        cache=bool(options.get("cache", True)),
        template=_template(options.get("template", "auto")), report=report,
    )
    if gradient == "parameter_shift" and not parsed.uses_template:
        raise ValueError(
            "gradient='parameter_shift' needs a parametrised template family (family='qaoa' "
            f"with the Walsh phase separator); family {family!r} uses gradient='softmax'"
        )
    return parsed


def _check_paid(execution: Any, device: Any, mode: Any, confirm: Any) -> None:
    """Runtime submissions to a paying (non-local) service need a ``confirm`` callback."""
    from ..runtime import is_local_mode

    if isinstance(execution, str):
        if execution != "runtime" or confirm is not None:
            return
        target = mode if mode is not None else device
    else:
        if execution.name != "runtime" or getattr(execution, "confirm", None) is not None:
            return
        target = execution.mode
    if target is not None and not is_local_mode(target):
        raise ValueError(
            "a Runtime submission to IBM hardware needs confirm=: a callable that receives the "
            "cost preview (circuits, shots, QPU seconds) and returns True to submit"
        )


def _template(value: Any) -> bool | str:
    if value == "auto" or isinstance(value, bool):
        return value
    raise ValueError(f"template must be 'auto', True or False; got {value!r}")


def _label(execution: Any) -> str:
    return execution if isinstance(execution, str) else getattr(execution, "name", "executor")


def _execution(execution: Any, device: Any, mode: Any) -> Any:
    """The execution name (default: ``"shots"`` with a device, else ``"statevector"``)."""
    from ..execution import EXECUTIONS, Executor

    if execution is None:
        return "runtime" if mode is not None else ("shots" if device is not None else
                                                   "statevector")
    if isinstance(execution, Executor):
        if device is not None or mode is not None:
            raise ValueError("device and mode are set on the executor itself when execution= is "
                             "an Executor instance")
        if getattr(execution, "primitive", "sampler") != "sampler":
            raise ValueError("the circuit backend estimates weights from counts: give it a "
                             "sampling executor (RuntimeExecutor(primitive='sampler'))")
        return execution
    if execution not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS} or an Executor; got "
                         f"{execution!r}")
    if execution == "statevector" and device is not None:
        raise ValueError("execution='statevector' is exact and noiseless: drop device, or use "
                         "execution='shots' to sample under the device's noise")
    if execution != "runtime" and mode is not None:
        raise ValueError("mode applies to execution='runtime' only")
    return execution


def _mitigation(mitigation: Any, options: Any, execution: Any, device: Any) -> Any:
    """The parsed mitigation config; polynomial fits default to the vectorised native engine."""
    from ..mitigation import MitigationConfig

    if mitigation is None:
        if options:
            raise ValueError("mitigation_options given but mitigation is None")
        return None
    if options is not None and not isinstance(options, Mapping):
        raise TypeError("mitigation_options must be a dict")
    opts = dict(options or {})
    if not isinstance(mitigation, MitigationConfig) and "engine" not in opts and (
            "factory" not in opts):
        # Native and Mitiq fits give the same polynomial-family numbers; the native one is
        # vectorised over every output entry of the forward, Mitiq's is called per entry.
        if opts.get("extrapolation", "richardson") in ("richardson", "linear", "poly"):
            opts["engine"] = "native"
    config = MitigationConfig.parse(mitigation, opts)
    if config is None:
        return None
    name = _label(execution)
    # execution="runtime" always has a device (default fake_torino)
    has_device = name == "runtime" or device is not None or (
        not isinstance(execution, str) and execution.device is not None)
    if name == "statevector" or not has_device:
        raise ValueError(
            "mitigation needs a noisy compiled execution: execution='shots' with a device, or "
            f"execution='runtime'; got execution={name!r}"
            + ("" if has_device else " without a device")
        )
    if config.has("twirling") and name != "runtime":
        raise ValueError("twirling is applied by Runtime; use execution='runtime' for it")
    return config
