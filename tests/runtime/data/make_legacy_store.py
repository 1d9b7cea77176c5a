"""Write ``legacy_store_v1/``: a JSON-era job store produced by the JSON-era code itself.

Run against the last commit with the JSON store (8bf68b9), not against this tree::

    git archive 8bf68b9 qiskit_qattn | tar -x -C /tmp/oldcode
    PYTHONPATH=/tmp/oldcode python tests/runtime/data/make_legacy_store.py

It drives the old ``ResumableRunner`` / ``JobStore`` through the states a real store holds:
a finished sampler head, a finished estimator head, a head whose first submission was refused,
a head whose client died right after the service accepted its job (``submitting``, no job id), a
head that timed out while queued (``submitted``) and a head that exhausted its retries
(``failed``). ``legacy_store_v1.manifest.json`` maps each case to its key and the job ids the
service accepted.
"""

import json
import shutil
from pathlib import Path

import numpy as np
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

import qiskit_qattn.runtime.store as store_module
from qiskit_qattn.runtime import (
    JobStore,
    JobTimeoutError,
    ResumableRunner,
    RetryLimitError,
    RetryPolicy,
    RuntimeSubmitter,
    pack_head,
)

OUT = Path(__file__).parent / "legacy_store_v1"
MANIFEST = Path(__file__).parent / "legacy_store_v1.manifest.json"


class Crash(BaseException):
    pass


class Fake:
    """The conftest's FlakySubmitter in brief: numbered submissions, injected faults."""

    def __init__(self, inner, *, refuse=(), error=(), stuck=(), crash_after=()):
        self.inner, self.refuse, self.error = inner, set(refuse), set(error)
        self.stuck, self.crash_after = set(stuck), set(crash_after)
        self.calls, self.jobs, self.by_tag = 0, {}, {}
        self.options, self.is_local, self.seed = {}, False, None

    def describe(self):
        return {"kind": "job", "backend": "fake_manila", "local": False}

    def submit(self, task, tags=()):
        self.calls += 1
        n = self.calls
        if n in self.refuse:
            raise ConnectionError("503 service unavailable")
        job = self.inner.submit(task, tags=tags)
        if n in self.error:
            job = Err(f"err-{n}")
        elif n in self.stuck:
            job = Stuck(job)
        self.jobs[job.job_id()] = job
        for tag in tags:
            self.by_tag.setdefault(tag, []).append(job.job_id())
        if n in self.crash_after:
            raise Crash()
        return job

    def retrieve(self, job_id):
        return self.jobs.get(job_id)

    def find(self, tag, exclude=()):
        ids = [i for i in self.by_tag.get(tag, []) if i not in set(exclude)]
        return self.jobs[ids[-1]] if ids else None


class Err:
    def __init__(self, job_id):
        self._id = job_id

    def job_id(self):
        return self._id

    def status(self):
        return "ERROR"

    def error_message(self):
        return "device calibration failed"

    def result(self):
        raise RuntimeError("device calibration failed")


class Stuck:
    def __init__(self, inner):
        self.inner = inner

    def job_id(self):
        return self.inner.job_id()

    def status(self):
        return "QUEUED"


def main():
    assert hasattr(store_module, "_atomic_write"), "run this against the JSON-era code"
    if OUT.exists():
        shutil.rmtree(OUT)
    store = JobStore(OUT)
    backend = FakeManilaV2()
    rng = np.random.default_rng(2024)
    heads = [pack_head(rng.normal(size=(2, 4)), rng.normal(size=(4, 4)),
                       rng.normal(size=(4, 2)), backend=backend, shots=128, label=f"case{i}")
             for i in range(5)]
    estimator = pack_head(rng.normal(size=(2, 4)), rng.normal(size=(4, 4)),
                          rng.normal(size=(4, 2)), backend=backend, primitive="estimator",
                          precision=0.05, label="estimator")
    sv = RuntimeSubmitter(StatevectorSampler(seed=5))
    no_wait = {"sleep": lambda s: None, "poll_interval": 0.0}
    manifest = {}

    def run(name, sub, task, **kw):
        runner = ResumableRunner(sub, store, retry=RetryPolicy(max_attempts=2, initial_delay=0),
                                 **no_wait, **kw)
        try:
            runner.run(task)
        except (Crash, JobTimeoutError, RetryLimitError) as exc:
            print(name, "->", type(exc).__name__)
        manifest[name] = {"key": runner.key(task), "accepted": list(sub.jobs)}

    run("done", Fake(sv), heads[0].task)
    run("refused_then_done", Fake(sv, refuse={1}), heads[1].task)
    run("crashed_after_accept", Fake(sv, crash_after={1}), heads[2].task)
    run("timed_out_submitted", Fake(sv, stuck={1}), heads[3].task, timeout=0.01)
    run("failed", Fake(sv, error={1, 2}), heads[4].task)
    run("estimator_done", Fake(RuntimeSubmitter(StatevectorEstimator(seed=6))), estimator.task)
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    print("wrote", sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
