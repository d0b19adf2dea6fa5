#!/usr/bin/env bash
# Issue 16's acceptance run: klgrid's intervals, MLEs and standard errors against SciPy's profile
# likelihood and iminuit MINOS/HESSE on fresh data (every family's --sample spec, n = 10^4,
# coarse grids; the gamma on 61x51; Poisson(50) at n = 10^6 and 2*10^6 on --strategy direct, gpu
# and cpu). Needs `pip install iminuit scipy numpy`; pass --skip-gpu without an adapter, and
# --seed S to repeat a run. Takes a few minutes (the reference's 5-parameter mixture dominates).
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
exec python3 tests/data/intervals_reference.py acceptance "$@"
