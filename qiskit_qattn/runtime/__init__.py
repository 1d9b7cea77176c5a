"""IBM Runtime plumbing: devices and modes, packed jobs, cost preview, a resumable job store.

Pieces: :func:`resolve_device` (fake name, ``ibm_<name>`` via the saved account/environment, or a
``BackendV2``); modes (a device, ``Session`` or ``Batch``: :func:`describe_mode`,
:func:`mode_device`); :class:`PackedTask` (the PUBs of one job and their fingerprint);
:func:`cost_preview`; :class:`JobStore` and :class:`ResumableRunner` (finished jobs fetched,
pending waited on, failures retried with backoff, orphaned submissions adopted by tag; a task is
claimed before it is submitted, so several processes sharing a store submit it once). The store
also serves non-Runtime units of work (:meth:`JobStore.claim`, :meth:`JobStore.run_once`). The
Runtime *executor* that turns a head into one resumable job is
:class:`qiskit_qattn.execution.RuntimeExecutor`; the one-call entry point is
``estimate_attention(..., execution="runtime")``. No credential is ever taken, logged or stored.
"""

from .claims import Claim, ClaimLostError, TaskCancelledError
from .cost import CostPreview, SubmissionDeclined, cost_preview
from .devices import fake_device_names, resolve_device
from .jobs import (
    JobFailedError,
    JobTimeoutError,
    ResumableRunner,
    RetryLimitError,
    RetryPolicy,
    RuntimeSubmitter,
    ServiceUnavailableError,
)
from .modes import describe_mode, ibm_account_available, is_local_mode, mode_device
from .pubs import PRIMITIVES, PackedTask
from .secrets import redact
from .store import JobStore, UnitFailedError

__all__ = [
    "PRIMITIVES",
    "Claim",
    "ClaimLostError",
    "CostPreview",
    "JobFailedError",
    "JobStore",
    "JobTimeoutError",
    "PackedTask",
    "ResumableRunner",
    "RetryLimitError",
    "RetryPolicy",
    "RuntimeSubmitter",
    "ServiceUnavailableError",
    "SubmissionDeclined",
    "TaskCancelledError",
    "UnitFailedError",
    "cost_preview",
    "describe_mode",
    "fake_device_names",
    "ibm_account_available",
    "is_local_mode",
    "mode_device",
    "redact",
    "resolve_device",
]
