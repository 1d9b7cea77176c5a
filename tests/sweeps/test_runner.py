"""Units, fingerprints and the sweep runner in this process: store reuse, failures, claims."""

import threading
import time

import numpy as np
import pytest

from qiskit_qattn.attention import estimate_attention, exact_attention
from qiskit_qattn.runtime import JobStore
from qiskit_qattn.sweeps import (
    InProcessWorkers,
    SweepError,
    Unit,
    fingerprint,
    resolve_workers,
    run_sweep,
)


def linspace(num, stop=1.0):
    return Unit("numpy:linspace", {"start": 0.0, "stop": stop, "num": num}, label=f"n={num}")


def test_fingerprint_covers_every_parameter_and_array_contents():
    a = np.arange(6.0).reshape(2, 3)
    base = fingerprint("m:f", {"x": a, "opts": {"p": 1, "q": [1, 2]}})
    assert base == fingerprint("m:f", {"opts": {"q": [1, 2], "p": 1}, "x": a.copy()})
    changed = a.copy()
    changed[1, 2] += 1e-12
    others = [
        fingerprint("m:f", {"x": changed, "opts": {"p": 1, "q": [1, 2]}}),
        fingerprint("m:f", {"x": a.reshape(3, 2), "opts": {"p": 1, "q": [1, 2]}}),
        fingerprint("m:f", {"x": a.astype(np.float32), "opts": {"p": 1, "q": [1, 2]}}),
        fingerprint("m:f", {"x": a, "opts": {"p": 2, "q": [1, 2]}}),
        fingerprint("m:g", {"x": a, "opts": {"p": 1, "q": [1, 2]}}),
    ]
    assert len({base, *others}) == 6
    assert Unit("m:f", {"x": a}, label="one").key == Unit("m:f", {"x": a}, label="two").key


def test_bad_units_are_refused_with_the_parameter_named():
    with pytest.raises(TypeError, match=r"params\.obj"):
        Unit("m:f", {"obj": object()})
    with pytest.raises(ValueError, match="package.module:function"):
        Unit("no_colon", {})
    with pytest.raises(TypeError, match="importable"):
        Unit.of(lambda x: x, {})
    with pytest.raises(ValueError, match="cannot import module"):
        Unit.of("not_a_module_qattn:f")
    with pytest.raises(TypeError, match="Unit objects"):
        run_sweep([("numpy:linspace", {})])
    with pytest.raises(ValueError, match="retries"):
        run_sweep([linspace(2)], retries=-1)
    with pytest.raises(ValueError, match="workers must be an integer"):
        resolve_workers(0)


def test_finished_units_come_from_the_store_and_are_never_computed_again(tmp_path):
    units = [linspace(n) for n in (2, 3, 4)]
    first = run_sweep(units[:2], store=tmp_path)
    assert (first.computed, first.from_store) == (2, 0)
    stamps = {u.key: JobStore(tmp_path).get(u.key)["updated"] for u in units[:2]}
    second = run_sweep(units, store=tmp_path)
    assert (second.computed, second.from_store) == (1, 2)
    assert {second.sources[u.key] for u in units[:2]} == {"store"}
    store = JobStore(tmp_path)
    for unit in units:
        expected = np.linspace(0.0, 1.0, unit.params["num"])
        np.testing.assert_array_equal(second[unit].arrays["result"], expected)
        record = store.get(unit.key)
        assert record["status"] == "done" and record["kind"] == "unit"
        assert [a["status"] for a in record["attempts"]] == ["done"]
        assert record["label"] == unit.label
    assert {u.key: store.get(u.key)["updated"] for u in units[:2]} == stamps


def test_a_failing_unit_is_recorded_the_others_finish_and_a_rerun_retries_it(tmp_path):
    units = [linspace(3), linspace(-1), linspace(5)]
    with pytest.raises(SweepError, match=r"1 of 3 units failed .*negative") as info:
        run_sweep(units, store=tmp_path)
    result = info.value.result
    assert set(result.outputs) == {units[0].key, units[2].key}
    store = JobStore(tmp_path)
    assert store.statuses([u.key for u in units]) == {
        units[0].key: "done", units[1].key: "failed", units[2].key: "done"}
    again = run_sweep(units, store=tmp_path, errors="collect")
    assert again.from_store == 2 and list(again.errors) == [units[1].key]
    attempts = store.get(units[1].key)["attempts"]
    assert [a["status"] for a in attempts] == ["failed", "failed"]
    with pytest.raises(KeyError, match="failed"):
        again[units[1]]


