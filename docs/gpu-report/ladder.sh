#!/usr/bin/env bash
# The P* ladders' next rungs on one GPU (docs/theory.md, 'P* ladders of the deep CNN'): the CPU rungs
# m = 3..6 are reused from the reference report's stored runs, and the rungs m = 8 and 10 (m^L = 512,
# 1000; v = 16, L = 3, n_c = 2..16, width 64, 6 seeds as ensembles) train on "cuda", warm-started from
# the m = 6 rung, by the same code and verdicts as `rhm verify --full` (verification/sample_complexity.py,
# GPU_LADDER). Planned for one call of a lent GPU machine: the training stops (SIGINT) after SECONDS,
# default 420, with every finished ensemble stored in OUT/sample_complexity_full.sqlite; a second call
# with the same OUT resumes it. When the training finished, OUT gets report.md, report.json (each rung's
# device in `trend`) and sample_complexity_ladders.png.
# Usage: OUT=DIR bash docs/gpu-report/ladder.sh [SECONDS]      (WORKERS=4 processes share the GPU)
# CPU test at a tiny size: OUT=DIR LADDER=QUICK.ladder WORKERS=2 bash docs/gpu-report/ladder.sh 300
set -u
out=${OUT:?set OUT to the output folder}
seconds=${1:-420}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "no nvidia-smi"
  python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name())"
  echo "cpus $(nproc)"
} > "$out/machine.txt"
[ -f "$out/sample_complexity_full.sqlite" ] || cp docs/reference-report/sample_complexity_full.sqlite "$out/"
start=$(date +%s)
code=$(cat <<'PY'
import importlib.util
import sys
from pathlib import Path

from rhm_theory.report.checks import summary, write_report

spec = importlib.util.spec_from_file_location("sample_complexity", "verification/sample_complexity.py")
script = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = script
spec.loader.exec_module(script)
out, workers, name = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ladder = script
for part in name.split("."):  # e.g. GPU_LADDER, or QUICK.ladder for a CPU test at a tiny size
    ladder = getattr(ladder, part)
section = script.ladder_section(out, ladder, "cpu", workers=workers)
for check in section.checks:
    print(check.line())
print(f"{summary(section.checks)}; report: {write_report([section], out, title='P* ladders: CPU and GPU rungs')}")
PY
)
# python -c, not a script on stdin: the process pool's spawned workers must not look for a main file
timeout -s INT -k 60 "$seconds" python3 -c "$code" "$out" "${WORKERS:-4}" "${LADDER:-GPU_LADDER}" > "$out/ladder.txt" 2>&1
echo "ladder exit status $? after $(( $(date +%s) - start )) s" >> "$out/ladder.txt"
cat "$out/machine.txt" "$out/ladder.txt"
