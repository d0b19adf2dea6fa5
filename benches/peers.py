#!/usr/bin/env python3
"""The klgrid benchmark job run by peer tools: NumPy, JAX, and PyTorch on CUDA (when installed).

Job: the normal family's log-likelihood S(θ) = Σᵢ log N(xᵢ | μ, σ) for every θ of a 64×64 grid
(μ in [0, 3], σ in [1, 3]) over n = 4,000,000 samples of normal(1.5, 2) — the same job as

    klgrid bench --family normal --sample 'normal(mu=1.5,sigma=2)' -n 4000000 --seed 1 \
        --grid mu=0:3:64 --grid sigma=1:3:64

Each peer evaluates per sample per grid point, in f32 like klgrid's fast paths, the same split
klgrid uses: S(θ) = n·(−ln σ − ½ ln 2π) + Σᵢ −(xᵢ − μ)²·h with h = 1/(2σ²) — the θ-only terms
hoisted out of the sum, no sufficient-statistics shortcut (which would change the job).
NumPy works on blocks of grid points to bound memory; JAX uses jax.jit with lax.map over grid
points, the fastest CPU formulation we know. Prints one JSON object per peer: evaluations per
second (median of --repeat timed runs after a warm-up), seconds, peak resident memory, and the
largest relative difference of the mean log-likelihood against an f64 NumPy evaluation.

With --family NAME, the job is instead that family's per-family benchmark job (FAMILIES below: a
4,096-point grid, the family's split) on the samples of --data (a .npy file of f64 written by
benches/make_benchmarks.py --families, so that klgrid and every peer see the same data):

    python3 benches/peers.py --peer jax --family cauchy --data cauchy.npy

NumPy then works on chunks of 256 samples against the whole grid; JAX tries several jitted
forms on a tenth of the data — lax.scan over chunks of samples, each chunk against the whole
grid, for a few chunk lengths, and lax.map over grid points — and times the fastest on all of
it (the form is reported). The f64 reference is taken on 64 grid points spread over the grid.
"""

import argparse
import json
import math
import resource
import statistics
import sys
import time


def grid(points_mu, points_sigma):
    import numpy as np

    mu = np.linspace(0.0, 3.0, points_mu)
    sigma = np.linspace(1.0, 3.0, points_sigma)
    m, s = np.meshgrid(mu, sigma, indexing="ij")  # mu slow, sigma fast, as klgrid
    return m.ravel(), s.ravel()


def numpy_sums(x, mu, sigma, dtype, block=8):
    import numpy as np

    x = x.astype(dtype)
    n = x.size
    out = np.empty(mu.size, dtype=np.float64)
    a = -np.log(sigma) - 0.5 * math.log(2 * math.pi)
    h = (0.5 / (sigma * sigma)).astype(dtype)
    for i in range(0, mu.size, block):
        d = x[None, :] - mu[i : i + block, None].astype(dtype)
        d *= d
        k = d.sum(axis=1, dtype=dtype) * -h[i : i + block]
        out[i : i + block] = n * a[i : i + block] + k
    return out


def jax_sums(x, mu, sigma):
    import jax
    import jax.numpy as jnp

    import numpy as np

    xs = jnp.asarray(x, dtype=jnp.float32)
    n = x.size
    a = -np.log(sigma) - 0.5 * math.log(2 * math.pi)
    h = 0.5 / (sigma * sigma)
    thetas = jnp.stack([jnp.asarray(mu, jnp.float32), jnp.asarray(h, jnp.float32)], axis=1)

    @jax.jit
    def run(xs, thetas):
        def one(th):
            d = xs - th[0]
            return -jnp.sum(d * d) * th[1]

        return jax.lax.map(one, thetas)

    def call():
        return n * a + np.asarray(run(xs, thetas).block_until_ready(), dtype=np.float64)

    return call


