"""Resolve a backend from a name (``fake_torino``, ``ibm_<name>``) or pass a ``BackendV2`` through.

Credentials for IBM backends come only from the user's saved account or environment, read by
``QiskitRuntimeService()`` itself; this module never takes, stores or prints a token.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

from qiskit.providers import BackendV2

from .secrets import redact


@functools.cache
def _fake_provider():
    from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

    with warnings.catch_warnings():
        # Some fake devices warn that their properties are not typical when instantiated.
        warnings.simplefilter("ignore", UserWarning)
        return FakeProviderForBackendV2()


def fake_backend_names() -> list[str]:
    """Names accepted for local fake backends, e.g. ``fake_torino``.

    Example:
        >>> "fake_torino" in fake_backend_names()
        True
    """
    return sorted(b.name for b in _fake_provider().backends())


def resolve_backend(backend: str | BackendV2, service: Any | None = None) -> BackendV2:
    """Return a ``BackendV2`` for ``backend``.

    Args:
        backend: a ``BackendV2`` (returned as is), a fake backend name such as ``"fake_torino"``
            (local testing, no account), or an IBM device name such as ``"ibm_torino"``.
        service: the ``QiskitRuntimeService`` for ``ibm_`` names; default
            ``QiskitRuntimeService()``, which reads the account saved on this machine or the
            ``QISKIT_IBM_*`` environment. This function never sees the token; errors from the
            service are re-raised with token-shaped text redacted.

    Example:
        >>> resolve_backend("fake_torino").name
        'fake_torino'
    """
    if isinstance(backend, BackendV2):
        return backend
    if not isinstance(backend, str) or not backend:
        raise ValueError(f"backend must be a BackendV2 or a backend name; got {backend!r}")
    name = backend.strip().lower()
    if name.startswith("fake_"):
        try:
            return _fake_provider().backend(name)
        except Exception as exc:
            raise ValueError(
                f"unknown fake backend {backend!r}; choose one of {fake_backend_names()}"
            ) from exc
    if name.startswith("ibm_"):
        try:
            if service is None:
                from qiskit_ibm_runtime import QiskitRuntimeService

                service = QiskitRuntimeService()
            return service.backend(name)
        except Exception as exc:
            # `from None`: the original message may quote account details; ours is redacted.
            raise RuntimeError(
                f"could not get IBM backend {name!r} ({type(exc).__name__}: {redact(exc)}). "
                "Save an account once with QiskitRuntimeService.save_account(...) yourself, "
                "or set QISKIT_IBM_TOKEN / QISKIT_IBM_INSTANCE in the environment."
            ) from None
    raise ValueError(
        f"backend name must start with 'fake_' (local) or 'ibm_' (IBM Quantum); got {backend!r}"
    )
