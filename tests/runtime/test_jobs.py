"""Fault injection: results complete, no job submitted twice per input, store consistent."""

import numpy as np
import pytest

from qiskit_qattn.runtime import (
    JobFailedError,
    JobStore,
    JobTimeoutError,
    ResumableRunner,
    RetryLimitError,
    RetryPolicy,
    RuntimeSubmitter,
)

STORE_FILES = {"jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm", "jobs.sqlite3-journal"}


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
        assert path.name in STORE_FILES, f"unexpected file in the store: {path.name}"
    for record in store.records():
        assert record["status"] in ("new", "submitting", "submitted", "done", "failed")
        assert record["claim"] is None, "a claim was left behind"
        ids = [a["job_id"] for a in record["attempts"] if a.get("job_id")]
        assert record["job_ids"] == list(dict.fromkeys(ids))
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
    """A crash inside a store transaction leaves the previous record, whole."""
    import qiskit_qattn.runtime.store as store_module

    store = JobStore(tmp_path)
    runner = _runner(FlakySubmitter(sv_submitter), store, no_sleep)
    runner.run(small_heads[0].task)
    key = runner.key(small_heads[0].task)
    before = store.get(key)

    def boom(*args):
        raise SimulatedCrash("power cut in the middle of the write")

    monkeypatch.setattr(store_module, "merge_attempts", boom)
    with pytest.raises(SimulatedCrash):
        store.save(dict(before, status="failed", attempts=[]))
    monkeypatch.undo()
    assert store.get(key) == before
    _assert_store_consistent(store)


def test_crash_while_storing_the_result_refetches_the_same_job(tmp_path, small_heads,
                                                               sv_submitter, no_sleep,
                                                               monkeypatch):
    """Crash between 'job done' and 'result stored': the rerun fetches that job, submits none."""
    store = JobStore(tmp_path)
    service = FakeJobService()
    sub = FlakySubmitter(sv_submitter, service)
    task = small_heads[0].task

    def boom(*args):
        raise SimulatedCrash("killed while writing the result")

    monkeypatch.setattr(JobStore, "_put_result", boom)
    with pytest.raises(SimulatedCrash):
        _runner(sub, store, no_sleep).run(task)
    monkeypatch.undo()
    key = _runner(sub, store, no_sleep).key(task)
    record = store.get(key)
    assert record["status"] == "submitted" and record["result"] is None
    (job_id,) = record["job_ids"]
    result = _runner(FlakySubmitter(sv_submitter, service), store, no_sleep).run(task)
    assert sum(service.accepted.values()) == 1 and sub.calls == 1
    assert store.get(key)["attempts"][-1] == {**record["attempts"][-1], "status": "done",
                                             "finished_at": store.get(key)["attempts"][-1][
                                                 "finished_at"]}
    np.testing.assert_array_equal(_counts(small_heads[0], result),
                                  _counts(small_heads[0], service.jobs[job_id].result()))
    _assert_store_consistent(store)


def test_cancel_in_store_stops_the_holder_without_retry(tmp_path, small_heads, sv_submitter,
                                                        no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter, stuck={1})
    runner = _runner(sub, store, no_sleep, timeout=60.0)
    key = runner.key(small_heads[0].task)
    real_sleep = no_sleep.sleep

    def sleep_then_cancel(seconds):  # `qattn jobs cancel` from another terminal meanwhile
        real_sleep(seconds)
        store.cancel(key)

    runner.sleep = sleep_then_cancel
    with pytest.raises(JobFailedError, match="cancelled") as info:
        runner.run(small_heads[0].task)
    assert info.value.status == "CANCELLED" and sub.calls == 1
    record = store.get(key)
    assert record["status"] == "cancelled" and record["claim"] is None
    assert [a["status"] for a in record["attempts"]] == ["cancelled"]
    # Running it again is a new decision of the user: a fresh submission.
    sub.stuck_jobs[0].release()
    _runner(sub, store, no_sleep).run(small_heads[0].task)
    assert store.get(key)["status"] == "done" and sub.calls == 2


def test_waiter_times_out_on_a_live_holder_then_resumes(tmp_path, small_heads, sv_submitter,
                                                        no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter)
    runner = _runner(sub, store, no_sleep, timeout=3.0)
    key = runner.key(small_heads[0].task)
    holder = store.claim(key, {"label": "other"}, kind="runtime")  # another live "process"
    with pytest.raises(JobTimeoutError, match="held by") as info:
        runner.run(small_heads[0].task)
    assert info.value.holder and info.value.job_id is None and sub.calls == 0
    assert sum(no_sleep.sleeps) >= 3.0
    holder.release()
    _runner(sub, store, no_sleep).run(small_heads[0].task)
    assert sub.calls == 1