def torch_sums(x, mu, sigma):
    """PyTorch on CUDA (the H200 peer): the same split, blocks of 64 grid points at a time."""
    import numpy as np
    import torch

    dev = torch.device("cuda")
    xs = torch.as_tensor(x, dtype=torch.float32, device=dev)
    n = x.size
    a = -np.log(sigma) - 0.5 * math.log(2 * math.pi)
    m = torch.as_tensor(mu, dtype=torch.float32, device=dev)
    h = torch.as_tensor(0.5 / (sigma * sigma), dtype=torch.float32, device=dev)

    def call():
        out = torch.empty(m.numel(), dtype=torch.float64, device=dev)
        for i in range(0, m.numel(), 64):
            d = xs[None, :] - m[i : i + 64, None]
            out[i : i + 64] = (-(d * d).sum(dim=1) * h[i : i + 64]).double()
        torch.cuda.synchronize()
        return n * a + out.cpu().numpy()

    return call


# ---------------------------------------------------------------------------------------------
# The per-family job: every family's split, as klgrid evaluates it (θ-only terms and x-only
# terms in f64 on the host, the coupled kernel k(f, c) per sample per grid point in f32, from
# features f and per-grid-point constants c computed in f64), without klgrid's centring.
# Each entry: draw(rng, n) the samples (same distribution as the klgrid --sample spec); axes of
# the grid (last axis fastest, as klgrid); feats(x) the kernel's features; consts(t) the
# per-point constants; kernel(xp, f, c) the coupled kernel (xp = numpy or jax.numpy, f and c
# broadcasting lists); host(x, t, ksum) the full S(θ) from the kernel sums.


FAMILY_NAMES = [
    "normal", "lognormal", "exponential", "gamma", "beta", "weibull", "laplace", "cauchy", "student_t",
    "logistic", "uniform", "normal_mixture", "poisson", "binomial", "bernoulli", "geometric", "negative_binomial",
]
np = None  # NumPy, imported by families()


def _lgamma(v):
    return np.vectorize(math.lgamma, otypes=[np.float64])(v)


def _lin(start, stop, count):
    return np.linspace(start, stop, count)


def _host_simple(a):
    """S = n·a(θ) + b + Σ k, b the data term (a function of x only)."""

    def host(x, t, ksum, b=lambda x: 0.0):
        return x.size * a(t) + b(x) + ksum

    return host


def _uniform_host(x, t, ksum):
    width = t["high"] - t["low"]
    ok = (ksum == 0) & (width > 0)
    return np.where(ok, -x.size * np.log(np.where(width > 0, width, 1.0)), -np.inf)


def _nb_host(x, t, ksum):
    n = x.size
    vals, counts = np.unique(x, return_counts=True)
    r = t["r"]
    # Σᵢ lnΓ(xᵢ + r) from the histogram of the data, once per distinct r (as klgrid).
    ur, inv = np.unique(r, return_inverse=True)
    lg = np.array([np.sum(counts * _lgamma(vals + rv)) for rv in ur])[inv]
    return n * (r * np.log(t["p"]) - _lgamma(r)) + lg - np.sum(counts * _lgamma(vals + 1.0)) + ksum


def _binomial_host(x, t, ksum):
    n = x.size
    tr = t["trials"]
    vals, counts = np.unique(x, return_counts=True)
    ur, inv = np.unique(tr, return_inverse=True)
    lc = np.array([np.sum(counts * (math.lgamma(tv + 1) - _lgamma(vals + 1) - _lgamma(tv - vals + 1))) for tv in ur])[inv]
    return n * tr * np.log1p(-t["p"]) + lc + ksum


def _mixture_draw(rng, n):
    first = rng.random(n) < 0.3
    return np.where(first, rng.normal(-1.0, 0.7, n), rng.normal(2.0, 1.2, n))


