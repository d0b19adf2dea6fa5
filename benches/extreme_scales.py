#!/usr/bin/env python3
"""Issue 18's acceptance matrix: data at extreme scales on the default path and on the cpu path,
against cpu-ref.

For normal, lognormal, gamma, exponential, cauchy, laplace, logistic and student_t, data are drawn
at scales 1e-30 … 1e30 (location and spread together, and, for the location families, with
|mean|/sd = 1e6), on a grid bracketing the truth; then the kernels at the ends of their own
domains: gamma at a coefficient of variation of 1e-7, student_t with ν on a log grid 1 … 1e8,
poisson counts around 1e6 and 1e12, the binomial with 1e15 and 2³² + 1 trials. Each run must either give the same best point as
cpu-ref with mean log-likelihoods within the family's tolerance at every grid point, or exit 2
with a message naming why — never exit 0 with a different answer.

    python3 benches/extreme_scales.py [--klgrid target/release/klgrid] [-n 100000] [--only TEXT]

Prints one line per case and a summary; exits 1 if any case gives a silent wrong answer.
"""

import argparse
import json
import math
import subprocess
import sys

SCALES = [1e-30, 1e-22, 1e-10, 1.0, 1e10, 1e18, 1e30]
TOL = {"normal": 1e-6, "lognormal": 1e-6, "gamma": 1e-6, "exponential": 1e-6,
       "laplace": 1e-6, "cauchy": 1e-5, "logistic": 1e-5, "student_t": 1e-5, "poisson": 1e-6,
       "binomial": 1e-6}


def lin(name, lo, hi, k=7):
    return f"{name}={lo!r}:{hi!r}:{k}"


def logs(name, lo, hi, k=7):
    return f"{name}=log:{lo!r}:{hi!r}:{k}"


def cases():
    """(label, family, sample spec, grid specs)."""
    out = []
    for s in SCALES:
        for ratio in (0.0, 1e6):
            m = ratio * s
            tag = f"scale {s:g}" + (f", mean/sd {ratio:g}" if ratio else "")
            loc = lambda name: lin(name, m - 0.6 * s, m + 0.6 * s)
            spread = lambda name: logs(name, 0.5 * s, 2.0 * s)
            out.append((tag, "normal", f"normal(mu={m!r}, sigma={s!r})", [loc("mu"), spread("sigma")]))
            out.append((tag, "laplace", f"laplace(mu={m!r}, scale={s!r})", [loc("mu"), spread("scale")]))
            out.append((tag, "cauchy", f"cauchy(mu={m!r}, scale={s!r})", [loc("mu"), spread("scale")]))
            out.append((tag, "logistic", f"logistic(mu={m!r}, scale={s!r})", [loc("mu"), spread("scale")]))
            out.append((tag, "student_t", f"student_t(nu=5, mu={m!r}, sigma={s!r})",
                        ["nu=5", loc("mu"), spread("sigma")]))
        ln = math.log(s)
        out.append((f"scale {s:g}", "lognormal", f"lognormal(mu={ln!r}, sigma=0.5)",
                    [lin("mu", ln - 0.3, ln + 0.3), logs("sigma", 0.25, 1.0)]))
        out.append((f"scale {s:g}", "gamma", f"gamma(shape=2, rate={1 / s!r})",
                    [logs("shape", 1.0, 4.0), logs("rate", 0.5 / s, 2.0 / s)]))
        out.append((f"scale {s:g}", "exponential", f"exponential(rate={1 / s!r})",
                    [logs("rate", 0.5 / s, 2.0 / s, 13)]))
    # Spread tiny against the location (|mean|/sd = 1e6) for the positive families.
    out.append(("cv 1e-6", "lognormal", "lognormal(mu=3, sigma=1e-6)",
                [lin("mu", 3 - 6e-7, 3 + 6e-7), logs("sigma", 5e-7, 2e-6)]))
    out.append(("cv 1e-6", "gamma", "gamma(shape=1e12, rate=1e12)",
                [logs("shape", 5e11, 2e12), logs("rate", 5e11, 2e12)]))
    out.append(("cv 1e-7", "gamma", "gamma(shape=1e14, rate=1e14)",
                [logs("shape", 5e13, 2e14), logs("rate", 5e13, 2e14)]))
    # The family kernels at the ends of their own domains.
    out.append(("nu 1..1e8", "student_t", "normal(mu=0, sigma=1)",
                ["nu=log:1:1e8:33", "mu=0", "sigma=1"]))
    out.append(("counts 1e6", "poisson", "poisson(rate=1e6)", [lin("rate", 0.998e6, 1.002e6, 21)]))
    out.append(("counts 1e12", "poisson", "poisson(rate=1e12)",
                [lin("rate", 1e12 - 5e3, 1e12 + 5e3, 21)]))
    out.append(("trials 1e15", "binomial", "binomial(trials=1e15, p=0.3)",
                ["trials=1e15", lin("p", 0.3 - 1e-7, 0.3 + 1e-7, 21)]))
    out.append(("trials 2^32+1", "binomial", "binomial(trials=4294967297, p=0.3)",
                ["trials=4294967297", lin("p", 0.3 - 1e-5, 0.3 + 1e-5, 21)]))
    return out


