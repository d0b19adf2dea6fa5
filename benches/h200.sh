#!/usr/bin/env bash
# The H200 benchmark, prepared for the device machine (see /work/.library/device/README.md).
# Build here first, then copy what travels into the ignored folder .dev/:
#
#   cargo build --release && mkdir -p .dev && cp target/release/klgrid .dev/ \
#     && grep -qx '/.dev/' .git/info/exclude || echo /.dev/ >> .git/info/exclude
#   (and the Vulkan loader .debs in .gl/ as the device README describes, if the machine lacks it)
#
# and run it there in one call, e.g. run(command="bash benches/h200.sh", carry=[".dev", ".gl"],
# timeout_s=540). It writes JSON results to $OUT and prints a summary. The same job as
# BENCHMARKS.md's local table (normal, 64×64 grid) at n = 4,000,000 and at n = 100,000,000, with
# klgrid's gpu (Vulkan on the NVIDIA driver) and cpu paths in one process, and PyTorch on CUDA as
# the peer on the same machine.
set -u
OUT=${OUT:-/tmp/klgrid-h200}
mkdir -p "$OUT"
if [ -d .gl ]; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
if ! ldconfig -p | grep -q libvulkan; then echo "no Vulkan loader" >&2; fi
[ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export XDG_RUNTIME_DIR=/tmp
K=.dev/klgrid
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/nvidia-smi.txt"
$K adapters | tee "$OUT/adapters.txt"
for n in 4000000 100000000; do
  # cpu-ref (the agreement check) only at the smaller n.
  paths=gpu,cpu; [ $n = 4000000 ] && paths=gpu,cpu,cpu-ref
  timeout 240 $K bench --family normal --sample 'normal(mu=1.5,sigma=2)' -n $n --seed 1 \
    --grid mu=0:3:64 --grid sigma=1:3:64 --backends $paths --repeat 5 --format json \
    --out "$OUT/klgrid-$n.json"
  cat "$OUT/klgrid-$n.json"
  PYTHONUNBUFFERED=1 timeout 120 python3 benches/peers.py --peer torch -n $n --repeat 5 \
    | tee "$OUT/torch-$n.json"
done