def families():
    """The per-family jobs, by family name (NumPy is imported here, so that a missing NumPy is
    reported, not raised)."""
    global np
    import numpy as np

    return {
        "normal": dict(
            spec="normal(mu=1.5,sigma=2)", draw=lambda r, n: r.normal(1.5, 2.0, n),
            axes=[("mu", _lin(0, 3, 64)), ("sigma", _lin(1, 3, 64))],
            feats=lambda x: [x], consts=lambda t: [t["mu"], 0.5 / t["sigma"] ** 2],
            kernel=lambda xp, f, c: -((f[0] - c[0]) ** 2) * c[1],
            host=lambda x, t, k: x.size * (-np.log(t["sigma"]) - 0.5 * math.log(2 * math.pi)) + k),
        "lognormal": dict(
            spec="lognormal(mu=0.5,sigma=0.8)", draw=lambda r, n: r.lognormal(0.5, 0.8, n),
            axes=[("mu", _lin(0, 1, 64)), ("sigma", _lin(0.4, 1.2, 64))],
            feats=lambda x: [np.log(x)], consts=lambda t: [t["mu"], 0.5 / t["sigma"] ** 2],
            kernel=lambda xp, f, c: -((f[0] - c[0]) ** 2) * c[1],
            host=lambda x, t, k: x.size * (-np.log(t["sigma"]) - 0.5 * math.log(2 * math.pi)) - np.sum(np.log(x)) + k),
        "exponential": dict(
            spec="exponential(rate=1.7)", draw=lambda r, n: r.exponential(1 / 1.7, n),
            axes=[("rate", _lin(0.5, 3, 4096))],
            feats=lambda x: [x], consts=lambda t: [t["rate"]],
            kernel=lambda xp, f, c: -c[0] * f[0],
            host=lambda x, t, k: x.size * np.log(t["rate"]) + k),
        "gamma": dict(
            spec="gamma(shape=2,rate=1.5)", draw=lambda r, n: r.gamma(2.0, 1 / 1.5, n),
            axes=[("shape", _lin(1, 3, 64)), ("rate", _lin(0.5, 3, 64))],
            feats=lambda x: [np.log(x), x], consts=lambda t: [t["shape"] - 1, t["rate"]],
            kernel=lambda xp, f, c: c[0] * f[0] - c[1] * f[1],
            host=lambda x, t, k: x.size * (t["shape"] * np.log(t["rate"]) - _lgamma(t["shape"])) + k),
        "beta": dict(
            spec="beta(alpha=2,beta=5)", draw=lambda r, n: r.beta(2.0, 5.0, n),
            axes=[("alpha", _lin(1, 3, 64)), ("beta", _lin(3, 7, 64))],
            feats=lambda x: [np.log(x), np.log1p(-x)], consts=lambda t: [t["alpha"] - 1, t["beta"] - 1],
            kernel=lambda xp, f, c: c[0] * f[0] + c[1] * f[1],
            host=lambda x, t, k: -x.size * (_lgamma(t["alpha"]) + _lgamma(t["beta"]) - _lgamma(t["alpha"] + t["beta"])) + k),
        "weibull": dict(
            spec="weibull(shape=1.5,scale=2)", draw=lambda r, n: 2.0 * r.weibull(1.5, n),
            axes=[("shape", _lin(1, 2, 64)), ("scale", _lin(1, 3, 64))],
            feats=lambda x: [np.log(x)], consts=lambda t: [np.log(t["scale"]), t["shape"]],
            # ln k − ln λ + (k − 1)(ln x − ln λ) − (x/λ)ᵏ = ln k − ln x + u − eᵘ, u = k(ln x − ln λ).
            kernel=lambda xp, f, c: (lambda u: u - xp.exp(u))(c[1] * (f[0] - c[0])),
            factored="weibull",
            host=lambda x, t, k: x.size * np.log(t["shape"]) - np.sum(np.log(x)) + k),
        "laplace": dict(
            spec="laplace(mu=0.3,scale=1.5)", draw=lambda r, n: r.laplace(0.3, 1.5, n),
            axes=[("mu", _lin(-0.7, 1.3, 64)), ("scale", _lin(0.5, 2.5, 64))],
            feats=lambda x: [x], consts=lambda t: [t["mu"], 1 / t["scale"]],
            kernel=lambda xp, f, c: -xp.abs(f[0] - c[0]) * c[1],
            host=lambda x, t, k: -x.size * np.log(2 * t["scale"]) + k),
        "cauchy": dict(
            spec="cauchy(mu=0.3,scale=1.5)", draw=lambda r, n: 0.3 + 1.5 * r.standard_cauchy(n),
            axes=[("mu", _lin(-0.7, 1.3, 64)), ("scale", _lin(0.5, 2.5, 64))],
            feats=lambda x: [x], consts=lambda t: [t["mu"], 1 / t["scale"]],
            kernel=lambda xp, f, c: -xp.log1p(((f[0] - c[0]) * c[1]) ** 2),
            host=lambda x, t, k: -x.size * np.log(math.pi * t["scale"]) + k),
        "student_t": dict(
            spec="student_t(nu=5,mu=0.3,sigma=1.5)", draw=lambda r, n: 0.3 + 1.5 * r.standard_t(5.0, n),
            axes=[("nu", _lin(3, 7, 16)), ("mu", _lin(-0.2, 0.8, 16)), ("sigma", _lin(1, 2, 16))],
            feats=lambda x: [x],
            consts=lambda t: [t["mu"], 1 / (t["sigma"] * np.sqrt(t["nu"])), (t["nu"] + 1) / 2],
            kernel=lambda xp, f, c: -c[2] * xp.log1p(((f[0] - c[0]) * c[1]) ** 2),
            host=lambda x, t, k: x.size * (_lgamma((t["nu"] + 1) / 2) - _lgamma(t["nu"] / 2)
                                           - 0.5 * np.log(t["nu"] * math.pi) - np.log(t["sigma"])) + k),
        "logistic": dict(
            spec="logistic(mu=0.3,scale=1.5)", draw=lambda r, n: r.logistic(0.3, 1.5, n),
            axes=[("mu", _lin(-0.7, 1.3, 64)), ("scale", _lin(0.5, 2.5, 64))],
            feats=lambda x: [x], consts=lambda t: [t["mu"], 1 / t["scale"]],
            kernel=lambda xp, f, c: (lambda a: -a - 2 * xp.log1p(xp.exp(-a)))(xp.abs((f[0] - c[0]) * c[1])),
            host=lambda x, t, k: -x.size * np.log(t["scale"]) + k),
        "uniform": dict(
            spec="uniform(low=-1,high=2)", draw=lambda r, n: r.uniform(-1.0, 2.0, n),
            axes=[("low", _lin(-1.5, -0.5, 64)), ("high", _lin(1.5, 2.5, 64))],
            feats=lambda x: [x], consts=lambda t: [t["low"], t["high"]],
            # The count of samples outside [low, high] (S = −∞ unless it is 0).
            kernel=lambda xp, f, c: ((f[0] < c[0]) | (f[0] > c[1])).astype(xp.float32),
            host=_uniform_host),
        "normal_mixture": dict(
            spec="normal_mixture(w=0.3,mu1=-1,sigma1=0.7,mu2=2,sigma2=1.2)", draw=_mixture_draw,
            axes=[("w", _lin(0.2, 0.4, 4)), ("mu1", _lin(-1.5, -0.5, 8)), ("sigma1", _lin(0.5, 0.9, 4)),
                  ("mu2", _lin(1.5, 2.5, 8)), ("sigma2", _lin(1, 1.4, 4))],
            feats=lambda x: [x],
            consts=lambda t: [t["mu1"], 0.5 / t["sigma1"] ** 2, np.log(t["w"]) - np.log(t["sigma1"]),
                              t["mu2"], 0.5 / t["sigma2"] ** 2, np.log1p(-t["w"]) - np.log(t["sigma2"])],
            kernel=lambda xp, f, c: (lambda l1, l2: xp.maximum(l1, l2) + xp.log1p(xp.exp(-xp.abs(l1 - l2))))(
                c[2] - (f[0] - c[0]) ** 2 * c[1], c[5] - (f[0] - c[3]) ** 2 * c[4]),
            host=lambda x, t, k: -x.size * 0.5 * math.log(2 * math.pi) + k),
        "poisson": dict(
            spec="poisson(rate=3.5)", draw=lambda r, n: r.poisson(3.5, n).astype(np.float64),
            axes=[("rate", _lin(0.5, 8, 4096))],
            feats=lambda x: [x], consts=lambda t: [np.log(t["rate"])],
            kernel=lambda xp, f, c: f[0] * c[0],
            host=lambda x, t, k: -x.size * t["rate"] - np.sum(_lgamma(np.unique(x) + 1) * np.unique(x, return_counts=True)[1]) + k),
        "binomial": dict(
            spec="binomial(trials=20,p=0.3)", draw=lambda r, n: r.binomial(20, 0.3, n).astype(np.float64),
            axes=[("trials", np.array([20.0])), ("p", _lin(0.1, 0.6, 4096))],
            feats=lambda x: [x], consts=lambda t: [np.log(t["p"]) - np.log1p(-t["p"])],
            kernel=lambda xp, f, c: f[0] * c[0],
            host=_binomial_host),
        "bernoulli": dict(
            spec="bernoulli(p=0.3)", draw=lambda r, n: (r.random(n) < 0.3).astype(np.float64),
            axes=[("p", _lin(0.1, 0.6, 4096))],
            feats=lambda x: [x], consts=lambda t: [np.log(t["p"]) - np.log1p(-t["p"])],
            kernel=lambda xp, f, c: f[0] * c[0],
            host=lambda x, t, k: x.size * np.log1p(-t["p"]) + k),
        "geometric": dict(
            spec="geometric(p=0.3)", draw=lambda r, n: (r.geometric(0.3, n) - 1).astype(np.float64),
            axes=[("p", _lin(0.1, 0.6, 4096))],
            feats=lambda x: [x], consts=lambda t: [np.log1p(-t["p"])],
            kernel=lambda xp, f, c: f[0] * c[0],
            host=lambda x, t, k: x.size * np.log(t["p"]) + k),
        "negative_binomial": dict(
            spec="negative_binomial(r=2.5,p=0.35)", draw=lambda r, n: r.negative_binomial(2.5, 0.35, n).astype(np.float64),
            axes=[("r", _lin(1, 5, 64)), ("p", _lin(0.2, 0.5, 64))],
            feats=lambda x: [x], consts=lambda t: [np.log1p(-t["p"])],
            kernel=lambda xp, f, c: f[0] * c[0],
            host=_nb_host),
    }


