#!/usr/bin/env python3
"""Regenerates the measured section of BENCHMARKS.md: klgrid gpu / cpu / cpu-ref against NumPy
and JAX on the same job, on this machine.

    python3 benches/make_benchmarks.py            # full job (n = 4,000,000, 64×64 grid)
    python3 benches/make_benchmarks.py -n 400000  # a quicker look

It builds the release binary, runs `klgrid bench` (all paths in one process, same data), then
benches/peers.py for NumPy and JAX (each in its own process, same job), and rewrites the part of
BENCHMARKS.md between the `generated:local` markers. Other sections (e.g. H200 runs recorded
from the device machine) are kept.

    python3 benches/make_benchmarks.py --families            # the per-family table (long: ~40 min)
    python3 benches/make_benchmarks.py --families --only cauchy,logistic   # rerun some families
    python3 benches/make_benchmarks.py --families --table-only             # re-render from the JSON

The per-family job: for each of the 17 families, n = 4,000,000 samples drawn with NumPy from the
family's spec (benches/peers.py families()) and written to a .npy file that klgrid and the peers
all read, and a 4,096-point grid. It runs `klgrid bench --data FILE --backends gpu,cpu` at n,
`klgrid bench --backends gpu,cpu,cpu-ref --repeat 1` on the first --ref-n samples (cpu-ref is
slow: ~10⁷ evaluations/s for the transcendental kernels), the best JAX form at n and NumPy on the
first --numpy-n samples, saves everything in --json (merged per family, so --only reruns keep the
others), and rewrites the section between the `generated:families` markers.
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


FAM_BEGIN = "<!-- generated:families begin -->"
FAM_END = "<!-- generated:families end -->"
TRANSCENDENTAL = {"weibull", "cauchy", "student_t", "logistic", "normal_mixture"}


def replace_section(begin, end, lines):
    """Rewrites the part of BENCHMARKS.md between two markers (appending them if absent)."""
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if begin not in text:
        text += "\n" + begin + "\n" + end + "\n"
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: "\n".join(lines), text, flags=re.S)
    open(path, "w").write(text)


def run_json(cmd, env, timeout):
    """Runs a command that prints JSON (the peers: one object on the last line); a dict with the
    error if it fails, so that one failing family does not stop the run."""
    try:
        out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, env=env, timeout=timeout).stdout
        return json.loads(out.strip().splitlines()[-1]) if out.lstrip().startswith('{"peer') else json.loads(out)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    except subprocess.CalledProcessError as e:
        lines = (e.stderr or e.stdout or "").strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {e.returncode}"}
    except (json.JSONDecodeError, IndexError) as e:
        return {"error": f"unreadable output: {e}"}


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return None


def families_run(args, env):
    """Runs the per-family job and returns (and saves in args.json) everything measured."""
    import tempfile

    import numpy as np

    sys.path.insert(0, os.path.join(ROOT, "benches"))
    import peers

    fams = peers.families()
    names = args.only.split(",") if args.only else peers.FAMILY_NAMES
    for nm in names:
        if nm not in fams:
            sys.exit(f"unknown family {nm!r} (known: {', '.join(peers.FAMILY_NAMES)})")
    store = json.load(open(args.json)) if os.path.exists(args.json) else {"families": {}}
    store.update(
        machine=machine(),
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        commit=sh(["git", "rev-parse", "--short", "HEAD"]).strip(),
        load_before=loadavg(),
        n=args.n, ref_n=args.ref_n, numpy_n=args.numpy_n, repeat=args.repeat,
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    klgrid = os.path.join(ROOT, "target", "release", "klgrid")
    with tempfile.TemporaryDirectory(prefix="klgrid-families-") as tmp:
        for nm in names:
            fam = fams[nm]
            print(f"{nm}: drawing {args.n:,} samples ...", file=sys.stderr)
            x = fam["draw"](np.random.default_rng(args.seed), args.n).astype(np.float64)
            files = {}
            for label, m in [("full", args.n), ("ref", args.ref_n), ("numpy", args.numpy_n)]:
                files[label] = os.path.join(tmp, f"{nm}-{label}.npy")
                np.save(files[label], x[: min(m, x.size)])
            grid = peers.grid_flags(fam)
            rec = {"spec": fam["spec"], "grid": grid, "class": "transcendental" if nm in TRANSCENDENTAL else "polynomial"}
            bench = [klgrid, "bench", "--family", nm, "--quiet", *grid, "--format", "json"]
            print(f"{nm}: klgrid bench gpu,cpu ...", file=sys.stderr)
            rec["bench"] = run_json(bench + ["--data", files["full"], "--backends", "gpu,cpu", "--repeat", str(args.repeat)], env, args.timeout)
            print(f"{nm}: klgrid bench gpu,cpu,cpu-ref on {args.ref_n:,} samples ...", file=sys.stderr)
            rec["bench_ref"] = run_json(bench + ["--data", files["ref"], "--backends", "gpu,cpu,cpu-ref", "--repeat", "1", "--ref-repeat", "1"], env, args.timeout)
            for peer, f, rep in [("jax", files["full"], args.repeat), ("numpy", files["numpy"], 1)]:
                print(f"{nm}: {peer} ...", file=sys.stderr)
                rec[peer] = run_json([sys.executable, "benches/peers.py", "--peer", peer, "--family", nm, "--data", f, "--repeat", str(rep)], env, args.timeout)
            store["families"][nm] = rec
            with open(args.json, "w") as fh:
                json.dump(store, fh, indent=1)
            print(f"{nm}: {summary(rec)}", file=sys.stderr)
    store["load_after"] = loadavg()
    with open(args.json, "w") as fh:
        json.dump(store, fh, indent=1)
    return store


def path_result(bench, backend):
    if not isinstance(bench, dict) or "results" not in bench:
        return None
    return next((r for r in bench["results"] if r["backend"] == backend), None)


def rate(r):
    return r["evals_per_s"]["median"] if r and r.get("evals_per_s") else None


def peer_result(rec, peer):
    p = rec.get(peer)
    return p if isinstance(p, dict) and p.get("available") else None


def summary(rec):
    cpu, gpu = rate(path_result(rec.get("bench"), "cpu")), rate(path_result(rec.get("bench"), "gpu"))
    jax = rate(peer_result(rec, "jax"))
    f = lambda label, v: f"{label} {v:.3g}" if v else f"{label} –"
    return ", ".join([f("cpu", cpu), f("gpu", gpu), f("jax", jax)])


def families_table(store):
    """The per-family section of BENCHMARKS.md from the measurements."""
    g = lambda v: f"{v:.3g}" if v else "–"
    ratio = lambda a, b: f"{a / b:.2f}×" if a and b else "–"
    diff = lambda r: f"{r['max_rel_diff']:.1e}" if r and r.get("max_rel_diff") is not None else "–"
    sys.path.insert(0, os.path.join(ROOT, "benches"))
    import peers

    fams = store["families"]
    rows, fails, errors = [], [], []
    for nm in [f for f in peers.FAMILY_NAMES if f in fams]:
        rec = fams[nm]
        b, br = rec.get("bench"), rec.get("bench_ref")
        for part in ("bench", "bench_ref", "jax", "numpy"):
            if isinstance(rec.get(part), dict) and rec[part].get("error"):
                errors.append(f"{nm} {part}: {rec[part]['error']}")
        cpu, gpu = path_result(b, "cpu"), path_result(b, "gpu")
        ref, cpu_small, gpu_small = path_result(br, "cpu-ref"), path_result(br, "cpu"), path_result(br, "gpu")
        jax, npy = peer_result(rec, "jax"), peer_result(rec, "numpy")
        c, gp, j = rate(cpu), rate(gpu), rate(jax)
        if not (c and gp and c >= gp):
            fails.append(f"{nm} cpu < gpu")
        if not (c and j and c >= 2 * j):
            fails.append(f"{nm} cpu < 2× JAX")
        rows.append([
            f"`{nm}`", rec["class"], g(c), g(gp), g(rate(ref)), g(j), g(rate(npy)),
            ratio(c, gp), ratio(c, j), f"{diff(cpu_small)} / {diff(gpu_small)}",
            (jax or {}).get("form", "–").replace(" x ", " × "),
        ])
    normal = rate(path_result(fams.get("normal", {}).get("bench"), "cpu"))
    gpu_name = next((r.get("adapter") for rec in fams.values() for r in [path_result(rec.get("bench"), "gpu")] if r), None)
    lines = [
        FAM_BEGIN,
        f"Measured {store['date']} at commit `{store['commit']}` on {store['machine']}; load average"
        f" {' '.join(store.get('load_before') or ['?'])} before, {' '.join(store.get('load_after') or ['?'])} after"
        f"{'' if not gpu_name else '; gpu: ' + gpu_name}.",
        "",
        f"Job per family: n = {store['n']:,} samples drawn from the family's spec (one .npy file read by klgrid"
        " and the peers alike), a 4,096-point grid bracketing the truth (`benches/peers.py` has the specs"
        " and grids, the JSON the `--grid` flags); evaluations/s = n · 4,096 / wall seconds, median of"
        f" {store['repeat']} runs after a warm-up. cpu-ref: the first {store['ref_n']:,} samples, one run"
        f" (it is the f64 oracle, not a fast path). NumPy: the first {store['numpy_n']:,} samples, one run"
        " after a warm-up. Best JAX: the fastest of lax.scan over chunks of 500–4,000 samples against the"
        " whole grid and lax.map over grid points — and for weibull also klgrid's own factoring of eᵘ"
        " (e^(k·ln x) once per sample and shape) — chosen per family on a tenth of the data (the form is"
        f" in the last column). Max rel diff: cpu / gpu against cpu-ref on the first {store['ref_n']:,}"
        " samples (relative to max(|mean log-likelihood|, 1); the tolerance is 1e-6 for polynomial and"
        " 1e-5 for transcendental kernels). Command (regenerates this section and"
        " `target/families-bench.json`):",
        "",
        "```sh",
        "python3 benches/make_benchmarks.py --families",
        "```",
        "",
        "| family | kernel | cpu | gpu | cpu-ref | best JAX | NumPy | cpu / gpu | cpu / JAX | max rel diff cpu / gpu | JAX form |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    met = "all met" if not fails else "not met: " + "; ".join(fails)
    lines += [
        "",
        f"Acceptance — cpu ≥ 1.0× gpu and ≥ 2× the best JAX form for every family: {met}. Normal on cpu:"
        f" {g(normal)} evaluations/s (target ≥ 3.0·10¹⁰ on the project's AVX-512 machine).",
    ]
    if errors:
        lines += ["", "Failed runs: " + "; ".join(errors) + "."]
    lines.append(FAM_END)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=4_000_000)
    ap.add_argument("--repeat", type=int, default=None, help="timed runs per path (default 5; 3 with --families)")
    ap.add_argument("--families", action="store_true", help="the per-family table instead of the normal-family one")
    ap.add_argument("--only", help="with --families: comma-separated families to (re)run")
    ap.add_argument("--ref-n", type=int, default=100_000, help="with --families: samples for cpu-ref (default 100,000)")
    ap.add_argument("--numpy-n", type=int, default=400_000, help="with --families: samples for NumPy (default 400,000)")
    ap.add_argument("--seed", type=int, default=1, help="with --families: seed of the data")
    ap.add_argument("--timeout", type=int, default=3600, help="with --families: seconds allowed per command")
    ap.add_argument("--json", default=os.path.join(ROOT, "target", "families-bench.json"),
                    help="with --families: where the measurements are kept (default target/families-bench.json)")
    ap.add_argument("--table-only", action="store_true", help="with --families: re-render the section from --json")
    args = ap.parse_args()
    if args.families:
        args.repeat = args.repeat or 3
        env = dict(os.environ, XDG_RUNTIME_DIR=os.environ.get("XDG_RUNTIME_DIR", "/tmp"))
        if args.table_only:
            store = json.load(open(args.json))
        else:
            sh(["cargo", "build", "--release", "--quiet"], env=env)
            store = families_run(args, env)
        lines = families_table(store)
        replace_section(FAM_BEGIN, FAM_END, lines)
        print("\n".join(lines))
        return 0
    args.repeat = args.repeat or 5

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
