#!/usr/bin/env bash
# Every family, n = 1,000,000 from its --sample spec, a grid bracketing the truth, direct strategy:
# gpu vs cpu-ref and cpu vs cpu-ref. Prints exit code, largest relative difference of the mean
# log-likelihood and whether the argmax agrees. Run after `cargo build --release`.
set -u
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
K=./target/release/klgrid
run() { fam=$1; spec=$2; shift 2; for be in "both" "both --compare cpu,cpu-ref"; do out=$($K sweep --family $fam --sample "$spec" -n 1000000 "$@" --backend $be --strategy direct 2>&1); rc=$?; echo "$fam [$be] rc=$rc $(echo "$out" | grep -o 'max relative [0-9.e-]*' ) $(echo "$out" | grep -o "argmax agrees\|argmax differs")"; done; }
run normal 'normal(mu=1.5,sigma=2)' --grid mu=0:3:31 --grid sigma=1:3:21
run lognormal 'lognormal(mu=0.5,sigma=0.8)' --grid mu=0:1:21 --grid sigma=0.4:1.2:21
run exponential 'exponential(rate=1.7)' --grid rate=0.5:3:101
run gamma 'gamma(shape=2,rate=1.5)' --grid shape=1:3:21 --grid rate=0.5:3:21
run beta 'beta(alpha=2,beta=5)' --grid alpha=1:3:21 --grid beta=3:7:21
run weibull 'weibull(shape=1.5,scale=2)' --grid shape=1:2:21 --grid scale=1:3:21
run laplace 'laplace(mu=0.3,scale=1.5)' --grid mu=-0.7:1.3:21 --grid scale=0.5:2.5:21
run cauchy 'cauchy(mu=0.3,scale=1.5)' --grid mu=-0.7:1.3:21 --grid scale=0.5:2.5:21
run student_t 'student_t(nu=5,mu=0.3,sigma=1.5)' --grid nu=3:7:9 --grid mu=-0.2:0.8:7 --grid sigma=1:2:7
run logistic 'logistic(mu=0.3,scale=1.5)' --grid mu=-0.7:1.3:21 --grid scale=0.5:2.5:21
run uniform 'uniform(low=-1,high=2)' --grid low=-1.5:-0.5:21 --grid high=1.5:2.5:21
run normal_mixture 'normal_mixture(w=0.3,mu1=-1,sigma1=0.7,mu2=2,sigma2=1.2)' --grid w=0.2:0.4:3 --grid mu1=-1.5:-0.5:5 --grid sigma1=0.5:0.9:3 --grid mu2=1.5:2.5:5 --grid sigma2=1:1.4:3
run poisson 'poisson(rate=3.5)' --grid rate=0.5:8:301
run binomial 'binomial(trials=20,p=0.3)' --grid trials=20 --grid p=0.1:0.6:51
run bernoulli 'bernoulli(p=0.3)' --grid p=0.1:0.6:51
run geometric 'geometric(p=0.3)' --grid p=0.1:0.6:51
run negative_binomial 'negative_binomial(r=2.5,p=0.35)' --grid r=1:5:17 --grid p=0.2:0.5:31
