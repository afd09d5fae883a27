#!/usr/bin/env bash
# The qwen speed table in one device call (issue 13). The lent GPU machine has torch but no
# diffusers and no network, so the wheels travel with the call:
#   here:  pip download --no-deps --only-binary=:all: --python-version 3.12 \
#            --platform manylinux_2_17_x86_64 -d .whl diffusers==0.42.1 transformers==5.24.0 \
#            importlib_metadata lazy-importer
#   there: run(command="bash benchmarks/qwen_gpu_check.sh", carry=[".whl"], timeout_s=600)
# Sets run in separate processes (a fresh GPU each), each under its own timeout so a slow one
# cannot eat the others; reference layers pass between them in refs.npz for the deviations.
# Usage: bash benchmarks/qwen_gpu_check.sh [SET...]   (default: all four, ~8-9 minutes)
set -u
OUT=${OUT:-/tmp/qwen-bench}
mkdir -p "$OUT"
SITE=/tmp/strata-site
if [ ! -d "$SITE/diffusers" ]; then
    python3 -m pip install --no-index --no-deps --target "$SITE" .whl/*.whl -q 2>&1 | tail -3
fi
export PYTHONPATH="$SITE:$PWD" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,pcie.link.gen.max,pcie.link.width.max,driver_version \
    --format=csv > "$OUT/gpu.csv" 2>&1
free -g > "$OUT/host-memory.txt" 2>&1
python3 -c "import torch, diffusers, transformers; print(torch.__version__, diffusers.__version__, transformers.__version__)" \
    > "$OUT/versions.txt" 2>&1
# seconds per set: measured ~45 s for the 50-step 640 call alone, see SETS in bench_qwen.py
declare -A LIMIT=([resident]=200 [streamed]=190 [fp8-resident]=55 [fp8-streamed]=100)
SETS=("$@")
[ ${#SETS[@]} -eq 0 ] && SETS=(resident streamed fp8-resident fp8-streamed)
for set in "${SETS[@]}"; do
    start=$(date +%s)
    timeout "${LIMIT[$set]:-200}" python3 benchmarks/bench_qwen.py --sets "$set" \
        --refs "$OUT/refs.npz" --out "$OUT/$set.json" > /dev/null 2> "$OUT/$set.log"
    echo "$set: exit $? in $(( $(date +%s) - start )) s" | tee -a "$OUT/summary.txt"
    tail -n 3 "$OUT/$set.log"
done
