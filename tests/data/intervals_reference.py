#!/usr/bin/env python3
"""Independent reference for klgrid's intervals, MLEs and standard errors (issue 16).

Everything here is computed from scipy.stats log-densities with SciPy optimisation and iminuit
(MINOS, HESSE) -- nothing from klgrid's own code.

For every built-in family, data are drawn with NumPy from the family's `--sample` spec
(benches/families_agreement.sh), n = 10^4, rounded to float32 (so that the file holds exactly
the values both sides use), and analysed on a deliberately coarse grid (6-8 values per axis
bracketing the truth):
  * the MLE: Nelder-Mead, then Newton steps with central differences, in unconstrained
    coordinates (ln for positive parameters, logit for (0, 1) ones);
  * the profile-likelihood interval of every free parameter at 68.27% and 95%:
    D(v) = 2 (min over the others of NLL at theta_j = v - NLL_min), ends by brentq on
    sqrt(D) - sqrt(chi2_1(level)) to 1e-12, the nuisance minimised by BFGS from a warm start;
    closed forms for the uniform (a moving support) and the Laplace (a piecewise-linear NLL);
  * iminuit MINOS at the same levels and HESSE (strategy 2) errors, where the NLL is smooth.

Usage:
  python3 tests/data/intervals_reference.py generate [--seed 16]
      writes tests/data/intervals/<family>.npy and tests/data/intervals/reference.json, which
      tests/intervals.rs checks klgrid against (the committed files were made with seed 16);
  python3 tests/data/intervals_reference.py acceptance [--seed S] [--klgrid PATH] [--skip-gpu]
      the issue's acceptance run on fresh data (seed S): every family through the klgrid binary
      (--data FILE.npy --format json), the gamma 61x51 grid, the normal mixture, and
      Poisson(50) with n = 10^6 and 2*10^6 on --strategy direct, gpu and cpu; prints a table of
      the worst deviations and exits 1 when a check fails.

Needs numpy, scipy and iminuit (pip install iminuit scipy numpy).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import optimize, special, stats

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "intervals")
N = 10_000
LEVELS = [0.6827, 0.95]

POS, UNIT, REAL, INT = "positive", "unit", "real", "integer"


def lp_mixture(x, w, m1, s1, m2, s2):
    return np.logaddexp(
        np.log(w) + stats.norm.logpdf(x, m1, s1), np.log1p(-w) + stats.norm.logpdf(x, m2, s2)
    )


# name: (params with domains, truth, numpy sampler, log-density, coarse grid)
FAMILIES = {
    "normal": (
        [("mu", REAL), ("sigma", POS)], [1.5, 2.0],
        lambda r, n: r.normal(1.5, 2.0, n),
        lambda x, t: stats.norm.logpdf(x, t[0], t[1]),
        ["mu=0:3:7", "sigma=1:3:6"],
    ),
    "lognormal": (
        [("mu", REAL), ("sigma", POS)], [0.5, 0.8],
        lambda r, n: r.lognormal(0.5, 0.8, n),
        lambda x, t: stats.lognorm.logpdf(x, t[1], scale=np.exp(t[0])),
        ["mu=0:1:6", "sigma=0.4:1.2:6"],
    ),
    "exponential": (
        [("rate", POS)], [1.7],
        lambda r, n: r.exponential(1 / 1.7, n),
        lambda x, t: stats.expon.logpdf(x, scale=1 / t[0]),
        ["rate=0.5:3:6"],
    ),
    "gamma": (
        [("shape", POS), ("rate", POS)], [2.0, 1.5],
        lambda r, n: r.gamma(2.0, 1 / 1.5, n),
        lambda x, t: stats.gamma.logpdf(x, t[0], scale=1 / t[1]),
        ["shape=1:3:7", "rate=0.5:3:6"],
    ),
    "beta": (
        [("alpha", POS), ("beta", POS)], [2.0, 5.0],
        lambda r, n: r.beta(2.0, 5.0, n),
        lambda x, t: stats.beta.logpdf(x, t[0], t[1]),
        ["alpha=1:3:6", "beta=3:7:6"],
    ),
    "weibull": (
        [("shape", POS), ("scale", POS)], [1.5, 2.0],
        lambda r, n: 2.0 * r.weibull(1.5, n),
        lambda x, t: stats.weibull_min.logpdf(x, t[0], scale=t[1]),
        ["shape=1:2:6", "scale=1:3:6"],
    ),
    "laplace": (
        [("mu", REAL), ("scale", POS)], [0.3, 1.5],
        lambda r, n: r.laplace(0.3, 1.5, n),
        lambda x, t: stats.laplace.logpdf(x, t[0], t[1]),
        ["mu=-0.7:1.3:6", "scale=0.5:2.5:6"],
    ),
    "cauchy": (
        [("mu", REAL), ("scale", POS)], [0.3, 1.5],
        lambda r, n: 0.3 + 1.5 * r.standard_cauchy(n),
        lambda x, t: stats.cauchy.logpdf(x, t[0], t[1]),
        ["mu=-0.7:1.3:6", "scale=0.5:2.5:6"],
    ),
    "student_t": (
        [("nu", POS), ("mu", REAL), ("sigma", POS)], [5.0, 0.3, 1.5],
        lambda r, n: 0.3 + 1.5 * r.standard_t(5.0, n),
        lambda x, t: stats.t.logpdf(x, t[0], t[1], t[2]),
        ["nu=3:8:6", "mu=-0.2:0.8:6", "sigma=1:2:6"],
    ),
    "logistic": (
        [("mu", REAL), ("scale", POS)], [0.3, 1.5],
        lambda r, n: r.logistic(0.3, 1.5, n),
        lambda x, t: stats.logistic.logpdf(x, t[0], t[1]),
        ["mu=-0.7:1.3:6", "scale=0.5:2.5:6"],
    ),
    "uniform": (
        [("low", REAL), ("high", REAL)], [-1.0, 2.0],
        lambda r, n: r.uniform(-1.0, 2.0, n),
        lambda x, t: stats.uniform.logpdf(x, t[0], t[1] - t[0]),
        ["low=-1.5:-0.5:6", "high=1.5:2.5:6"],
    ),
    "normal_mixture": (
        [("w", UNIT), ("mu1", REAL), ("sigma1", POS), ("mu2", REAL), ("sigma2", POS)],
        [0.3, -1.0, 0.7, 2.0, 1.2],
        lambda r, n: np.where(
            r.random(n) < 0.3, r.normal(-1.0, 0.7, n), r.normal(2.0, 1.2, n)
        ),
        lambda x, t: lp_mixture(x, *t),
        ["w=0.2:0.4:6", "mu1=-1.5:-0.5:6", "sigma1=0.5:0.9:6", "mu2=1.5:2.5:6",
         "sigma2=1:1.4:6"],
    ),
    "poisson": (
        [("rate", POS)], [3.5],
        lambda r, n: r.poisson(3.5, n),
        lambda x, t: stats.poisson.logpmf(x, t[0]),
        ["rate=0.5:8:8"],
    ),
    "binomial": (
        [("trials", INT), ("p", UNIT)], [20.0, 0.3],
        lambda r, n: r.binomial(20, 0.3, n),
        lambda x, t: stats.binom.logpmf(x, int(t[0]), t[1]),
        ["trials=20", "p=0.1:0.6:6"],
    ),
    "bernoulli": (
        [("p", UNIT)], [0.3],
        lambda r, n: r.binomial(1, 0.3, n),
        lambda x, t: stats.bernoulli.logpmf(x, t[0]),
        ["p=0.1:0.6:6"],
    ),
    "geometric": (
        [("p", UNIT)], [0.3],
        lambda r, n: r.geometric(0.3, n) - 1,
        lambda x, t: stats.geom.logpmf(x + 1, t[0]),
        ["p=0.1:0.6:6"],
    ),
    "negative_binomial": (
        [("r", POS), ("p", UNIT)], [2.5, 0.35],
        lambda r, n: r.negative_binomial(2.5, 0.35, n),
        lambda x, t: stats.nbinom.logpmf(x, t[0], t[1]),
        ["r=1:5:6", "p=0.2:0.5:6"],
    ),
}

DISCRETE = {"poisson", "binomial", "bernoulli", "geometric", "negative_binomial"}


def to_u(dom, v):
    return {POS: math.log, UNIT: lambda p: math.log(p / (1 - p))}.get(dom, lambda a: a)(v)


def from_u(dom, u):
    if dom == POS:
        return math.exp(u)
    if dom == UNIT:
        return 1 / (1 + math.exp(-u))
    return u


def chi2_1(level):
    return stats.chi2.ppf(level, 1)


class Model:
    """NLL(theta) of one data set, over the free parameters in unconstrained coordinates."""

    def __init__(self, name, xs, grid):
        self.name = name
        self.params, self.truth, _, self.logpdf, _ = FAMILIES[name]
        self.fixed = {}
        for spec in grid:
            k, v = spec.split("=")
            if ":" not in v and "," not in v:
                self.fixed[k] = float(v)
        self.free = [i for i, (p, d) in enumerate(self.params) if p not in self.fixed]
        self.doms = [d for _, d in self.params]
        self.n = len(xs)
        if name in DISCRETE:
            self.x, self.w = np.unique(xs, return_counts=True)
            self.w = self.w.astype(float)
        else:
            self.x, self.w = xs, None
        self.evals = 0

    def theta(self, u, fixed_j=None, fixed_v=None):
        t = [self.fixed.get(p, tv) for (p, _), tv in zip(self.params, self.truth)]
        it = iter(u)
        for j in self.free:
            if j == fixed_j:
                t[j] = fixed_v
            else:
                t[j] = from_u(self.doms[j], next(it))
        return t

    def nll_theta(self, t):
        self.evals += 1
        with np.errstate(all="ignore"):
            lp = self.logpdf(self.x, t)
        if not np.all(np.isfinite(lp)):
            return math.inf
        return float(-(np.sum(lp * self.w) if self.w is not None else math.fsum(lp)))

    def nll(self, u, fixed_j=None, fixed_v=None):
        try:
            return self.nll_theta(self.theta(u, fixed_j, fixed_v))
        except (ValueError, OverflowError, ZeroDivisionError):
            return math.inf


def newton_polish(f, u, steps=12):
    """Newton steps with central-difference derivatives (step 1e-4) on f (to be minimised)."""
    u = np.array(u, float)
    k = len(u)
    for _ in range(steps):
        h = 1e-4 * np.maximum(1.0, np.abs(u))
        f0 = f(u)
        g = np.zeros(k)
        H = np.zeros((k, k))
        for a in range(k):
            e = np.zeros(k)
            e[a] = h[a]
            fp, fm = f(u + e), f(u - e)
            fp2, fm2 = f(u + 2 * e), f(u - 2 * e)
            g[a] = (8 * (fp - fm) - (fp2 - fm2)) / (12 * h[a])
            H[a, a] = (fp - 2 * f0 + fm) / h[a] ** 2
            for b in range(a):
                d = np.zeros(k)
                d[b] = h[b]
                v = (f(u + e + d) - f(u + e - d) - f(u - e + d) + f(u - e - d)) / (4 * h[a] * h[b])
                H[a, b] = H[b, a] = v
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        t = 1.0
        while t > 1e-6 and not f(u - t * step) <= f0:
            t /= 2
        if t <= 1e-6:
            break
        u = u - t * step
        if np.max(np.abs(t * step)) < 1e-13:
            break
    return u


def minimise(f, u0, polish=True):
    u0 = np.array(u0, float)
    if len(u0) == 0:
        return u0, f(u0)
    r = optimize.minimize(f, u0, method="Nelder-Mead",
                          options=dict(xatol=1e-8, fatol=1e-9, maxfev=5000 * len(u0)))
    u = r.x
    r2 = optimize.minimize(f, u, method="BFGS", options=dict(gtol=1e-9))
    if r2.fun <= r.fun:
        u = r2.x
    if polish:
        u = newton_polish(f, u)
    return u, f(u)


def mle(m):
    u0 = [to_u(m.doms[j], m.truth[j]) for j in m.free]
    if m.name == "uniform":
        return [float(np.min(m.x)), float(np.max(m.x))], m.nll_theta([np.min(m.x), np.max(m.x)])
    if m.name == "laplace":
        med = float(np.median(m.x))
        b = float(np.mean(np.abs(m.x - med)))
        return [med, b], m.nll_theta([med, b])
    u, f = minimise(m.nll, u0)
    return m.theta(u), f


def profile_interval(m, j, level, theta_hat, nll_min):
    """The profile interval of parameter j (family index) by brentq on sqrt(D) - sqrt(q)."""
    q = chi2_1(level)
    n = m.n
    if m.name == "uniform":
        lo, hi = theta_hat
        w = hi - lo
        f = math.exp(q / (2 * n))
        return (hi - w * f, lo) if j == 0 else (hi, lo + w * f)
    nuis = [i for i in m.free if i != j]
    dom = m.doms[j]
    uh = to_u(dom, theta_hat[j])
    warm = {}

    def prof(uj):
        v = from_u(dom, uj)
        if m.name == "laplace":
            x = m.x
            if j == 0:  # P(mu) with the scale's closed form mean|x - mu|
                b = float(np.mean(np.abs(x - v)))
                return m.nll_theta([v, b])
            return m.nll_theta([float(np.median(x)), v])
        if not nuis:
            return m.nll([], j, v)
        start = np.array(warm.get("u", [to_u(m.doms[i], theta_hat[i]) for i in nuis]))
        fz = lambda z: m.nll(z, j, v)  # noqa: E731
        r = optimize.minimize(fz, start, method="BFGS", options=dict(gtol=1e-6))
        u, f = r.x, r.fun
        if not math.isfinite(f) or f > fz(start):
            u, f = minimise(fz, start, polish=False)
        warm["u"] = list(u)
        return f

    def rd(uj):
        f = prof(uj)
        d = 2 * (f - nll_min)
        return math.sqrt(max(d, 0.0)) if math.isfinite(d) else 1e6

    # Curvature guess for the first bracket: the deviance one unit away in u.
    out = []
    for sign in (-1, 1):
        warm.clear()
        a, b = 0.0, 1e-3
        while rd(uh + sign * b) < math.sqrt(q):
            a, b = b, 2 * b
            if b > 50:
                raise RuntimeError(f"{m.name}: no bracket for parameter {j}")
        warm.clear()
        r = optimize.brentq(lambda r_: rd(uh + sign * r_) - math.sqrt(q), a, b, xtol=1e-13,
                            rtol=1e-13)
        out.append(from_u(dom, uh + sign * r))
    return tuple(out)


def iminuit_checks(m, theta_hat):
    """MINOS intervals at LEVELS and HESSE errors (strategy 2), or None where not smooth."""
    if m.name in ("uniform", "laplace"):
        return None, None
    from iminuit import Minuit

    names = [m.params[j][0] for j in m.free]
    p = m.params

    def fcn(*args):
        t = [m.fixed.get(pp, tv) for (pp, _), tv in zip(p, theta_hat)]
        for j, a in zip(m.free, args):
            t[j] = a
        return m.nll_theta(t)

    start = [theta_hat[j] for j in m.free]
    mi = Minuit(fcn, *start, name=names)
    mi.errordef = Minuit.LIKELIHOOD
    mi.strategy = 2
    mi.tol = 1e-6
    for j, nm in zip(m.free, names):
        if m.doms[j] == POS:
            mi.limits[nm] = (0, None)
        elif m.doms[j] == UNIT:
            mi.limits[nm] = (0, 1)
    mi.migrad()
    minos = {}
    for level in LEVELS:
        mi.minos(cl=level)
        minos[str(level)] = {
            nm: [mi.values[nm] + mi.merrors[nm].lower, mi.values[nm] + mi.merrors[nm].upper]
            for nm in names
        }
    # HESSE without limits at the precise MLE.
    h = Minuit(fcn, *start, name=names)
    h.errordef = Minuit.LIKELIHOOD
    h.strategy = 2
    h.hesse()
    hesse = {nm: h.errors[nm] for nm in names}
    return minos, hesse


def analyse(name, xs, grid):
    m = Model(name, xs, grid)
    t0 = time.time()
    theta_hat, nll_min = mle(m)
    ivs = {}
    for j in m.free:
        nm = m.params[j][0]
        ivs[nm] = {str(l): list(profile_interval(m, j, l, theta_hat, nll_min)) for l in LEVELS}
    minos, hesse = iminuit_checks(m, theta_hat)
    return {
        "grid": grid,
        "mle": {p: theta_hat[i] for i, (p, _) in enumerate(m.params)},
        "nll_min": nll_min,
        "intervals": ivs,
        "minos": minos,
        "hesse": hesse,
        "seconds": time.time() - t0,
    }


def draw(name, seed, n=N):
    rng = np.random.default_rng([seed, list(FAMILIES).index(name)])
    xs = FAMILIES[name][2](rng, n)
    if name in DISCRETE:
        return np.asarray(xs, dtype=np.int32)
    return np.asarray(xs, dtype=np.float32)


def generate(args):
    os.makedirs(OUT, exist_ok=True)
    ref = {
        "generator": "tests/data/intervals_reference.py generate --seed %d" % args.seed,
        "seed": args.seed,
        "n": N,
        "levels": LEVELS,
        "families": {},
    }
    for name, fam in FAMILIES.items():
        if args.only and name not in args.only.split(","):
            continue
        xs = draw(name, args.seed)
        np.save(os.path.join(OUT, name + ".npy"), xs)
        r = analyse(name, xs.astype(np.float64), fam[4])
        r["file"] = name + ".npy"
        ref["families"][name] = r
        print(f"{name:18s} {r['seconds']:.1f} s", file=sys.stderr)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


# ---------------------------------------------------------------------------------------------
# Acceptance run through the binary.


def klgrid_json(binary, args):
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    o = subprocess.run([binary, "sweep", *args, "--format", "json", "--quiet"],
                       capture_output=True, env=env)
    if o.returncode != 0:
        raise RuntimeError(f"klgrid {' '.join(args)}: {o.stderr.decode()}")
    return json.loads(o.stdout)


def compare(name, ref, v, failures, rows):
    """Worst deviations of klgrid's JSON `v` from the reference `ref`."""
    worst_iv = 0.0
    worst_minos = 0.0
    for p, by_level in ref["intervals"].items():
        got = {f"{x['level']}": x for x in v["intervals"][p]["levels"]}
        for level, (lo, hi) in by_level.items():
            g = got[str(float(level))]
            w = hi - lo
            if g["low"] is None or g["high"] is None:
                failures.append(f"{name} {p} {level}: open interval {g}")
                continue
            d = max(abs(g["low"] - lo), abs(g["high"] - hi)) / w
            worst_iv = max(worst_iv, d)
            if d > 1e-3:
                failures.append(f"{name} {p} {level}: [{g['low']}, {g['high']}] vs [{lo}, {hi}]"
                                f" ({d:.2e} of the width)")
            if ref.get("minos"):
                mlo, mhi = ref["minos"][level][p]
                worst_minos = max(worst_minos, max(abs(mlo - lo), abs(mhi - hi)) / w)
    worst_mle = 0.0
    for p, t in ref["mle"].items():
        g = v["mle"]["theta"][p]
        scale = abs(t) if p not in ("mu", "mu1", "mu2", "low", "high") else 1.0
        d = abs(g - t) / max(scale, 1e-300)
        if name == "laplace" and p == "mu":
            continue  # any point between the two middle order statistics is an MLE
        worst_mle = max(worst_mle, d)
        if d > 1e-6:
            failures.append(f"{name} mle {p}: {g} vs {t}")
    worst_se = None
    if ref.get("hesse"):
        worst_se = 0.0
        errs = v.get("errors") or {}
        for p, se in ref["hesse"].items():
            if p not in errs or errs[p] is None:
                failures.append(f"{name} errors {p}: missing")
                continue
            d = abs(errs[p] - se) / se
            worst_se = max(worst_se, d)
            if d > 1e-3:
                failures.append(f"{name} error {p}: {errs[p]} vs HESSE {se} ({d:.2e})")
    rows.append((name, worst_iv, worst_minos, worst_mle, worst_se))


