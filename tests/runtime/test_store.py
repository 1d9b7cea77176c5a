"""JobStore in one process: claims, leases, fencing, records that never lose a job id, results."""

import logging
import pickle
import sqlite3
import subprocess
import time

import numpy as np
import pytest

from qiskit_qattn.runtime import JobStore
from qiskit_qattn.runtime import store_db as db
from qiskit_qattn.runtime.claims import (
    ClaimLostError,
    TaskCancelledError,
    holder_state,
    process_identity,
)
from qiskit_qattn.runtime.store import UnitFailedError


def test_claim_is_exclusive_until_released(tmp_path):
    store = JobStore(tmp_path)
    first = store.claim("u", {"p": 1})
    assert first is not None and first.reclaimed is None
    assert store.claim("u") is None  # held by a live holder (this very process)
    assert store.get("u")["claim"]["pid"] == process_identity()["pid"]
    first.release()
    second = store.claim("u")
    assert second is not None and second.fence == first.fence + 1
    second.complete({"x": [1.0]})
    assert store.claim("u") is None  # done, with a result
    assert store.get("u")["status"] == "done" and store.get("u")["claim"] is None
    redo = store.claim("u", redo=True)
    assert redo is not None
    redo.release()


def test_expired_lease_is_taken_over_and_the_old_holder_is_fenced_off(tmp_path):
    store = JobStore(tmp_path, lease=0.2)
    old = store.claim("u")  # no heartbeat: never entered as a context manager
    time.sleep(0.3)
    new = store.claim("u")
    assert new is not None and new.reclaimed["reason"] == "lease expired"
    record = dict(old.record, status="submitted",
                  attempts=[{"n": 1, "status": "submitted", "job_id": "late-job"}])
    with pytest.raises(ClaimLostError):
        old.update(record)  # the stale holder may not overwrite the new holder's record ...
    assert old.lost
    stored = store.get("u")
    assert stored["status"] == "new" and stored["job_ids"] == ["late-job"]  # ... but its job id
    assert stored["attempts"][0]["restored"] is True                        # is kept
    new.update(dict(new.record, status="submitted",
                    attempts=[{"n": 1, "status": "submitted", "job_id": "mine"}]))
    assert store.get("u")["job_ids"] == ["late-job", "mine"]
    with pytest.raises(ClaimLostError):
        old.complete({"x": [0]})
    new.release()


def test_heartbeat_keeps_a_long_claim(tmp_path):
    store = JobStore(tmp_path, lease=0.3)
    with store.claim("u") as claim:
        time.sleep(0.8)  # more than two leases
        assert store.claim("u") is None and not claim.lost
        claim.check()
    assert store.get("u")["claim"] is None and store.claim("u") is not None


def test_dead_and_alive_holders(tmp_path):
    me = process_identity()
    assert holder_state(me) == "alive"
    child = subprocess.Popen(["true"])
    child.wait()
    assert holder_state(dict(me, pid=child.pid)) == "dead"
    assert holder_state(dict(me, start_ticks=me["start_ticks"] - 1)) == "dead"  # pid reused
    assert holder_state(dict(me, host="another-machine")) == "unknown"
    assert holder_state(dict(me, pid_ns="pid:[1]")) == "unknown"  # another container
    # A claim whose holder is gone is taken over at once, lease or not.
    store = JobStore(tmp_path, lease=3600)
    claim = store.claim("u")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE tasks SET owner_info = json_set(owner_info, '$.pid', ?)",
                     (child.pid,))
    taken = store.claim("u")
    assert taken is not None and taken.reclaimed["reason"] == "holder died"
    assert JobStore(tmp_path, detect_dead_holders=False).claim("u") is None
    taken.release()
    claim.release()  # fenced: releasing a claim that was taken over changes nothing


def test_no_write_drops_a_job_id(tmp_path):
    """The issue: process B overwrote A's record and A's paid job vanished from the store."""
    store = JobStore(tmp_path)
    store.create("k", {"label": "head"})
    a, b = store.get("k"), store.get("k")  # both read the same record ...
    a["attempts"].append({"n": 1, "status": "submitted", "job_id": "1a3d"})
    b["attempts"].append({"n": 1, "status": "submitted", "job_id": "b5d7"})
    store.save(a)
    store.save(b)  # ... and wrote back their own version
    record = store.get("k")
    assert record["job_ids"] == ["1a3d", "b5d7"]
    assert {x["job_id"] for x in record["attempts"]} == {"1a3d", "b5d7"}


