"""What the test modules share: the real CLI in a subprocess, the tiny sweep every Ray test starts
from, and an MLflow client on a test's own store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N_TRIALS = 2  # trials of the tiny sweep


def toolsweep(*args: str, env: dict | None = None, timeout: float | None = 900) -> subprocess.CompletedProcess:
    """`toolsweep ARGS` as a user runs it (`python -m orchestrator.cli`), from the repo root, output captured.
    Local Ray unless `env` names a RAY_ADDRESS: a cluster the shell happens to point at never leaks in."""
    full = {**os.environ, "PYTHONUNBUFFERED": "1"}
    full.pop("RAY_ADDRESS", None)
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=full, timeout=timeout)


def mlflow_client(tmp: Path):
    from mlflow.tracking import MlflowClient
    return MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlruns/mlflow.db")


def tiny_sweep_config(tmp: Path) -> dict:
    """The tiny-model sweep the e2e, fault, cluster and release tests start from, everything under `tmp`."""
    return {
        "name": "tiny-sweep",
        "output_dir": str(tmp / "runs"),
        "model": {"base": "tiny"},
        "data": {"mix": {"total": 8}},
        "train": {"epochs": 2, "batch_size": 4, "max_length": 1024,
                  "lora": {"rank": 4, "alpha": "2x_rank", "target_modules": ["q_proj", "v_proj"]}},
        "quantize": {"types": ["q8_0"]},
        "eval": {"max_new_tokens": 8, "n_ctx": 2048, "n_threads": 1},
        "tracking": {"uri": f"sqlite:///{tmp}/mlruns/mlflow.db", "artifact_root": str(tmp / "mlruns/artifacts"),
                     "experiment": "sweep-e2e"},
        "resources": {"cpus_per_trial": 1},
        "search": {"num_samples": N_TRIALS, "max_concurrent": 2, "dev_cases": 8, "grace_period": 2,
                   "objectives": {"tool_selection_accuracy": "max", "no_tool_accuracy": "max"},
                   "storage_path": str(tmp / "ray")},
        "search_space": {"train.learning_rate": {"loguniform": [1e-4, 1e-2]}, "train.lora.rank": {"choice": [2, 4]}},
    }
