#!/usr/bin/env bash
# The GPU measurements of the README's speed section, in one run on a GPU machine:
#   1. python -m dpbench.bench on CUDA: eager, with TF32, with torch.compile (median of 9 each);
#   2. every synthetic job of config.yaml (seed 0, both noise levels) on CUDA, eager and with TF32,
#      with its wall time and NMSE, and the task's serial grid time over the config's seeds.
# Needs PyTorch, scikit-learn, pandas and PyYAML (no Snakemake); runs the package from src/.
# Results go to $OUT (default: gpu_check/). About 5-10 minutes on an H100/H200 (not yet run on one).
#   bash benchmarks/gpu_check.sh            # or: STEPS=50 DEVICE=cpu bash benchmarks/gpu_check.sh (a dry try)
set -euo pipefail
out=${OUT:-gpu_check}
device=${DEVICE:-cuda}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
steps=${STEPS:+--steps $STEPS}
repeats=${REPEATS:-9}

{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"; } | tee "$out/device.txt"
"$py" -m dpbench.bench --device "$device" --repeats "$repeats" | tee "$out/bench_eager.txt"
"$py" -m dpbench.bench --device "$device" --repeats "$repeats" --tf32 --sklearn-samples 0 | tee "$out/bench_tf32.txt"
"$py" -m dpbench.bench --device "$device" --repeats "$repeats" --compile --sklearn-samples 0 | tee "$out/bench_compile.txt"
"$py" benchmarks/synthetic_job_times.py --device "$device" $steps --csv "$out/synthetic_eager.csv" | tee "$out/synthetic_eager.txt"
"$py" benchmarks/synthetic_job_times.py --device "$device" $steps --tf32 --csv "$out/synthetic_tf32.csv" | tee "$out/synthetic_tf32.txt"
