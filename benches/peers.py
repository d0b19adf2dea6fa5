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
    args = ap.parse_args()

    try:
        import numpy as np
    except ImportError:
        print(json.dumps({"peer": args.peer, "available": False, "why": "numpy not installed"}))
        return 0
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