def family_grid(fam):
    """The grid as a dict of per-point parameter arrays (last axis fastest, as klgrid)."""
    names = [a[0] for a in fam["axes"]]
    mesh = np.meshgrid(*[a[1] for a in fam["axes"]], indexing="ij")
    return {nm: m.ravel() for nm, m in zip(names, mesh)}


def grid_flags(fam):
    """klgrid --grid flags of the same grid."""
    out = []
    for name, v in fam["axes"]:
        out += ["--grid", f"{name}={v[0]:g}" if v.size == 1 else f"{name}={v[0]:g}:{v[-1]:g}:{v.size}"]
    return out


def _chunk_sums(xp, kernel, feats, consts, chunk, dtype):
    """Σᵢ k(fᵢ, c) for every grid point, chunks of samples against the whole grid (NumPy)."""
    n = feats[0].size
    out = np.zeros(consts[0].size, dtype=np.float64)
    c = [v[None, :] for v in consts]
    for i in range(0, n, chunk):
        f = [v[i : i + chunk, None] for v in feats]
        out += kernel(xp, f, c).sum(axis=0, dtype=dtype)
    return out


def family_numpy(fam, x, t):
    f = [v.astype(np.float32) for v in fam["feats"](x)]
    c = [np.asarray(v, dtype=np.float64).astype(np.float32) for v in fam["consts"](t)]

    def call():
        return fam["host"](x, t, _chunk_sums(np, fam["kernel"], f, c, 256, np.float32))

    return call


