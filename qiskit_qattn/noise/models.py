"""Analytic Aer noise models with one constructor style.

Every constructor takes keyword-style, validated strengths and returns an Aer ``NoiseModel``:
``p1`` is the strength of the channel after each one-qubit gate (``sx``, ``x``, ``id``; ``rz`` is
virtual on IBM devices and stays noiseless), ``p2`` the strength after each two-qubit gate
(``cz``, ``ecr``, ``cx``), ``readout`` a symmetric flip probability or a pair
``(P(1|0), P(0|1))``. :func:`build_noise_model` picks a constructor by name.

Example:
    >>> nm = depolarizing_noise(p1=1e-3, p2=1e-2, readout=0.02)
    >>> sorted(nm.noise_instructions)
    ['cx', 'cz', 'ecr', 'id', 'measure', 'sx', 'x']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from qiskit.circuit.library import RZZGate
from qiskit.transpiler import CouplingMap, Target
from qiskit_aer.noise import (
    NoiseModel,
    QuantumError,
    ReadoutError,
    amplitude_damping_error,
    coherent_unitary_error,
    depolarizing_error,
    phase_damping_error,
    thermal_relaxation_error,
)

from ._validate import gate_names, positive_time, probability, readout_pair

#: Noisy one-qubit gates by default (``rz`` is a virtual frame change on IBM devices).
ONE_QUBIT_GATES = ("sx", "x", "id")
#: Noisy two-qubit gates by default (Heron ``cz``, Eagle ``ecr``, generic ``cx``).
TWO_QUBIT_GATES = ("cz", "ecr", "cx")
_BASIS = ["id", "rz", "sx", "x", "cz", "ecr", "cx"]


def _empty_model(one_qubit_gates, two_qubit_gates) -> tuple[NoiseModel, tuple, tuple]:
    g1 = gate_names(one_qubit_gates, "one_qubit_gates")
    g2 = gate_names(two_qubit_gates, "two_qubit_gates")
    basis = list(dict.fromkeys(_BASIS + list(g1) + list(g2)))
    return NoiseModel(basis_gates=basis), g1, g2


def _add_readout(model: NoiseModel, readout: Any, qubits: Iterable[int] | None = None) -> None:
    p10, p01 = readout_pair(readout)
    if p10 == 0 and p01 == 0:
        return
    error = ReadoutError([[1 - p10, p10], [p01, 1 - p01]])
    if qubits is None:
        model.add_all_qubit_readout_error(error)
    else:
        for q in qubits:
            model.add_readout_error(error, [q])


def _uniform_model(
    make_1q: Callable[[float], QuantumError],
    make_2q: Callable[[float], QuantumError],
    p1: float,
    p2: float,
    readout: Any,
    one_qubit_gates: Sequence[str],
    two_qubit_gates: Sequence[str],
) -> NoiseModel:
    model, g1, g2 = _empty_model(one_qubit_gates, two_qubit_gates)
    if p1 > 0 and g1:
        model.add_all_qubit_quantum_error(make_1q(p1), list(g1))
    if p2 > 0 and g2:
        model.add_all_qubit_quantum_error(make_2q(p2), list(g2))
    _add_readout(model, readout)
    return model


def depolarizing_noise(
    p1: float = 1e-3,
    p2: float = 1e-2,
    *,
    readout: float | tuple[float, float] = 0.0,
    one_qubit_gates: Sequence[str] = ONE_QUBIT_GATES,
    two_qubit_gates: Sequence[str] = TWO_QUBIT_GATES,
) -> NoiseModel:
    """Depolarizing noise after one-qubit (``p1``) and two-qubit (``p2``, joint channel) gates.

    On a two-qubit register the joint channel is global depolarizing.

    Example:
        >>> depolarizing_noise(0.0, 0.05).noise_instructions
        ['cx', 'cz', 'ecr']
    """
    p1 = probability(p1, "p1")
    p2 = probability(p2, "p2")
    return _uniform_model(
        lambda p: depolarizing_error(p, 1), lambda p: depolarizing_error(p, 2),
        p1, p2, readout, one_qubit_gates, two_qubit_gates,
    )


def amplitude_damping_noise(
    p1: float = 1e-3,
    p2: float = 1e-2,
    *,
    readout: float | tuple[float, float] = 0.0,
    one_qubit_gates: Sequence[str] = ONE_QUBIT_GATES,
    two_qubit_gates: Sequence[str] = TWO_QUBIT_GATES,
) -> NoiseModel:
    """Amplitude damping: ``p1`` per one-qubit gate, ``p2`` on each qubit of a two-qubit gate.

    Example:
        >>> amplitude_damping_noise(0.01, 0.02).noise_instructions
        ['cx', 'cz', 'ecr', 'id', 'sx', 'x']
    """
    p1 = probability(p1, "p1")
    p2 = probability(p2, "p2")
    return _uniform_model(
        amplitude_damping_error,
        lambda p: amplitude_damping_error(p).tensor(amplitude_damping_error(p)),
        p1, p2, readout, one_qubit_gates, two_qubit_gates,
    )


def phase_damping_noise(
    p1: float = 1e-3,
    p2: float = 1e-2,
    *,
    readout: float | tuple[float, float] = 0.0,
    one_qubit_gates: Sequence[str] = ONE_QUBIT_GATES,
    two_qubit_gates: Sequence[str] = TWO_QUBIT_GATES,
) -> NoiseModel:
    """Phase damping: ``p1`` per one-qubit gate, ``p2`` on each qubit of a two-qubit gate.

    Example:
        >>> phase_damping_noise(0.01, 0.02).noise_instructions
        ['cx', 'cz', 'ecr', 'id', 'sx', 'x']
    """
    p1 = probability(p1, "p1")
    p2 = probability(p2, "p2")
    return _uniform_model(
        phase_damping_error,
        lambda p: phase_damping_error(p).tensor(phase_damping_error(p)),
        p1, p2, readout, one_qubit_gates, two_qubit_gates,
    )


def _per_qubit(value: Any, name: str, count: int | None) -> list[float] | float:
    if np.ndim(value) == 0:
        return positive_time(value, name)
    values = [positive_time(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if count is not None and len(values) != count:
        raise ValueError(f"{name} must have one entry per qubit ({count}); got {len(values)}")
    return values


def _target_properties(target: Target, qubits: Sequence[int] | None):
    if not isinstance(target, Target):
        raise TypeError(f"target must be a qiskit Target; got {type(target).__name__}")
    phys = list(range(target.num_qubits)) if qubits is None else [int(q) for q in qubits]
    props = target.qubit_properties
    if props is None:
        raise ValueError("target has no qubit_properties; pass t1 and t2 explicitly")
    t1 = [props[q].t1 for q in phys]
    t2 = [props[q].t2 for q in phys]
    if any(v is None for v in t1 + t2):
        raise ValueError("target lacks T1/T2 on some of the qubits; pass t1 and t2 explicitly")
    return phys, t1, t2


def thermal_relaxation_noise(
    t1: float | Sequence[float] | None = None,
    t2: float | Sequence[float] | None = None,
    gate_times: Mapping[str, float] | None = None,
    *,
    target: Target | None = None,
    qubits: Sequence[int] | None = None,
    readout: float | tuple[float, float] = 0.0,
    one_qubit_gates: Sequence[str] = ONE_QUBIT_GATES,
    two_qubit_gates: Sequence[str] = TWO_QUBIT_GATES,
) -> NoiseModel:
    """Thermal relaxation (T1, T2) during each gate, from given times or a backend ``Target``.

    Args:
        t1, t2: relaxation and dephasing times in seconds, scalars (every qubit) or one per qubit;
            read from ``target.qubit_properties`` when omitted. ``t2 <= 2 * t1`` is required.
        gate_times: gate durations in seconds by name; read from ``target`` when omitted.
        target: a device ``Target`` supplying what is not given.
        qubits: with ``target``, the physical qubits to model (renumbered ``0..k-1`` in order,
            as :func:`~qiskit_qattn.noise.device_noise_model` does); default all.
        readout, one_qubit_gates, two_qubit_gates: as in :func:`depolarizing_noise`.

    Example:
        >>> nm = thermal_relaxation_noise(100e-6, 80e-6, {"sx": 35e-9, "x": 35e-9, "cz": 70e-9})
        >>> sorted(nm.noise_instructions)
        ['cz', 'sx', 'x']
    """
    model, g1, g2 = _empty_model(one_qubit_gates, two_qubit_gates)
    phys: list[int] | None = None
    if target is not None:
        phys, target_t1, target_t2 = _target_properties(target, qubits)
        t1 = target_t1 if t1 is None else t1
        t2 = target_t2 if t2 is None else t2
    elif qubits is not None:
        raise ValueError("qubits needs a target to read properties from")
    if t1 is None or t2 is None:
        raise ValueError("t1 and t2 are required (in seconds) unless a target supplies them")
    count = None if phys is None else len(phys)
    if count is None:
        lengths = {len(v) for v in (t1, t2) if np.ndim(v) != 0}
        if len(lengths) > 1:
            raise ValueError(f"t1 and t2 must have the same length; got lengths {sorted(lengths)}")
        count = lengths.pop() if lengths else None
    t1s = _per_qubit(t1, "t1", count)
    t2s = _per_qubit(t2, "t2", count)
    if count is not None:
        t1s = t1s if isinstance(t1s, list) else [t1s] * count
        t2s = t2s if isinstance(t2s, list) else [t2s] * count
    for i, (a, b) in enumerate(zip(np.atleast_1d(t1s), np.atleast_1d(t2s), strict=True)):
        if b > 2 * a:
            raise ValueError(f"t2 must be <= 2 * t1 (qubit {i}: t1={a}, t2={b})")

    def duration(name: str, qargs: tuple[int, ...] | None) -> float | None:
        if gate_times is not None:
            if name not in gate_times:
                return None
            value = float(gate_times[name])
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"gate_times[{name!r}] must be a duration in seconds >= 0")
            return value
        if target is None:
            raise ValueError("gate_times is required (seconds by gate name) without a target")
        if name not in target.operation_names or qargs is None:
            return None
        props = target[name].get(tuple(phys[q] for q in qargs))
        return None if props is None or props.duration is None else float(props.duration)

    if not isinstance(t1s, list):  # uniform: all-qubit errors
        for name in g1:
            time = duration(name, None if target is None else (0,))
            if time:
                model.add_all_qubit_quantum_error(thermal_relaxation_error(t1s, t2s, time), name)
        for name in g2:
            time = duration(name, None if target is None else (0, 1))
            if time:
                err = thermal_relaxation_error(t1s, t2s, time)
                model.add_all_qubit_quantum_error(err.expand(err), name)
        _add_readout(model, readout)
        return model

    n = len(t1s)
    for name in g1:
        for q in range(n):
            time = duration(name, (q,))
            if time:
                err = thermal_relaxation_error(t1s[q], t2s[q], time)
                model.add_quantum_error(err, name, [q])
    pairs = _pairs(target, phys, n)
    for name in g2:
        for a, b in pairs:
            time = duration(name, (a, b))
            if time:
                err_a = thermal_relaxation_error(t1s[a], t2s[a], time)
                err_b = thermal_relaxation_error(t1s[b], t2s[b], time)
                model.add_quantum_error(err_a.expand(err_b), name, [a, b])
    _add_readout(model, readout, range(n))
    return model


def _pairs(target: Target | None, phys: list[int] | None, n: int) -> list[tuple[int, int]]:
    """Ordered qubit pairs that can carry a two-qubit gate (``target``'s, else all)."""
    if target is None or phys is None:
        return [(a, b) for a in range(n) for b in range(n) if a != b]
    index = {q: i for i, q in enumerate(phys)}
    pairs = set()
    for qargs in target.qargs or ():
        if len(qargs) == 2 and all(q in index for q in qargs):
            pairs.add((index[qargs[0]], index[qargs[1]]))
    return sorted(pairs)


def _edges(coupling: Any) -> list[tuple[int, int]]:
    if isinstance(coupling, Target):
        edges = [q for q in (coupling.qargs or ()) if len(q) == 2]
    elif isinstance(coupling, CouplingMap):
        edges = list(coupling.get_edges())
    else:
        try:
            edges = [tuple(int(q) for q in e) for e in coupling]
        except TypeError as exc:
            raise TypeError(
                "coupling must be a Target, a CouplingMap or a sequence of qubit pairs"
            ) from exc
    if not edges or any(len(e) != 2 or e[0] == e[1] or min(e) < 0 for e in edges):
        raise ValueError(f"coupling must list distinct non-negative qubit pairs; got {edges!r}")
    both = {(a, b) for a, b in edges} | {(b, a) for a, b in edges}
    return sorted(both)


def correlated_noise(
    coupling: Any,
    *,
    p2: float = 1e-2,
    zz_angle: float = 0.02,
    p1: float = 0.0,
    readout: float | tuple[float, float] = 0.0,
    one_qubit_gates: Sequence[str] = ONE_QUBIT_GATES,
    two_qubit_gates: Sequence[str] = TWO_QUBIT_GATES,
) -> NoiseModel:
    """Correlated noise on coupled pairs: ZZ crosstalk and correlated two-qubit depolarizing.

    Each two-qubit gate on a coupled pair ``(a, b)`` is followed by a coherent ZZ over-rotation
    ``RZZ(zz_angle)`` (the residual always-on ZZ coupling of neighbouring transmons during the
    gate) and a joint two-qubit depolarizing channel ``p2`` (errors on ``a`` and ``b`` arrive
    together, unlike a product of one-qubit channels).

    Args:
        coupling: a ``Target``, a ``CouplingMap`` or pairs ``[(a, b), ...]``; both directions used.
        p2: correlated depolarizing probability per two-qubit gate.
        zz_angle: ZZ rotation angle in radians per two-qubit gate (``|zz_angle| <= pi``).
        p1: one-qubit depolarizing probability per one-qubit gate.
        readout, one_qubit_gates, two_qubit_gates: as in :func:`depolarizing_noise`.

    Example:
        >>> nm = correlated_noise([(0, 1), (1, 2)], p2=0.01, zz_angle=0.05)
        >>> sorted(nm.noise_qubits)
        [0, 1, 2]
    """
    p1 = probability(p1, "p1")
    p2 = probability(p2, "p2")
    if isinstance(zz_angle, bool) or not isinstance(zz_angle, (int, float)):
        raise TypeError(f"zz_angle must be an angle in radians; got {type(zz_angle).__name__}")
    if not np.isfinite(zz_angle) or abs(zz_angle) > np.pi:
        raise ValueError(f"zz_angle must be a finite angle in [-pi, pi]; got {zz_angle!r}")
    edges = _edges(coupling)
    model, g1, g2 = _empty_model(one_qubit_gates, two_qubit_gates)
    if p1 > 0 and g1:
        model.add_all_qubit_quantum_error(depolarizing_error(p1, 1), list(g1))
    error = coherent_unitary_error(RZZGate(float(zz_angle)).to_matrix())
    error = error.compose(depolarizing_error(p2, 2))
    for name in g2:
        for a, b in edges:
            model.add_quantum_error(error, name, [a, b])
    qubits = sorted({q for e in edges for q in e})
    _add_readout(model, readout, qubits)
    return model


_BUILDERS: dict[str, Callable[..., NoiseModel]] = {
    "depolarizing": depolarizing_noise,
    "amplitude_damping": amplitude_damping_noise,
    "phase_damping": phase_damping_noise,
    "thermal": thermal_relaxation_noise,
    "correlated": correlated_noise,
}
NOISE_KINDS = tuple(_BUILDERS) + ("device",)


def build_noise_model(kind: str, /, *args: Any, **params: Any) -> NoiseModel:
    """Build a noise model by name: one of :data:`NOISE_KINDS`.

    ``"device"`` takes ``(device, physical_qubits)`` like
    :func:`~qiskit_qattn.noise.device_noise_model`; the others take their constructor's arguments.

    Example:
        >>> build_noise_model("depolarizing", p1=0.0, p2=0.02).noise_instructions
        ['cx', 'cz', 'ecr']
    """
    if kind == "device":
        from .device import device_noise_model

        return device_noise_model(*args, **params)
    if kind not in _BUILDERS:
        raise ValueError(f"kind must be one of {NOISE_KINDS}; got {kind!r}")
    return _BUILDERS[kind](*args, **params)
