#!/usr/bin/env bash
# Issue 13 acceptance, by hand (minutes, not part of the test suite): for normal (.f64), poisson
# (text) and gamma (.npy column), n = 10^7 (N=... to change), on --backend gpu and cpu: one
# process, --shard 1/3..3/3 merged, --grid-shard 1/4..4/4 merged, mpirun -n 2 and -n 3 with both
# splits, and two devices on one adapter (--adapter 0,0, both device splits); every JSON `points`
# array is compared byte for byte with the single process's. Then peak RSS per rank of a
# 10^8-sample file over 3 ranks against one process (/usr/bin/time -v).
#
# Needs: python3 with numpy, OpenMPI (mpirun), /usr/bin/time, and
#   cargo build --release --features mpi
# Usage: bash benches/scale_acceptance.sh [WORKDIR]   (N=... BIG=... to change the sizes)
set -euo pipefail
K="$(cd "$(dirname "$0")/.." && pwd)/target/release/klgrid"
W="${1:-/tmp/klgrid-scale-acceptance}"
N="${N:-10000000}"
BIG="${BIG:-100000000}"
MPI="mpirun --allow-run-as-root --oversubscribe"
mkdir -p "$W"; cd "$W"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$W}"
python3 - "$N" <<'PY'
import sys, numpy as np
n = int(sys.argv[1]); rng = np.random.default_rng(13)
rng.normal(1.5, 2.0, n).astype('<f8').tofile('normal.f64')
with open('poisson.txt', 'w') as f:
    f.write('# counts\ncount\n'); np.savetxt(f, rng.poisson(3.5, n), fmt='%d')
np.save('gamma.npy', np.column_stack([np.arange(n), rng.gamma(2.0, 1/3.0, n)]).astype('<f4'))
PY
pts() { python3 -c "import sys; s=open(sys.argv[1]).read(); sys.stdout.write(s[s.index('\"points\": ['):])" "$1"; }
same() { if [ "$(pts "$1" | md5sum)" = "$(pts "$2" | md5sum)" ]; then echo identical; else echo DIFFERENT; fi; }
declare -A DATA=(
  [normal]="--data normal.f64 --family normal --grid mu=1:2:32 --grid sigma=1.5:2.5:32 --strategy direct"
  [poisson]="--data poisson.txt --family poisson --grid rate=3:4:101 --strategy direct"
  [gamma]="--data gamma.npy --column 1 --family gamma --grid shape=1.5:2.5:32 --grid rate=2.5:3.5:32 --strategy direct"
)
printf '%-8s %-4s %-28s %-10s %s\n' family path variant points seconds
for fam in normal poisson gamma; do
  for be in gpu cpu; do
    J="${DATA[$fam]} --backend $be -q --format json"
    t() { local s=$(date +%s.%N); "$@" 2>>log.txt; echo "$(date +%s.%N) - $s" | bc; }
    s=$(t $K sweep $J --out single.json); printf '%-8s %-4s %-28s %-10s %s\n' $fam $be single - $s
    s=$( { t bash -c "for i in 1 2 3; do $K sweep $J --shard \$i/3 --partials-out d\$i.klp; done; $K merge d3.klp d1.klp d2.klp --format json --out m.json"; } )
    printf '%-8s %-4s %-28s %-10s %s\n' $fam $be "--shard 1..3/3 + merge" "$(same single.json m.json)" $s
    s=$( { t bash -c "for i in 1 2 3 4; do $K sweep $J --grid-shard \$i/4 --partials-out g\$i.klp; done; $K merge g*.klp --format json --out m.json"; } )
    printf '%-8s %-4s %-28s %-10s %s\n' $fam $be "--grid-shard 1..4/4 + merge" "$(same single.json m.json)" $s
    for r in 2 3; do for sp in data grid; do
      s=$(t $MPI -n $r $K sweep $J --mpi --mpi-split $sp --out m.json)
      printf '%-8s %-4s %-28s %-10s %s\n' $fam $be "mpirun -n $r, $sp split" "$(same single.json m.json)" $s
    done; done
    for sp in grid data; do
      s=$(t $K sweep $J --adapter 0,0 --device-split $sp --out m.json)
      printf '%-8s %-4s %-28s %-10s %s\n' $fam $be "2 devices, $sp split" "$(same single.json m.json)" $s
    done
  done
done
# Memory: a 10^8-sample file, one process against 3 ranks (peak RSS of each rank).
python3 -c "import numpy as np; np.random.default_rng(1).normal(0,1,$BIG).astype('<f8').tofile('big.f64')"
J="--data big.f64 --family normal --grid mu=-0.5:0.5:16 --grid sigma=0.5:1.5:16 --backend cpu --strategy direct -q --format json"
/usr/bin/time -v $K sweep $J --out big1.json 2> rss1.txt
echo "one process: max RSS $(grep 'Maximum resident' rss1.txt | awk '{print $6}') KiB"
$MPI -n 3 /usr/bin/time -v $K sweep $J --mpi --out big3.json 2> rss3.txt
grep 'Maximum resident' rss3.txt | awk '{print "mpirun -n 3 rank: max RSS " $6 " KiB"}'
echo "points of the 3 ranks vs one process: $(same big1.json big3.json)"