def family_jax_forms(fam, x, t):
    """The jitted JAX forms of the job, each a function (x) -> call() for samples x."""
    import jax
    import jax.numpy as jnp

    c32 = jnp.asarray(np.stack([np.asarray(v, dtype=np.float64) for v in fam["consts"](t)]), dtype=jnp.float32)
    kernel = fam["kernel"]

    def feats_of(x):
        return jnp.asarray(np.stack(fam["feats"](x), axis=1), dtype=jnp.float32)  # (n, nf)

    def scan_form(chunk):
        @jax.jit
        def run(F, T, C):  # F: (m, chunk, nf); T: (tail, nf); C: (nc, G)
            c = [C[j][None, :] for j in range(C.shape[0])]

            def sums(block):
                return jnp.sum(kernel(jnp, [block[:, j : j + 1] for j in range(block.shape[1])], c), axis=0)

            acc, _ = jax.lax.scan(lambda a, blk: (a + sums(blk), None), jnp.zeros(C.shape[1], jnp.float32), F)
            return acc + sums(T) if T.shape[0] else acc

        def make(x):
            F = feats_of(x)
            m = F.shape[0] // chunk
            main, tail = F[: m * chunk].reshape(m, chunk, F.shape[1]), F[m * chunk :]
            return lambda: fam["host"](x, t, np.asarray(run(main, tail, c32).block_until_ready(), dtype=np.float64))

        return make

    def map_form(x):
        F = feats_of(x)

        @jax.jit
        def run(F, C):
            f = [F[:, j] for j in range(F.shape[1])]
            return jax.lax.map(lambda cc: jnp.sum(kernel(jnp, f, [cc[j] for j in range(cc.shape[0])])), C.T)

        return lambda: fam["host"](x, t, np.asarray(run(F, c32).block_until_ready(), dtype=np.float64))

    def weibull_factored_form(x):
        # klgrid's own factoring (its Form::ExpAffine): e^u = e^(k·f)·e^(-k·c0), the first factor
        # once per sample and shape, the second once per grid point; the per-pair work is then a
        # subtract, two multiplies and a subtract, fused by XLA into the reduction over samples.
        f = feats_of(x)[:, 0]
        shapes = fam["axes"][0][1].size
        C = c32.reshape(2, shapes, -1)  # (c0 = ln λ − 0, c1 = k) per (shape, scale)

        @jax.jit
        def run(f, C):
            def one(sc):
                off, k = sc[0], sc[1]  # (L,), (L,) with k constant
                e = jnp.exp(k[0] * f)
                scale = jnp.exp(-k * off)
                return jnp.sum(k[None, :] * (f[:, None] - off[None, :]) - e[:, None] * scale[None, :], axis=0)

            return jax.lax.map(one, jnp.swapaxes(C, 0, 1)).reshape(-1)

        return lambda: fam["host"](x, t, np.asarray(run(f, C).block_until_ready(), dtype=np.float64))

    forms = {f"lax.scan over chunks of {ch} samples x whole grid": scan_form(ch) for ch in (500, 1000, 2000, 4000)}
    forms["lax.map over grid points"] = map_form
    if fam.get("factored") == "weibull":
        forms["e^(k·ln x) once per sample and shape (klgrid's factoring), lax.map over shapes"] = weibull_factored_form
    return forms


