"""No token-like string reaches logs, the job store, reprs or error messages."""

import logging

import pytest

from qiskit_qattn.runtime import (
    JobStore,
    ResumableRunner,
    RetryPolicy,
    RuntimeSubmitter,
    redact,
    resolve_device,
)

FAKE_TOKEN = "f4k3" * 32  # IBM Quantum tokens are 128 hex-like characters
FAKE_API_KEY = "Zx9_" + "q1W-" * 10  # IBM Cloud API keys are 44 url-safe characters


@pytest.fixture
def fake_credentials(monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("QISKIT_IBM_API_KEY", FAKE_API_KEY)
    monkeypatch.setenv("QISKIT_IBM_CHANNEL", "ibm_quantum_platform")


def _all_text(directory):
    return "\n".join(p.read_bytes().decode("latin-1") for p in directory.rglob("*") if p.is_file())


def test_redact_scrubs_env_values_and_token_shapes(fake_credentials):
    text = f"auth failed for {FAKE_TOKEN} / key {FAKE_API_KEY} / bearer eyJhbGciOi.eyJzdWIi.sig"
    out = redact(text)
    assert FAKE_TOKEN not in out and FAKE_API_KEY not in out and "eyJ" not in out
    assert out.count("[redacted]") == 3
    # Our own identifiers (store keys: 32 hex, job ids) survive.
    assert redact("key 0123456789abcdef0123456789abcdef job d1x2") == (
        "key 0123456789abcdef0123456789abcdef job d1x2")


def test_no_token_in_logs_or_store(fake_credentials, tmp_path, small_heads, sv_submitter,
                                   faults, caplog, capsys):
    """Failures that quote the credentials and options that contain them stay out of writing."""
    caplog.set_level(logging.DEBUG)
    store = JobStore(tmp_path / "store")
    sub = faults.FlakySubmitter(sv_submitter, refuse={1},
                                refuse_message=f"401 Unauthorized: token={FAKE_TOKEN}")
    sub.options = {"environment": {"log_level": "INFO", "job_tags": ["mine"]},
                   "token": FAKE_TOKEN, "api_key": FAKE_API_KEY, "note": f"key {FAKE_API_KEY}"}
    runner = ResumableRunner(sub, store, retry=RetryPolicy(initial_delay=0), sleep=lambda s: None)
    runner.run(small_heads[0].task)
    record = store.records()[0]
    assert record["attempts"][0]["status"] == "failed"
    assert "401 Unauthorized" in record["attempts"][0]["error"]  # the useful part is kept
    written = _all_text(tmp_path) + caplog.text + "".join(capsys.readouterr())
    assert "401 Unauthorized" in caplog.text  # the failure was logged ...
    assert FAKE_TOKEN not in written and FAKE_API_KEY not in written  # ... without the token
    assert "f4k3f4k3" not in written


def test_run_head_store_and_repr_carry_no_token(fake_credentials, tmp_path, manila, caplog):
    caplog.set_level(logging.DEBUG)
    import numpy as np

    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(1, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 1))
    from qiskit_qattn.attention import run_head

    est = run_head(q, k, v, mode=manila, shots=256, seed=1, store=tmp_path)
    text = _all_text(tmp_path) + caplog.text + repr(est.metadata) + repr(RuntimeSubmitter(manila))
    assert FAKE_TOKEN not in text and FAKE_API_KEY not in text


def test_ibm_backend_errors_are_redacted(fake_credentials):
    class LeakyService:
        def backend(self, name):
            raise PermissionError(f"invalid token {FAKE_TOKEN} for {name}")

    with pytest.raises(RuntimeError) as info:
        resolve_device("ibm_nowhere", service=LeakyService())
    message = str(info.value)
    assert "ibm_nowhere" in message and "PermissionError" in message
    assert FAKE_TOKEN not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
