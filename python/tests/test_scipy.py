"""Log-likelihoods against scipy.stats: on the f64 reference path to 1e-12 relative, and on the
fast paths (cpu, gpu) within each family's documented tolerance, relative to
max(|mean log-likelihood|, 1) as the README's Precision section defines it."""

import numpy as np
import pytest

import klgrid
from conftest import need

# family, klgrid grid (3 values an axis around the truth), data from numpy, scipy log-density.
CASES = {
    "normal": (
        {"mu": [1.0, 1.5, 2.0], "sigma": [1.5, 2.0, 2.5]},
        lambda r, n: r.normal(1.5, 2.0, n),
        lambda st, x, t: st.norm.logpdf(x, loc=t["mu"], scale=t["sigma"]),
    ),
    "lognormal": (
        {"mu": [0.2, 0.5], "sigma": [0.6, 0.9]},
        lambda r, n: r.lognormal(0.5, 0.7, n),
        lambda st, x, t: st.lognorm.logpdf(x, s=t["sigma"], scale=np.exp(t["mu"])),
    ),
    "exponential": (
        {"rate": [0.5, 2.0, 3.0]},
        lambda r, n: r.exponential(0.5, n),
        lambda st, x, t: st.expon.logpdf(x, scale=1 / t["rate"]),
    ),
    "gamma": (
        {"shape": [1.5, 2.5], "rate": [1.0, 1.5, 2.0]},
        lambda r, n: r.gamma(2.5, 1 / 1.5, n),
        lambda st, x, t: st.gamma.logpdf(x, a=t["shape"], scale=1 / t["rate"]),
    ),
    "beta": (
        {"alpha": [1.5, 2.0], "beta": [3.0, 5.0]},
        lambda r, n: r.beta(2.0, 5.0, n),
        lambda st, x, t: st.beta.logpdf(x, t["alpha"], t["beta"]),
    ),
    "weibull": (
        {"shape": [1.2, 1.5], "scale": [1.5, 2.0]},
        lambda r, n: 2.0 * r.weibull(1.5, n),
        lambda st, x, t: st.weibull_min.logpdf(x, c=t["shape"], scale=t["scale"]),
    ),
    "student_t": (
        {"nu": [3.0, 5.0], "mu": [-0.1, 0.1], "sigma": [0.8, 1.2]},
        lambda r, n: r.standard_t(4.0, n),
        lambda st, x, t: st.t.logpdf(x, df=t["nu"], loc=t["mu"], scale=t["sigma"]),
    ),
    "cauchy": (
        {"mu": [-0.5, 0.0], "scale": [0.7, 1.3]},
        lambda r, n: r.standard_cauchy(n),
        lambda st, x, t: st.cauchy.logpdf(x, loc=t["mu"], scale=t["scale"]),
    ),
    "logistic": (
        {"mu": [0.5, 1.0], "scale": [0.5, 0.8]},
        lambda r, n: r.logistic(1.0, 0.6, n),
        lambda st, x, t: st.logistic.logpdf(x, loc=t["mu"], scale=t["scale"]),
    ),
    "laplace": (
        {"mu": [0.0, 0.5], "scale": [1.0, 1.5]},
        lambda r, n: r.laplace(0.5, 1.2, n),
        lambda st, x, t: st.laplace.logpdf(x, loc=t["mu"], scale=t["scale"]),
    ),
    "poisson": (
        {"rate": [2.0, 3.5, 5.0]},
        lambda r, n: r.poisson(3.5, n),
        lambda st, x, t: st.poisson.logpmf(x, mu=t["rate"]),
    ),
    "binomial": (
        {"trials": 20, "p": [0.2, 0.3, 0.45]},
        lambda r, n: r.binomial(20, 0.3, n),
        lambda st, x, t: st.binom.logpmf(x, n=int(t["trials"]), p=t["p"]),
    ),
    "negative_binomial": (
        {"r": [2.0, 3.5], "p": [0.3, 0.5]},
        lambda r, n: r.negative_binomial(3.0, 0.4, n),
        lambda st, x, t: st.nbinom.logpmf(x, n=t["r"], p=t["p"]),
    ),
    "geometric": (
        {"p": [0.2, 0.35, 0.5]},
        lambda r, n: r.geometric(0.35, n) - 1,  # numpy counts trials; klgrid failures
        lambda st, x, t: st.geom.logpmf(x + 1, t["p"]),
    ),
    "normal_mixture": (
        {"w": [0.3, 0.5], "mu1": -1.0, "sigma1": [0.8, 1.0], "mu2": 2.0, "sigma2": 1.0},
        lambda r, n: np.where(r.random(n) < 0.3, r.normal(-1, 1, n), r.normal(2, 1, n)),
        lambda st, x, t: np.logaddexp(
            np.log(t["w"]) + st.norm.logpdf(x, t["mu1"], t["sigma1"]),
            np.log1p(-t["w"]) + st.norm.logpdf(x, t["mu2"], t["sigma2"]),
        ),
    ),
}


def scipy_loglik(st, family, s, x):
    """S(θ) for every grid point of `s`, by scipy, in grid order."""
    names = list(s.axes)
    mesh = np.meshgrid(*s.axes.values(), indexing="ij")
    out = np.empty(s.shape)
    for idx in np.ndindex(*s.shape):
        theta = {k: m[idx] for k, m in zip(names, mesh)}
        out[idx] = np.sum(CASES[family][2](st, x, theta))
    return out


@pytest.mark.parametrize("family", sorted(CASES))
def test_reference_path_equals_scipy_logpdf(family):
    st = need("scipy.stats")
    grid, draw, _ = CASES[family]
    x = draw(np.random.default_rng(42), 4000).astype(np.float64)
    s = klgrid.sweep(family, x, grid=grid, backend="cpu-ref")
    ref = scipy_loglik(st, family, s, x)
    np.testing.assert_allclose(s.loglik, ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize("family", ["normal", "gamma", "beta", "weibull", "student_t",
                                    "poisson", "negative_binomial", "normal_mixture"])
@pytest.mark.parametrize("backend", ["cpu", "gpu"])
def test_fast_paths_agree_with_scipy_within_the_family_tolerance(family, backend, request):
    st = need("scipy.stats")
    if backend == "gpu":
        request.getfixturevalue("gpu")
    grid, draw, _ = CASES[family]
    x = draw(np.random.default_rng(7), 20_000).astype(np.float64)
    s = klgrid.sweep(family, x, grid=grid, backend=backend, strategy="direct")
    ref = scipy_loglik(st, family, s, x) / x.size
    scale = np.maximum(np.abs(ref), 1.0)
    worst = np.max(np.abs(s.mean_loglik - ref) / scale)
    assert worst <= s.tolerance, (family, backend, worst)
    assert s.identity["argmax_loglik"] == int(np.argmax(ref))
