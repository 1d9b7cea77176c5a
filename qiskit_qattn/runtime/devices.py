"""Resolve a device from a name (``fake_torino``, ``ibm_<name>``) or pass a ``BackendV2`` through.

A *device* is a Qiskit backend (``BackendV2``) that runs circuits. Credentials for IBM devices
come only from the user's saved account or environment, read by
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


def fake_device_names() -> list[str]:
    """Names accepted for local fake devices, e.g. ``fake_torino``.

    Example:
        >>> "fake_torino" in fake_device_names()
        True
    """
    return sorted(b.name for b in _fake_provider().backends())


def resolve_device(device: str | BackendV2, service: Any | None = None) -> BackendV2:
    """Return the ``BackendV2`` for ``device``.

    Args:
        device: a ``BackendV2`` (returned as is), a fake device name such as ``"fake_torino"``
            (local testing, no account), or an IBM device name such as ``"ibm_torino"``.
        service: the ``QiskitRuntimeService`` for ``ibm_`` names; default
            ``QiskitRuntimeService()``, which reads the account saved on this machine or the
            ``QISKIT_IBM_*`` environment. This function never sees the token; errors from the
            service are re-raised with token-shaped text redacted.

    Example:
        >>> resolve_device("fake_torino").name
        'fake_torino'
    """
    if isinstance(device, BackendV2):
        return device
    if not isinstance(device, str) or not device:
        raise ValueError(f"device must be a BackendV2 or a device name such as 'fake_torino'; "
                         f"got {device!r}")
    name = device.strip().lower()
    if name.startswith("fake_"):
        try:
            return _fake_provider().backend(name)
        except Exception as exc:
            raise ValueError(
                f"unknown fake device {device!r}; choose one of {fake_device_names()}"
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
                f"could not get IBM device {name!r} ({type(exc).__name__}: {redact(exc)}). "
                "Save an account once with QiskitRuntimeService.save_account(...) yourself, "
                "or set QISKIT_IBM_TOKEN / QISKIT_IBM_INSTANCE in the environment."
            ) from None
    raise ValueError(
        f"device name must start with 'fake_' (local) or 'ibm_' (IBM Quantum); got {device!r}"
    )
