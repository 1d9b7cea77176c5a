"""Noise-aware initial layout: place a circuit on the best-calibrated connected qubits.

:class:`NoiseAwareLayout` scores the physical qubits and couplers of a :class:`~.Target` from its
calibration (two-qubit gate, ``sx`` and readout errors, optionally T1/T2), grows several
low-error connected regions of the circuit's width, maps the circuit into each region with
:class:`~.SabreLayout` run on the region's coupling subgraph, compiles every candidate with the
rest of a preset pipeline and keeps the layout whose compiled circuit has the highest
:func:`estimated_success_probability`. Qiskit's own choice (:class:`~.VF2Layout`, else
:class:`~.SabreLayout` on the whole device) is one of the candidates, so the pass never picks a
layout that scores worse than it under the same seed.

The layout stage around the pass (:func:`~.preset.stages.noise_aware_layout_pass_manager`) and
its plugin (:class:`~.preset.plugin.QAttnLayoutPlugin`) live in :mod:`qiskit_qattn.passes.preset`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from qiskit import QuantumCircuit
from qiskit.converters import dag_to_circuit
from qiskit.dagcircuit import DAGCircuit
from qiskit.transpiler import CouplingMap, Layout, PassManager, Target
from qiskit.transpiler.basepasses import AnalysisPass
from qiskit.transpiler.exceptions import TranspilerError

_IGNORED = ("barrier", "delay")
_TWO_QUBIT_GATES = ("cz", "ecr", "cx", "rzz", "iswap")
#: Two-qubit gate error from which a coupler is treated as broken (left out of the regions).
_BROKEN = 0.5


def _op_errors(target: Target, name: str) -> dict[tuple[int, ...], float]:
    """Known errors of ``name`` per qargs (missing values filled with the mean of the known)."""
    if name not in target.operation_names:
        return {}
    props = target[name]
    known = {
        qargs: float(p.error)
        for qargs, p in props.items()
        if qargs is not None and p is not None and p.error is not None
    }
    mean = sum(known.values()) / len(known) if known else 0.0
    return {qargs: known.get(qargs, mean) for qargs in props if qargs is not None}


def estimated_success_probability(
    circuit: QuantumCircuit,
    target: Target,
    *,
    readout_qubits: Iterable[int] | None = None,
) -> float:
    """Product of ``1 - error`` over the instructions of an ISA circuit on ``target``.

    Measurements contribute their readout error like any other instruction; barriers and delays
    are ignored. Missing errors count as the mean error of that operation on the target.
    ``readout_qubits`` adds one readout per listed physical qubit (for circuits compiled
    without their final measurements).

    Args:
        circuit: a circuit on the target's physical qubits, in its instruction set.
        target: the device description with calibrated errors.
        readout_qubits: extra physical qubits whose readout error is included.

    Returns:
        The estimated success probability in ``[0, 1]``.

    Raises:
        ValueError: if ``circuit`` uses an instruction or qubits the target does not support.

    Example:
        >>> from qiskit.circuit.library import CZGate, SXGate, Measure
        >>> from qiskit.transpiler import InstructionProperties
        >>> t = Target(num_qubits=2)
        >>> t.add_instruction(CZGate(), {(0, 1): InstructionProperties(error=0.1)})
        >>> t.add_instruction(SXGate(), {(0,): InstructionProperties(error=0.01), (1,): None})
        >>> t.add_instruction(Measure(), {(0,): InstructionProperties(error=0.2),
        ...                               (1,): InstructionProperties(error=0.0)})
        >>> qc = QuantumCircuit(2, 1); _ = qc.sx(1); _ = qc.cz(0, 1); _ = qc.measure(0, 0)
        >>> round(estimated_success_probability(qc, t), 6)  # 0.99 * 0.9 * 0.8
        0.7128
    """
    if not isinstance(target, Target):
        raise ValueError(f"target must be a qiskit Target; got {type(target).__name__}")
    cache: dict[str, dict[tuple[int, ...], float]] = {}
    log_p = 0.0
    for inst in circuit.data:
        name = inst.operation.name
        if name in _IGNORED:
            continue
        qargs = tuple(circuit.find_bit(q).index for q in inst.qubits)
        if name not in target.operation_names:
            raise ValueError(f"circuit uses {name!r}, which the target does not support")
        if name not in cache:
            cache[name] = _op_errors(target, name)
        errors = cache[name]
        if not target.instruction_supported(name, qargs):
            raise ValueError(f"circuit applies {name!r} on qubits {qargs} not in the target")
        log_p += _log_keep(errors.get(qargs, 0.0))
    if readout_qubits is not None:
        readout = _op_errors(target, "measure")
        for q in readout_qubits:
            log_p += _log_keep(readout.get((int(q),), 0.0))
    return float(math.exp(log_p))


def _log_keep(error: float) -> float:
    """``log(1 - error)``, ``-inf`` for an error of 1 or more."""
    return math.log1p(-error) if error < 1 else -math.inf


# ------------------------------------------------------------------------------- calibration
def _device_costs(
    target: Target, coherence_weight: float, duration: float
) -> tuple[list[float], list[float], dict[tuple[int, int], float]]:
    """Per-qubit readout and 1q costs and per-edge 2q costs (all as ``-log(1 - error)``)."""
    n = target.num_qubits or 0

    def cost(err: float) -> float:
        return -math.log1p(-min(err, 1.0 - 1e-9))

    readout = _op_errors(target, "measure")
    sx = _op_errors(target, "sx")
    mean_ro = sum(readout.values()) / len(readout) if readout else 0.0
    mean_sx = sum(sx.values()) / len(sx) if sx else 0.0
    ro_cost = [cost(readout.get((q,), mean_ro)) for q in range(n)]
    sx_cost = [cost(sx.get((q,), mean_sx)) for q in range(n)]
    if coherence_weight > 0 and target.qubit_properties and duration > 0:
        for q, props in enumerate(target.qubit_properties[:n]):
            for t in (getattr(props, "t1", None), getattr(props, "t2", None)):
                if t:
                    ro_cost[q] += coherence_weight * duration / t
    edges: dict[tuple[int, int], float] = {}
    for name in _TWO_QUBIT_GATES:
        for qargs, err in _op_errors(target, name).items():
            if len(qargs) != 2 or qargs[0] == qargs[1]:
                continue
            key = (min(qargs), max(qargs))
            edges[key] = min(edges.get(key, math.inf), cost(err) if err < _BROKEN else math.inf)
    return ro_cost, sx_cost, edges


def _circuit_usage(dag: DAGCircuit) -> tuple[int, int]:
    """``(one-qubit gate count, two-qubit gate count)``; a k-qubit gate counts as k two-qubit."""
    one = two = 0
    for node in dag.op_nodes():
        if node.op.name in _IGNORED or node.op.name == "measure":
            continue
        if len(node.qargs) == 1:
            one += 1
        else:
            two += 1 if len(node.qargs) == 2 else len(node.qargs)
    return one, two


def _grow_regions(
    size: int,
    qubit_cost: Sequence[float],
    edge_cost: dict[tuple[int, int], float],
    edge_weight: float,
) -> list[tuple[float, frozenset[int]]]:
    """Greedy low-cost connected regions of ``size`` qubits grown from every qubit, best first.

    Adding qubit ``v`` costs its own cost plus ``edge_weight`` times its cheapest coupler into
    the region; couplers beyond the first earn a small discount (they save SWAPs).
    """
    adjacency: dict[int, dict[int, float]] = {}
    for (a, b), c in edge_cost.items():
        if math.isfinite(c):
            adjacency.setdefault(a, {})[b] = c
            adjacency.setdefault(b, {})[a] = c
    found: dict[frozenset[int], float] = {}
    for start in range(len(qubit_cost)):
        region = {start}
        total = qubit_cost[start]
        while len(region) < size:
            best: tuple[float, int] | None = None
            for u in region:
                for v in adjacency.get(u, {}):
                    if v in region:
                        continue
                    links = sorted(c for w, c in adjacency[v].items() if w in region)
                    step = qubit_cost[v] + edge_weight * (links[0] - 0.25 * sum(links[1:]))
                    if best is None or step < best[0]:
                        best = (step, v)
            if best is None:
                break
            total += best[0]
            region.add(best[1])
        if len(region) == size:
            key = frozenset(region)
            found[key] = min(found.get(key, math.inf), total)
    return sorted(((c, r) for r, c in found.items()), key=lambda x: (x[0], sorted(x[1])))


def _needs_init(circuit: QuantumCircuit) -> bool:
    """Whether ``circuit`` still has operations on more than two qubits (before an init stage)."""
    return any(
        len(inst.qubits) > 2 and inst.operation.name not in _IGNORED for inst in circuit.data
    )


# ------------------------------------------------------------------------------------ the pass
class NoiseAwareLayout(AnalysisPass):
    """Choose ``property_set["layout"]`` by estimated success probability on a device target.

    Candidates: Qiskit's layout stage for the level (``VF2Layout``, else ``SabreLayout``),
    with a ``layout_method`` also the layout Qiskit's full pipeline ends on after
    ``VF2PostLayout``, and ``SabreLayout`` restricted to each of the ``candidates`` lowest-error
    connected regions. Each candidate is compiled with the remaining stages of a preset pass
    manager (same seed, no init stage) and scored by :func:`estimated_success_probability`
    including readout of the circuit's qubits; the best is kept. The label of the winner is in
    ``property_set["noise_aware_layout_choice"]`` (``"qiskit"`` means: rerun Qiskit's layout
    stage, as :func:`noise_aware_layout_pass_manager` does) and all scores in
    ``property_set["noise_aware_layout_scores"]``. Cost: one compilation per candidate.

    Args:
        target: device target with calibrated errors and a coupling map.
        seed: seed of the Sabre layouts and of the evaluation compilations.
        candidates: number of regions tried besides Qiskit's own layout.
        optimization_level: level of the preset pipeline used to evaluate candidates.
        coherence_weight: weight of the ``duration / T1 + duration / T2`` idle penalty per qubit
            (``0`` ignores T1/T2).
        routing_method: routing stage plugin of the evaluation compilations.
        translation_method: translation stage plugin of the evaluation compilations.
        layout_method: the enclosing pipeline's ``layout_method``. Only whether it is ``None``
            matters: Qiskit runs ``VF2PostLayout`` after routing only without one, and the
            evaluation compilations must match the pipeline the layout is used in.

    Raises:
        ValueError: if an argument has the wrong type or range (the message names it).

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino
        >>> from qiskit.transpiler import PassManager
        >>> qc = QuantumCircuit(3); _ = qc.h(0); _ = qc.cx(0, 1); _ = qc.cx(1, 2)
        >>> pm = PassManager([NoiseAwareLayout(FakeTorino().target, seed=1, candidates=2)])
        >>> _ = pm.run(qc)
        >>> len(set(pm.property_set["layout"].get_physical_bits()))
        3
    """

    def __init__(
        self,
        target: Target,
        *,
        seed: int | None = None,
        candidates: int = 8,
        optimization_level: int = 3,
        coherence_weight: float = 0.0,
        routing_method: str | None = None,
        translation_method: str | None = None,
        layout_method: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(target, Target):
            raise ValueError(f"target must be a qiskit Target; got {type(target).__name__}")
        if target.num_qubits is None or target.num_qubits < 1:
            raise ValueError("target must describe a fixed number of physical qubits")
        if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 0:
            raise ValueError(f"candidates must be an int >= 0; got {candidates!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an int or None; got {seed!r}")
        if optimization_level not in (0, 1, 2, 3):
            raise ValueError(f"optimization_level must be 0..3; got {optimization_level!r}")
        if not coherence_weight >= 0:
            raise ValueError(f"coherence_weight must be >= 0; got {coherence_weight!r}")
        self.target = target
        self.seed = seed
        self.candidates = candidates
        self.optimization_level = optimization_level
        self.coherence_weight = float(coherence_weight)
        self.routing_method = routing_method
        self.translation_method = translation_method
        self.layout_method = layout_method

    # -- candidates ------------------------------------------------------------------------
    def _regions(self, dag: DAGCircuit) -> list[frozenset[int]]:
        """The ``candidates`` cheapest connected regions of ``dag``'s width.

        Weights: every coupler of the region's spanning tree is expected to carry
        ``two-qubit gates / (n - 1)`` gates and every qubit ``2 * gates / n`` ``sx`` pulses and
        one readout; which virtual pair sits on which coupler is left to ``SabreLayout`` inside
        the region and to the ESP of the compiled candidates.
        """
        n = dag.num_qubits()
        one, two = _circuit_usage(dag)
        durations = [
            p.duration
            for name in _TWO_QUBIT_GATES
            if name in self.target.operation_names
            for p in self.target[name].values()
            if p is not None and p.duration
        ]
        duration = (sum(durations) / len(durations)) * two / max(n, 1) if durations else 0.0
        ro_cost, sx_cost, edge_cost = _device_costs(self.target, self.coherence_weight, duration)
        sx_per_qubit = 2.0 * (one + two) / max(n, 1)
        qubit_cost = [r + sx_per_qubit * s for r, s in zip(ro_cost, sx_cost, strict=True)]
        edge_weight = two / max(n - 1, 1)
        if not edge_cost and n > 1:
            return []
        regions = _grow_regions(n, qubit_cost, edge_cost, edge_weight)
        return [r for _, r in regions[: self.candidates]]

    def _sabre_in_region(self, circuit: QuantumCircuit, region: frozenset[int]) -> Layout:
        from qiskit.transpiler.passes import SabreLayout

        physical = sorted(region)
        index = {p: i for i, p in enumerate(physical)}
        edges = set()
        for (a, b), c in _device_costs(self.target, 0.0, 0.0)[2].items():
            if a in index and b in index and math.isfinite(c):
                edges.add((index[a], index[b]))
                edges.add((index[b], index[a]))
        if len(physical) == 1:
            return Layout({circuit.qubits[0]: physical[0]})
        sub = CouplingMap(sorted(edges))
        pm = PassManager(
            [SabreLayout(sub, seed=self.seed, max_iterations=4, swap_trials=8, layout_trials=8)]
        )
        pm.run(circuit)
        local: Layout = pm.property_set["layout"]
        return Layout({q: physical[local[q]] for q in circuit.qubits})

    def _compile(self, circuit: QuantumCircuit, layout: Layout | None) -> QuantumCircuit:
        """Routing onwards of a preset pipeline from ``layout`` (Qiskit's layout stage if None)."""
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit.transpiler.passes import (
            ApplyLayout,
            EnlargeWithAncilla,
            FullAncillaAllocation,
            SetLayout,
        )

        def preset(layout_method: str | None) -> Any:
            return generate_preset_pass_manager(
                self.optimization_level,
                target=self.target,
                seed_transpiler=self.seed,
                routing_method=self.routing_method,
                translation_method=self.translation_method,
                layout_method=layout_method,
            )

        # "trivial" stands in for the enclosing layout method: it switches VF2PostLayout off in
        # the routing and optimization stages exactly as any named layout method does.
        pm = preset(None if self.layout_method is None else "trivial")
        if not _needs_init(circuit):
            pm.init = None  # inside a preset pipeline the init stage has run already
        if layout is None:
            pm.layout = preset(None).layout
        else:
            pm.layout = PassManager(
                [
                    SetLayout(layout),
                    FullAncillaAllocation(self.target),
                    EnlargeWithAncilla(),
                    ApplyLayout(),
                ]
            )
        return pm.run(circuit)

    def _score(self, compiled: QuantumCircuit) -> tuple[float, int]:
        """``(ESP with readout of the circuit's qubits, two-qubit count)`` of a compiled circuit."""
        measured = any(inst.operation.name == "measure" for inst in compiled.data)
        extra: Iterable[int] = []
        if not measured:
            layout = compiled.layout
            extra = layout.final_index_layout(filter_ancillas=True) if layout else []
        esp = estimated_success_probability(compiled, self.target, readout_qubits=extra)
        two = sum(
            1
            for inst in compiled.data
            if len(inst.qubits) == 2 and inst.operation.name not in _IGNORED
        )
        return esp, two

    def candidate_layouts(self, dag: DAGCircuit) -> list[tuple[str, Layout | None]]:
        """``(label, layout)`` candidates for ``dag``; ``None`` is Qiskit's own layout stage."""
        circuit = dag_to_circuit(dag)
        out: list[tuple[str, Layout | None]] = [("qiskit", None)]
        if self.layout_method is not None:
            # The enclosing pipeline runs no VF2PostLayout; offer the layout it would find.
            from qiskit.transpiler import generate_preset_pass_manager

            pm = generate_preset_pass_manager(
                self.optimization_level, target=self.target, seed_transpiler=self.seed
            )
            if not _needs_init(circuit):
                pm.init = None
            initial = pm.run(circuit).layout.initial_layout
            out.append(("qiskit-post", Layout({q: initial[q] for q in circuit.qubits})))
        for k, region in enumerate(self._regions(dag)):
            out.append((f"region{k}", self._sabre_in_region(circuit, region)))
        return out

    def run(self, dag: DAGCircuit) -> None:
        """Set ``property_set["layout"]`` to the best-scoring candidate for ``dag``."""
        n = dag.num_qubits()
        if n > self.target.num_qubits:
            raise TranspilerError(
                f"circuit has {n} qubits but the target only {self.target.num_qubits}"
            )
        circuit = dag_to_circuit(dag)
        scores: list[dict[str, Any]] = []
        best: tuple[float, str, Layout] | None = None
        for label, layout in self.candidate_layouts(dag):
            compiled = self._compile(circuit, layout)
            if layout is None:
                initial = compiled.layout.initial_layout
                layout = Layout({q: initial[q] for q in circuit.qubits})
            esp, two = self._score(compiled)
            physical = sorted(layout[q] for q in circuit.qubits)
            scores.append({"candidate": label, "esp": esp, "two_qubit": two, "physical": physical})
            if best is None or esp > best[0] * (1 + 1e-12):
                best = (esp, label, layout)
        assert best is not None  # the "qiskit" candidate is always there
        chosen = Layout({q: best[2][q] for q in dag.qubits})
        for reg in dag.qregs.values():
            chosen.add_register(reg)
        self.property_set["layout"] = chosen
        self.property_set["noise_aware_layout_choice"] = best[1]
        self.property_set["noise_aware_layout_scores"] = scores

