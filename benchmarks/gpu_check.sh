#!/usr/bin/env bash
# GPU readiness check (see benchmarks/gpu_check.py): run on a GPU machine after `make install`, or in
# the CUDA image (`docker run --gpus all IMAGE bash benchmarks/gpu_check.sh`). Under 8 minutes there;
# on a CPU-only machine it runs the tiny shape. Arguments go to gpu_check.py (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3 )}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false MLFLOW_DISABLE_TELEMETRY=true \
       RAY_USAGE_STATS_ENABLED=0
exec "$PY" benchmarks/gpu_check.py "$@"
