"""``StashRoutedCircuit``: keep a copy of the circuit as it enters the optimization stage."""

from __future__ import annotations

from qiskit.dagcircuit import DAGCircuit
from qiskit.transpiler import TranspileLayout
from qiskit.transpiler.basepasses import AnalysisPass

#: Property-set key under which the routed, translated, not yet optimised circuit is kept.
ROUTED_DAG_KEY = "qattn_routed_dag"
#: Keys of the ``layout`` and ``final_layout`` that belong to the stashed circuit (Qiskit's
#: optimization stage may move the circuit to other qubits with ``VF2PostLayout``).
ROUTED_LAYOUT_KEY = "qattn_routed_layout"
ROUTED_FINAL_LAYOUT_KEY = "qattn_routed_final_layout"


class StashRoutedCircuit(AnalysisPass):
    """Store a copy of the incoming DAG and its layouts in the property set.

    Qiskit's peephole optimisation merges routing SWAPs with their neighbours into generic
    two-qubit blocks, which hides the phase polynomials of the logical circuit; the routed but
    unoptimised circuit still shows them, so :class:`.LogicalRecompile` starts from this copy.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit.transpiler import PassManager
        >>> pm = PassManager([StashRoutedCircuit()])
        >>> _ = pm.run(QuantumCircuit(2))
        >>> pm.property_set[ROUTED_DAG_KEY].num_qubits()
        2
    """

    def run(self, dag: DAGCircuit) -> None:
        self.property_set[ROUTED_DAG_KEY] = dag.copy_empty_like()
        self.property_set[ROUTED_DAG_KEY].compose(dag, inplace=True)
        # Normalise: a permutation elided before layout (``virtual_permutation_layout``) is only
        # folded into ``final_layout`` later, so read the layouts the way Qiskit will.
        layout = None
        if self.property_set["layout"] is not None:
            layout = TranspileLayout.from_property_set(dag, self.property_set)
        self.property_set[ROUTED_LAYOUT_KEY] = None if layout is None else layout.initial_layout
        self.property_set[ROUTED_FINAL_LAYOUT_KEY] = None if layout is None else layout.final_layout
