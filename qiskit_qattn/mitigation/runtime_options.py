"""Map requested mitigation onto Qiskit Runtime options, splitting server and client side.

IBM Runtime's (executor-based) primitives apply some techniques themselves:

============  ===============================================  ==============================
technique     ``primitive="estimator"``                        ``primitive="sampler"``
============  ===============================================  ==============================
``zne``       ``resilience.zne_mitigation`` (gate folding)     client side (our folding)
``rem``       ``resilience.measure_mitigation`` (TREX)         client side (our calibration)
``dd``        ``dynamical_decoupling.enable``                  ``dynamical_decoupling.enable``
``twirling``  ``twirling.enable_gates/enable_measure``         same
============  ===============================================  ==============================

A technique is applied exactly once: where Runtime does it, qiskit-qattn does not, and options
that already switch on (or explicitly off) a technique the plan wants elsewhere raise an error.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PRIMITIVES = ("sampler", "estimator")
RUNTIME_TECHNIQUES = ("zne", "rem", "dd", "twirling")


@dataclass(frozen=True)
class RuntimePlan:
    """Where each requested technique runs, and the Runtime options that switch it on.

    Attributes:
        primitive: ``"sampler"`` or ``"estimator"``.
        options: nested dict for ``SamplerOptions``/``EstimatorOptions`` (user options merged).
        server_side: techniques Runtime applies.
        client_side: techniques qiskit-qattn applies before submission / after results.
    """

    primitive: str
    options: dict
    server_side: tuple[str, ...]
    client_side: tuple[str, ...]


def _extrapolator(extrapolation: str, order: int | None, num_factors: int) -> str:
    if extrapolation == "linear":
        return "linear"
    if extrapolation == "exponential":
        return "exponential"
    if extrapolation == "richardson":
        return f"polynomial_degree_{min(num_factors - 1, 7)}"
    if extrapolation == "poly" and order is not None and 1 <= order <= 7:
        return f"polynomial_degree_{order}"
    raise ValueError(
        f"extrapolation {extrapolation!r} (order {order}) has no Runtime counterpart; use "
        "'linear', 'exponential', 'richardson' or 'poly' with order 1..7"
    )


def _merge(base: dict, extra: Mapping) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _get(options: Mapping, path: str) -> Any:
    node: Any = options
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _check_user_options(user: Mapping, primitive: str, server: set, client: set) -> None:
    switches = {
        "dd": ["dynamical_decoupling.enable"],
        "twirling": ["twirling.enable_gates"],
    }
    if primitive == "estimator":
        switches["zne"] = ["resilience.zne_mitigation"]
        switches["rem"] = ["resilience.measure_mitigation"]
    for technique, paths in switches.items():
        for path in paths:
            value = _get(user, path)
            if value is None:
                continue
            if technique in client and value:
                raise ValueError(
                    f"options enable {path} on Runtime while {technique!r} is applied client "
                    "side; that would mitigate twice"
                )
            if technique in server and not value:
                raise ValueError(f"options set {path}=False but {technique!r} was requested")
    if primitive == "estimator":
        level = user.get("resilience_level")
        if level not in (None, 0) and not ({"zne", "rem"} & server):
            raise ValueError(
                f"resilience_level={level} switches on Runtime mitigation by itself; pass the "
                "techniques through mitigation= instead (or resilience_level=0)"
            )


def runtime_plan(
    techniques: Iterable[str],
    *,
    primitive: str = "sampler",
    scale_factors: Sequence[float] = (1.0, 3.0, 5.0),
    extrapolation: str = "richardson",
    order: int | None = None,
    dd_sequence: str = "XX",
    user_options: Mapping | None = None,
    client_side: Iterable[str] = (),
) -> RuntimePlan:
    """Split ``techniques`` between Runtime and qiskit-qattn and build Runtime's options.

    Args:
        techniques: subset of :data:`RUNTIME_TECHNIQUES`.
        primitive: the Runtime primitive that will run the circuits.
        scale_factors, extrapolation, order: ZNE settings (estimator: ``resilience.zne``).
        dd_sequence: ``"XX"``, ``"XpXm"`` or ``"XY4"``.
        user_options: options the caller already set (merged; conflicts raise ``ValueError``).
        client_side: techniques the caller applies itself even where Runtime could (e.g.
            ``["zne"]`` to use qiskit-qattn's folding methods with the estimator, ``["dd"]`` for
            locally padded circuits); Runtime's counterpart is then switched off.

    Example:
        >>> plan = runtime_plan(["zne", "rem", "dd"], primitive="estimator")
        >>> plan.options["resilience"]["zne"]["extrapolator"], plan.client_side
        ('polynomial_degree_2', ())
        >>> runtime_plan(["zne", "rem", "dd"]).client_side
        ('zne', 'rem')
    """
    if primitive not in PRIMITIVES:
        raise ValueError(f"primitive must be one of {PRIMITIVES}; got {primitive!r}")
    requested = list(dict.fromkeys(techniques))
    unknown = [t for t in requested if t not in RUNTIME_TECHNIQUES]
    if unknown:
        raise ValueError(f"unknown technique(s) {unknown}; choose from {RUNTIME_TECHNIQUES}")
    own = set(client_side)
    if own - set(requested):
        raise ValueError(f"client_side {sorted(own - set(requested))} names unrequested techniques")
    if "twirling" in own:
        raise ValueError("twirling is only applied by Runtime; it cannot run client side")
    if dd_sequence not in ("XX", "XpXm", "XY4"):
        raise ValueError(f"dd_sequence must be 'XX', 'XpXm' or 'XY4'; got {dd_sequence!r}")
    options: dict = {}
    server: list[str] = []
    client: list[str] = []
    if primitive == "estimator":
        # Level 0 first: nothing is switched on that was not asked for.
        options["resilience_level"] = 0
        server_zne = "zne" in requested and "zne" not in own
        server_rem = "rem" in requested and "rem" not in own
        options["resilience"] = {"measure_mitigation": server_rem, "zne_mitigation": server_zne}
        if server_zne:
            factors = [float(s) for s in scale_factors]
            options["resilience"]["zne"] = {
                "amplifier": "gate_folding",
                "noise_factors": factors,
                "extrapolator": _extrapolator(extrapolation, order, len(factors)),
            }
            server.append("zne")
        if server_rem:
            server.append("rem")
        client += [t for t in ("zne", "rem") if t in own]
    else:
        client += [t for t in ("zne", "rem") if t in requested]
    if "dd" in own:
        client.append("dd")
    elif "dd" in requested:
        options["dynamical_decoupling"] = {"enable": True, "sequence_type": dd_sequence}
        server.append("dd")
    if "twirling" in requested:
        options["twirling"] = {"enable_gates": True, "enable_measure": True}
        server.append("twirling")
    if user_options:
        if not isinstance(user_options, Mapping):
            raise TypeError("user_options must be a (nested) dict of Runtime options")
        _check_user_options(user_options, primitive, set(server), set(client))
        options = _merge(user_options, options)
    return RuntimePlan(primitive, options, tuple(server), tuple(client))