def run(klgrid, family, spec, grid, n, backend, extra=()):
    args = [klgrid, "sweep", "--family", family, "--sample", spec, "-n", str(n), "--seed", "7",
            "--format", "json", "-q"]
    for g in grid:
        args += ["--grid", g]
    args += ["--backend", backend, *extra]
    p = subprocess.run(args, capture_output=True, text=True)
    err = "\n".join(l for l in p.stderr.splitlines() if "XDG_RUNTIME_DIR" not in l)
    doc = json.loads(p.stdout) if p.returncode in (0, 3) and p.stdout.strip() else None
    return p.returncode, doc, err


def mean_logliks(doc):
    return [pt["mean_loglik"] for pt in doc["points"]]


def compare(doc, ref, tol):
    a, b = mean_logliks(doc), mean_logliks(ref)
    worst = 0.0
    for x, y in zip(a, b):
        if (x is None) != (y is None):
            return False, "support mismatch"
        if x is None:
            continue
        worst = max(worst, abs(x - y) / max(abs(y), 1.0))
    ib, rb = doc["best"], ref["best"]
    if (ib is None) != (rb is None):
        return False, "best point missing on one path"
    if ib is not None and ib["index"] != rb["index"]:
        # A near-tie within the tolerance is not a different answer.
        vi, vr = b[ib["index"]], b[rb["index"]]
        if abs(vi - vr) > tol * max(abs(vr), 1.0):
            return False, f"best {ib['index']} vs {rb['index']}"
    if worst > tol:
        return False, f"max rel diff {worst:.2e} > {tol:g}"
    return True, f"max rel diff {worst:.2e}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--klgrid", default="target/release/klgrid")
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--only", default="", help="run only the cases whose family or label contains this")
    args = ap.parse_args()
    bad = ok = refused = 0
    for tag, fam, spec, grid in cases():
        if args.only and args.only not in fam and args.only not in tag:
            continue
        code, ref, err = run(args.klgrid, fam, spec, grid, args.n, "cpu-ref")
        if code != 0:
            print(f"{fam:12} {tag:28} cpu-ref exit {code}: {err.strip()[:120]}")
            refused += 1
            continue
        for backend in ("auto", "cpu"):
            code, doc, err = run(args.klgrid, fam, spec, grid, args.n, backend)
            if code == 2:
                refused += 1
                print(f"{fam:12} {tag:28} {backend:5} refused: {err.strip()[:120]}")
                continue
            if code != 0:
                bad += 1
                print(f"{fam:12} {tag:28} {backend:5} FAILED exit {code}: {err.strip()[:120]}")
                continue
            good, why = compare(doc, ref, TOL[fam])
            cond = doc["primary_conditioning"] if "primary_conditioning" in doc else doc.get("conditioning")
            note = f" conditioning {json.dumps(cond)}" if cond else ""
            if good:
                ok += 1
                print(f"{fam:12} {tag:28} {backend:5} ok   {why}{note}")
            else:
                bad += 1
                print(f"{fam:12} {tag:28} {backend:5} WRONG {why}{note}")
    print(f"\n{ok} agree, {refused} refused with a message, {bad} silent wrong answers")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
