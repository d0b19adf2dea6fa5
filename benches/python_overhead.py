"""Overhead of the Python binding: `klgrid.sweep` on a NumPy array against the command.

    python benches/python_overhead.py [--repeat 5] [--backends gpu,cpu]
                                      [--strategies direct,suffstats] [--cli target/release/klgrid]

Job (issue 14's acceptance): the normal family, 4,000,000 float32 samples of normal(1.5, 2)
(NumPy, seed 1), a 64×64 grid (mu 0:3, sigma 1:3). For each backend and strategy:

- the command, `klgrid sweep --family normal --data x.npy --grid mu=0:3:64 --grid sigma=1:3:64
  --backend B --strategy S --format json --out /dev/null`-like (JSON parsed from stdout), run
  `repeat` times: its `timings.eval_s` (the evaluation: preparation, kernels, host assembly)
  and the process's wall time;
- `klgrid.sweep("normal", x, grid=..., backend=B, strategy=S)` on the float32 array, one
  warm-up call (the session compiles its kernels once), then `repeat` timed calls: the wall
  time of the whole call (argument conversion, widening float32 → float64, checks, evaluation,
  analysis, the JSON head, the arrays) and its own `timings.eval_s`.

Runs alternate (command, then Python), so that a shared machine's load drifts alike for both.
Prints a Markdown table of medians: the command's eval_s and process wall time; the Python
call's wall time, its eval_s and analysis_s (the part of the analysis done in the call:
entropy, KL, identity; the MLE, intervals and errors are computed on first access to them, timed
apart as "first .mle" and not part of the call), and the binding's own share (the
call's wall time less its data, engine and analysis phases); the ratio of the call to the
command's eval_s (the issue's criterion, ≤ 1.1) and the same without the analysis. Needs the klgrid package installed
(`pip install ./python`) and the command built (`cargo build --release`).
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import klgrid

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backends", default="gpu,cpu")
    ap.add_argument("--strategies", default="direct,suffstats")
    ap.add_argument("--cli", default=str(ROOT / "target" / "release" / "klgrid"))
    ap.add_argument("-n", type=int, default=4_000_000)
    args = ap.parse_args()

    x = np.random.default_rng(1).normal(1.5, 2.0, args.n).astype(np.float32)
    grid = {"mu": (0, 3, 64), "sigma": (1, 3, 64)}
    cli_grid = ["--grid", "mu=0:3:64", "--grid", "sigma=1:3:64"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "x.npy"
        np.save(path, x)
        for backend in args.backends.split(","):
            if backend == "gpu" and not klgrid.adapters():
                print("no GPU adapter: leaving out gpu", file=sys.stderr)
                continue
            for strategy in args.strategies.split(","):
                cli_eval, cli_wall = [], []
                py_wall, py_eval, py_analysis, py_binding, py_complete = [], [], [], [], []
                klgrid.sweep("normal", x, grid=grid, backend=backend, strategy=strategy)
                # Interleaved, so that the load of a shared machine drifts alike for both.
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    p = subprocess.run(
                        [args.cli, "sweep", "--family", "normal", "--data", str(path), *cli_grid,
                         "--backend", backend, "--strategy", strategy, "--format", "json",
                         "--quiet"],
                        capture_output=True, text=True, check=True)
                    cli_wall.append(time.perf_counter() - t0)
                    cli_eval.append(json.loads(p.stdout)["timings"]["eval_s"])
                    t0 = time.perf_counter()
                    s = klgrid.sweep("normal", x, grid=grid, backend=backend, strategy=strategy)
                    wall = time.perf_counter() - t0
                    py_wall.append(wall)
                    py_eval.append(s.timings["eval_s"])
                    py_analysis.append(s.phases["analysis_s"])
                    py_binding.append(wall - sum(s.phases.values()))
                    t0 = time.perf_counter()
                    s.mle  # the rest of the analysis, on first access (not in the call)
                    py_complete.append(time.perf_counter() - t0)
                med = statistics.median
                rows.append((backend, s.strategy, med(cli_eval), med(cli_wall), med(py_wall),
                             med(py_eval), med(py_analysis), med(py_binding), med(py_complete)))
    print(f"normal, n = {args.n:,} float32 samples, 64×64 grid, median of {args.repeat} runs;"
          f" adapter: {klgrid.adapters()[0]['label'] if klgrid.adapters() else 'none'}")
    print()
    print("| backend | strategy | command eval_s | command process | sweep() wall | its eval_s "
          "| its analysis_s | binding | sweep() / command eval_s | (sweep() − analysis) / "
          "command eval_s | first .mle (rest of the analysis) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for b, st, ce, cw, pw, pe, pa, pb, pc in rows:
        print(f"| {b} | {st} | {ce:.3f} | {cw:.3f} | {pw:.3f} | {pe:.3f} | {pa:.3f} | "
              f"{1e3 * pb:.1f} ms | {pw / ce:.2f} | {(pw - pa) / ce:.2f} | {pc:.3f} |")

if __name__ == "__main__":
    main()
