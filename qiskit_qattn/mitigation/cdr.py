"""Clifford data regression on outcome distributions, at one or several noise levels.

Both models are learned from training circuits (:mod:`.training`: the compiled circuits with
near-Clifford angles, so their ideal distributions are classically computable) that ran in the same
execution as the circuits they mitigate. They are fitted *forwards* — noisy outcomes regressed on
exact ideal ones — so the shot noise of the training histograms adds variance but no
errors-in-variables bias (regressing ideal on noisy values shrinks the slope towards zero).

- :func:`fit_cdr` (``"cdr"``, one noise level): ``noisy = A ideal + c`` with a slope ``A`` shared by
  every outcome and an offset vector ``c``; mitigated ``(noisy - c) / A``.
- :func:`fit_vncdr` (``"vncdr"``, variable-noise CDR): the training circuits also run folded at
  scale factors ``lambda_s`` (:mod:`.folding`). In the depolarised frame ``p - u`` (``u`` uniform)
  the training data give one slope per factor, ``p(lambda_s) - u ~ A_s (ideal - u)``. The mitigated
  distribution is ``u + sum_s alpha_s (p(lambda_s) - u)`` with ``alpha`` solving
  ``sum_s alpha_s lambda_s**k A_s = [k == 0]`` for ``k < order``: ``k = 0`` undoes the average
  damping, ``k = 1`` cancels, to first order, a circuit decaying faster or slower than the training
  average (``A_s ~ b a**lambda_s`` with a circuit-dependent ``a``), ``k = 2`` the second order. With
  two factors this is a two-point extrapolation whose weights are learned rather than assumed;
  its variance grows with ``sum |alpha_s|``, which a distant second factor keeps near 1.

Error bars: the covariance of every input distribution (shot noise, and readout-calibration noise
when readout mitigation ran) is propagated, plus the uncertainty of the fitted parameters (first
order, treated as independent of the target's shots).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Smallest mean squared spread of the training ideal distributions a fit accepts.
MIN_INFORMATION = 1e-4


def _check_training(noisy: np.ndarray, ideal: np.ndarray, covs: np.ndarray | None,
                    lead: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    noisy = np.asarray(noisy, dtype=float)
    ideal = np.asarray(ideal, dtype=float)
    if ideal.ndim != 2 or noisy.shape[lead:] != ideal.shape:
        raise ValueError(f"training distributions {noisy.shape} do not match the ideal ones "
                         f"{ideal.shape}")
    if ideal.shape[0] < 2:
        raise ValueError("CDR needs at least two training circuits")
    if not (np.all(np.isfinite(noisy)) and np.all(np.isfinite(ideal))):
        raise ValueError("training distributions must be finite")
    if covs is None:
        covs = np.zeros(noisy.shape + (noisy.shape[-1],))
    covs = np.asarray(covs, dtype=float)
    if covs.shape != noisy.shape + (noisy.shape[-1],):
        raise ValueError(f"training covariances must be shaped {noisy.shape + noisy.shape[-1:]}; "
                         f"got {covs.shape}")
    return noisy, ideal, covs


@dataclass
class CDRFit:
    """Single-level CDR: ``noisy = slope * ideal + offset``.

    Attributes:
        slope: damping ``A`` shared by every outcome.
        offset: ``c`` per outcome (sums to ``1 - A``).
        parameter_covariance: ``[1 + D, 1 + D]`` covariance of ``(A, c)``.
        residual: RMS training residual of the fit (model error plus shot noise).
        num_training: training circuits used.
    """

    slope: float
    offset: np.ndarray
    parameter_covariance: np.ndarray
    residual: float
    num_training: int

    def apply(self, probs: np.ndarray, covs: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """Mitigated distributions ``(p - c) / A`` ``[n, D]`` and their covariances.

        Example:
            >>> ideal = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
            >>> fit = fit_cdr(0.8 * ideal + 0.1, ideal)
            >>> fit.apply(np.array([[0.74, 0.26]]))[0].round(6).tolist()
            [[0.8, 0.2]]
        """
        p = np.atleast_2d(np.asarray(probs, dtype=float))
        out = (p - self.offset) / self.slope
        d = p.shape[1]
        base = np.zeros((len(p), d, d)) if covs is None else np.asarray(covs, dtype=float)
        jac = np.concatenate([-(out / self.slope)[:, :, None],
                              np.broadcast_to(-np.eye(d) / self.slope, (len(p), d, d))], axis=2)
        cov = base / self.slope**2 + jac @ self.parameter_covariance @ jac.transpose(0, 2, 1)
        return out, cov


def fit_cdr(noisy: np.ndarray, ideal: np.ndarray, covariances: np.ndarray | None = None
            ) -> CDRFit:
    """Fit ``noisy = A ideal + c`` over training circuits (outcomes pooled for ``A``).

    Args:
        noisy: ``[t, D]`` measured (readout-mitigated) training distributions.
        ideal: ``[t, D]`` their exact ideal distributions.
        covariances: ``[t, D, D]`` covariances of ``noisy`` (default zeros).

    Example:
        >>> ideal = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
        >>> fit = fit_cdr(0.9 * ideal + 0.05, ideal)
        >>> round(fit.slope, 6), fit.offset.round(6).tolist()
        (0.9, [0.05, 0.05])
    """
    noisy, ideal, covs = _check_training(noisy, ideal, covariances, 0)
    t, d = ideal.shape
    x = ideal - ideal.mean(axis=0)
    s = float(np.sum(x * x))
    if s / t <= MIN_INFORMATION:
        raise ValueError("the training circuits' ideal distributions are all equal; CDR cannot "
                         "fit a slope (use more training circuits or fewer non-Clifford angles)")
    slope = float(np.sum(x * noisy) / s)
    if not slope > 1e-3:
        raise ValueError(f"fitted CDR slope {slope:.3g} <= 0: the noisy training outputs carry no "
                         "information about the ideal ones (too much noise or too few shots)")
    offset = noisy.mean(axis=0) - slope * ideal.mean(axis=0)
    # theta = (A, c) is linear in the noisy rows: theta = sum_t L_t noisy_t.
    mean_ideal = ideal.mean(axis=0)
    cov = np.zeros((d + 1, d + 1))
    for i in range(t):
        lt = np.vstack([x[i][None, :] / s, np.eye(d) / t - np.outer(mean_ideal, x[i]) / s])
        cov += lt @ covs[i] @ lt.T
    residual = noisy - (slope * ideal + offset)
    return CDRFit(slope, offset, cov, float(np.sqrt(np.mean(residual**2))), t)


@dataclass
class VariableNoiseFit:
    """Variable-noise CDR in the depolarised frame (see the module docstring).

    Attributes:
        scale_factors: noise scale factors ``[s]`` the coefficients apply to.
        slopes: ``A_s`` per factor; slope_errors: their standard errors.
        coefficients: ``alpha_s``; coefficient_covariance: ``[s, s]``.
        order: number of moment conditions imposed.
        residual: RMS training residual of the mitigated training distributions.
        expected_residual: the RMS residual their shot noise alone would give.
        num_training: training circuits used.
    """

    scale_factors: np.ndarray
    slopes: np.ndarray
    slope_errors: np.ndarray
    coefficients: np.ndarray
    coefficient_covariance: np.ndarray
    order: int
    residual: float
    expected_residual: float
    num_training: int
    warnings: list[str] = field(default_factory=list)

    def apply(self, probs: np.ndarray, covs: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """``u + sum_s alpha_s (p_s - u)`` for ``probs [s, n, D]`` and its covariance ``[n, D, D]``.

        Example:
            >>> ideal = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.3]])
            >>> noisy = np.stack([0.5 + f * (ideal - 0.5) for f in (0.9, 0.9**3)])
            >>> fit = fit_vncdr(noisy, ideal, [1, 3])
            >>> fit.apply(noisy[:, 2:])[0].round(6).tolist()
            [[0.7, 0.3]]
        """
        p = np.asarray(probs, dtype=float)
        s = len(self.coefficients)
        if p.ndim != 3 or p.shape[0] != s:
            raise ValueError(f"probs must be shaped [{s}, n, D]; got {p.shape}")
        u = 1.0 / p.shape[2]
        dev = p - u
        out = u + np.tensordot(self.coefficients, dev, axes=1)
        d = p.shape[2]
        cov = np.zeros((p.shape[1], d, d))
        if covs is not None:
            covs = np.asarray(covs, dtype=float)
            cov += np.tensordot(self.coefficients**2, covs, axes=1)
        g = dev.transpose(1, 2, 0)  # [n, D, s]
        cov += g @ self.coefficient_covariance @ g.transpose(0, 2, 1)
        return out, cov


def vncdr_coefficients(slopes: Sequence[float], scale_factors: Sequence[float], order: int,
                       weights: Sequence[float] | None = None) -> np.ndarray:
    """``alpha`` with ``sum_s alpha_s lambda_s**k A_s = [k == 0]`` for ``k < order``.

    With more factors than ``order`` the solution minimising ``sum_s alpha_s**2 / weights_s``
    (the variance when factor ``s`` gets ``weights_s`` shots) is returned.

    Example:
        >>> a = 0.9
        >>> vncdr_coefficients([a, a**3], [1, 3], 2).round(4).tolist()
        [1.6667, -0.6859]
    """
    a = np.asarray(slopes, dtype=float)
    x = np.asarray(scale_factors, dtype=float)
    if a.shape != x.shape or a.ndim != 1:
        raise ValueError("slopes and scale_factors must be 1-D and of equal length")
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not (
            1 <= order <= len(x)):
        raise ValueError(f"order must be an integer in [1, {len(x)}]; got {order!r}")
    m = np.vstack([a * x**k for k in range(order)])
    rhs = np.eye(order)[0]
    if order == len(x):
        try:
            return np.linalg.solve(m, rhs)
        except np.linalg.LinAlgError as exc:
            raise ValueError(f"the fitted slopes {a.tolist()} do not determine the "
                             "coefficients (scale factors too close or no decay)") from exc
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    # min alpha^T W^-1 alpha s.t. m alpha = rhs  ->  alpha = W m^T (m W m^T)^-1 rhs
    wm = w[:, None] * m.T
    return wm @ np.linalg.solve(m @ wm, rhs)


def fit_vncdr(
    noisy: np.ndarray | Sequence[np.ndarray],
    ideal: np.ndarray,
    scale_factors: Sequence[float],
    covariances: np.ndarray | Sequence[np.ndarray] | None = None,
    *,
    order: int | None = None,
    weights: Sequence[float] | None = None,
) -> VariableNoiseFit:
    """Learn variable-noise CDR coefficients from training circuits run at several noise levels.

    Args:
        noisy: ``[s, t, D]`` training distributions at each scale factor (readout-mitigated), or
            a list of ``[t_s, D]`` arrays when factor ``s`` ran only the first ``t_s`` circuits.
        ideal: ``[t, D]`` exact ideal distributions of the training circuits.
        scale_factors: the ``s`` noise scale factors (achieved, >= 1).
        covariances: covariances of ``noisy`` (``[s, t, D, D]`` or a list of ``[t_s, D, D]``).
        order: moment conditions (default: one per scale factor).
        weights: target shots per factor, used when ``order < s`` (minimum-variance solution).

    Example:
        >>> ideal = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.4]])
        >>> noisy = np.stack([0.5 + f * (ideal - 0.5) for f in (0.95, 0.95**5)])
        >>> fit = fit_vncdr(noisy, ideal, [1, 5])
        >>> fit.slopes.round(4).tolist(), fit.coefficients.round(4).tolist()
        ([0.95, 0.7738], [1.3158, -0.3231])
    """
    ideal = np.asarray(ideal, dtype=float)
    if ideal.ndim != 2:
        raise ValueError(f"ideal must be shaped [t, D]; got {ideal.shape}")
    levels = [np.asarray(n, dtype=float) for n in noisy]
    if covariances is None:
        covariances = [None] * len(levels)
    checked = []
    for k, (level, cov) in enumerate(zip(levels, covariances, strict=True)):
        if level.ndim != 2 or level.shape[0] > ideal.shape[0]:
            raise ValueError(f"noisy[{k}] must be shaped [t_s <= {ideal.shape[0]}, D]; got "
                             f"{level.shape}")
        checked.append(_check_training(level, ideal[: len(level)], cov, 0))
    factors = np.asarray(scale_factors, dtype=float)
    s = len(checked)
    if factors.shape != (s,):
        raise ValueError(f"scale_factors must have {s} entries; got {factors.tolist()}")
    if s < 2:
        raise ValueError("variable-noise CDR needs at least two scale factors")
    if len(set(factors.tolist())) != s or np.any(factors < 1):
        raise ValueError(f"scale factors must be distinct and >= 1; got {factors.tolist()}")
    order = s if order is None else order
    d = ideal.shape[1]
    u = 1.0 / d
    slopes = np.zeros(s)
    slope_var = np.zeros(s)
    for k, (level, ide, cov) in enumerate(checked):
        x = ide - u
        norm = float(np.sum(x * x))
        if norm / len(x) <= MIN_INFORMATION:
            raise ValueError("the training circuits' ideal distributions are (nearly) uniform; "
                             "variable-noise CDR cannot fit their damping (keep more "
                             "non-Clifford angles, non_clifford=)")
        slopes[k] = float(np.sum(x * (level - u)) / norm)
        slope_var[k] = float(np.einsum("ti,tij,tj->", x, cov, x)) / norm**2
    warnings: list[str] = []
    if np.any(slopes <= 0.02):
        raise ValueError(f"fitted slopes {slopes.round(4).tolist()}: at the largest scale "
                         "factors the training outputs are fully depolarised; use smaller ones")
    coef = vncdr_coefficients(slopes, factors, order, weights)
    # First-order covariance of alpha through the slopes (numerical Jacobian).
    jac = np.zeros((s, s))
    for k in range(s):
        h = max(1e-7, 1e-4 * abs(slopes[k]))
        up, down = slopes.copy(), slopes.copy()
        up[k] += h
        down[k] -= h
        jac[:, k] = (vncdr_coefficients(up, factors, order, weights)
                     - vncdr_coefficients(down, factors, order, weights)) / (2 * h)
    coef_cov = jac @ np.diag(slope_var) @ jac.T
    common = min(len(level) for level, _, _ in checked)
    stack = np.stack([level[:common] for level, _, _ in checked])
    mitigated = u + np.tensordot(coef, stack - u, axes=1)
    residual = float(np.sqrt(np.mean((mitigated - ideal[:common]) ** 2)))
    noise_var = sum(c**2 * np.diagonal(cov[:common], axis1=1, axis2=2)
                    for c, (_, _, cov) in zip(coef, checked, strict=True))
    expected = float(np.sqrt(np.mean(noise_var)))
    if np.sum(np.abs(coef)) > 10:
        warnings.append(f"large coefficients {coef.round(2).tolist()} amplify shot noise "
                        f"{np.sum(np.abs(coef)):.1f}x; use fewer or more distant scale factors")
    return VariableNoiseFit(factors, slopes, np.sqrt(slope_var), coef, coef_cov, order,
                            residual, expected, ideal.shape[0], warnings)
