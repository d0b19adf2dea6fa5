#!/usr/bin/env python3
"""Generates tests/data/reference_logpdf.csv: log-densities of every klgrid family, computed
with mpmath at 40 significant digits from the textbook formulas, independently of the Rust code.

Usage (from the repository root; needs `pip install mpmath`):

    python3 tests/data/gen_reference.py > tests/data/reference_logpdf.csv

Each parameter and x is first rounded to the f64 that Rust parses from the same text, and the
density is evaluated at that exact binary value; the log-density is then rounded to the nearest
f64 and written with repr() (17 significant digits, round-trips), or `-inf` outside the support.
tests/reference_logpdf.rs compares `Family::ln_pdf` against these rows.
"""

import sys

import mpmath as mp

mp.mp.dps = 40
NEG_INF = None  # marker: outside the support


def f(s):
    """The exact value of the f64 nearest to the decimal text s (what Rust's parse gives)."""
    return mp.mpf(float(s))


def is_int(x):
    return x == mp.floor(x)


LN_2PI = mp.log(2 * mp.pi)


# --- continuous families -------------------------------------------------------------------

def normal(x, mu, sigma):
    z = (x - mu) / sigma
    return -mp.log(sigma) - LN_2PI / 2 - z * z / 2


def lognormal(x, mu, sigma):
    if x <= 0:
        return NEG_INF
    z = (mp.log(x) - mu) / sigma
    return -mp.log(x) - mp.log(sigma) - LN_2PI / 2 - z * z / 2


def exponential(x, rate):
    if x < 0:
        return NEG_INF
    return mp.log(rate) - rate * x


def gamma(x, shape, rate):
    if x <= 0:
        return NEG_INF
    return shape * mp.log(rate) - mp.loggamma(shape) + (shape - 1) * mp.log(x) - rate * x


def beta(x, alpha, beta_):
    if x <= 0 or x >= 1:
        return NEG_INF
    ln_b = mp.loggamma(alpha) + mp.loggamma(beta_) - mp.loggamma(alpha + beta_)
    return (alpha - 1) * mp.log(x) + (beta_ - 1) * mp.log(1 - x) - ln_b


def weibull(x, shape, scale):
    if x <= 0:
        return NEG_INF
    u = x / scale
    return mp.log(shape) - mp.log(scale) + (shape - 1) * mp.log(u) - u**shape


def laplace(x, mu, scale):
    return -mp.log(2 * scale) - abs(x - mu) / scale


def cauchy(x, mu, scale):
    z = (x - mu) / scale
    return -mp.log(mp.pi * scale) - mp.log(1 + z * z)


def student_t(x, nu, mu, sigma):
    z = (x - mu) / sigma
    return (
        mp.loggamma((nu + 1) / 2)
        - mp.loggamma(nu / 2)
        - mp.log(nu * mp.pi) / 2
        - mp.log(sigma)
        - (nu + 1) / 2 * mp.log(1 + z * z / nu)
    )


def logistic(x, mu, scale):
    z = (x - mu) / scale
    # pdf = e^{−z} / (s (1 + e^{−z})²)
    return -z - mp.log(scale) - 2 * mp.log(1 + mp.exp(-z))


def uniform(x, low, high):
    if x < low or x > high:
        return NEG_INF
    return -mp.log(high - low)


def normal_mixture(x, w, mu1, sigma1, mu2, sigma2):
    # ln(w·N(x; μ1, σ1) + (1 − w)·N(x; μ2, σ2)); mpmath's exponent range has no underflow.
    d1 = mp.exp(normal(x, mu1, sigma1))
    d2 = mp.exp(normal(x, mu2, sigma2))
    return mp.log(w * d1 + (1 - w) * d2)


# --- discrete families ---------------------------------------------------------------------

def poisson(x, rate):
    if x < 0 or not is_int(x):
        return NEG_INF
    return x * mp.log(rate) - rate - mp.loggamma(x + 1)


def binomial(x, trials, p):
    if x < 0 or x > trials or not is_int(x):
        return NEG_INF
    return mp.log(mp.binomial(trials, x)) + x * mp.log(p) + (trials - x) * mp.log(1 - p)


def bernoulli(x, p):
    if x == 1:
        return mp.log(p)
    if x == 0:
        return mp.log(1 - p)
    return NEG_INF


def geometric(x, p):
    # failures before the first success: p (1 − p)^x
    if x < 0 or not is_int(x):
        return NEG_INF
    return mp.log(p) + x * mp.log(1 - p)


def negative_binomial(x, r, p):
    # failures before the r-th success: Γ(x + r) / (Γ(r) x!) · p^r (1 − p)^x
    if x < 0 or not is_int(x):
        return NEG_INF
    return (
        mp.loggamma(x + r)
        - mp.loggamma(r)
        - mp.loggamma(x + 1)
        + r * mp.log(p)
        + x * mp.log(1 - p)
    )


