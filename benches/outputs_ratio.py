#!/usr/bin/env python3
"""Issue 15's acceptance figure for the big-grid outputs, by hand (a minute or two, not part of
the test suite): the whole command

    klgrid sweep --family normal --sample 'normal(mu=1.5,sigma=2)' -n 20000000 \\
        --grid mu=0:3:1000 --grid sigma=1:3:1000 --strategy suffstats --format F --out FILE

(10⁶ grid points) against the same command on a 2×2 grid, for F = json, npz, parquet (and
table, with no per-point output, for reference). The runs alternate — every format's 10⁶-point
and 2×2 commands one after the other, round after round — so that a machine shared with other
work loads both sides of a ratio alike; each ratio is of the medians. Wall time of the whole
process, including drawing the samples and writing the file; its CPU time (user + system, all
threads) too, which a loaded machine inflates less.

Each timed command writes a new file: the previous round's output is removed before it, untimed.
With --replace it is left in place, so the command replaces it — and the filesystem's freeing of
the old file's blocks at the rename (25–55 ms for a 41 MB file on this machine's ext4) is timed
with it.

Usage: cargo build --release && python3 benches/outputs_ratio.py [--repeat 5]
       [--backend cpu|gpu|auto] [--formats json,npz,parquet,table] [--replace] [--klgrid PATH]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = {"json": 2.0, "npz": 1.3, "parquet": 1.3, "table": None}


def command(klgrid, points, fmt, out, backend):
    return [
        klgrid, "sweep", "--family", "normal", "--sample", "normal(mu=1.5,sigma=2)",
        "-n", "20000000", "--grid", f"mu=0:3:{points}", "--grid", f"sigma=1:3:{points}",
        "--strategy", "suffstats", "--backend", backend, "-q", "--format", fmt, "--out", out,
    ]


def run(cmd):
    """(wall seconds, CPU seconds: user + system) of one run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)}: exit status {os.waitstatus_to_exitcode(status)}")
    return wall, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--formats", default="json,npz,parquet,table")
    ap.add_argument("--replace", action="store_true",
                    help="time each command replacing the previous round's output")
    ap.add_argument("--klgrid", default=os.path.join(ROOT, "target", "release", "klgrid"))
    a = ap.parse_args()
    formats = a.formats.split(",")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    load0 = os.getloadavg()
    times = {(f, p): [] for f in formats for p in (1000, 2)}
    with tempfile.TemporaryDirectory() as d:
        # One warm-up of each side (page cache, lavapipe's shader cache with --backend gpu).
        for p in (1000, 2):
            run(command(a.klgrid, p, "npz", os.path.join(d, "w.npz"), a.backend))
        for r in range(a.repeat):
            for f in formats:
                for p in (1000, 2):
                    out = os.path.join(d, f"x{p}.{f}")
                    if not a.replace and os.path.exists(out):
                        os.remove(out)
                    times[(f, p)].append(run(command(a.klgrid, p, f, out, a.backend)))
            print(f"round {r + 1}/{a.repeat} done", file=sys.stderr)
    load1 = os.getloadavg()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, "
          f"--backend {a.backend}, {a.repeat} alternating rounds, "
          f"{'replacing the previous output' if a.replace else 'new output files'}; load average "
          f"{' '.join(f'{x:.2f}' for x in load0)} before, "
          f"{' '.join(f'{x:.2f}' for x in load1)} after")
    print()
    print("| format | 10⁶ points, s | 2×2, s | ratio (medians) | target | CPU s, 10⁶ / 2×2 "
          "(medians) | CPU ratio |")
    print("|---|---|---|---|---|---|---|")
    med = statistics.median
    for f in formats:
        big, small = times[(f, 1000)], times[(f, 2)]
        ratio = med([w for w, _ in big]) / med([w for w, _ in small])
        cb, cs = med([c for _, c in big]), med([c for _, c in small])
        target = TARGETS.get(f)
        verdict = "–" if target is None else (
            f"≤ {target}× — {'met' if ratio <= target else 'not met'}")
        print(f"| {f} | {', '.join(f'{w:.2f}' for w, _ in sorted(big))} "
              f"| {', '.join(f'{w:.2f}' for w, _ in sorted(small))} | {ratio:.2f}× | {verdict} "
              f"| {cb:.2f} / {cs:.2f} | {cb / cs:.2f}× |")


if __name__ == "__main__":
    main()
