"""Fault injection: results complete, no job submitted twice per input, store consistent."""

import json

import numpy as np
import pytest

from qiskit_qattn.runtime import (
    JobStore,
    JobTimeoutError,
    ResumableRunner,
    RetryLimitError,
    RetryPolicy,
    RuntimeSubmitter,
)


@pytest.fixture(autouse=True)
def _doubles(faults):
    global FakeJobService, FlakySubmitter, SimulatedCrash
    FakeJobService, FlakySubmitter, SimulatedCrash = (faults.FakeJobService,
                                                      faults.FlakySubmitter,
                                                      faults.SimulatedCrash)


def _runner(sub, store, clock, **kw):
    kw.setdefault("retry", RetryPolicy(max_attempts=4, initial_delay=1.0, factor=2.0))
    return ResumableRunner(sub, store, sleep=clock.sleep, clock=clock.clock, poll_interval=0.5,
                           **kw)


def _counts(head, result):
    return head.counts(result)


def _assert_store_consistent(store):
    for path in store.directory.iterdir():
        assert not path.name.startswith("."), f"temporary file left behind: {path.name}"
    for record in store.records():
        assert record["status"] in ("new", "submitting", "submitted", "done", "failed")
        if record["status"] == "done":
            assert store.load_result(record["key"]) is not None
            assert record["attempts"][-1]["status"] == "done"


def test_happy_path_then_resume_reads_store(tmp_path, small_heads, sv_submitter, no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter)
    results = _runner(sub, store, no_sleep).run_all([h.task for h in small_heads])
    assert sub.calls == 3
    counts = [_counts(h, r) for h, r in zip(small_heads, results, strict=True)]
    for c in counts:
        assert c.shape == (1, 2, 4) and (c.sum(axis=-1) == 512).all()
    # A second run with the same store submits nothing and returns identical results.
    again = _runner(sub, store, no_sleep).run_all([h.task for h in small_heads])
    assert sub.calls == 3
    for h, r, c in zip(small_heads, again, counts, strict=True):
        np.testing.assert_array_equal(_counts(h, r), c)
    _assert_store_consistent(store)


def test_first_submissions_refused_are_retried_with_backoff(tmp_path, small_heads, sv_submitter,
                                                            no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter, refuse={1, 2})
    result = _runner(sub, store, no_sleep).run(small_heads[0].task)
    assert _counts(small_heads[0], result).sum() == 2 * 512
    assert no_sleep.sleeps == [1.0, 2.0]  # exponential backoff between the three attempts
    record = store.records()[0]
    assert [a["status"] for a in record["attempts"]] == ["failed", "failed", "done"]
    assert "503" in record["attempts"][0]["error"]
    assert sum(sub.service.accepted.values()) == 1
    _assert_store_consistent(store)


def test_job_ending_in_error_is_retried(tmp_path, small_heads, sv_submitter, no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter, error_jobs={1})
    _runner(sub, store, no_sleep).run(small_heads[0].task)
    record = store.records()[0]
    assert [(a["job_id"], a["status"]) for a in record["attempts"]][0] == ("err-1", "failed")
    assert "calibration" in record["attempts"][0]["error"]
    assert record["status"] == "done"


def test_retry_limit_raises_with_job_ids(tmp_path, small_heads, sv_submitter, no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter, error_jobs={1, 2, 3})
    with pytest.raises(RetryLimitError, match="err-3"):
        _runner(sub, store, no_sleep, retry=RetryPolicy(max_attempts=3, initial_delay=0.5)).run(
            small_heads[0].task)
    assert no_sleep.sleeps == [0.5, 1.0]
    assert store.records()[0]["status"] == "failed"
    # A later run gets a fresh allowance and succeeds on submission 4.
    _runner(sub, store, no_sleep).run(small_heads[0].task)
    assert store.records()[0]["status"] == "done" and sub.calls == 4


def test_timeout_carries_job_id_and_resume_waits_instead_of_resubmitting(
        tmp_path, small_heads, sv_submitter, no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter, stuck={1})
    with pytest.raises(JobTimeoutError) as info:
        _runner(sub, store, no_sleep, timeout=5.0).run(small_heads[0].task)
    stuck = sub.stuck_jobs[0]
    assert info.value.job_id == stuck.job_id() and stuck.job_id() in str(info.value)
    assert sum(no_sleep.sleeps) == pytest.approx(5.0)
    record = store.records()[0]
    assert record["status"] == "submitted" and record["attempts"][-1]["job_id"] == stuck.job_id()
    stuck.release()
    result = _runner(sub, store, no_sleep, timeout=5.0).run(small_heads[0].task)
    assert sub.calls == 1  # waited on the same job
    assert _counts(small_heads[0], result).sum() == 2 * 512
    _assert_store_consistent(store)