def test_cancel_reaches_the_holder(tmp_path):
    store = JobStore(tmp_path)
    claim = store.claim("u", kind="runtime")
    claim.update(dict(claim.record, status="submitted",
                      attempts=[{"n": 1, "status": "submitted", "job_id": "j"}]))
    record = store.cancel("u")
    assert record["status"] == "cancelled" and record["attempts"][0]["status"] == "cancelled"
    with pytest.raises(TaskCancelledError):
        claim.check()
    with pytest.raises(TaskCancelledError):
        claim.update(dict(claim.record, status="done"))
    claim.release()
    assert store.get("u")["status"] == "cancelled"
    done = store.claim("d")
    done.complete({"x": [1]})
    assert store.cancel("d")["status"] == "done"  # nothing to cancel
    with pytest.raises(ValueError, match="no task"):
        store.cancel("missing")


def test_forget_refuses_to_lose_track_of_running_work(tmp_path):
    store = JobStore(tmp_path)
    claim = store.claim("held")
    with pytest.raises(ValueError, match="held by"):
        store.forget("held")
    claim.release()
    store.save({"key": "flying", "status": "submitted",
                "attempts": [{"n": 1, "status": "submitted", "job_id": "j9"}]})
    with pytest.raises(ValueError, match="j9"):
        store.forget("flying")
    assert store.forget("flying", force=True)["job_ids"] == ["j9"]
    store.save_arrays("held", {"x": [1]})
    store.forget("held")
    assert store.keys() == [] and store.load_arrays("held") is None


def test_arrays_and_metadata_round_trip(tmp_path):
    store = JobStore(tmp_path)
    arrays = {"f": np.linspace(0, 1, 5).reshape(5, 1), "i": np.arange(4, dtype=np.int16),
              "b": np.array([True, False]), "s": np.array(["a", "bc"]),
              "c": np.array([1 + 2j])}
    meta = {"family": "qaoa", "reps": 2, "nested": {"seeds": [1, 2]}, "nan": float("nan"),
            "fingerprint": "f" * 64}  # long hex strings are data here, not redacted
    with store.claim("u", {"family": "qaoa"}) as claim:
        claim.complete(arrays, meta)
    back, back_meta = store.load_arrays("u")
    assert set(back) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(back[name], value)
        assert back[name].dtype == value.dtype
    assert back_meta["fingerprint"] == "f" * 64 and np.isnan(back_meta["nan"])
    with pytest.raises(ValueError, match="load_arrays"):
        store.load_result("u")
    with pytest.raises(ValueError, match="credential"):
        store.save_arrays("v", {"x": [1]}, {"options": {"api_key": "x"}})
    with pytest.raises(ValueError, match="object"):
        store.save_arrays("v", {"x": np.array([{}], dtype=object)})
    with pytest.raises(ValueError, match="__"):
        store.save_arrays("v", {"__schema__": [1]})
    with pytest.raises(ValueError, match="JSON"):
        store.save_arrays("v", {"x": [1]}, {"when": object()})
    assert store.get("v") is None


def test_run_once_records_failures_and_retries_later(tmp_path):
    store = JobStore(tmp_path)

    def broken():
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="memory"):
        store.run_once("u", broken, {"n": 1})
    record = store.get("u")
    assert record["status"] == "failed" and record["claim"] is None
    assert record["attempts"][-1]["status"] == "failed"
    assert "out of memory" in record["attempts"][-1]["error"]
    arrays, meta = store.run_once("u", lambda: ({"y": np.ones(2)}, {"ok": True}))
    assert arrays["y"].tolist() == [1.0, 1.0] and meta == {"ok": True}
    assert [a["status"] for a in store.get("u")["attempts"]] == ["failed", "done"]
    assert issubclass(UnitFailedError, RuntimeError)
    with pytest.raises(TypeError, match="callable"):
        store.run_once("w", 3)


def test_run_once_waits_for_a_holder_then_times_out(tmp_path):
    store = JobStore(tmp_path)
    holder = store.claim("u")
    with pytest.raises(TimeoutError, match="held by"):
        store.run_once("u", lambda: {"x": [1]}, timeout=0.2, poll_interval=0.02)
    with pytest.raises(TimeoutError, match="still held"):
        store.wait("u", timeout=0.1, poll_interval=0.02)
    holder.release()
    assert store.wait("u")["claim"] is None


