"""An on-disk job store: one JSON record (+ one ``.npz`` of results) per job, keyed by input hash.

The store is what makes a run resumable. Each record holds the key (a hash of the circuits,
parameter values, observables, shots/precision, backend and options), the options, the status and
every submission attempt with its job id. Writes are atomic (temporary file + ``os.replace``) and
the result file is written before the record says ``done``, so a crash at any point leaves either
the old record or the new one, never a torn file.

Record status: ``new`` → ``submitting`` (written *before* the submission, so a crash between
submit and save is detectable) → ``submitted`` (job id known) → ``done`` | ``failed``.
Nothing here ever holds a credential: options are scrubbed and error texts redacted.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .secrets import redact, scrub

STATUSES = ("new", "submitting", "submitted", "done", "failed")
_VERSION = 1


def default_store_dir() -> Path:
    """``$QATTN_JOB_STORE`` or ``~/.cache/qiskit-qattn/jobs``.

    Example:
        >>> default_store_dir().name in ("jobs", os.environ.get("QATTN_JOB_STORE", "jobs"))
        True
    """
    env = os.environ.get("QATTN_JOB_STORE")
    if env:
        return Path(env)
    base = os.environ.get("QATTN_CACHE") or Path.home() / ".cache" / "qiskit-qattn"
    return Path(base) / "jobs"


class JobStore:
    """Job records in a directory (created on first write).

    Example:
        >>> import tempfile
        >>> store = JobStore(tempfile.mkdtemp())
        >>> rec = store.create("k1", {"backend": "fake_manila"})
        >>> store.get("k1")["status"], store.keys()
        ('new', ['k1'])
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else default_store_dir()

    def __repr__(self) -> str:
        return f"JobStore({str(self.directory)!r})"

    # -- records ---------------------------------------------------------------------------

    def _record_path(self, key: str) -> Path:
        _check_key(key)
        return self.directory / f"{key}.json"

    def _result_path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def keys(self) -> list[str]:
        """Keys of every record, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json"))

    def get(self, key: str) -> dict | None:
        """The record for ``key`` or ``None``."""
        path = self._record_path(key)
        if not path.is_file():
            return None
        return json.loads(path.read_text())

    def create(self, key: str, meta: dict[str, Any]) -> dict:
        """Create (or return the existing) record for ``key`` with scrubbed ``meta``."""
        existing = self.get(key)
        if existing is not None:
            return existing
        now = time.time()
        record = {"version": _VERSION, "key": key, "status": "new", "created": now,
                  "updated": now, "attempts": [], **scrub(meta)}
        self.save(record)
        return record

    def save(self, record: dict) -> None:
        """Atomically write ``record`` (status and attempt errors are validated/redacted)."""
        if record.get("status") not in STATUSES:
            raise ValueError(f"record status must be one of {STATUSES}; got "
                             f"{record.get('status')!r}")
        record["updated"] = time.time()
        for attempt in record.get("attempts", []):
            if attempt.get("error") is not None:
                attempt["error"] = redact(attempt["error"])
        data = json.dumps(record, indent=1, sort_keys=True, default=str).encode()
        _atomic_write(self._record_path(record["key"]), data)

    def records(self) -> list[dict]:
        """Every record, sorted by creation time."""
        out = [r for r in (self.get(k) for k in self.keys()) if r is not None]
        return sorted(out, key=lambda r: r.get("created", 0))

    # -- results ---------------------------------------------------------------------------

    def save_result(self, key: str, result: Any) -> None:
        """Store a ``PrimitiveResult`` (Sampler or Estimator) losslessly."""
        arrays, schema = _encode_result(result)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, __schema__=np.frombuffer(
            json.dumps(schema, default=str).encode(), dtype=np.uint8), **arrays)
        _atomic_write(self._result_path(key), buffer.getvalue())

    def load_result(self, key: str) -> Any | None:
        """The stored ``PrimitiveResult`` for ``key``, or ``None`` if absent or unreadable."""
        path = self._result_path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                schema = json.loads(bytes(data["__schema__"]).decode())
                return _decode_result(schema, data)
        except (OSError, ValueError, KeyError):
            return None


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key or not all(c.isalnum() or c in "-_" for c in key):
        raise ValueError(f"job-store key must be a non-empty [A-Za-z0-9_-] string; got {key!r}")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _encode_result(result: Any) -> tuple[dict[str, np.ndarray], dict]:
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
    return arrays, {"pubs": pubs, "metadata": scrub(dict(getattr(result, "metadata", {})))}


def _decode_result(schema: dict, data: Any) -> Any:
    from qiskit.primitives import BitArray, DataBin, PrimitiveResult, PubResult
    from qiskit.primitives.containers import SamplerPubResult

    pubs = []
    for i, pub in enumerate(schema["pubs"]):
        fields = {}
        for f in pub["fields"]:
            array = data[f"p{i}_{f['name']}"]
            fields[f["name"]] = BitArray(array, f["num_bits"]) if f["kind"] == "bits" else array
        bin_ = DataBin(**fields, shape=tuple(pub["shape"]))
        cls = SamplerPubResult if pub["type"] == "sampler" else PubResult
        pubs.append(cls(bin_, metadata=pub["metadata"]))
    return PrimitiveResult(pubs, metadata=schema["metadata"])
