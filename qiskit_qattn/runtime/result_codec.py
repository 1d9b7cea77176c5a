"""Lossless bytes for what the job store keeps: Runtime ``PrimitiveResult`` s and numpy arrays.

Both payloads are ``.npz`` archives (``np.savez_compressed``) read back with
``allow_pickle=False``, so loading a store never executes code:

* a ``PrimitiveResult`` (Sampler or Estimator): one array per data field of each PUB
  (``BitArray`` s keep their bit count) and a JSON ``__schema__`` — the exact format the JSON-era
  store wrote to ``<key>.npz``, so migrated result files are imported byte for byte;
* a dict of arrays with JSON metadata (a sweep unit's result): ``__format__ = "arrays/1"`` and a
  JSON ``__meta__``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from .secrets import SECRET_KEYS, scrub

FORMAT_PRIMITIVE = "primitive-result/1"
FORMAT_ARRAYS = "arrays/1"
FORMATS = (FORMAT_PRIMITIVE, FORMAT_ARRAYS)


def _json_bytes(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, sort_keys=True).encode(), dtype=np.uint8)


def _npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def payload_format(data: bytes) -> str:
    """Which of :data:`FORMATS` ``data`` holds (``ValueError`` if neither).

    Example:
        >>> payload_format(encode_arrays({"x": np.arange(3)}))
        'arrays/1'
    """
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            if "__format__" in archive.files:
                return bytes(archive["__format__"]).decode()
            if "__schema__" in archive.files:
                return FORMAT_PRIMITIVE
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"not a job-store payload: {exc}") from exc
    raise ValueError("not a job-store payload: no __format__ or __schema__ entry")


# -- PrimitiveResult -----------------------------------------------------------------------------


def encode_primitive_result(result: Any) -> bytes:
    """``.npz`` bytes of a Sampler/Estimator ``PrimitiveResult`` (metadata scrubbed)."""
    from qiskit.primitives import BitArray
    from qiskit.primitives.containers import SamplerPubResult

    arrays: dict[str, np.ndarray] = {}
    pubs = []
    for i, pub in enumerate(result):
        fields = []
        for name, value in pub.data.items():
            slot = f"p{i}_{name}"
            if isinstance(value, BitArray):
                arrays[slot] = value.array
                fields.append({"name": name, "kind": "bits", "num_bits": value.num_bits})
            else:
                arrays[slot] = np.asarray(value)
                fields.append({"name": name, "kind": "array"})
        pubs.append({
            "type": "sampler" if isinstance(pub, SamplerPubResult) else "estimator",
            "shape": list(pub.data.shape), "fields": fields,
            "metadata": scrub(dict(pub.metadata)),
        })
    schema = {"pubs": pubs, "metadata": scrub(dict(getattr(result, "metadata", {})))}
    return _npz({"__schema__": np.frombuffer(json.dumps(schema, default=str).encode(),
                                             dtype=np.uint8), **arrays})


def decode_primitive_result(data: bytes) -> Any:
    """The ``PrimitiveResult`` in ``data`` (``ValueError`` if it holds something else).

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit.primitives import StatevectorSampler
        >>> qc = QuantumCircuit(1); _ = qc.x(0); _ = qc.measure_all()
        >>> result = StatevectorSampler().run([qc], shots=5).result()
        >>> decode_primitive_result(encode_primitive_result(result))[0].data.meas.get_counts()
        {'1': 5}
    """
    from qiskit.primitives import BitArray, DataBin, PrimitiveResult, PubResult
    from qiskit.primitives.containers import SamplerPubResult

    if payload_format(data) != FORMAT_PRIMITIVE:
        raise ValueError("the payload holds arrays, not a PrimitiveResult (use load_arrays)")
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        schema = json.loads(bytes(archive["__schema__"]).decode())
        pubs = []
        for i, pub in enumerate(schema["pubs"]):
            fields = {}
            for f in pub["fields"]:
                array = archive[f"p{i}_{f['name']}"]
                fields[f["name"]] = (BitArray(array, f["num_bits"]) if f["kind"] == "bits"
                                     else array)
            bin_ = DataBin(**fields, shape=tuple(pub["shape"]))
            cls = SamplerPubResult if pub["type"] == "sampler" else PubResult
            pubs.append(cls(bin_, metadata=pub["metadata"]))
    return PrimitiveResult(pubs, metadata=schema["metadata"])


# -- arrays + metadata ---------------------------------------------------------------------------


def check_metadata(metadata: Mapping[str, Any] | None) -> dict:
    """``metadata`` as a JSON-safe dict; ``ValueError`` on credential-like keys or non-JSON data.

    Values are kept as given (a result's metadata is the user's data), but a key named like a
    credential (``token``, ``api_key``, ``password``...) is refused: the store never holds one.

    Example:
        >>> check_metadata({"family": "qaoa", "reps": 2})
        {'family': 'qaoa', 'reps': 2}
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping; got {type(metadata).__name__}")

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                if SECRET_KEYS.search(str(k)):
                    raise ValueError(f"metadata key {path}{k!r} looks like a credential; the job "
                                     "store never stores credentials")
                walk(v, f"{path}{k!r}.")
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, path)

    walk(metadata, "")
    try:
        return json.loads(json.dumps(dict(metadata), allow_nan=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata must be JSON-serialisable: {exc}") from exc


def encode_arrays(arrays: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> bytes:
    """``.npz`` bytes of named numpy arrays plus JSON ``metadata``.

    Args:
        arrays: name → array-like (numeric, bool or fixed-width string dtypes; no objects).
            Names must be non-empty and must not start with ``__``.
        metadata: JSON-serialisable mapping (see :func:`check_metadata`).

    Example:
        >>> arrays, meta = decode_arrays(encode_arrays({"values": np.eye(2)}, {"seed": 3}))
        >>> arrays["values"].tolist(), meta
        ([[1.0, 0.0], [0.0, 1.0]], {'seed': 3})
    """
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a mapping of name -> array; got {type(arrays).__name__}")
    out: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name.startswith("__"):
            raise ValueError(f"array names must be non-empty strings not starting with '__'; "
                             f"got {name!r}")
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise ValueError(f"array {name!r} has dtype object; store numeric, bool or "
                             "fixed-width string arrays only")
        out[name] = array
    meta = check_metadata(metadata)
    return _npz({"__format__": np.frombuffer(FORMAT_ARRAYS.encode(), dtype=np.uint8),
                 "__meta__": _json_bytes(meta), **out})


def decode_arrays(data: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """``(arrays, metadata)`` from :func:`encode_arrays` bytes."""
    if payload_format(data) != FORMAT_ARRAYS:
        raise ValueError("the payload holds a PrimitiveResult, not arrays (use load_result)")
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        meta = json.loads(bytes(archive["__meta__"]).decode())
        arrays = {name: archive[name] for name in archive.files if not name.startswith("__")}
    return arrays, meta
