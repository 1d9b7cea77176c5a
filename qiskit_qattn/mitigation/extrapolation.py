"""Zero-noise extrapolation of measured values, with Mitiq's factories or natively.

``engine="auto"`` uses Mitiq's inference factories (Richardson, linear, polynomial, exponential,
poly-exponential) through their public API when Mitiq is importable and a native implementation
otherwise; both give the same numbers for the polynomial family. Mitiq is GPL-3.0 and optional: it
is imported lazily, only here.

Error bars: the extrapolated value is a function ``f(y_1..y_s)`` of the values at the ``s`` scale
factors, measured independently, so ``Var f = sum_i (df/dy_i)^2 sigma_i^2``. For the polynomial
family ``f`` is linear (exact weights); for the exponential ones the derivatives are taken
numerically.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EXTRAPOLATIONS = ("richardson", "linear", "poly", "exponential", "poly_exp")
ENGINES = ("auto", "mitiq", "native")
_LINEAR_FAMILY = ("richardson", "linear", "poly")


def mitiq_available() -> bool:
    """Whether Mitiq can be imported (checked without importing it).

    Example:
        >>> isinstance(mitiq_available(), bool)
        True
    """
    return importlib.util.find_spec("mitiq") is not None


@dataclass
class Extrapolated:
    """Zero-noise values and their standard errors, with how they were obtained."""

    values: np.ndarray
    std_errors: np.ndarray
    method: str
    engine: str
    warnings: list[str] = field(default_factory=list)


def _polynomial_weights(x: np.ndarray, degree: int) -> np.ndarray:
    """Weights ``w`` with ``fit(0) = w @ y`` for a least-squares polynomial of ``degree``."""
    design = np.vander(x, degree + 1, increasing=True)
    return np.linalg.pinv(design)[0]


def _richardson_weights(x: np.ndarray) -> np.ndarray:
    """Lagrange interpolation weights at zero: ``w_i = prod_{j != i} x_j / (x_j - x_i)``."""
    w = np.ones(len(x))
    for i in range(len(x)):
        for j in range(len(x)):
            if i != j:
                w[i] *= x[j] / (x[j] - x[i])
    return w


def _native_exponential(x: np.ndarray, y: np.ndarray, asymptote: float | None) -> float:
    """``y = a + b exp(-c x)`` at ``x = 0``; variable projection over ``c`` when ``a`` is free."""
    if asymptote is not None:
        shifted = y - asymptote
        sign = 1.0 if np.mean(shifted) >= 0 else -1.0
        logs = np.log(np.clip(sign * shifted, 1e-12, None))
        slope, intercept = np.polyfit(x, logs, 1)
        return float(asymptote + sign * math.exp(intercept))
    from scipy.optimize import minimize_scalar

    def solve(c: float) -> tuple[float, np.ndarray]:
        design = np.column_stack([np.ones_like(x), np.exp(-c * x)])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        return float(np.sum((design @ coef - y) ** 2)), coef

    span = float(np.ptp(x)) or 1.0
    # Search log(c): from nearly linear decay to decay over a tenth of the scale range.
    best = minimize_scalar(lambda t: solve(math.exp(t))[0],
                           bounds=(math.log(1e-4 / span), math.log(50.0 / span)),
                           method="bounded", options={"xatol": 1e-10})
    _, coef = solve(math.exp(best.x))
    return float(coef[0] + coef[1])


def _native_poly_exp(x: np.ndarray, y: np.ndarray, order: int, asymptote: float | None) -> float:
    """``y = a + s exp(z(x))`` with ``z`` a polynomial of ``order``, at ``x = 0``."""
    if asymptote is None:
        if order == 1:
            return _native_exponential(x, y, None)
        from scipy.optimize import least_squares

        a0 = 0.0 if np.all(y > 0) else float(np.min(y) - 1.0)
        sign = 1.0
        z0 = np.polyfit(x, np.log(np.clip(y - a0, 1e-12, None)), order)[::-1]

        def residual(p: np.ndarray) -> np.ndarray:
            return p[0] + sign * np.exp(np.polyval(p[1:][::-1], x)) - y

        fit = least_squares(residual, np.concatenate([[a0], z0]))
        return float(fit.x[0] + sign * math.exp(fit.x[1]))
    shifted = y - asymptote
    sign = 1.0 if np.mean(shifted) >= 0 else -1.0
    logs = np.log(np.clip(sign * shifted, 1e-12, None))
    coef = np.polyfit(x, logs, order)
    return float(asymptote + sign * math.exp(coef[-1]))


def _mitiq_function(method: str, order: int | None, asymptote: float | None) -> Callable:
    from mitiq.zne import inference

    if method == "richardson":
        return lambda x, y: inference.RichardsonFactory.extrapolate(x, y)
    if method == "linear":
        return lambda x, y: inference.LinearFactory.extrapolate(x, y)
    if method == "poly":
        return lambda x, y: inference.PolyFactory.extrapolate(x, y, order)
    if method == "exponential":
        return lambda x, y: inference.ExpFactory.extrapolate(x, y, asymptote=asymptote)
    return lambda x, y: inference.PolyExpFactory.extrapolate(x, y, order, asymptote=asymptote)


def _factory_function(factory: Any) -> Callable:
    """Zero-noise limit of a Mitiq ``Factory`` instance fed ``(x, y)`` through push/reduce."""

    def run(x: np.ndarray, y: np.ndarray) -> float:
        factory.reset()
        for xi, yi in zip(x, y, strict=True):
            factory.push({"scale_factor": float(xi)}, float(yi))
        return float(factory.reduce())

    return run


def _check_method(method: str, order: int | None, num_scales: int,
                  free_asymptote: bool) -> int | None:
    if method not in EXTRAPOLATIONS:
        raise ValueError(f"extrapolation must be one of {EXTRAPOLATIONS}; got {method!r}")
    if method in ("poly", "poly_exp"):
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
            raise ValueError(f"order must be an integer >= 1 for {method!r}; got {order!r}")
        # Parameters: order + 1 polynomial coefficients, plus the asymptote when it is free.
        limit = num_scales - 1 - int(method == "poly_exp" and free_asymptote)
        if order > limit:
            raise ValueError(
                f"order {order} needs more scale factors for {method!r}; got {num_scales}"
            )
    needed = {"richardson": 2, "linear": 2, "poly": 2, "exponential": 2 + free_asymptote,
              "poly_exp": 2 + free_asymptote}[method]
    if num_scales < needed:
        raise ValueError(f"{method!r} extrapolation needs at least {needed} scale factors")
    return None if order is None else int(order)


def extrapolate(
    scale_factors: Sequence[float] | np.ndarray,
    values: Any,
    std_errors: Any | None = None,
    *,
    method: str = "richardson",
    order: int | None = None,
    asymptote: float | np.ndarray | None = None,
    engine: str = "auto",
    factory: Any | None = None,
) -> Extrapolated:
    """Extrapolate values measured at several noise scale factors to zero noise.

    Args:
        scale_factors: achieved factors ``[s]`` shared by every entry, or ``[s, *shape]``
            broadcastable against ``values`` (one set per entry, e.g. per query).
        values: measured values ``[s, *shape]``.
        std_errors: their standard errors, same shape (default zeros).
        method: one of :data:`EXTRAPOLATIONS`.
        order: polynomial order for ``"poly"`` and ``"poly_exp"``.
        asymptote: known infinite-noise limit for the exponential methods (scalar or per entry).
        engine: ``"mitiq"``, ``"native"`` or ``"auto"`` (Mitiq when installed).
        factory: a Mitiq ``Factory`` instance used instead of ``method`` (fed achieved factors).

    Returns:
        :class:`Extrapolated` with arrays of shape ``shape``.

    Example:
        >>> fit = extrapolate([1, 3], [[0.8], [0.6]], method="linear", engine="native")
        >>> fit.values.round(6).tolist()
        [0.9]
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}")
    y = np.asarray(values, dtype=float)
    if y.ndim == 0 or y.shape[0] < 2:
        raise ValueError(f"values must be shaped [num_scales >= 2, ...]; got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite")
    num_scales, shape = y.shape[0], y.shape[1:]
    x = np.asarray(scale_factors, dtype=float)
    if x.shape[:1] != (num_scales,):
        raise ValueError(
            f"scale_factors must have {num_scales} entries along axis 0; got shape {x.shape}"
        )
    if not np.all(np.isfinite(x)) or np.any(x < 1):
        raise ValueError(f"scale factors must be real numbers >= 1; got {x.tolist()}")
    x = np.broadcast_to(x.reshape(x.shape + (1,) * (y.ndim - x.ndim)), y.shape)
    sigma = np.zeros_like(y) if std_errors is None else np.asarray(std_errors, dtype=float)
    if sigma.shape != y.shape:
        raise ValueError(f"std_errors must have shape {y.shape}; got {sigma.shape}")
    asym = None if asymptote is None else np.broadcast_to(np.asarray(asymptote, float), shape)

    if factory is not None:
        if engine == "native":
            raise ValueError("factory= needs Mitiq; drop engine='native'")
        used_engine, label = "mitiq", type(factory).__name__
    else:
        order = _check_method(method, order, num_scales, asymptote is None)
        use_mitiq = engine == "mitiq" or (engine == "auto" and mitiq_available())
        if engine == "mitiq" and not mitiq_available():
            raise ValueError("engine='mitiq' but Mitiq is not installed (pip install mitiq ply)")
        used_engine, label = ("mitiq" if use_mitiq else "native"), method

    flat_y = y.reshape(num_scales, -1)
    flat_x = x.reshape(num_scales, -1)
    flat_s = sigma.reshape(num_scales, -1)
    flat_a = None if asym is None else asym.reshape(-1)
    out = np.zeros(flat_y.shape[1])
    err = np.zeros(flat_y.shape[1])
    caught: list[str] = []
    failures: list[str] = []
    weight_cache: dict[tuple, np.ndarray] = {}
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for e in range(flat_y.shape[1]):
            xe, ye, se = flat_x[:, e], flat_y[:, e], flat_s[:, e]
            if len(set(xe.tolist())) != num_scales:
                raise ValueError(f"achieved scale factors must be distinct; got {xe.tolist()}")
            if factory is None and method in _LINEAR_FAMILY and used_engine == "native":
                key = tuple(xe.tolist())
                if key not in weight_cache:
                    weight_cache[key] = _linear_weights(method, xe, order)
                w = weight_cache[key]
                out[e] = w @ ye
                err[e] = math.sqrt(float(np.sum((w * se) ** 2)))
                continue
            a = None if flat_a is None else float(flat_a[e])
            fn = _entry_function(factory, method, order, a, used_engine)
            if used_engine == "mitiq" and factory is None:
                fn = _with_native_fallback(fn, method, order, a, failures)
            out[e] = fn(xe, ye)
            err[e] = _propagated_error(fn, xe, ye, se, out[e])
        caught = sorted({f"{w.category.__name__}: {w.message}" for w in record})
    if failures:
        caught.append(f"Mitiq's {method} fit failed {len(failures)} time(s) (first: "
                      f"{failures[0]}); the native fit was used there")
    return Extrapolated(out.reshape(shape), err.reshape(shape), label, used_engine, caught)