def test_identical_units_run_once_and_no_store_still_works():
    unit = linspace(4)
    result = run_sweep([unit, linspace(4), linspace(2)])
    assert result.computed == 2 and len(result.outputs) == 2
    assert result.workers == {"engine": "inprocess", "workers": 1}


def test_a_unit_another_live_process_holds_is_waited_for_not_run_twice(tmp_path):
    """The sweep finds the unit claimed, runs the others, then takes the holder's result."""
    held, free = linspace(7), linspace(2)
    store = JobStore(tmp_path)
    claim = store.claim(held.key, {"label": "held elsewhere"})
    sentinel = np.array([42.0])  # what the holder stores: not what the unit would compute

    def holder():
        time.sleep(0.6)
        with claim:
            claim.complete({"result": sentinel}, {"by": "holder"})

    thread = threading.Thread(target=holder)
    thread.start()
    result = run_sweep([held, free], store=tmp_path, poll_interval=0.05)
    thread.join()
    assert result.sources == {held.key: "store", free.key: "computed"}
    np.testing.assert_array_equal(result[held].arrays["result"], sentinel)
    assert result[held].metadata == {"by": "holder"}


def test_attention_units_match_estimate_attention_and_exact_attention(helpers, tmp_path):
    exact_units = helpers.exact_units(2)
    out = run_sweep(exact_units, store=tmp_path)
    for unit in exact_units:
        p = unit.params
        reference = exact_attention(p["Q"], p["K"], p["V"], scale=p["scale"])
        np.testing.assert_allclose(out[unit].arrays["values"], reference, atol=1e-10)
        np.testing.assert_array_equal(out[unit].arrays["exact"], reference)
        assert out[unit].metadata["relative_error"] < 1e-9
    noisy = helpers.noisy_units(1, keys=4, queries=2)[0]
    got = run_sweep([noisy], workers=InProcessWorkers())[noisy]
    p = noisy.params
    direct = estimate_attention(p["Q"], p["K"], p["V"], family=p["family"], execution="shots",
                                device=p["device"], shots=p["shots"], seed=p["seed"],
                                scale=p["scale"])
    np.testing.assert_array_equal(got.arrays["values"], direct.values)
    np.testing.assert_array_equal(got.arrays["std_errors"], direct.std_errors)
    assert got.metadata["relative_error"] == pytest.approx(
        direct.relative_error(exact_attention(p["Q"], p["K"], p["V"], scale=p["scale"])))
    assert got.metadata["two_qubit_gates"] > 0 and got.metadata["seconds"] > 0


def test_runtime_local_mode_unit_runs_through_runtime_into_the_sweeps_store(helpers, tmp_path):
    """execution="runtime": the unit runs a RuntimeExecutor (local testing mode on FakeTorino)
    whose task lands in the sweep's own store; its values estimate exact attention."""
    from qiskit_qattn.sweeps import attention_units

    heads = helpers.random_heads(layers=1, heads=1, tokens=6)
    (unit,) = attention_units(heads, num_keys=4, num_queries=2, value_columns=2,
                              family="warm_start", execution="runtime", device="fake_torino",
                              shots=4000, seed=3, runtime_store=str(tmp_path))
    got = run_sweep([unit], store=tmp_path)[unit]
    records = JobStore(tmp_path).records()
    assert {r["kind"] for r in records} - {"unit"}, records  # the unit's Runtime task(s)
    assert all(r["status"] == "done" for r in records)
    p = unit.params
    reference = exact_attention(p["Q"], p["K"], p["V"], scale=p["scale"])
    error = np.linalg.norm(got.arrays["values"] - reference) / np.linalg.norm(reference)
    assert got.metadata["relative_error"] == pytest.approx(error)
    assert error < 0.5 and got.metadata["total_shots"] >= 2 * 4000
