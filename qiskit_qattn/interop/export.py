"""QPY and OpenQASM 3 files of attention circuits (built or compiled), and loading them back."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from qiskit import QuantumCircuit, qasm3, qpy

QPY_SUFFIXES = (".qpy",)
QASM3_SUFFIXES = (".qasm", ".qasm3")


def _as_list(circuits: QuantumCircuit | Sequence[QuantumCircuit]) -> list[QuantumCircuit]:
    if isinstance(circuits, QuantumCircuit):
        return [circuits]
    out = list(circuits)
    if not out or not all(isinstance(c, QuantumCircuit) for c in out):
        raise TypeError("circuits must be a QuantumCircuit or a non-empty sequence of them")
    return out


def save_qpy(circuits: QuantumCircuit | Sequence[QuantumCircuit],
             path: str | os.PathLike) -> Path:
    """Write circuits (with metadata, parameters and layout) to a QPY file.

    Example:
        >>> import tempfile
        >>> qc = QuantumCircuit(2); _ = qc.h(0); qc.metadata = {"query_index": 0}
        >>> p = save_qpy(qc, Path(tempfile.mkdtemp()) / "c.qpy")
        >>> load_qpy(p)[0].metadata
        {'query_index': 0}
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        qpy.dump(_as_list(circuits), fh)
    return path


def load_qpy(path: str | os.PathLike) -> list[QuantumCircuit]:
    """Circuits stored in a QPY file."""
    with Path(path).open("rb") as fh:
        return list(qpy.load(fh))


def dump_qasm3(circuit: QuantumCircuit) -> str:
    """OpenQASM 3 text of one circuit (parameters stay symbolic ``input float``).

    High-level gates without a QASM definition (e.g. ``StatePreparation``) are exported by
    their definitions; compile first for a basis-gate listing.

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.rz(0.5, 0)
        >>> "rz(0.5) $0;" in dump_qasm3(qc) or "rz(0.5) q[0];" in dump_qasm3(qc)
        True
    """
    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"circuit must be a QuantumCircuit; got {type(circuit).__name__}")
    return qasm3.dumps(circuit)


def save_qasm3(circuits: QuantumCircuit | Sequence[QuantumCircuit],
               path: str | os.PathLike) -> list[Path]:
    """Write each circuit as OpenQASM 3; several circuits get ``name_<i>.qasm`` files."""
    items = _as_list(circuits)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(items) == 1:
        path.write_text(dump_qasm3(items[0]))
        return [path]
    out = []
    for i, qc in enumerate(items):
        target = path.with_name(f"{path.stem}_{i}{path.suffix or '.qasm'}")
        target.write_text(dump_qasm3(qc))
        out.append(target)
    return out


def load_qasm3(path_or_text: str | os.PathLike) -> QuantumCircuit:
    """A circuit from an OpenQASM 3 file or string (needs ``qiskit-qasm3-import``)."""
    text = str(path_or_text)
    if not text.lstrip().startswith("OPENQASM"):
        text = Path(path_or_text).read_text()
    try:
        return qasm3.loads(text)
    except qasm3.QASM3ImporterError as exc:
        raise ValueError(f"could not parse OpenQASM 3 input: {exc}") from exc


def save_circuits(circuits: QuantumCircuit | Sequence[QuantumCircuit],
                  path: str | os.PathLike) -> list[Path]:
    """Save by suffix: ``.qpy`` → one QPY file, ``.qasm``/``.qasm3`` → OpenQASM 3 file(s)."""
    suffix = Path(path).suffix.lower()
    if suffix in QPY_SUFFIXES:
        return [save_qpy(circuits, path)]
    if suffix in QASM3_SUFFIXES:
        return save_qasm3(circuits, path)
    raise ValueError(f"output path must end in .qpy, .qasm or .qasm3; got {str(path)!r}")


def load_circuits(path: str | os.PathLike) -> list[QuantumCircuit]:
    """Load by suffix (``.qpy`` or ``.qasm``/``.qasm3``).

    Example:
        >>> import tempfile
        >>> qc = QuantumCircuit(1); _ = qc.x(0)
        >>> p = save_circuits(qc, Path(tempfile.mkdtemp()) / "x.qasm")[0]
        >>> load_circuits(p)[0].count_ops()["x"]
        1
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no circuit file at {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix in QPY_SUFFIXES:
        return load_qpy(path)
    if suffix in QASM3_SUFFIXES:
        return [load_qasm3(path)]
    raise ValueError(f"circuit file must end in .qpy, .qasm or .qasm3; got {str(path)!r}")
