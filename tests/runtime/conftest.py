"""Fault-injection doubles for the Runtime job layer; real child processes for the store tests.

``FakeJobService`` plays IBM's job service: it remembers every job that reached it, by id and by
tag, so jobs can be retrieved and found after a "crash" of the client. ``FlakySubmitter`` wraps a
real submitter (Qiskit's reference ``StatevectorSampler`` or Runtime's local testing mode) and
injects failures: refused submissions, jobs that end in ERROR, jobs stuck in the queue, and a
client crash right after the service accepted a job but before the client could save its id.

``mp`` gives a forkserver multiprocessing context and ``multiproc_helpers`` (a job service kept on
disk, so jobs outlive the process that submitted them, and the child-process workers).
"""

from __future__ import annotations

import multiprocessing
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from qiskit.primitives import StatevectorSampler
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.runtime import RuntimeSubmitter

sys.path.insert(0, str(Path(__file__).parent))  # the test-support modules beside this file
# Runs against the JSON-era code (commit 8bf68b9) to regenerate the migration fixture.
collect_ignore = ["data/make_legacy_store.py"]
from multiproc_helpers import pack_head  # noqa: E402


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
        return {"kind": "job", "device": "flaky", "local": False}

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


@pytest.fixture(scope="session")
def mp():
    """Forkserver context (Qiskit imported once in its server) and the child-process helpers."""
    import multiproc_helpers  # the children import it by name (sys.path set above)

    ctx = multiprocessing.get_context("forkserver")
    # Python 3.11's forkserver ignores sys.path, so it preloads installed modules only.
    ctx.set_forkserver_preload(["qiskit_ibm_runtime.fake_provider", "qiskit.primitives",
                                "qiskit_qattn.runtime"])
    return ctx, multiproc_helpers