def test_waiter_does_not_retry_behind_a_holder_that_gave_up(tmp_path, small_heads, sv_submitter,
                                                            no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter)
    runner = _runner(sub, store, no_sleep)
    key = runner.key(small_heads[0].task)
    holder = store.claim(key, {"label": "other"}, kind="runtime")
    real_sleep = no_sleep.sleep

    def holder_fails(seconds):
        real_sleep(seconds)
        if holder.record["status"] == "new":
            record = holder.record
            record["attempts"].append({"n": 1, "status": "failed", "job_id": "j-1",
                                       "error": "job j-1 ended ERROR"})
            record["status"] = "failed"
            holder.update(record)
            holder.release()

    runner.sleep = holder_fails
    with pytest.raises(RetryLimitError, match="j-1"):
        runner.run(small_heads[0].task)
    assert sub.calls == 0
    # A later run (a new decision) retries with a fresh allowance.
    runner.sleep = real_sleep
    runner.run(small_heads[0].task)
    assert sub.calls == 1 and store.get(key)["job_ids"][0] == "j-1"


def test_run_all_skips_held_tasks_and_comes_back(tmp_path, small_heads, sv_submitter, no_sleep):
    store = JobStore(tmp_path)
    sub = FlakySubmitter(sv_submitter)
    runner = _runner(sub, store, no_sleep)
    tasks = [h.task for h in small_heads]
    holder = store.claim(runner.key(tasks[0]), kind="runtime")
    seen = []

    def progress(i, n, label):
        seen.append(label)
        if holder is not None and len(seen) == 2:
            holder.release()

    runner.run_all(tasks, progress=progress)
    assert seen == ["head1", "head2", "head0"] and sub.calls == 3
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


def test_service_unreachable_during_recovery_never_resubmits(tmp_path, small_heads, sv_submitter,
                                                             no_sleep):
    """"Could not ask" is not "no such job": wait and ask again instead of paying twice."""

    class Flaky(FlakySubmitter):
        down = 2

        def retrieve(self, job_id):
            if self.down:
                self.down -= 1
                raise ConnectionError("502 bad gateway")
            return super().retrieve(job_id)

    store = JobStore(tmp_path)
    service = FakeJobService()
    first = FlakySubmitter(sv_submitter, service, stuck={1})
    with pytest.raises(JobTimeoutError):
        _runner(first, store, no_sleep, timeout=1.0).run(small_heads[0].task)
    first.stuck_jobs[0].release()
    again = Flaky(sv_submitter, service)
    _runner(again, store, no_sleep).run(small_heads[0].task)
    assert again.calls == 0 and sum(service.accepted.values()) == 1
    assert no_sleep.sleeps[-2:] == [1.0, 2.0]  # backoff while the service was down
    record = store.records()[0]
    assert [a["status"] for a in record["attempts"]] == ["done"]


def test_submission_outcome_unknown_is_searched_again_before_resubmitting(
        tmp_path, small_heads, sv_submitter, no_sleep):
    class AcceptThenLoseConnection(FlakySubmitter):
        searches = 0

        def submit(self, task, tags=()):
            super().submit(task, tags)
            raise TimeoutError("read timed out")  # accepted, but the reply never arrived

        def find(self, tag, exclude=()):
            self.searches += 1
            if self.searches == 1:
                raise ConnectionError("connection reset")
            return super().find(tag, exclude)

    store = JobStore(tmp_path)
    sub = AcceptThenLoseConnection(sv_submitter)
    _runner(sub, store, no_sleep).run(small_heads[0].task)
    assert sub.calls == 1 and sum(sub.service.accepted.values()) == 1
    (attempt,) = store.records()[0]["attempts"]
    assert attempt["status"] == "done" and "outcome unknown" in attempt["error"]


def test_runtime_submitter_tells_not_found_from_unreachable():
    import types

    from qiskit_ibm_runtime.exceptions import RuntimeJobNotFound

    class Service:
        def job(self, job_id):
            if job_id == "gone":
                raise RuntimeJobNotFound("job gone not found")
            raise ConnectionError("503")

    sub = RuntimeSubmitter(types.SimpleNamespace(service=Service()))
    assert not sub.is_local and sub.retrieve("gone") is None
    with pytest.raises(ConnectionError):
        sub.retrieve("other")
