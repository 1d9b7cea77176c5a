"""``"circuit"``: attention heads computed by the package's circuits, compiled and executed.

Every head of a call goes through the execution seam (:mod:`.circuit_heads`): prepared with a
circuit ``family``, compiled for the ``device`` (Qiskit's preset pipeline, optionally the
``qattn`` stages), executed by ONE executor call — exact statevector, local device-noise shots,
Runtime local testing mode or an IBM device through the resumable job store — mitigated
(``mitigation="zne+rem"`` ...), decoded and estimated with the kept-key ratio estimator.

Options (``attention(q, k, v, backend="circuit", **options)``; all checked before anything runs):

- ``family="softmax_state"``: a circuit family (``softmax_state`` is exact amplitude encoding,
  so its statevector output is exact attention); ``family_options={...}`` its builder options.
- ``execution``: ``"statevector"`` (default without a device), ``"shots"`` (default with a
  ``device``: ideal, or device noise — each circuit's exact noisy distribution, sampled),
  ``"runtime"`` (Runtime's Sampler; ``mode``, ``store``, ``confirm``, ``runtime_options``), or an
  :class:`~qiskit_qattn.execution.Executor` instance (its ``executions`` count one per call).
- ``device``: a ``BackendV2`` or a name (``"fake_torino"``, ``"ibm_<name>"``).
- ``shots=4096`` per circuit; ``noise_model="device"`` (or an Aer ``NoiseModel``, or ``None``).
- ``mitigation`` (``"zne+rem"``, ...) and ``mitigation_options`` as in
  :func:`~qiskit_qattn.attention.estimate_attention`; polynomial extrapolations use the native
  vectorised fit unless ``engine`` is given.
- ``optimization_level=3``, ``optimization_method=None`` (``"qattn"`` for the package's stage),
  ``seed_transpiler=0``; ``temperature=1.0``; ``cache=True`` (reuse compiled heads).
- ``gradient``: see below. ``seed`` (of :func:`~qiskit_qattn.attention.attention`) seeds the
  sampling and the local Runtime simulator.
- ``report``: a callable receiving each call's ``info`` (circuits, shots, executions, the
  wall-time split, job ids); the nn layer and the Hugging Face models do not return it.

A Runtime submission to IBM hardware needs ``confirm``: a callable that receives the cost
preview (circuits, shots, estimated QPU seconds) before anything is submitted. Every call is one
job recorded in the job store: calling again with the same inputs, options and seed after a
crash fetches or adopts that job instead of paying twice.

Gradients (``gradient=``):

- ``"softmax"`` (the default for every family but template QAOA): the forward value is the
  circuits' estimate; the backward is the gradient of exact softmax attention over the kept
  keys, ``output = estimate + (exact - exact.detach())``. For exact-encoding families
  (``softmax_state``) the estimator is unbiased for softmax attention, so this is the gradient
  of its expectation — the convention of the ``quantum-sim`` backend. For approximate families
  and under device noise it is a straight-through surrogate (the family's and the noise's
  deviation is treated as a constant).
- ``"parameter_shift"`` (the default for ``family="qaoa"``, whose heads bind one parametrised
  template): the derivative of the circuits' own expected output in their score-dependent
  angles ``θ`` is measured by the two-term shift rule — the shifted rows run in the same
  execution as the forward (one job) — and chained through the differentiable map from scores
  to ``θ`` (Walsh coefficients of the row, scaled by the schedule over its spread). Under
  device noise and ZNE this is the gradient of the noisy (extrapolated) expectation.
- ``"none"``: outputs carry no gradient.
- ``"auto"`` (default): ``"parameter_shift"`` for template families when a gradient is needed,
  else ``"softmax"``. Shift rows are only run when autograd records and an input requires grad.

Example:
    >>> import torch
    >>> from qiskit_qattn.attention import attention
    >>> q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 2)
    >>> r = attention(q, k, v, backend="circuit", need_weights=True)
    >>> ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    >>> bool(torch.allclose(r.output, ref, atol=1e-5)), r.info["executions"]
    (True, 1)
"""

from __future__ import annotations

from typing import Any

