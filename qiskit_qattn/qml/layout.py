"""Documented parameter layouts of the attention QNNs: what each input, weight and output means.

A :class:`QNNLayout` travels with the circuit (``circuit.metadata["qattn_qnn_layout"]``, kept by
transpilation), so :func:`qnn_layout` recovers it from any QNN built by :mod:`qiskit_qattn.qml`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

METADATA_KEY = "qattn_qnn_layout"


@dataclass(frozen=True)
class QNNLayout:
    """Meaning of a QNN's inputs, weights and outputs, in QNN order.

    Attributes:
        family: which factory built it (``"qsann"``, ``"self_attention"``, ``"key_distribution"``).
        inputs: one description per input (``qnn.forward(input_data=...)`` column order).
        weights: one description per weight (``qnn.forward(weights=...)`` order).
        outputs: one description per output.
        shape: the family's shape options (tokens, features, qubits, ...).

    Example:
        >>> lay = QNNLayout("demo", ("x[0]",), ("w[0]",), ("<Z_0>",), {"qubits": 1})
        >>> lay.num_inputs, lay.num_weights, lay.num_outputs
        (1, 1, 1)
    """

    family: str
    inputs: tuple[str, ...]
    weights: tuple[str, ...]
    outputs: tuple[str, ...]
    shape: dict[str, Any]

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    @property
    def num_weights(self) -> int:
        return len(self.weights)

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (stored in circuit metadata)."""
        out = asdict(self)
        for key in ("inputs", "weights", "outputs"):
            out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QNNLayout:
        return cls(data["family"], tuple(data["inputs"]), tuple(data["weights"]),
                   tuple(data["outputs"]), dict(data["shape"]))

    def describe(self) -> str:
        """A short table of the layout, for printing.

        Example:
            >>> print(QNNLayout("demo", ("x[0]",), (), ("<Z_0>",), {}).describe())
            demo: 1 inputs, 0 weights, 1 outputs
              inputs : x[0]
              weights: -
              outputs: <Z_0>
        """
        def listing(items: tuple[str, ...]) -> str:
            return ", ".join(items) if items else "-"

        return (
            f"{self.family}: {self.num_inputs} inputs, {self.num_weights} weights, "
            f"{self.num_outputs} outputs\n"
            f"  inputs : {listing(self.inputs)}\n"
            f"  weights: {listing(self.weights)}\n"
            f"  outputs: {listing(self.outputs)}"
        )


def qnn_layout(qnn_or_circuit: Any) -> QNNLayout:
    """The :class:`QNNLayout` of a QNN (or circuit) built by :mod:`qiskit_qattn.qml`.

    Raises:
        ValueError: the object carries no layout (it was not built here).

    Example:
        >>> from qiskit_qattn.qml import self_attention_qnn
        >>> qnn_layout(self_attention_qnn(num_tokens=2, token_dim=1)).weights
        ('w_score[0]', 'b_node[0]', 'w_value[0,0]', 'b_value[0]')
    """
    circuit = getattr(qnn_or_circuit, "circuit", qnn_or_circuit)
    metadata = getattr(circuit, "metadata", None) or {}
    if METADATA_KEY not in metadata:
        raise ValueError(
            f"qnn_or_circuit: {type(qnn_or_circuit).__name__} has no qiskit-qattn layout "
            f"(circuit.metadata[{METADATA_KEY!r}]); build it with a qiskit_qattn.qml factory"
        )
    return QNNLayout.from_dict(metadata[METADATA_KEY])
