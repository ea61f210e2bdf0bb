#!/usr/bin/env bash
# The GPU runs behind docs/gpu-report, each one call of a lent GPU machine: the machine's facts, the
# training benchmark on CUDA (unless BENCHMARK=0), then the sweep SWEEP of this folder, stopped with
# SIGINT (Ctrl-C) after SWEEP_SECONDS so that every finished run is stored. Rerunning resumes the sweep
# from OUT/RESULTS (copied from this folder when it is there).
# Usage: OUT=DIR [SWEEP=sweep.toml] [RESULTS=paper_subset.sqlite] [BENCHMARK=1] bash docs/gpu-report/run.sh [SWEEP_SECONDS]
set -u
out=${OUT:?set OUT to the output folder}
sweep_seconds=${1:-240}
sweep=${SWEEP:-sweep.toml}
results=${RESULTS:-paper_subset.sqlite}
here=$(dirname "$0")
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, torch.cuda.get_device_name())"
  echo "cpus $(nproc)"
} > "$out/machine.txt" 2>&1
if [ "${BENCHMARK:-1}" != 0 ]; then
  timeout 150 python3 benchmarks/training.py --device cuda --repeats 3 --widths 32 64 128 256 512 1024 > "$out/benchmark.txt" 2>&1
  echo "benchmark exit status $?" >> "$out/benchmark.txt"
fi
[ -f "$here/$results" ] && cp "$here/$results" "$out/"
start=$(date +%s)
timeout -s INT -k 60 "$sweep_seconds" python3 -m rhm_theory sweep "$here/$sweep" --results "$out/$results" \
  --workers 1 --ensemble-size 4 --quiet > "$out/${results%.sqlite}.txt" 2>&1
echo "sweep exit status $? after $(( $(date +%s) - start )) s" >> "$out/${results%.sqlite}.txt"
cat "$out"/*.txt