# (family, function, [(params as name=value text, [x values as text])]).
# Parameter names and order are klgrid's interface.
CASES = [
    ("normal", normal, [
        ("mu=0;sigma=1", ["0", "1", "-2.5", "8", "-37"]),
        ("mu=-3.5;sigma=0.25", ["-3.5", "-3", "1"]),
        ("mu=1e6;sigma=1000", ["1000000", "1003000"]),
    ]),
    ("lognormal", lognormal, [
        ("mu=0;sigma=1", ["1", "0.5", "20", "1e-6", "-1", "0"]),
        ("mu=2.5;sigma=0.3", ["12", "1e3", "-3"]),
    ]),
    ("exponential", exponential, [
        ("rate=1.7", ["0", "0.5", "30", "1e-12", "-1e-12", "-2"]),
        ("rate=1e-3", ["500", "2e5"]),
    ]),
    ("gamma", gamma, [
        ("shape=2.5;rate=1.5", ["1", "0.01", "25", "-0.5", "-1e-9"]),
        ("shape=0.5;rate=2", ["1e-8", "0.3", "12"]),
        ("shape=30;rate=3", ["10"]),
    ]),
    ("beta", beta, [
        ("alpha=2;beta=5", ["0.2", "0.999", "1e-6", "-0.1", "1.5"]),
        ("alpha=0.5;beta=0.5", ["0.5", "1e-9", "0.999999"]),
        ("alpha=40;beta=3", ["0.93"]),
    ]),
    ("weibull", weibull, [
        ("shape=1.5;scale=2", ["1", "0.001", "12", "-1"]),
        ("shape=0.7;scale=0.5", ["1e-6", "3", "-0.25"]),
        ("shape=1;scale=4", ["2"]),
    ]),
    ("laplace", laplace, [
        ("mu=0.3;scale=1.2", ["0.3", "0", "-4", "50"]),
        ("mu=-2;scale=0.01", ["-2.003", "1"]),
    ]),
    ("cauchy", cauchy, [
        ("mu=0;scale=1", ["0", "1", "-7", "1e8"]),
        ("mu=2.5;scale=0.2", ["2.5", "2.1", "-300"]),
    ]),
    ("student_t", student_t, [
        ("nu=3;mu=0;sigma=1", ["0", "1.5", "-40", "1e6"]),
        ("nu=0.8;mu=1;sigma=2", ["1", "-25"]),
        ("nu=250;mu=-1;sigma=0.5", ["-1.2", "3"]),
    ]),
    ("logistic", logistic, [
        ("mu=0;scale=1", ["0", "2", "-2", "40", "-700"]),
        ("mu=5;scale=0.3", ["5.6", "-10"]),
    ]),
    ("uniform", uniform, [
        ("low=-1;high=3", ["0", "2.9999999", "-0.9999999", "-1.0000001", "3.0000001", "10"]),
        ("low=0.25;high=0.26", ["0.255"]),
    ]),
    ("normal_mixture", normal_mixture, [
        ("w=0.3;mu1=-2;sigma1=0.5;mu2=1.5;sigma2=1", ["-2", "0", "1.5", "-10", "45"]),
        ("w=0.95;mu1=0;sigma1=1;mu2=0;sigma2=10", ["0", "4", "30"]),
        ("w=0.5;mu1=0;sigma1=1;mu2=100;sigma2=1", ["50"]),
    ]),
    ("poisson", poisson, [
        ("rate=3.5", ["0", "3", "1", "25", "-1", "2.5"]),
        ("rate=0.01", ["0", "4"]),
        ("rate=250", ["250", "100"]),
    ]),
    ("binomial", binomial, [
        ("trials=20;p=0.3", ["0", "6", "20", "13", "21", "-1", "3.5"]),
        ("trials=1;p=0.999", ["0", "1"]),
        ("trials=1000;p=0.02", ["20", "0", "150"]),
    ]),
    ("bernoulli", bernoulli, [
        ("p=0.35", ["0", "1", "2", "-1", "0.5"]),
        ("p=1e-9", ["0", "1"]),
        ("p=0.999999", ["0"]),
    ]),
    ("geometric", geometric, [
        ("p=0.35", ["0", "1", "7", "60", "-1", "1.5"]),
        ("p=1e-4", ["0", "10000"]),
        ("p=0.99", ["3"]),
    ]),
    ("negative_binomial", negative_binomial, [
        ("r=2.5;p=0.35", ["0", "4", "30", "-2", "0.5"]),
        ("r=0.3;p=0.8", ["0", "1", "12"]),
        ("r=40;p=0.9", ["4", "0"]),
    ]),
]


def main(out):
    out.write("# Reference log-densities for tests/reference_logpdf.rs.\n")
    out.write("# Generated by: python3 tests/data/gen_reference.py > tests/data/reference_logpdf.csv\n")
    out.write("# (mpmath %s, %d significant digits, textbook formulas; params and x are the f64\n"
              % (mp.__version__, mp.mp.dps))
    out.write("# values of their text; logpdf rounded to the nearest f64, -inf outside the support)\n")
    out.write("family,params,x,logpdf\n")
    for family, fn, cases in CASES:
        for params, xs in cases:
            names_values = [kv.split("=") for kv in params.split(";")]
            theta = [f(v) for _, v in names_values]
            for xs_text in xs:
                v = fn(f(xs_text), *theta)
                text = "-inf" if v is NEG_INF else repr(float(v))
                out.write(f"{family},{params},{xs_text},{text}\n")


if __name__ == "__main__":
    main(sys.stdout)
