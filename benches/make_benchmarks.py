#!/usr/bin/env python3
"""Regenerates the measured section of BENCHMARKS.md: klgrid gpu / cpu / cpu-ref against NumPy
and JAX on the same job, on this machine.

    python3 benches/make_benchmarks.py            # full job (n = 4,000,000, 64×64 grid)
    python3 benches/make_benchmarks.py -n 400000  # a quicker look

It builds the release binary, runs `klgrid bench` (all paths in one process, same data), then
benches/peers.py for NumPy and JAX (each in its own process, same job), and rewrites the part of
BENCHMARKS.md between the `generated:local` markers. Other sections (e.g. H200 runs recorded
from the device machine) are kept.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- generated:local begin -->"
END = "<!-- generated:local end -->"


def sh(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, **kw).stdout


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(l for l in open("/proc/meminfo") if l.startswith("MemTotal"))
        mem_gib = int(mem.split()[1]) / (1 << 20)
    except (OSError, StopIteration):
        mem_gib = float("nan")
    return f"{model}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {platform.system()} {platform.release()}"


def fmt(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=4_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    env = dict(os.environ, XDG_RUNTIME_DIR=os.environ.get("XDG_RUNTIME_DIR", "/tmp"))
    sh(["cargo", "build", "--release", "--quiet"], env=env)
    klgrid = os.path.join(ROOT, "target", "release", "klgrid")
    bench_cmd = [
        klgrid, "bench", "--family", "normal", "--sample", "normal(mu=1.5,sigma=2)",
        "-n", str(args.n), "--seed", "1", "--grid", "mu=0:3:64", "--grid", "sigma=1:3:64",
        "--repeat", str(args.repeat), "--format", "json",
    ]
    print("running klgrid bench ...", file=sys.stderr)
    bench = json.loads(sh(bench_cmd, env=env))
    print("running klgrid bench --strategy suffstats ...", file=sys.stderr)
    suff = json.loads(sh(bench_cmd[:-2] + ["--strategy", "suffstats", "--backends", "gpu,cpu", "--format", "json"], env=env))
    # The sufficient-statistics acceptance job: a 10⁶-point grid against a 2×2 grid over
    # 20,000,000 samples, whole command wall time (drawing the data and the table included),
    # median of three runs each.
    timing = {}
    for label, axes in [("1000x1000", ["mu=0:3:1000", "sigma=1:3:1000"]), ("2x2", ["mu=0:3:2", "sigma=1:3:2"])]:
        cmd = [klgrid, "sweep", "--family", "normal", "--sample", "normal(mu=1.5,sigma=2)", "-n", "20000000",
               "--grid", axes[0], "--grid", axes[1], "--out", "/dev/null"]
        runs = []
        for _ in range(3):
            t0 = datetime.datetime.now()
            sh(cmd, env=env)
            runs.append((datetime.datetime.now() - t0).total_seconds())
        timing[label] = sorted(runs)[1]
    peers = []
    for peer in ["numpy", "jax"]:
        print(f"running {peer} ...", file=sys.stderr)
        out = sh([sys.executable, "benches/peers.py", "--peer", peer, "-n", str(args.n), "--repeat", "3"], env=env)
        peers.append(json.loads(out.strip().splitlines()[-1]))

    jax = next((p for p in peers if p["peer"] == "jax" and p.get("available")), None)
    cpu = next((r for r in bench["results"] if r["backend"] == "cpu"), None)
    rows = []
    for r in bench["results"]:
        e = r["evals_per_s"]
        rows.append([
            f"klgrid {r['backend']}",
            r.get("adapter") or "CPU",
            f"{e['median']:.3g} ({e['min']:.3g}–{e['max']:.3g})",
            f"{r['seconds']['median']:.3f}",
            f"{r['device_seconds']['median']:.3f}" if r.get("device_seconds") else "–",
            f"{e['median'] / cpu['evals_per_s']['median']:.2f}×" if cpu else "–",
            f"{e['median'] / jax['evals_per_s']['median']:.2f}×" if jax else "–",
            f"{r['max_rel_diff']:.1e}" if r.get("max_rel_diff") is not None else "–",
            f"{bench['peak_rss_bytes'] / (1 << 20):.0f} MiB (process, all paths)" if bench.get("peak_rss_bytes") else "–",
        ])
    for r in suff["results"]:
        e = r["evals_per_s"]
        rows.append([
            f"klgrid {r['backend']} suffstats",
            r.get("adapter") or "CPU",
            f"{e['median']:.3g} ({e['min']:.3g}–{e['max']:.3g}) effective",
            f"{r['seconds']['median']:.3f}",
            "–",
            f"{e['median'] / cpu['evals_per_s']['median']:.2f}×" if cpu else "–",
            f"{e['median'] / jax['evals_per_s']['median']:.2f}×" if jax else "–",
            "–",
            f"{suff['peak_rss_bytes'] / (1 << 20):.0f} MiB (process)" if suff.get("peak_rss_bytes") else "–",
        ])
    for p in peers:
        if not p.get("available"):
            rows.append([p["peer"], p.get("why", "not installed")] + ["–"] * 7)
            continue
        e = p["evals_per_s"]
        rows.append([
            f"{p['peer']} {p['version']}",
            "CPU",
            f"{e['median']:.3g} ({e['min']:.3g}–{e['max']:.3g})",
            f"{p['seconds']['median']:.3f}",
            "–",
            f"{e['median'] / cpu['evals_per_s']['median']:.2f}×" if cpu else "–",
            f"{e['median'] / jax['evals_per_s']['median']:.2f}×" if jax else "–",
            f"{p['max_rel_diff_vs_f64']:.1e}",
            f"{p['peak_rss_bytes'] / (1 << 20):.0f} MiB",
        ])

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = sh(["git", "rev-parse", "--short", "HEAD"]).strip()
    lines = [
        BEGIN,
        f"Measured {date} at commit `{commit}` on {machine()}.",
        "",
        "Job: normal family, n = {:,} samples of normal(1.5, 2), 64×64 grid (μ ∈ [0, 3], σ ∈ [1, 3]): "
        "{:.3g} evaluations per run. Command (regenerates this section):".format(args.n, bench["evaluations_per_run"]),
        "",
        "```sh",
        "python3 benches/make_benchmarks.py" + ("" if args.n == 4_000_000 else f" -n {args.n}"),
        "```",
        "",
        "which runs `" + " ".join(a if " " not in a and "(" not in a else f"'{a}'" for a in ["klgrid"] + bench_cmd[1:]) + "`"
        " and `python3 benches/peers.py --peer numpy|jax`.",
        "",
        "| path | device | evaluations/s median (min–max) | s/run | device s | vs klgrid cpu | vs JAX | max rel diff vs f64 | peak memory |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += [
        "",
        "klgrid runs each path after one warm-up (cpu-ref: one run, nothing to warm up); evaluations/s ="
        " n · grid points / wall seconds of the evaluation (data preparation, kernel, host assembly;"
        " not the data draw or shader compilation). Peers evaluate the same split per sample per grid"
        " point in f32 (see benches/peers.py); their max rel diff is against an f64 NumPy evaluation."
        " The suffstats rows are the same job by sufficient statistics (`--strategy suffstats`: one pass"
        " for Σx − x̄ and Σ(x − x̄)², then O(1) per grid point); their evaluations/s are effective"
        " (n · grid points / seconds); their agreement with cpu-ref is checked by `tests/suffstats.rs`.",
        "",
        "Sufficient statistics at scale, whole command wall time (median of 3) including drawing"
        " 20,000,000 samples and writing the table (`klgrid sweep --family normal --sample"
        " 'normal(mu=1.5,sigma=2)' -n 20000000 --grid mu=0:3:1000 --grid sigma=1:3:1000 --out"
        " /dev/null`, strategy auto = suffstats):"
        f" 10⁶ grid points {timing['1000x1000']:.2f} s, the same with a 2×2 grid {timing['2x2']:.2f} s"
        f" (ratio {timing['1000x1000'] / timing['2x2']:.2f}); effective"
        f" {20e6 * 1e6 / timing['1000x1000']:.3g} evaluations/s.",
        END,
    ]
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN not in text:
        text += "\n" + BEGIN + "\n" + END + "\n"
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: "\n".join(lines), text, flags=re.S)
    open(path, "w").write(text)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