def test_crash_between_submit_and_save_adopts_orphan(tmp_path, small_heads, sv_submitter,
                                                     no_sleep):
    store = JobStore(tmp_path)
    service = FakeJobService()
    tasks = [h.task for h in small_heads]
    crashing = FlakySubmitter(sv_submitter, service, crash_after={2})
    with pytest.raises(SimulatedCrash):
        _runner(crashing, store, no_sleep).run_all(tasks)
    # The store is consistent: task 1 done, task 2 recorded as "submitting" without a job id.
    _assert_store_consistent(store)
    runner = _runner(crashing, store, no_sleep)
    keys = [runner.key(t) for t in tasks]
    assert store.get(keys[0])["status"] == "done"
    pending = store.get(keys[1])
    assert pending["status"] == "submitting" and pending["attempts"][-1]["job_id"] is None
    assert store.get(keys[2]) is None
    for path in store.directory.glob("*.json"):
        json.loads(path.read_text())

    # Restart: a new client process (new submitter object) with the same service and store.
    restarted = FlakySubmitter(sv_submitter, service)
    results = _runner(restarted, store, no_sleep).run_all(tasks)
    assert restarted.calls == 1  # only task 3 was submitted; task 2's orphan was adopted
    assert all(service.accepted[f"qattn-{k}"] == 1 for k in keys)
    assert store.get(keys[1])["attempts"][-1]["job_id"] in service.jobs
    for head, result in zip(small_heads, results, strict=True):
        assert _counts(head, result).sum() == 2 * 512
    _assert_store_consistent(store)


def test_submission_that_raises_after_reaching_service_is_adopted(tmp_path, small_heads,
                                                                  sv_submitter, no_sleep):
    """A network error after the service accepted the job must not lead to a second job."""

    class AcceptThenRaise(FlakySubmitter):
        def submit(self, task, tags=()):
            job = super().submit(task, tags)
            if self.calls == 1:
                raise TimeoutError("read timed out")
            return job

    store = JobStore(tmp_path)
    sub = AcceptThenRaise(sv_submitter)
    _runner(sub, store, no_sleep).run(small_heads[0].task)
    assert sub.calls == 1 and sum(sub.service.accepted.values()) == 1
    assert store.records()[0]["attempts"][-1]["status"] == "done"


def test_raise_mid_batch_completes_every_head(tmp_path, small_heads, sv_submitter, no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter, refuse={2}, error_jobs={4})
    seen = []
    results = _runner(sub, store, no_sleep).run_all(
        [h.task for h in small_heads], progress=lambda i, n, label: seen.append((i, n, label)))
    assert seen == [(1, 3, "head0"), (2, 3, "head1"), (3, 3, "head2")]
    for head, result in zip(small_heads, results, strict=True):
        assert _counts(head, result).sum() == 2 * 512
    # One accepted job per head, except the head whose first job ended in ERROR.
    assert sorted(sub.service.accepted.values()) == [1, 1, 2]
    _assert_store_consistent(store)


def test_crash_while_writing_store_keeps_previous_record(tmp_path, small_heads, sv_submitter,
                                                         no_sleep, monkeypatch):
    import os

    store = JobStore(tmp_path)
    runner = _runner(FlakySubmitter(sv_submitter), store, no_sleep)
    runner.run(small_heads[0].task)
    key = runner.key(small_heads[0].task)
    before = store.get(key)
    record = dict(before, status="failed")

    def boom(src, dst):
        raise SimulatedCrash("power cut during rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(SimulatedCrash):
        store.save(record)
    monkeypatch.undo()
    assert store.get(key) == before
    _assert_store_consistent(store)


def test_local_runtime_mode_resubmits_lost_local_job(tmp_path, small_heads, manila, no_sleep):
    """In local testing mode a job dies with its process: a crash means a fresh submission."""
    store = JobStore(tmp_path)
    real = RuntimeSubmitter(manila, seed=3)
    assert real.is_local and real.find("qattn-x") is None and real.retrieve("abc") is None
    runner = ResumableRunner(real, store, sleep=no_sleep.sleep)
    task = small_heads[0].task
    key = runner.key(task)
    store.create(key, {"label": "x"})
    record = store.get(key)
    record["attempts"].append({"n": 1, "status": "submitted", "job_id": "gone", "error": None})
    record["status"] = "submitted"
    store.save(record)
    result = runner.run(task)
    assert small_heads[0].counts(result).sum() == 2 * 512
    statuses = [a["status"] for a in store.get(key)["attempts"]]
    assert statuses == ["lost", "done"]


def test_runner_rejects_bad_arguments(sv_submitter, tmp_path):
    with pytest.raises(ValueError, match="timeout"):
        ResumableRunner(sv_submitter, JobStore(tmp_path), timeout=0)
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_key_depends_on_options_and_seed(small_heads, manila, tmp_path):
    task = small_heads[0].task
    store = JobStore(tmp_path)
    keys = {ResumableRunner(RuntimeSubmitter(manila, options=o, seed=s), store).key(task)
            for o, s in [({}, None), ({}, 1), ({}, 2), ({"max_execution_time": 60}, None)]}
    assert len(keys) == 4