def family_reference(fam, x, t, points=64):
    """S(θ) in f64 on `points` grid points spread over the grid, and their indices."""
    g = next(iter(t.values())).size
    idx = np.unique(np.linspace(0, g - 1, min(points, g)).round().astype(int))
    ts = {k: v[idx] for k, v in t.items()}
    f = [v.astype(np.float64) for v in fam["feats"](x)]
    c = [np.asarray(v, dtype=np.float64) for v in fam["consts"](ts)]
    return idx, fam["host"](x, ts, _chunk_sums(np, fam["kernel"], f, c, 4096, np.float64))


def family_main(args):
    fam = families()[args.family]
    if args.data:
        x = np.load(args.data).astype(np.float64).ravel()
    else:
        x = fam["draw"](np.random.default_rng(args.seed), args.n)
    t = family_grid(fam)
    g = next(iter(t.values())).size
    evals = x.size * g
    out = {"peer": args.peer, "family": args.family, "n": int(x.size), "grid_points": int(g)}
    tuning = None
    if args.peer == "numpy":
        result, secs = timed(family_numpy(fam, x, t), args.repeat)
        out.update(version=np.__version__, form="chunks of 256 samples x whole grid")
    elif args.peer == "jax":
        try:
            import jax
        except ImportError:
            print(json.dumps({**out, "available": False, "why": "jax not installed"}))
            return 0
        forms = family_jax_forms(fam, x, t)
        # Pick the fastest form on a tenth of the data (one run each after compilation).
        xt = x[: max(x.size // 10, 1)]
        tuning = {}
        for name, make in forms.items():
            call = make(xt)
            call()
            t0 = time.perf_counter()
            call()
            tuning[name] = xt.size * g / (time.perf_counter() - t0)
        best = max(tuning, key=tuning.get)
        result, secs = timed(forms[best](x), args.repeat)
        out.update(version=jax.__version__, form=best, tuning_evals_per_s=tuning)
    else:
        print(json.dumps({**out, "available": False, "why": "per-family job: numpy or jax only"}))
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    idx, reference = family_reference(fam, x, t)
    mean, ref = result[idx] / x.size, reference / x.size
    finite = np.isfinite(ref)
    same_inf = np.array_equal(np.isfinite(mean), finite)
    rel = float(np.max(np.abs(mean[finite] - ref[finite]) / np.maximum(np.abs(ref[finite]), 1.0))) if finite.any() else 0.0
    med = statistics.median(secs)
    out.update(
        available=True,
        evals_per_s={"median": evals / med, "min": evals / max(secs), "max": evals / min(secs)},
        seconds={"median": med, "min": min(secs), "max": max(secs)},
        peak_rss_bytes=peak,
        max_rel_diff_vs_f64=rel if same_inf else float("inf"),
    )
    print(json.dumps(out))
    return 0


def timed(fn, repeat):
    fn()  # warm-up (JIT compilation for JAX)
    secs = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        secs.append(time.perf_counter() - t0)
    return result, secs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=4_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer", choices=["numpy", "jax", "torch"], required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--family", choices=FAMILY_NAMES, help="the per-family job of this family instead of the normal job")
    ap.add_argument("--data", help="with --family: samples to use, a .npy file (default: drawn from the family's spec)")
    args = ap.parse_args()

    try:
        import numpy as np
    except ImportError:
        print(json.dumps({"peer": args.peer, "available": False, "why": "numpy not installed"}))
        return 0
    if args.family:
        return family_main(args)
    rng = np.random.default_rng(args.seed)
    x = rng.normal(1.5, 2.0, args.n)
    mu, sigma = grid(64, 64)
    evals = args.n * mu.size

    if args.peer == "numpy":
        result, secs = timed(lambda: numpy_sums(x, mu, sigma, np.float32), args.repeat)
        version = np.__version__
    elif args.peer == "torch":
        try:
            import torch
        except ImportError:
            print(json.dumps({"peer": "torch", "available": False, "why": "torch not installed"}))
            return 0
        if not torch.cuda.is_available():
            print(json.dumps({"peer": "torch", "available": False, "why": "no CUDA device"}))
            return 0
        result, secs = timed(torch_sums(x, mu, sigma), args.repeat)
        version = f"{torch.__version__} on {torch.cuda.get_device_name(0)}"
    else:
        try:
            import jax
        except ImportError:
            print(json.dumps({"peer": "jax", "available": False, "why": "jax not installed"}))
            return 0
        result, secs = timed(jax_sums(x, mu, sigma), args.repeat)
        version = jax.__version__
    # Peak memory of the timed job, before the f64 reference below allocates its own.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    reference = numpy_sums(x, mu, sigma, np.float64, block=1) / args.n
    mean = result / args.n
    rel = float(np.max(np.abs(mean - reference) / np.maximum(np.abs(reference), 1.0)))
    med = statistics.median(secs)
    print(
        json.dumps(
            {
                "peer": args.peer,
                "available": True,
                "version": version,
                "n": args.n,
                "grid_points": int(mu.size),
                "evals_per_s": {"median": evals / med, "min": evals / max(secs), "max": evals / min(secs)},
                "seconds": {"median": med, "min": min(secs), "max": max(secs)},
                "peak_rss_bytes": peak,
                "max_rel_diff_vs_f64": rel,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
