"""Training helpers: curriculum, artefact penalty, head report, checkpoint and exact resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from qiskit_qattn.nn import (
    ExactToQuantumCurriculum,
    QuantumMultiheadAttention,
    artifact_penalty,
    head_report,
    head_report_markdown,
    load_checkpoint,
    save_checkpoint,
    set_hybrid,
    train,
)


class TinyModel(nn.Module):
    def __init__(self, backend="variational", **opts):
        super().__init__()
        self.embed = nn.Linear(3, 8)
        self.attn = QuantumMultiheadAttention(8, 2, batch_first=True, quantum_backend=backend,
                                              **opts)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h = self.embed(x)
        return self.head(self.attn(h, h, h, need_weights=False)[0].mean(1))


def _batch(step):
    g = torch.Generator().manual_seed(1000 + step)
    x = torch.randn(4, 5, 3, generator=g)
    return x, (x.sum((1, 2)) > 0).long()


def test_curriculum_schedules_and_state():
    m = TinyModel("exact")
    cos = ExactToQuantumCurriculum(m, warmup_steps=1, ramp_steps=4, schedule="cosine",
                                   final_mix=0.8)
    mixes = [cos.mix_at(s) for s in range(7)]
    assert mixes[:2] == [0.0, 0.0] and mixes[-1] == pytest.approx(0.8)
    assert mixes[3] == pytest.approx(0.8 * (0.5 - 0.5 * math.cos(math.pi * 0.5)))
    assert all(a <= b for a, b in zip(mixes, mixes[1:], strict=False))
    step = ExactToQuantumCurriculum(m, warmup_steps=0, ramp_steps=3, schedule="step")
    assert [step.mix_at(s) for s in range(5)] == [0.0, 0.0, 0.0, 1.0, 1.0]
    for _ in range(3):
        step.step()
    assert m.attn.quantum_mix == 1.0
    fresh = ExactToQuantumCurriculum(m, ramp_steps=3, schedule="step")
    assert m.attn.quantum_mix == 0.0
    fresh.load_state_dict(step.state_dict())
    assert m.attn.quantum_mix == 1.0
    with pytest.raises(ValueError, match="schedule"):
        ExactToQuantumCurriculum(m, schedule="exp")
    with pytest.raises(ValueError, match="no QuantumMultiheadAttention"):
        ExactToQuantumCurriculum(nn.Linear(2, 2))


def test_mix_zero_does_not_run_the_backend():
    calls = []

    def backend(q, k, v, mask, **kw):
        calls.append(1)
        raise AssertionError("backend must not run at mix 0")

    m = QuantumMultiheadAttention(8, 2, quantum_backend=backend)
    m.set_quantum_mix(0.0)
    x = torch.randn(3, 1, 8)
    m(x, x, x)
    assert not calls


def test_artifact_penalty_is_the_gap_to_exact_and_trains_it_down():
    torch.manual_seed(0)
    m = TinyModel(reps=1)
    with pytest.raises(ValueError, match="track_exact"):
        artifact_penalty(m)
    set_hybrid(m, track_exact=True)
    x, _ = _batch(0)
    m(x)
    rec = m.attn.last_head_outputs
    want = (rec["quantum"] - rec["exact"]).square().mean()
    pen = artifact_penalty(m)
    torch.testing.assert_close(pen, want)
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    first = float(pen.detach())
    for _ in range(15):
        opt.zero_grad()
        m(x)
        artifact_penalty(m).backward()
        opt.step()
    m(x)
    assert float(artifact_penalty(m).detach()) < 0.5 * first


def test_head_report_on_known_patterns():
    # identical heads -> zero specialisation; exact backend -> zero distance to exact
    m = QuantumMultiheadAttention(4, 2, quantum_backend="exact", bias=False)
    with torch.no_grad():
        m.in_proj_weight.zero_()
        m.in_proj_weight[:4] = torch.eye(4)  # queries
        m.in_proj_weight[4:8] = torch.eye(4)  # keys
    x = torch.randn(6, 1, 4)
    stats = head_report(m, x, x, x)
    assert len(stats) == 2 and all(s.tv_to_exact == 0.0 for s in stats)
    assert all(s.layer == "" and not s.quantum for s in stats)
    # uniform attention: zero query projection
    with torch.no_grad():
        m.in_proj_weight[:4] = 0
    uniform = head_report(m, x, x, x)
    for s in uniform:
        assert s.normalized_entropy == pytest.approx(1.0)
        assert s.entropy == pytest.approx(math.log(6))
        assert s.max_weight == pytest.approx(1 / 6)
        assert s.specialisation == pytest.approx(0.0, abs=1e-12)
    assert "norm. entropy" in head_report_markdown(uniform)


def test_head_report_inside_a_model_with_quantum_heads():
    torch.manual_seed(0)
    m = TinyModel(reps=1)
    set_hybrid(m, quantum_heads=[1])
    x, _ = _batch(0)
    stats = head_report(m, run=lambda: m(x))
    assert [s.head for s in stats] == [0, 1] and stats[0].layer == "attn"
    assert not stats[0].quantum and stats[1].quantum
    assert stats[0].tv_to_exact < 1e-6 < stats[1].tv_to_exact
    assert 0 < stats[0].specialisation <= math.log(2)
    assert m.attn.record_heads is False


def test_checkpoint_resume_is_bit_identical(tmp_path):
    def fresh():
        torch.manual_seed(0)
        model = TinyModel(reps=1)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        cur = ExactToQuantumCurriculum(model, warmup_steps=1, ramp_steps=3)
        return model, opt, cur

    loss = nn.functional.cross_entropy
    model, opt, cur = fresh()
    straight = train(model, opt, _batch, loss, 6, curriculum=cur, penalty_weight=0.1)
    ref_params = [p.detach().clone() for p in model.parameters()]

    path = tmp_path / "run" / "ck.pt"
    model, opt, cur = fresh()
    first = train(model, opt, _batch, loss, 6, curriculum=cur, penalty_weight=0.1,
                  checkpoint=path, checkpoint_every=2, stop_after=3)
    torch.manual_seed(123)  # the interruption scrambles the RNG; resume restores it
    np.random.seed(5)
    model, opt, cur = fresh()
    rest = train(model, opt, _batch, loss, 6, curriculum=cur, penalty_weight=0.1,
                 checkpoint=path, checkpoint_every=2)
    assert first + rest == straight
    for p, q in zip(model.parameters(), ref_params, strict=True):
        assert torch.equal(p, q)
    assert cur.current_step == 6 and model.attn.quantum_mix == 1.0
    assert load_checkpoint(path, model=model)["step"] == 6


def test_checkpoint_restores_hybrid_settings_and_rng(tmp_path):
    m = TinyModel("exact")
    set_hybrid(m, quantum_heads=[0], mix=0.3)
    torch.manual_seed(11)
    np.random.seed(11)
    path = save_checkpoint(tmp_path / "a.pt", model=m, step=2, extra={"note": "x"})
    want = (torch.rand(3), np.random.rand(3))
    set_hybrid(m, quantum_heads=[0, 1], mix=1.0)
    info = load_checkpoint(path, model=m)
    assert info == {"step": 2, "extra": {"note": "x"}}
    assert m.attn.quantum_heads == (0,) and m.attn.quantum_mix == 0.3
    assert torch.equal(torch.rand(3), want[0]) and np.array_equal(np.random.rand(3), want[1])
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt", model=m)
    with pytest.raises(ValueError, match="optimizer"):
        load_checkpoint(path, model=m, optimizer=torch.optim.SGD(m.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="step"):
        save_checkpoint(tmp_path / "b.pt", model=m, step=-1)
