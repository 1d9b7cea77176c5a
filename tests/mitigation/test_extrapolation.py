import numpy as np
import pytest

from qiskit_qattn.mitigation import extrapolate
from qiskit_qattn.mitigation import extrapolation as ex

X = np.array([1.0, 3.0, 5.0])


def _exp(x, a=0.25, b=0.6, c=0.12):
    return a + b * np.exp(-c * x)


@pytest.mark.parametrize("engine", ["native", "mitiq"])
def test_richardson_is_exact_for_quadratics_with_analytic_error(engine):
    y = 0.9 - 0.05 * X + 0.003 * X**2
    sigma = np.array([0.01, 0.02, 0.03])
    fit = extrapolate(X, y, sigma, method="richardson", engine=engine)
    assert fit.values == pytest.approx(0.9)
    # Lagrange weights at zero for (1, 3, 5): 15/8, -5/4, 3/8.
    w = np.array([15 / 8, -5 / 4, 3 / 8])
    assert fit.std_errors == pytest.approx(np.sqrt(np.sum((w * sigma) ** 2)), rel=1e-6)
    assert fit.engine == engine


@pytest.mark.parametrize("method", ["richardson", "linear", "poly"])
def test_native_matches_mitiq_on_polynomial_family(method):
    rng = np.random.default_rng(0)
    y = rng.normal(size=(3, 4, 2))
    kw = {"order": 2} if method == "poly" else {}
    a = extrapolate(X, y, np.full_like(y, 0.01), method=method, engine="native", **kw)
    b = extrapolate(X, y, np.full_like(y, 0.01), method=method, engine="mitiq", **kw)
    np.testing.assert_allclose(a.values, b.values, atol=1e-9)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-4)


@pytest.mark.parametrize("engine", ["native", "mitiq"])
@pytest.mark.parametrize("asymptote", [None, 0.25])
def test_exponential_recovers_exponential_decay(engine, asymptote):
    x = np.array([1.0, 2.0, 3.0, 5.0])
    fit = extrapolate(x, _exp(x), method="exponential", asymptote=asymptote, engine=engine)
    assert float(fit.values) == pytest.approx(_exp(0.0), abs=1e-5)


@pytest.mark.parametrize("engine", ["native", "mitiq"])
def test_poly_exp_with_asymptote(engine):
    y = 0.1 + 0.7 * np.exp(-0.2 * X - 0.01 * X**2)
    fit = extrapolate(X, y, method="poly_exp", order=2, asymptote=0.1, engine=engine)
    assert float(fit.values) == pytest.approx(0.8, abs=1e-6)


def test_native_poly_exp_without_asymptote():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = 0.1 + 0.7 * np.exp(-0.2 * x - 0.01 * x**2)
    fit = extrapolate(x, y, method="poly_exp", order=2, engine="native")
    assert float(fit.values) == pytest.approx(0.8, abs=1e-3)


def test_per_entry_scale_factors():
    x = np.array([[1.0, 1.0], [3.0, 2.0]])
    y = np.array([[0.8, 0.8], [0.6, 0.7]])
    fit = extrapolate(x, y, method="linear", engine="native")
    np.testing.assert_allclose(fit.values, [0.9, 0.9])


def test_error_propagation_is_calibrated_for_exponential():
    """Monte-Carlo check of the numerically propagated error bar."""
    rng = np.random.default_rng(3)
    x = np.array([1.0, 3.0, 5.0])
    sigma = np.full(3, 0.003)
    truth = _exp(x)
    fits = [extrapolate(x, truth + rng.normal(0, sigma), sigma, method="exponential",
                        asymptote=0.25, engine="native") for _ in range(300)]
    spread = np.std([float(f.values) for f in fits])
    predicted = np.median([float(f.std_errors) for f in fits])
    assert predicted == pytest.approx(spread, rel=0.2)


def test_mitiq_factory_instance():
    from mitiq.zne.inference import LinearFactory

    y = 0.9 - 0.05 * X
    fit = extrapolate(X, y[:, None], factory=LinearFactory([1.0, 3.0, 5.0]))
    assert fit.values[0] == pytest.approx(0.9)
    assert fit.method == "LinearFactory"
    with pytest.raises(ValueError, match="factory= needs Mitiq"):
        extrapolate(X, y, factory=LinearFactory([1.0, 3.0, 5.0]), engine="native")


def test_auto_falls_back_to_native_without_mitiq(monkeypatch):
    monkeypatch.setattr(ex, "mitiq_available", lambda: False)
    fit = extrapolate(X, 0.9 - 0.05 * X, method="richardson")
    assert fit.engine == "native"
    with pytest.raises(ValueError, match="Mitiq is not installed"):
        extrapolate(X, 0.9 - 0.05 * X, engine="mitiq")


def test_ill_conditioned_fit_warning_is_recorded_not_raised():
    fit = extrapolate(X, _exp(X), method="exponential", engine="mitiq")
    assert float(fit.values) == pytest.approx(_exp(0.0), abs=1e-3)
    assert all(isinstance(w, str) for w in fit.warnings)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "cubic"}, "extrapolation must be one of"),
        ({"method": "poly"}, "order must be an integer"),
        ({"method": "poly", "order": 3}, "needs more scale factors"),
        ({"engine": "gpu"}, "engine must be one of"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        extrapolate(X, [0.9, 0.8, 0.7], **kwargs)


def test_bad_shapes_and_values():
    with pytest.raises(ValueError, match="num_scales >= 2"):
        extrapolate([1.0], [0.5])
    with pytest.raises(ValueError, match="scale_factors must have 3 entries"):
        extrapolate([1.0, 3.0], [0.9, 0.8, 0.7])
    with pytest.raises(ValueError, match=">= 1"):
        extrapolate([0.5, 3.0], [0.9, 0.8])
    with pytest.raises(ValueError, match="finite"):
        extrapolate([1.0, 3.0], [0.9, np.nan])
    with pytest.raises(ValueError, match="distinct"):
        extrapolate([3.0, 3.0], [0.9, 0.8])
    with pytest.raises(ValueError, match="needs at least 3"):
        extrapolate([1.0, 3.0], [0.9, 0.8], method="exponential")


def test_failed_mitiq_fit_falls_back_to_native(monkeypatch):
    from mitiq.zne import inference

    def broken(*args, **kwargs):
        raise inference.ExtrapolationError("did not converge")

    monkeypatch.setattr(inference.ExpFactory, "extrapolate", staticmethod(broken))
    x = np.array([1.0, 2.0, 3.0, 5.0])
    fit = extrapolate(x, _exp(x), method="exponential", engine="mitiq")
    assert float(fit.values) == pytest.approx(_exp(0.0), abs=1e-5)
    assert any("native fit was used" in w for w in fit.warnings)
