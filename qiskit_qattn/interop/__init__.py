"""Export built circuits (QPY, OpenQASM 3) and hand them to other frameworks.

QPY and OpenQASM 3 need only Qiskit (loading QASM 3 uses ``qiskit-qasm3-import``, which
qiskit-ibm-runtime already installs). PennyLane, Amazon Braket (``qiskit-braket-provider``) and
Cirq (``cirq-core``) are optional (``pip install qiskit-qattn[interop]``): their functions import
them on call and raise ``ImportError`` naming the package. :func:`estimate_head_on` runs one
attention head's circuits on any of them and returns its output with shot-noise error bars.
"""

from .export import (
    dump_qasm3,
    load_circuits,
    load_qasm3,
    load_qpy,
    save_circuits,
    save_qasm3,
    save_qpy,
)
from .frameworks import (
    PENNYLANE_ROUTES,
    PORTABLE_BASIS,
    cirq_qubits,
    portable_circuit,
    to_braket,
    to_cirq,
    to_pennylane,
)
from .handoff import HandoffEstimate, estimate_head_on
from .head_circuits import head_circuits
from .run import FRAMEWORKS, framework_counts, framework_probabilities

__all__ = [
    "FRAMEWORKS",
    "PENNYLANE_ROUTES",
    "PORTABLE_BASIS",
    "HandoffEstimate",
    "cirq_qubits",
    "dump_qasm3",
    "estimate_head_on",
    "framework_counts",
    "framework_probabilities",
    "head_circuits",
    "load_circuits",
    "load_qasm3",
    "load_qpy",
    "portable_circuit",
    "save_circuits",
    "save_qasm3",
    "save_qpy",
    "to_braket",
    "to_cirq",
    "to_pennylane",
]
