"""Real-process doubles and workers for the job-store concurrency tests.

``FileJobService`` plays IBM's job service across processes: every accepted job is a file (its
result computed at submission with Qiskit's seeded reference sampler, so every job of a task has
the same counts), retrievable by id and findable by tag from any process, after the submitting
process died. ``ServiceSubmitter`` submits to it what ``RuntimeSubmitter`` submits to IBM and can
die for real (``os._exit``) before or right after the service accepted a job.

The ``*_worker`` functions run in child processes started through multiprocessing (forkserver):
this module is importable by name in the children (the test puts its folder on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import numpy as np
import qiskit_ibm_runtime.fake_provider  # noqa: F401 - imported once in the forkserver (3 s)
from qiskit.primitives import StatevectorSampler

from qiskit_qattn.runtime import JobStore, ResumableRunner, RetryPolicy, RuntimeSubmitter
from qiskit_qattn.runtime.result_codec import decode_primitive_result, encode_primitive_result

CRASH_EXIT = 17  # exit status of a child that "crashed" on purpose


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class FileJob:
    """A job of :class:`FileJobService` (the subset of ``RuntimeJobV2`` the runner uses)."""

    def __init__(self, service: FileJobService, job_id: str):
        self.service = service
        self._id = job_id

    def job_id(self):
        return self._id

    def _info(self):
        return json.loads(self.service.job_path(self._id).read_text())

    def status(self):
        info = self._info()
        if info.get("cancelled"):
            return "CANCELLED"
        if info["held"] or time.time() < info["ready_at"]:
            return "QUEUED"
        return "ERROR" if info.get("error") else "DONE"

    def error_message(self):
        return self._info().get("error")

    def cancel(self):
        self.service.update(self._id, cancelled=True)

    def result(self):
        """Blocks until the job is final, as ``RuntimeJobV2.result()`` does."""
        while (status := self.status()) == "QUEUED":
            time.sleep(0.01)
        if status != "DONE":
            raise RuntimeError(f"job {self._id} ended {status}: {self.error_message()}")
        return decode_primitive_result(self.service.result_path(self._id).read_bytes())


class FileJobService:
    """Jobs as files in ``directory``: accepted jobs outlive the process that submitted them."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def job_path(self, job_id):
        return self.directory / f"{job_id}.json"

    def result_path(self, job_id):
        return self.directory / f"{job_id}.npz"

    def accept(self, result, tags, *, delay=0.0, held=False):
        job_id = uuid.uuid4().hex[:20]
        _atomic_write(self.result_path(job_id), encode_primitive_result(result))
        info = {"id": job_id, "tags": list(tags), "accepted": time.time(),
                "ready_at": time.time() + delay, "held": held, "pid": os.getpid()}
        _atomic_write(self.job_path(job_id), json.dumps(info).encode())  # now it exists
        return FileJob(self, job_id)

    def update(self, job_id, **fields):
        info = json.loads(self.job_path(job_id).read_text())
        info.update(fields)
        _atomic_write(self.job_path(job_id), json.dumps(info).encode())

    def release(self, job_id):
        self.update(job_id, held=False)

    def jobs(self):
        """Every accepted job's info, oldest first."""
        infos = [json.loads(p.read_text()) for p in self.directory.glob("*.json")
                 if not p.name.startswith(".")]
        return sorted(infos, key=lambda i: i["accepted"])

    def job(self, job_id):
        return FileJob(self, job_id) if self.job_path(job_id).is_file() else None


class ServiceSubmitter:
    """What ``RuntimeSubmitter`` does against IBM, against a :class:`FileJobService`.

    Args:
        service_dir: the service's directory.
        delay: seconds a job stays queued.
        held: jobs stay queued until the test calls ``FileJobService.release``.
        crash: ``None``, ``"before_accept"`` or ``"after_accept"``: the process dies (really)
            during its first submission, before or after the service accepted the job.
    """

    is_local = False

    def __init__(self, service_dir, *, delay=0.0, held=False, crash=None, seed=11):
        self.service = FileJobService(service_dir)
        self.delay, self.held, self.crash, self.sampler_seed = delay, held, crash, seed
        self.options = {}
        self.seed = None

    def describe(self):
        return {"kind": "job", "device": "file_service", "local": False}

    def submit(self, task, tags=()):
        if self.crash == "before_accept":
            os._exit(CRASH_EXIT)
        result = StatevectorSampler(seed=self.sampler_seed).run(list(task.pubs)).result()
        job = self.service.accept(result, tags, delay=self.delay, held=self.held)
        if self.crash == "after_accept":
            os._exit(CRASH_EXIT)
        return job

    def retrieve(self, job_id):
        return self.service.job(job_id)

    def find(self, tag, exclude=()):
        for info in reversed(self.service.jobs()):
            if tag in info["tags"] and info["id"] not in set(exclude) \
                    and not info.get("cancelled"):
                return FileJob(self.service, info["id"])
        return None


