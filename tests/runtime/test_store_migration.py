"""A JSON-era store (written by the JSON-era code, see data/make_legacy_store.py) is imported
losslessly on first open, once even when several processes open it at the same moment, and runs
resume from the imported records."""

import json
import logging
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from qiskit_qattn.runtime import JobStore, ResumableRunner
from qiskit_qattn.runtime.result_codec import decode_primitive_result

DATA = Path(__file__).parent / "data"
MANIFEST = json.loads((DATA / "legacy_store_v1.manifest.json").read_text())


@pytest.fixture
def legacy(tmp_path):
    """A copy of the legacy store and its files as written: name -> bytes."""
    directory = tmp_path / "jobs"
    shutil.copytree(DATA / "legacy_store_v1", directory)
    return directory, {p.name: p.read_bytes() for p in directory.iterdir()}


def _legacy_records(originals):
    return {name[:-5]: json.loads(data) for name, data in originals.items()
            if name.endswith(".json")}


def test_every_field_attempt_and_result_survives(legacy):
    directory, originals = legacy
    store = JobStore(directory)
    old = _legacy_records(originals)
    assert store.keys() == sorted(old)
    for key, legacy_record in old.items():
        record = store.get(key)
        for field, value in legacy_record.items():
            if field != "version":
                assert record[field] == value, (key, field)
        assert record["migrated"]["version"] == 1 and record["kind"] == "runtime"
        ids = [a["job_id"] for a in legacy_record["attempts"] if a["job_id"]]
        assert record["job_ids"] == ids
        assert record["claim"] is None
    by_name = {name: MANIFEST[name]["key"] for name in MANIFEST}
    assert store.get(by_name["crashed_after_accept"])["status"] == "submitting"
    assert store.get(by_name["failed"])["job_ids"] == ["err-1", "err-2"]
    # Results: the same bytes as the .npz files, and the same PrimitiveResult.
    with sqlite3.connect(store.path) as conn:
        blobs = dict(conn.execute("SELECT key, data FROM results"))
    npz = {name[:-4]: data for name, data in originals.items() if name.endswith(".npz")}
    assert set(blobs) == set(npz) and all(bytes(blobs[k]) == npz[k] for k in npz)
    sampler = store.load_result(by_name["done"])
    reference = decode_primitive_result(npz[by_name["done"]])
    np.testing.assert_array_equal(sampler[0].data.meas.array, reference[0].data.meas.array)
    estimator = store.load_result(by_name["estimator_done"])
    reference = decode_primitive_result(npz[by_name["estimator_done"]])
    np.testing.assert_array_equal(estimator[0].data.evs, reference[0].data.evs)
    np.testing.assert_array_equal(estimator[0].data.stds, reference[0].data.stds)
    assert estimator[0].data.evs.shape == (2, 3)  # 2 queries x [P O_0, P O_1, P]
    # The originals are kept, byte for byte, out of the way.
    backup = directory / "legacy-json"
    assert {p.name: p.read_bytes() for p in backup.iterdir()} == originals
    assert not list(directory.glob("*.json")) and not list(directory.glob("*.npz"))


def test_reopening_imports_nothing_twice(legacy):
    directory, _ = legacy
    before = JobStore(directory).records()
    again = JobStore(directory)
    assert again.records() == before


def test_several_processes_opening_at_once_import_once(legacy, mp):
    ctx, helpers = mp
    directory, originals = legacy
    start = ctx.Event()
    procs = [ctx.Process(target=helpers.open_store_worker, args=(directory, start))
             for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    store = JobStore(directory)
    old = _legacy_records(originals)
    assert store.keys() == sorted(old)
    for key, legacy_record in old.items():
        assert store.get(key)["attempts"] == legacy_record["attempts"]
    assert sorted(p.name for p in (directory / "legacy-json").iterdir()) == sorted(originals)


def test_record_already_in_store_is_merged_not_overwritten(legacy, caplog):
    directory, originals = legacy
    store = JobStore(directory)
    key = MANIFEST["timed_out_submitted"]["key"]
    old_job = MANIFEST["timed_out_submitted"]["accepted"][0]
    record = store.get(key)
    record["attempts"] = [{"n": 1, "status": "done", "job_id": "new-job", "error": None}]
    record["status"] = "done"
    store.save(record)  # keeps old_job (no write drops a job id) ...
    assert store.get(key)["job_ids"] == [old_job, "new-job"]
    # ... and an old copy of the JSON file reappearing (an old client wrote it) is merged.
    (directory / f"{key}.json").write_bytes(originals[f"{key}.json"])
    (directory / "notes.json").write_text("not a job record")
    caplog.set_level(logging.WARNING)
    merged = JobStore(directory).get(key)
    assert merged["status"] == "done" and "new-job" in merged["job_ids"]
    assert sorted(merged["job_ids"]) == sorted([old_job, "new-job"])
    assert (directory / "notes.json").exists() and "notes.json" in caplog.text
    assert (directory / "legacy-json" / f"{key}.json.1").exists()


class FixedKeyRunner(ResumableRunner):
    """The imported keys came from heads packed by the old code; resume them by key."""

    def __init__(self, key, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._key = key

    def key(self, task):
        return self._key


def test_runs_resume_from_imported_records(legacy, faults, small_heads, sv_submitter):
    directory, _ = legacy
    store = JobStore(directory)
    service = faults.FakeJobService()
    task = small_heads[0].task
    # The service still has the two jobs whose records are in flight.
    for name in ("crashed_after_accept", "timed_out_submitted"):
        key = MANIFEST[name]["key"]
        job = sv_submitter.submit(task)
        job._job_id = MANIFEST[name]["accepted"][0]
        service.accept(job, [f"qattn-{key}"])
    sub = faults.FlakySubmitter(sv_submitter, service)
    quick = {"sleep": lambda s: None, "poll_interval": 0.0}
    done_key = MANIFEST["done"]["key"]
    result = FixedKeyRunner(done_key, sub, store, **quick).run(task)
    stored = decode_primitive_result((directory / "legacy-json" / f"{done_key}.npz").read_bytes())
    np.testing.assert_array_equal(result[0].data.meas.array, stored[0].data.meas.array)
    for name in ("crashed_after_accept", "timed_out_submitted"):
        key = MANIFEST[name]["key"]
        FixedKeyRunner(key, sub, store, **quick).run(task)
        record = store.get(key)
        assert record["status"] == "done"
        assert record["attempts"][-1]["job_id"] == MANIFEST[name]["accepted"][0]
        assert record["job_ids"] == MANIFEST[name]["accepted"]
    assert sub.calls == 0  # nothing was submitted: one stored, two adopted
