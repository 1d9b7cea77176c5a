"""What a Runtime execution mode is: its device, its service, local or remote, and a safe summary.

A *mode* is what qiskit-ibm-runtime's primitives accept: a ``BackendV2`` (job mode; a fake or
other non-IBM backend runs in local testing mode), a ``Session`` or a ``Batch``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qiskit.providers import BackendV2


def mode_device(mode: Any) -> BackendV2:
    """The device (``BackendV2``) behind ``mode`` (a backend, ``Session`` or ``Batch``).

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> mode_device(FakeManilaV2()).name
        'fake_manila'
    """
    if isinstance(mode, BackendV2):
        return mode
    backend = getattr(mode, "_backend", None)
    if backend is None:
        backend = getattr(mode, "backend", None)
        if callable(backend):
            backend = backend()
    if isinstance(backend, str):
        from .devices import resolve_device

        backend = resolve_device(backend)
    if not isinstance(backend, BackendV2):
        raise TypeError(f"mode must be a BackendV2, Session or Batch; got {type(mode).__name__}")
    return backend


def mode_service(mode: Any) -> Any | None:
    """The ``QiskitRuntimeService`` a mode submits through, or ``None`` in local testing mode.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> mode_service(FakeManilaV2()) is None
        True
    """
    service = getattr(mode, "service", None)
    if service is None or getattr(service, "is_local", False) or not hasattr(service, "job"):
        return None
    return service


def is_local_mode(mode: Any) -> bool:
    """``True`` when ``mode`` runs locally (fake or other non-IBM backend).

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> is_local_mode(FakeManilaV2())
        True
    """
    return mode_service(mode) is None


def describe_mode(mode: Any) -> dict[str, Any]:
    """A JSON-safe summary of ``mode``: kind, device name, local or not, session id.

    Holds nothing from the account (no token, URL or instance), so it is safe to log and store.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> describe_mode(FakeManilaV2())
        {'kind': 'job', 'device': 'fake_manila', 'local': True}
    """
    kind = "job"
    name = type(mode).__name__.lower()
    if not isinstance(mode, BackendV2) and name in ("session", "batch"):
        kind = name
    out: dict[str, Any] = {"kind": kind, "device": mode_device(mode).name,
                           "local": is_local_mode(mode)}
    session_id = getattr(mode, "session_id", None)
    if kind != "job" and isinstance(session_id, str):
        out["session_id"] = session_id
    return out


def ibm_account_available() -> bool:
    """Whether an IBM Quantum account is configured here, without reading any credential.

    Looks only at whether ``QISKIT_IBM_TOKEN`` is set (not its value) or a saved-account file
    exists (``~/.qiskit/qiskit-ibm.json`` or ``$QISKIT_IBM_ACCOUNTS_FILE``, not its content).

    Example:
        >>> isinstance(ibm_account_available(), bool)
        True
    """
    if os.environ.get("QISKIT_IBM_TOKEN"):
        return True
    path = os.environ.get("QISKIT_IBM_ACCOUNTS_FILE") or Path.home() / ".qiskit" / "qiskit-ibm.json"
    return Path(path).is_file()
