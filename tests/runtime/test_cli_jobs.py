"""``qattn jobs``: list / show / cancel / forget on a real store."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import qiskit_qattn.cli.jobs as cli_jobs
from qiskit_qattn.cli import main
from qiskit_qattn.runtime import JobStore, ResumableRunner

FAKE_TOKEN = "t0k3n" * 26


class FakeJob:
    def __init__(self, job_id, status="QUEUED", tags=()):
        self._id, self.state, self.tags = job_id, status, list(tags)

    def job_id(self):
        return self._id

    def status(self):
        return self.state

    def cancel(self):
        self.state = "CANCELLED"


class FakeService:
    def __init__(self, *jobs):
        self.by_id = {j.job_id(): j for j in jobs}

    def job(self, job_id):
        return self.by_id[job_id]

    def jobs(self, job_tags, limit=10):
        return [j for j in self.by_id.values() if set(job_tags) & set(j.tags)]


@pytest.fixture
def store(tmp_path, small_heads, sv_submitter):
    store = JobStore(tmp_path / "jobs")
    ResumableRunner(sv_submitter, store).run(small_heads[0].task)
    remote = {"kind": "job", "device": "ibm_fez", "local": False}
    store.save({"key": "remote1", "status": "submitted", "label": "paid head", "mode": remote,
                "attempts": [{"n": 1, "status": "submitted", "job_id": "j-1"}]})
    store.save({"key": "remote2", "status": "submitting", "label": "orphan", "mode": remote,
                "attempts": [{"n": 1, "status": "submitting", "job_id": None}]})
    return store


def _run(capsys, *args):
    code = main(["jobs", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_show(store, capsys):
    held = store.claim("unit1", {"params": [1, 2]})
    code, out, _ = _run(capsys, "list", "--store", str(store.directory), "--json")
    assert code == 0
    payload = json.loads(out)
    tasks = {t["key"]: t for t in payload["tasks"]}
    assert len(tasks) == 4 and payload["store"]["journal_mode"] == "wal"
    assert tasks["remote1"]["job_ids"] == ["j-1"] and tasks["remote1"]["claim"] is None
    assert tasks["unit1"]["claim"]["state"] == "alive"
    code, out, _ = _run(capsys, "list", "--store", str(store.directory), "--status", "done")
    assert code == 0 and "1 task(s)" in out and "head0" in out and "remote1" not in out
    code, out, _ = _run(capsys, "show", "remo", "--store", str(store.directory))
    assert code == 2  # ambiguous prefix: remote1 and remote2
    code, out, _ = _run(capsys, "show", "remote1", "--store", str(store.directory))
    assert code == 0 and "j-1" in out and "paid head" in out and "submitted" in out
    code, out, _ = _run(capsys, "show", "unit", "--store", str(store.directory), "--json")
    assert json.loads(out)["claim"]["state"] == "alive"
    code, _, err = _run(capsys, "list", "--store", str(store.directory), "--status", "weird")
    assert code == 2 and "status" in err
    held.release()


def test_cancel_cancels_ibm_jobs_including_one_found_by_tag(store, capsys, monkeypatch):
    service = FakeService(FakeJob("j-1"), FakeJob("j-2", tags=["qattn-remote2"]),
                          FakeJob("j-3", "DONE", tags=["qattn-remote2"]))
    monkeypatch.setattr(cli_jobs, "runtime_service", lambda: service)
    code, out, _ = _run(capsys, "cancel", "remote1", "--store", str(store.directory), "--json")
    assert code == 0 and json.loads(out)["jobs"] == [{"job_id": "j-1", "outcome": "cancelled"}]
    assert service.job("j-1").state == "CANCELLED"
    assert store.get("remote1")["status"] == "cancelled"
    code, out, _ = _run(capsys, "cancel", "remote2", "--store", str(store.directory))
    assert code == 0 and "j-2: cancelled" in out and "j-3: already DONE" in out
    assert store.get("remote2")["attempts"][0]["status"] == "cancelled"
    done_key = store.records(status="done")[0]["key"]
    code, out, _ = _run(capsys, "cancel", done_key, "--store", str(store.directory))
    assert code == 0 and "nothing to cancel" in out


def test_cancel_when_ibm_is_unreachable_says_so_without_the_token(store, capsys, monkeypatch):
    def no_account():
        raise PermissionError(f"invalid token {FAKE_TOKEN}")

    monkeypatch.setattr(cli_jobs, "runtime_service", no_account)
    code, out, err = _run(capsys, "cancel", "remote1", "--store", str(store.directory))
    assert code == 1 and "could not reach IBM Quantum" in out and "dashboard" in err
    assert FAKE_TOKEN not in out + err
    assert store.get("remote1")["status"] == "cancelled"  # local waiters stop regardless
    code, out, _ = _run(capsys, "cancel", "remote2", "--store-only", "--store",
                        str(store.directory))
    assert code == 0 and "not contacted" in out


def test_forget_keeps_what_may_still_be_running(store, capsys):
    directory = str(store.directory)
    code, _, err = _run(capsys, "forget", "remote1", "--store", directory)
    assert code == 2 and "j-1" in err and store.get("remote1") is not None
    code, out, _ = _run(capsys, "forget", "remote1", "--force", "--store", directory, "--json")
    assert code == 0 and json.loads(out)["forgotten"][0]["job_ids"] == ["j-1"]
    done_key = store.records(status="done")[0]["key"]
    code, out, _ = _run(capsys, "forget", done_key[:8], "--store", directory)
    assert code == 0 and store.get(done_key) is None and store.load_result(done_key) is None


def test_console_script(store):
    script = Path(sys.executable).with_name("qattn")
    out = subprocess.run([str(script), "jobs", "list", "--json", "--store",
                          str(store.directory)], capture_output=True, text=True, check=True)
    assert len(json.loads(out.stdout)["tasks"]) == 3
