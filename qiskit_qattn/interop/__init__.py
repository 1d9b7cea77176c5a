"""Export built circuits (QPY, OpenQASM 3) and hand them to other frameworks.

QPY and OpenQASM 3 need only Qiskit (loading QASM 3 uses ``qiskit-qasm3-import``, which
qiskit-ibm-runtime already installs). PennyLane (``pennylane-qiskit``) and Amazon Braket
(``qiskit-braket-provider``) are optional: their functions import them on call and raise
``ImportError`` naming the extra to install.
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
from .frameworks import portable_circuit, to_braket, to_pennylane

__all__ = [
    "dump_qasm3",
    "load_circuits",
    "load_qasm3",
    "load_qpy",
    "portable_circuit",
    "save_circuits",
    "save_qasm3",
    "save_qpy",
    "to_braket",
    "to_pennylane",
]
