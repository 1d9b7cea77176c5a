"""Fault-injection doubles for the Runtime job layer.

``FakeJobService`` plays IBM's job service: it remembers every job that reached it, by id and by
tag, so jobs can be retrieved and found after a "crash" of the client. ``FlakySubmitter`` wraps a
real submitter (Qiskit's reference ``StatevectorSampler`` or Runtime's local testing mode) and
injects failures: refused submissions, jobs that end in ERROR, jobs stuck in the queue, and a
client crash right after the service accepted a job but before the client could save its id.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from qiskit.primitives import StatevectorSampler
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.execution import RuntimeExecutor, compiled_batch
from qiskit_qattn.runtime import RuntimeSubmitter


class SimulatedCrash(BaseException):  # noqa: N818 - it models a process dying, not an error
    """The client process dies (not an Exception: nothing in the runner may catch it)."""


class ErrorJob:
    """A job the service accepted and that ended in ERROR."""

    def __init__(self, job_id, message="device calibration failed"):
        self._id = job_id
        self._message = message

    def job_id(self):
        return self._id

    def status(self):
        return "ERROR"

    def error_message(self):
        return self._message

    def result(self):
        raise RuntimeError(self._message)


class StuckJob:
    """A job that stays QUEUED until ``release()``."""

    def __init__(self, inner):
        self.inner = inner
        self.released = False

    def job_id(self):
        return self.inner.job_id()

    def status(self):
        return self.inner.status() if self.released else "QUEUED"

    def result(self):
        if not self.released:
            raise AssertionError("result() called on a job still queued")
        return self.inner.result()

    def release(self):
        self.released = True


class FakeJobService:
    """Remembers accepted jobs by id and tag, like the IBM service does."""

    def __init__(self):
        self.jobs = {}
        self.by_tag = {}
        self.accepted = Counter()  # tag -> jobs accepted

    def accept(self, job, tags):
        self.jobs[job.job_id()] = job
        for tag in tags:
            self.by_tag.setdefault(tag, []).append(job.job_id())
            self.accepted[tag] += 1


class FlakySubmitter:
    """Wraps a real submitter; injects failures by submission number (1-based)."""

    def __init__(self, inner, service=None, *, refuse=(), error_jobs=(), stuck=(),
                 crash_after=(), refuse_message="503 service unavailable"):
        self.inner = inner
        self.service = service or FakeJobService()
        self.refuse = set(refuse)
        self.error_jobs = set(error_jobs)
        self.stuck = set(stuck)
        self.crash_after = set(crash_after)
        self.refuse_message = refuse_message
        self.calls = 0
        self.stuck_jobs = []
        self.options = {}
        self.is_local = False

    def describe(self):
        return {"kind": "job", "backend": "flaky", "local": False}

    def submit(self, task, tags=()):
        self.calls += 1
        n = self.calls
        if n in self.refuse:
            raise ConnectionError(self.refuse_message)
        if n in self.error_jobs:
            job = ErrorJob(f"err-{n}")
        else:
            job = self.inner.submit(task, tags=tags)
            if n in self.stuck:
                job = StuckJob(job)
                self.stuck_jobs.append(job)
        self.service.accept(job, tags)
        if n in self.crash_after:
            raise SimulatedCrash(f"client died after submission {n}")
        return job

    def retrieve(self, job_id):
        return self.service.jobs.get(job_id)

    def find(self, tag, exclude=()):
        for job_id in reversed(self.service.by_tag.get(tag, [])):
            if job_id not in set(exclude):
                return self.service.jobs[job_id]
        return None


@pytest.fixture(scope="session")
def manila():
    return FakeManilaV2()


class PackedHead:
    """One head packed the way the Runtime executor packs it: ``task`` and its decoders."""

    def __init__(self, Q, K, V, *, device, family="qaoa", primitive="sampler", shots=4096,
                 precision=None, label=""):
        head = prepare_head(Q, K, V, family=family)
        self.executor = RuntimeExecutor(device, primitive=primitive, precision=precision)
        self.batch = compiled_batch(head, device, measure=primitive == "sampler",
                                    observables=primitive == "estimator")
        self.batch.label = label
        self.shots = shots
        self.task, _ = self.executor.pack([self.batch], shots)

    def counts(self, result):
        """Counts ``[1, n_q, 2**m]`` of a sampler result."""
        return self.executor._decode(self.batch, list(result), self.shots, {}).counts[None]


def pack_head(Q, K, V, **kwargs):
    return PackedHead(Q, K, V, **kwargs)


@pytest.fixture(scope="session")
def small_heads(manila):
    """Three different packed QAOA heads (2 queries x 4 keys) compiled for FakeManilaV2."""
    rng = np.random.default_rng(42)
    heads = []
    for i in range(3):
        q, k, v = rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 2))
        heads.append(pack_head(q, k, v, device=manila, shots=512, label=f"head{i}"))
    return heads


@pytest.fixture
def sv_submitter():
    return RuntimeSubmitter(StatevectorSampler(seed=11))


@pytest.fixture
def no_sleep():
    """A sleep that records delays and advances a fake clock."""

    class Clock:
        def __init__(self):
            self.now = 0.0
            self.sleeps = []

        def sleep(self, seconds):
            self.sleeps.append(seconds)
            self.now += seconds

        def clock(self):
            return self.now

    return Clock()


@pytest.fixture(scope="session")
def faults():
    """The fault-injection doubles (test modules cannot import conftest under importlib mode)."""
    import types

    return types.SimpleNamespace(FakeJobService=FakeJobService, FlakySubmitter=FlakySubmitter,
                                 SimulatedCrash=SimulatedCrash, StuckJob=StuckJob,
                                 ErrorJob=ErrorJob, pack_head=pack_head)
