"""IBM Runtime: backends and modes, PUB packing, cost preview, a resumable job store.

Typical use::

    from qiskit_qattn.runtime import run_head
    est = run_head(Q, K, V, backend="fake_torino", shots=4096)   # local testing mode
    est.info["cost_preview"], est.info["job_ids"]

Pieces: :func:`resolve_backend` (fake name, ``ibm_<name>`` via the saved account/environment, or a
``BackendV2``); :func:`pack_head` (a whole head as the PUBs of one job, parameters broadcast,
observables laid out on the physical qubits); :func:`cost_preview`; :class:`JobStore` and
:class:`ResumableRunner` (finished jobs fetched, pending waited on, failures retried with
backoff, orphaned submissions adopted by tag; a task is claimed before it is submitted, so several
processes sharing a store submit it once). The store also serves non-Runtime units of work
(:meth:`JobStore.claim`, :meth:`JobStore.run_once`). No credential is ever taken, logged or stored.
"""

from .backends import fake_backend_names, resolve_backend
from .claims import Claim, ClaimLostError, TaskCancelledError
from .cost import CostPreview, cost_preview
from .head import SubmissionDeclined, run_head
from .jobs import (
    JobFailedError,
    JobTimeoutError,
    ResumableRunner,
    RetryLimitError,
    RetryPolicy,
    RuntimeSubmitter,
    ServiceUnavailableError,
)
from .modes import describe_mode, ibm_account_available, is_local_mode, mode_backend
from .pubs import HeadJob, PackedTask, pack_head, qaoa_parameter_values, qaoa_template
from .sampler import run_runtime_sampler
from .secrets import redact
from .store import JobStore, UnitFailedError

__all__ = [
    "Claim",
    "ClaimLostError",
    "CostPreview",
    "HeadJob",
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
    "fake_backend_names",
    "ibm_account_available",
    "is_local_mode",
    "mode_backend",
    "pack_head",
    "qaoa_parameter_values",
    "qaoa_template",
    "redact",
    "resolve_backend",
    "run_head",
    "run_runtime_sampler",
]