class CountingSubmitter(RuntimeSubmitter):
    """A real ``RuntimeSubmitter`` (local testing mode) that appends a line per submission."""

    def __init__(self, *args, count_path, hang=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_path = str(count_path)
        self.hang = hang

    def submit(self, task, tags=()):
        job = super().submit(task, tags)
        with open(self.count_path, "a") as fh:  # O_APPEND: one whole line per process
            fh.write(f"{os.getpid()} {job.job_id()}\n")
        return HangingJob(job) if self.hang else job


class HangingJob:
    """A local job whose result never comes (the process is killed while waiting on it)."""

    def __init__(self, inner):
        self.inner = inner

    def job_id(self):
        return self.inner.job_id()

    def status(self):
        return "RUNNING"

    def result(self):
        time.sleep(3600)


def head_inputs():
    rng = np.random.default_rng(5)
    return rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 2))


# -- packing a head the way the Runtime executor does --------------------------------------------


class PackedHead:
    """One head packed as the Runtime executor packs it: ``task`` and a counts decoder."""

    def __init__(self, Q, K, V, *, device, family="qaoa", primitive="sampler", shots=4096,
                 precision=None, label="", seed_transpiler=0):
        from qiskit_qattn.circuits import prepare_head
        from qiskit_qattn.execution import RuntimeExecutor, compiled_batch

        head = prepare_head(Q, K, V, family=family)
        self.executor = RuntimeExecutor(device, primitive=primitive, precision=precision)
        self.batch = compiled_batch(head, device, measure=primitive == "sampler",
                                    observables=primitive == "estimator",
                                    seed_transpiler=seed_transpiler)
        self.batch.label = label
        self.shots = shots
        self.task, _ = self.executor.pack([self.batch], shots)

    def counts(self, result):
        """Counts ``[1, n_q, 2**m]`` of a sampler result."""
        return self.executor._decode(self.batch, list(result), self.shots, {}).counts[None]


def pack_head(Q, K, V, **kwargs):
    """A :class:`PackedHead` (``device=`` required)."""
    return PackedHead(Q, K, V, **kwargs)


# -- child-process entry points ------------------------------------------------------------------


def _report(queue, index, **payload):
    queue.put({"index": index, "pid": os.getpid(), **payload})


def local_head_worker(index, store_dir, count_path, start, queue, hang=False):
    """``run_head`` on FakeManilaV2 in Runtime local testing mode, counting submissions."""
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    from qiskit_qattn.attention import run_head

    backend = FakeManilaV2()
    q, k, v = head_inputs()
    pack_head(q, k, v, device=backend, shots=512, seed_transpiler=1)  # warm-up, not timed
    _report(queue, index, event="ready")
    start.wait()
    submitter = CountingSubmitter(backend, seed=3, count_path=count_path, hang=hang)
    est = run_head(q, k, v, mode=backend, shots=512, seed=1, store=JobStore(store_dir),
                   submitter=submitter, poll_interval=0.02)
    _report(queue, index, event="done", values=est.values, job_ids=est.metadata["job_ids"],
            key=est.metadata["store_key"], finished=time.time())


def service_task_worker(index, store_dir, service_dir, task, start, queue, submitter_kw=None,
                        store_kw=None):
    """``ResumableRunner.run`` of a packed task against the file job service."""
    submitter = ServiceSubmitter(service_dir, **(submitter_kw or {}))
    store = JobStore(store_dir, **(store_kw or {}))
    runner = ResumableRunner(submitter, store, poll_interval=0.02,
                             retry=RetryPolicy(max_attempts=3, initial_delay=0.05))
    _report(queue, index, event="ready")
    start.wait()
    result = runner.run(task)
    _report(queue, index, event="done", counts=result[0].data.meas.array,
            key=runner.key(task), finished=time.time())


def unit_worker(index, store_dir, keys, log_path, start, queue, seconds=0.05):
    """A sweep worker: ``run_once`` over ``keys``, logging every computation it starts/ends."""
    store = JobStore(store_dir)

    def compute(key):
        with open(log_path, "a") as fh:
            fh.write(f"start {key} {os.getpid()}\n")
        time.sleep(seconds)
        value = np.frombuffer(key.encode(), dtype=np.uint8).astype(float)
        with open(log_path, "a") as fh:
            fh.write(f"end {key} {os.getpid()}\n")
        return {"value": value}, {"key": key}

    _report(queue, index, event="ready")
    start.wait()
    out = {key: store.run_once(key, lambda key=key: compute(key), {"unit": key})[0]["value"]
           for key in keys}
    _report(queue, index, event="done", values=out)


def crash_in_complete_worker(store_dir, key, queue):
    """Claim ``key`` and die inside the transaction that stores the result and marks it done."""
    store = JobStore(store_dir)
    claim = store.claim(key, {"label": "crash"})
    with claim:
        record = claim.record
        record["attempts"].append({"n": 1, "status": "running", "job_id": None})
        claim.update(record)

        def die(*args, **kwargs):
            os._exit(CRASH_EXIT)  # the UPDATE to 'done' has run; COMMIT never happens

        store._put_result = die
        queue.put("claimed")
        # put() hands the message to a feeder thread; flush it before os._exit kills that thread.
        queue.close()
        queue.join_thread()
        claim.complete({"x": np.arange(3)})


def open_store_worker(store_dir, start):
    """Open a store (importing a JSON-era store on first open) and list it."""
    start.wait()
    JobStore(store_dir).records()