def acceptance(args):
    binary = args.klgrid or os.path.join(ROOT, "target", "release", "klgrid")
    failures, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, fam in FAMILIES.items():
            xs = draw(name, args.seed)
            path = os.path.join(tmp, name + ".npy")
            np.save(path, xs)
            ref = analyse(name, xs.astype(np.float64), fam[4])
            grid_args = [a for g in fam[4] for a in ("--grid", g)]
            v = klgrid_json(binary, ["--family", name, "--data", path, *grid_args,
                                     "--backend", "cpu"])
            compare(name, ref, v, failures, rows)
            if name == "normal_mixture":
                for p, iv in v["intervals"].items():
                    t = v["mle"]["theta"][p]
                    for x in iv["levels"]:
                        if not (x["low"] <= t <= x["high"]):
                            failures.append(f"mixture {p}: {x} excludes the MLE {t}")
        # The gamma on a 61 x 51 grid (the case that was 42% off).
        xs = draw("gamma", args.seed + 1)
        path = os.path.join(tmp, "gamma61.npy")
        np.save(path, xs)
        grid = ["shape=0.5:4:61", "rate=0.2:3:51"]
        ref = analyse("gamma", xs.astype(np.float64), grid)
        v = klgrid_json(binary, ["--family", "gamma", "--data", path, "--grid", grid[0],
                                 "--grid", grid[1], "--backend", "cpu"])
        compare("gamma 61x51", ref, v, failures, rows)
        # Poisson(50), n = 10^6 and 2*10^6, direct strategy: the exact profile interval
        # D(l) = 2 (n l - T ln l - (n l^ - T ln l^)), T = sum x, l^ = T/n.
        for n in (1_000_000, 2_000_000):
            rng = np.random.default_rng([args.seed, 50, n])
            xs = rng.poisson(50.0, n).astype(np.int32)
            path = os.path.join(tmp, f"poisson{n}.npy")
            np.save(path, xs)
            T = float(np.sum(xs, dtype=np.int64))
            lh = T / n
            exact = {}
            for level in LEVELS:
                q = chi2_1(level)

                def d(l):
                    return 2 * ((n * l - T * math.log(l)) - (n * lh - T * math.log(lh))) - q

                s = math.sqrt(lh / n)
                exact[str(level)] = [optimize.brentq(d, lh - 10 * s, lh, xtol=1e-14),
                                     optimize.brentq(d, lh, lh + 10 * s, xtol=1e-14)]
            ref = {"intervals": {"rate": exact}, "mle": {"rate": lh}, "minos": None,
                   "hesse": {"rate": math.sqrt(lh / n)}}
            for backend in ([] if args.skip_gpu else ["gpu"]) + ["cpu"]:
                v = klgrid_json(binary, ["--family", "poisson", "--data", path, "--grid",
                                         "rate=45:55:101", "--backend", backend,
                                         "--strategy", "direct"])
                compare(f"poisson(50) n={n} {backend}", ref, v, failures, rows)
    print(f"{'case':32s} {'interval/width':>15s} {'MINOS/width':>12s} {'MLE rel':>10s}"
          f" {'SE rel (HESSE)':>15s}")
    for name, a, b, c, d in rows:
        print(f"{name:32s} {a:15.2e} {b:12.2e} {c:10.2e} {('%.2e' % d) if d is not None else '-':>15s}")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall checks passed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--seed", type=int, default=16)
    g.add_argument("--only", help="comma-separated families (for debugging; the committed "
                   "reference holds all)")
    a = sub.add_parser("acceptance")
    a.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    a.add_argument("--klgrid")
    a.add_argument("--skip-gpu", action="store_true")
    args = ap.parse_args()
    sys.exit(generate(args) if args.cmd == "generate" else acceptance(args))


if __name__ == "__main__":
    main()
