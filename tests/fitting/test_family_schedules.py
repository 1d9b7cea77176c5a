import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qiskit_qattn.circuits import default_schedule, qaoa_attention
from qiskit_qattn.circuits.families import (
    amplification_attention,
    born_machine_attention,
    ma_qaoa_attention,
    warm_start_attention,
)
from qiskit_qattn.circuits.rows import to_key_order
from qiskit_qattn.circuits.schedules import family_schedule, family_schedule_table
from qiskit_qattn.fitting.fit import (
    FamilyConfig,
    family_states,
    fidelities,
    fit_schedule,
    heldout_corpus,
    output_errors,
    shots_for_error,
    stored_weights,
)
from qiskit_qattn.sim import torch_layers as tl

pytestmark = pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")

CONFIGS = [
    ("ma_qaoa", {"key_order": "identity"}),
    ("ma_qaoa", {"key_order": "sorted", "max_order": 2}),
    ("warm_start", {"key_order": "sorted", "window": 0, "max_order": 2}),
    ("amplification", {"initial": "uniform", "key_order": "identity"}),
    ("amplification", {"initial": "warm", "key_order": "sorted"}),
    ("born_machine", {"key_order": "sorted"}),
]


@pytest.fixture(scope="module")
def held():
    """The recorded held-out rows (real MiniLM attention on text never used for fitting)."""
    return {m: heldout_corpus(2**m) for m in (3, 4)}


def _textbook_fidelity(rows, reps):
    g, b = default_schedule(reps)
    psi = tl.qaoa_statevectors(torch.as_tensor(rows.diag), torch.as_tensor(g), torch.as_tensor(b))
    return fidelities(psi, rows)


@pytest.mark.parametrize("m", [3, 4])
@pytest.mark.parametrize(("family", "options"), CONFIGS)
def test_stored_schedule_reproduces_recorded_heldout_fidelity(held, m, family, options):
    for reps in (1, 2):
        config = FamilyConfig(family, reps, options)
        entry = family_schedule(family, m, reps, **config.schedule_options(m)).record
        rows = held[m].prepared(config.key_order)
        f = fidelities(family_states(config, rows, np.asarray(entry["weights"])), rows)
        assert len(f) == entry["heldout"]["rows"]
        assert f.mean() == pytest.approx(entry["heldout"]["mean_fidelity"], abs=2e-3)
        assert np.percentile(f, 10) == pytest.approx(entry["heldout"]["p10_fidelity"], abs=5e-3)


@pytest.mark.parametrize("m", [3, 4])
def test_fitted_schedules_beat_the_textbook_schedule(held, m):
    rows = held[m].prepared("identity")
    for reps in (1, 2):
        textbook = _textbook_fidelity(rows, reps).mean()
        config = FamilyConfig("ma_qaoa", reps, {"key_order": "identity"})
        fitted = fidelities(family_states(config, rows, stored_weights(config, m)), rows).mean()
        assert fitted > textbook + 0.01, (reps, fitted, textbook)


def test_fitting_improves_on_the_textbook_start(held):
    """A short fit from the textbook schedule on a fixed corpus raises its mean fidelity."""
    rows = held[4].subset(np.arange(0, 1000, 10)).prepared("identity")
    config = FamilyConfig("ma_qaoa", 1, {"key_order": "identity"})
    init = config.initial_weights(4, np.random.default_rng(0)) * 0
    init[:, 0] = config.initial_weights(4, np.random.default_rng(0))[:, 0].round(2)
    start = fidelities(family_states(config, rows, init), rows).mean()
    textbook = _textbook_fidelity(rows, 1).mean()
    assert start == pytest.approx(textbook, abs=0.02)
    fit = fit_schedule(config, rows, steps=15, init=init)
    assert fit.train_fidelity > start + 0.02
    assert fit.history[0] == pytest.approx(start)


