#!/usr/bin/env bash
# Acceptance of issue 12: for every built-in family F, the model written by hand in
# examples/models/F.toml, on N samples (default 1,000,000) from F's --sample spec (the grids of
# benches/families_agreement.sh): `--backend both` (gpu vs cpu-ref, and cpu vs cpu-ref) within
# F's tolerance with the same argmax, and the model's mean log-likelihood (cpu-ref) within F's
# tolerance of the built-in family's (cpu-ref) at every grid point, same argmax. Also normal data
# of mean 1e4, sd 1. Run after `cargo build --release`; prints one line per check, then
# "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
K=./target/release/klgrid
N=${N:-1000000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0; fail=0
check() { # family spec grid...
  fam=$1; spec=$2; shift 2
  model=examples/models/$fam.toml
  [ "$fam" = normal_1e4 ] && model=examples/models/normal.toml
  builtin=$fam; [ "$fam" = normal_1e4 ] && builtin=normal
  for cmp in gpu,cpu-ref cpu,cpu-ref; do
    $K sweep --model $model --sample "$spec" -n $N "$@" --backend both --compare $cmp --strategy direct --format json -q > "$TMP/both.json" 2> "$TMP/err"
    rc=$?
    line=$(python3 - "$TMP/both.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); a = d["agreement"]
print(f'max_rel {a["max_rel_diff"]:.2e} tol {a["tolerance"]:.0e} argmax_agrees {a["argmax_agrees"]} within {a["within_tolerance"]}')
PY
)
    if [ $rc -eq 0 ] && echo "$line" | grep -q "within True"; then pass=$((pass+1)); r=ok; else fail=$((fail+1)); r=FAIL; fi
    echo "$fam [$cmp] rc=$rc $line $r $(head -c 200 "$TMP/err")"
  done
  $K sweep --model $model --sample "$spec" -n $N "$@" --backend cpu-ref --format json -q > "$TMP/m.json" 2>/dev/null
  $K sweep --family $builtin --sample "$spec" -n $N "$@" --backend cpu-ref --format json -q > "$TMP/b.json" 2>/dev/null
  line=$(python3 - "$TMP/m.json" "$TMP/b.json" <<'PY'
import json, sys
m, b = (json.load(open(p)) for p in sys.argv[1:3])
tol = b["tolerance"]; worst = 0.0; mism = 0
for pm, pb in zip(m["points"], b["points"]):
    x, y = pm["mean_loglik"], pb["mean_loglik"]
    if (x is None) != (y is None): mism += 1; continue
    if x is None: continue
    worst = max(worst, abs(x - y) / max(abs(y), 1.0))
same = m["best"]["index"] == b["best"]["index"]
ok = worst <= tol and mism == 0 and same
print(f'model vs built-in: max_rel {worst:.2e} tol {tol:.0e} support_mismatches {mism} argmax_same {same} {"ok" if ok else "FAIL"}')
PY
)
  if echo "$line" | grep -q " ok$"; then pass=$((pass+1)); else fail=$((fail+1)); fi
  echo "$fam $line"
}
check normal 'normal(mu=1.5,sigma=2)' --grid mu=0:3:31 --grid sigma=1:3:21
check normal_1e4 'normal(mu=10000,sigma=1)' --grid mu=9999.5:10000.5:21 --grid sigma=0.5:1.5:21
check lognormal 'lognormal(mu=0.5,sigma=0.8)' --grid mu=0:1:21 --grid sigma=0.4:1.2:21
check exponential 'exponential(rate=1.7)' --grid rate=0.5:3:101
check gamma 'gamma(shape=2,rate=1.5)' --grid shape=1:3:21 --grid rate=0.5:3:21
check beta 'beta(alpha=2,beta=5)' --grid alpha=1:3:21 --grid beta=3:7:21
check weibull 'weibull(shape=1.5,scale=2)' --grid shape=1:2:21 --grid scale=1:3:21
check laplace 'laplace(mu=0.3,scale=1.5)' --grid mu=-0.7:1.3:21 --grid scale=0.5:2.5:21
check cauchy 'cauchy(mu=0.3,scale=1.5)' --grid mu=-0.7:1.3:21 --grid scale=0.5:2.5:21
check student_t 'student_t(nu=5,mu=0.3,sigma=1.5)' --grid nu=3:7:9 --grid mu=-0.2:0.8:7 --grid sigma=1:2:7
check logistic 'logistic(mu=0.3,scale=1.5)' --grid mu=-0.7:1.3:21 --grid scale=0.5:2.5:21
check uniform 'uniform(low=-1,high=2)' --grid low=-1.5:-0.5:21 --grid high=1.5:2.5:21
check normal_mixture 'normal_mixture(w=0.3,mu1=-1,sigma1=0.7,mu2=2,sigma2=1.2)' --grid w=0.2:0.4:3 --grid mu1=-1.5:-0.5:5 --grid sigma1=0.5:0.9:3 --grid mu2=1.5:2.5:5 --grid sigma2=1:1.4:3
check poisson 'poisson(rate=3.5)' --grid rate=0.5:8:301
check binomial 'binomial(trials=20,p=0.3)' --grid trials=20 --grid p=0.1:0.6:51
check bernoulli 'bernoulli(p=0.3)' --grid p=0.1:0.6:51
check geometric 'geometric(p=0.3)' --grid p=0.1:0.6:51
check negative_binomial 'negative_binomial(r=2.5,p=0.35)' --grid r=1:5:17 --grid p=0.2:0.5:31
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