from .circuit_options import parse_circuit_options
from .result import AttentionResult


def circuit_backend(
    q, k, v, *, bias, scale: float, need_weights: bool, generator: Any, **options: Any
) -> AttentionResult:
    """Registry entry ``"circuit"`` (options and gradients: see the module docstring)."""
    import torch

    from .circuit_heads import make_executor, run_heads

    opts = parse_circuit_options(options)
    B, L, _ = q.shape
    S, Ev = v.shape[1], v.shape[2]
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale
    if bias is not None:
        scores = scores + bias
    keep = ~torch.isneginf(scores)
    alive = keep.any(dim=-1)  # [B, L]
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item())
    wants_grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (q, k, v, bias))
    mode = _gradient_mode(opts, wants_grad)
    dtype, device = v.dtype, v.device
    out_est = torch.zeros(B, L, Ev, dtype=torch.float64)
    std = torch.zeros(B, L, Ev, dtype=torch.float64)
    w_est = torch.zeros(B, L, S, dtype=torch.float64)
    info: dict[str, Any] = {"gradient": mode, "seed": seed}
    if bool(alive.any()):
        executor = make_executor(opts, seed)
        heads = [b for b in range(B) if bool(alive[b].any())]
        s_np = scores.detach().to(torch.float64).masked_fill(~keep, 0.0).cpu().numpy()
        keep_np = keep.cpu().numpy()
        v_np = v.detach().to(torch.float64).cpu().numpy()
        est = run_heads(s_np[heads], keep_np[heads], v_np[heads], opts, executor,
                        shift=mode == "parameter_shift")
        for i, b in enumerate(heads):
            rows = alive[b]
            out_est[b, rows] = torch.from_numpy(est.outputs[i])
            std[b, rows] = torch.from_numpy(est.std_errors[i])
            w_est[b, rows] = torch.from_numpy(est.weights[i])
        info.update(est.metadata)
    if opts.report is not None:
        opts.report(info)
    out_est, std, w_est = (t.to(dtype=dtype, device=device) for t in (out_est, std, w_est))
    if mode == "softmax":
        w_exact = _exact_weights(scores, keep, alive)
        o_exact = torch.matmul(w_exact, v)
        output = out_est + (o_exact - o_exact.detach())
        weights = w_est + (w_exact - w_exact.detach())
    elif mode == "parameter_shift" and bool(alive.any()):
        output, weights = _shift_surrogate(scores, keep, alive, v, opts, est, out_est, w_est)
    else:
        output, weights = out_est, w_est
    return AttentionResult(
        output=output, weights=weights if need_weights else None, std_error=std,
        error_estimate=std.norm(dim=-1), backend="circuit", info=info,
    )


def check_circuit_options(options: dict[str, Any]) -> None:
    """Validate options without running anything (used by the nn layer at construction).

    Example:
        >>> check_circuit_options({"family": "nope"})
        Traceback (most recent call last):
        ...
        ValueError: family must be one of ('softmax_state', 'qaoa', 'ma_qaoa', 'warm_start', \
'amplification', 'born_machine'); got 'nope'
    """
    parse_circuit_options(options)


circuit_backend.check_options = check_circuit_options  # type: ignore[attr-defined]


def _gradient_mode(opts, wants_grad: bool) -> str:
    if not wants_grad or opts.gradient == "none":
        return "none"
    if opts.gradient == "auto":
        return "parameter_shift" if opts.uses_template else "softmax"
    return opts.gradient


def _exact_weights(scores, keep, alive):
    """Softmax over kept keys; rows without a kept key are zero."""
    import torch

    safe = scores.masked_fill(~alive[..., None], 0.0)
    return torch.softmax(safe, dim=-1).masked_fill(~alive[..., None], 0.0)