@pytest.mark.parametrize(
    ("family", "build"),
    [
        ("ma_qaoa", lambda s: ma_qaoa_attention(s, reps=2)),
        ("ma_qaoa", lambda s: ma_qaoa_attention(s, reps=2, max_order=2, key_order="sorted")),
        ("warm_start", lambda s: warm_start_attention(s, reps=1, window=0)),
        ("amplification", lambda s: amplification_attention(s, reps=2)),
        ("born_machine", lambda s: born_machine_attention(s, layers=2)),
    ],
)
def test_builders_apply_the_stored_schedule(held, family, build):
    """Default builders (no angles) give the state the torch evaluation of the map gives."""
    corpus = held[3]
    for i in (0, 517):
        s = corpus.scores[i]
        qc = build(s)
        md = qc.metadata
        opts = {"key_order": md["key_ordering"]}
        if "max_order" in md:
            opts["max_order"] = md["max_order"]
        if family == "warm_start":
            opts["window"] = md["window"]
        if family == "amplification":
            opts["initial"] = md["initial"]
        reps = md.get("reps", md.get("layers"))
        config = FamilyConfig(family, reps, opts)
        rows = corpus.subset(np.array([i])).prepared(config.key_order)
        f_torch = fidelities(family_states(config, rows, stored_weights(config, 3)), rows)[0]
        assert md["key_order"] == rows.order[0].tolist()
        f_qiskit = abs(np.vdot(np.sqrt(rows.probs[0]), Statevector(qc).data)) ** 2
        assert f_qiskit == pytest.approx(f_torch, abs=1e-7)  # gate synthesis rounding ~1e-9


def test_missing_schedule_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"stored schedules for depths \[1, 2, 3, 4\]"):
        family_schedule("ma_qaoa", 12, 9, flexible=("max_order",), key_order="identity",
                        max_order=12)
    with pytest.raises(ValueError, match="no stored schedule for options"):
        family_schedule("born_machine", 4, 2, key_order="identity")
    with pytest.raises(KeyError, match="nearest stored"):
        stored_weights(FamilyConfig("born_machine", 2, {"key_order": "sorted"}), 10)
    assert family_schedule_table()["features"][0] == "bias"


def test_default_qaoa_schedule_unchanged():
    qc = qaoa_attention([0.1, 0.5, -0.3, 1.0], reps=2)
    assert qc.metadata["reps"] == 2 and default_schedule(2)[0].shape == (2,)


def test_output_error_and_shots(held):
    corpus = held[3].subset(np.arange(40))
    rows = corpus.prepared("sorted")
    assert np.allclose(output_errors(rows.probs, rows, corpus), 0, atol=1e-12)
    uniform = np.full_like(rows.probs, 1 / 8)
    err = output_errors(uniform, rows, corpus)
    assert np.all(err > 0)
    # shots for a 10 % error with the exact distribution: check by simulated sampling
    shots = shots_for_error(rows.probs, rows, corpus, 0.10)
    assert np.all(np.isfinite(shots))
    assert np.all(shots_for_error(uniform, rows, corpus, 0.5 * err.min()) == np.inf)
    rng = np.random.default_rng(0)
    r = int(np.argmax(shots))
    v = corpus.values[corpus.head[r]]
    p_keys = to_key_order(rows.probs[r], rows.order[r], 8)
    o_ref = p_keys @ v
    errs = []
    for _ in range(400):
        counts = rng.multinomial(int(shots[r]), p_keys)
        errs.append(np.sum((counts / counts.sum() @ v - o_ref) ** 2))
    rms = np.sqrt(np.mean(errs)) / np.linalg.norm(o_ref)
    assert rms == pytest.approx(0.10, rel=0.15)


def test_stored_table_is_complete_and_consistent():
    table = family_schedule_table()
    entries = table["entries"]
    assert table["heldout_windows"] and not set(table["heldout_windows"]) & set(
        table["train_windows"])
    for m in range(3, 9):
        for family, options in CONFIGS:
            for reps in range(1, 5):
                config = FamilyConfig(family, reps, options)
                entry = family_schedule(family, m, reps, **config.schedule_options(m)).record
                assert np.asarray(entry["weights"]).shape == config.weight_shape(m)
                assert 0 < entry["heldout"]["p10_fidelity"] <= entry["heldout"]["mean_fidelity"]
                assert entry["heldout"]["mean_fidelity"] <= 1
    assert len(entries) == 8 * 6 * 4