def _linear_weights(method: str, x: np.ndarray, order: int | None) -> np.ndarray:
    """Weights ``w`` with ``value(0) = w @ y`` for the polynomial family."""
    if method == "richardson":
        return _richardson_weights(x)
    return _polynomial_weights(x, 1 if method == "linear" else order)


def _entry_function(factory, method, order, asymptote, engine) -> Callable:
    if factory is not None:
        return _factory_function(factory)
    if engine == "mitiq":
        return _mitiq_function(method, order, asymptote)
    if method in _LINEAR_FAMILY:
        return lambda x, y: float(_linear_weights(method, x, order) @ y)
    if method == "exponential":
        return lambda x, y: _native_exponential(x, y, asymptote)
    return lambda x, y: _native_poly_exp(x, y, order, asymptote)


def _with_native_fallback(fn, method, order, asymptote, failures: list[str]) -> Callable:
    """``fn`` (a Mitiq fit), falling back to the native fit when Mitiq's fit fails."""
    native = _entry_function(None, method, order, asymptote, "native")

    def run(x: np.ndarray, y: np.ndarray) -> float:
        try:
            value = float(fn(x, y))
            if math.isfinite(value):
                return value
            failures.append("non-finite result")
        except Exception as exc:  # Mitiq raises its own ExtrapolationError (and scipy's)
            failures.append(f"{type(exc).__name__}: {exc}")
        return float(native(x, y))

    return run


def _propagated_error(fn, x, y, sigma, center) -> float:
    """``sqrt(sum_i (df/dy_i)^2 sigma_i^2)`` with central differences of size ``sigma_i/10``."""
    total = 0.0
    for i, s in enumerate(sigma):
        if s <= 0:
            continue
        h = s / 10
        up, down = y.copy(), y.copy()
        up[i] += h
        down[i] -= h
        grad = (float(fn(x, up)) - float(fn(x, down))) / (2 * h)
        if np.isfinite(grad):
            total += (grad * s) ** 2
    return math.sqrt(total)