def _shift_surrogate(scores, keep, alive, v, opts, est, out_est, w_est):
    """Estimate-valued outputs whose gradient is the parameter-shift derivative (chain rule).

    ``output = estimate + Σ_t (θ_t - θ_t.detach()) ∂ô/∂θ_t + (ŵ v - (ŵ v).detach())``: the
    value is the estimate, the gradient in the scores flows through ``θ(scores)`` and the
    measured ``∂ô/∂θ``, the gradient in ``v`` is the estimated weights.
    """
    import torch

    B, L, _ = scores.shape
    m = est.metadata["num_key_qubits"]
    thetas = qaoa_thetas(scores, keep, m, opts)  # [B, L, T], differentiable
    dout = torch.zeros(*thetas.shape, v.shape[-1], dtype=torch.float64)
    dw = torch.zeros(*thetas.shape, scores.shape[-1], dtype=torch.float64)
    reference = torch.zeros(thetas.shape, dtype=torch.float64)
    heads = [b for b in range(B) if bool(alive[b].any())]
    for i, b in enumerate(heads):
        rows = alive[b]
        dout[b, rows] = torch.from_numpy(est.output_jacobians[i])
        dw[b, rows] = torch.from_numpy(est.weight_jacobians[i])
        reference[b, rows] = torch.from_numpy(est.thetas[i])
    gap = (thetas.detach().to(torch.float64) - reference).abs().masked_fill(~alive[..., None], 0)
    if gap.numel() and float(gap.max()) > 1e-6:
        raise RuntimeError(f"the torch angle map disagrees with the circuits' by "
                           f"{float(gap.max())}")
    delta = (thetas - thetas.detach()).to(v.dtype)
    dout, dw = dout.to(v.dtype), dw.to(v.dtype)
    linear = torch.matmul(w_est, v)
    output = out_est + torch.einsum("blt,bltd->bld", delta, dout) + (linear - linear.detach())
    weights = w_est + torch.einsum("blt,blts->bls", delta, dw)
    return output, weights


def qaoa_thetas(scores, keep, num_qubits: int, opts) -> Any:
    """The template's score-dependent angles ``θ [B, L, reps (2**m - 1)]`` in torch.

    Mirrors :func:`~qiskit_qattn.circuits.families.qaoa.qaoa_template_values`: logits ``s/τ``
    on the key register (masked and padding keys at the row's lowest kept logit), Walsh
    coefficients ``c_S`` (``S >= 1``), ``θ_{l,S} = -γ_l c_S`` with ``γ_l = γ̂_l / σ`` (default
    schedule; ``σ`` the spread of the kept logits) or the given ``gammas``.
    """
    import torch

    from ..circuits import qaoa_angles

    fam = opts.family_options
    reps = fam.get("reps", 2)
    B, L, S = scores.shape
    dim = 2**num_qubits
    z = (scores / opts.temperature).masked_fill(~keep, 0.0)
    count = keep.sum(-1, keepdim=True).clamp(min=1)
    mean = z.sum(-1, keepdim=True) / count
    var = ((z - mean) ** 2).masked_fill(~keep, 0.0).sum(-1, keepdim=True) / count
    sigma = var.clamp(min=0).sqrt()
    low = z.masked_fill(~keep, float("inf")).amin(-1, keepdim=True)
    low = torch.where(torch.isinf(low), torch.zeros_like(low), low)
    padded = torch.cat([torch.where(keep, z, low), low.expand(B, L, dim - S)], dim=-1)
    index = torch.arange(dim)
    anded = index[:, None] & index[None, :]
    parity = torch.zeros_like(anded)
    for bit in range(num_qubits):
        parity ^= (anded >> bit) & 1
    hadamard = (1 - 2 * parity).to(scores.dtype)
    coeffs = torch.matmul(padded, hadamard) / dim  # [B, L, dim]
    if fam.get("gammas") is None:
        base, _ = qaoa_angles([1.0], reps)  # gammas in units of 1/σ
        unit = torch.where(sigma > 1e-9, sigma, torch.ones_like(sigma))
        gammas = torch.as_tensor(base[0], dtype=scores.dtype) / unit  # [B, L, reps]
    else:
        gammas = torch.as_tensor(qaoa_angles([1.0], reps, fam["gammas"])[0][0],
                                 dtype=scores.dtype).expand(B, L, reps)
    return -(gammas[..., :, None] * coeffs[..., None, 1:]).reshape(B, L, reps * (dim - 1))