def test_lookups(tmp_path):
    store = JobStore(tmp_path / "not-yet")
    assert store.keys() == [] and store.records() == [] and store.get("k") is None
    assert store.statuses(["k"]) == {"k": "missing"} and not store.path.exists()
    assert store.describe()["exists"] is False
    store.create("abc1", {"label": "x"})
    store.create("abd2", kind="unit")
    assert store.resolve("abc") == "abc1"
    with pytest.raises(ValueError, match="2 tasks"):
        store.resolve("ab")
    with pytest.raises(ValueError, match="no task"):
        store.resolve("zz")
    assert [r["key"] for r in store.records(kind="unit")] == ["abd2"]
    assert store.records(status="done") == []
    assert store.describe()["tasks"] == {"new": 2}
    with pytest.raises(ValueError, match="key"):
        store.get("../escape")
    with pytest.raises(ValueError, match="reserved"):
        store.create("k", {"status": "done"})
    with pytest.raises(ValueError, match="'runtime' task"):
        store.claim("abc1", kind="unit")
    with pytest.raises(ValueError, match="lease"):
        JobStore(tmp_path, lease=0)
    with pytest.raises(ValueError, match="journal_mode"):
        JobStore(tmp_path, journal_mode="memory")


def test_store_pickles_for_worker_processes(tmp_path):
    store = JobStore(tmp_path, lease=5)
    store.create("k")
    copy = pickle.loads(pickle.dumps(store))
    assert copy.lease == 5 and copy.keys() == ["k"]


def test_wal_locally_rollback_journal_on_network_filesystems(tmp_path, monkeypatch, caplog):
    local = JobStore(tmp_path / "local")
    local.create("k")
    with sqlite3.connect(local.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.setattr(db, "filesystem_type", lambda path, mountinfo=None: "nfs4")
    caplog.set_level(logging.WARNING)
    shared = JobStore(tmp_path / "shared")
    assert shared.network and shared.journal_mode == "delete"
    shared.create("k")
    with sqlite3.connect(shared.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert "network filesystem" in caplog.text


def test_filesystem_type_from_mountinfo():
    info = "\n".join([
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw",
        "41 22 0:50 / /home/me/lab\\040share rw - nfs 10.0.0.2:/lab rw",
        "42 41 0:51 / /home/me/lab\\040share/tmp rw - tmpfs tmpfs rw",
    ])
    assert db.filesystem_type("/home/me/lab share/jobs", info) == "nfs"
    assert db.filesystem_type("/home/me/lab share/tmp/x", info) == "tmpfs"
    assert db.filesystem_type("/home/me/other", info) == "ext4"
    assert db.is_network_filesystem("nfs") and not db.is_network_filesystem("tmpfs")
    assert db.filesystem_type("/x", "garbage line") is None


def test_newer_schema_is_refused(tmp_path):
    store = JobStore(tmp_path)
    store.create("k")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE store_meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(RuntimeError, match="upgrade"):
        JobStore(tmp_path).keys()


def test_error_texts_are_redacted_however_the_record_is_changed(tmp_path):
    token = "s3cr3t" * 10
    store = JobStore(tmp_path)
    claim = store.claim("u", kind="runtime")
    claim.record["attempts"].append({"n": 1, "status": "failed", "job_id": None,
                                     "error": f"401: bad token {token}"})
    claim.update(claim.record)  # changed in place, then written
    assert token not in store.get("u")["attempts"][0]["error"]
    claim.release()
    text = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert token.encode() not in text


@pytest.mark.parametrize("durability, runtime_sync, unit_sync",
                         [("auto", 2, 1), ("full", 2, 2), ("normal", 1, 1)])
def test_which_writes_are_fsynced(tmp_path, durability, runtime_sync, unit_sync):
    """synchronous=2 (FULL) fsyncs at commit, 1 (NORMAL) does not; claims never need it."""
    store = JobStore(tmp_path, durability=durability)

    def synchronous():
        return store._conn().execute("PRAGMA synchronous").fetchone()[0]

    with store.claim("r", kind="runtime") as claim:
        assert synchronous() == 1
        claim.update(dict(claim.record, status="submitting"))
        assert synchronous() == runtime_sync
    with store.claim("u") as claim:
        claim.update(dict(claim.record, attempts=[{"n": 1, "status": "running"}]))
        assert synchronous() == unit_sync
        claim.complete({"x": [1]})
        assert synchronous() == unit_sync
    store.cancel("r")
    assert synchronous() == (1 if durability == "normal" else 2)
