"""The cluster path on one machine: a Ray head and a second node on loopback, a sweep submitted with
`ray job submit`, trials on both nodes, everything stopped by PID afterwards."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.test_sweep_e2e import _config

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow
GCS_PORT, DASHBOARD_PORT = 26379, 28265


def _env() -> dict:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "PYTHONUNBUFFERED": "1",
           "TOOLSWEEP_CACHE": str(ROOT / ".cache")}
    env.pop("RAY_ADDRESS", None)
    return env


def _ray_pids() -> set[int]:
    pids = set()
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "ray" in cmd and ("gcs_server" in cmd or "raylet" in cmd or "ray/" in cmd or "ray::" in cmd
                             or "dashboard" in cmd):
            pids.add(p.info["pid"])
    return pids


def _stop(pids: set[int]) -> None:
    procs = [psutil.Process(p) for p in pids if psutil.pid_exists(p)]
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=15)
    for p in alive:
        p.kill()


@pytest.fixture
def cluster():
    env = _env()
    before = _ray_pids()
    head = ["ray", "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(GCS_PORT),
            "--dashboard-host", "127.0.0.1", "--dashboard-port", str(DASHBOARD_PORT), "--num-cpus", "1",
            "--include-dashboard", "true", "--disable-usage-stats"]
    worker = ["ray", "start", "--address", f"127.0.0.1:{GCS_PORT}", "--node-ip-address", "127.0.0.1",
              "--num-cpus", "1", "--dashboard-agent-listen-port", "52370", "--metrics-export-port", "8090",
              "--min-worker-port", "20100", "--max-worker-port", "20200", "--disable-usage-stats"]
    started: set[int] = set()
    try:
        for cmd in (head, worker):
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
            started |= _ray_pids() - before
            assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        yield env
    finally:
        _stop(started | (_ray_pids() - before))
    assert not (_ray_pids() - before), "Ray processes left behind"


def test_sweep_submitted_as_a_ray_job_uses_both_nodes(cluster, tmp_path):
    from mlflow.tracking import MlflowClient

    cfg_path = _config(tmp_path)
    cfg = json.loads(cfg_path.read_text())
    cfg["search"].update({"num_samples": 2, "max_concurrent": 2, "grace_period": 2})
    cfg_path.write_text(json.dumps(cfg))
    env = {**cluster, "RAY_ADDRESS": f"http://127.0.0.1:{DASHBOARD_PORT}"}
    res = subprocess.run(["ray", "job", "submit", "--working-dir", str(ROOT), "--entrypoint-num-cpus", "0",
                          "--runtime-env-json", json.dumps({"env_vars": {"TOOLSWEEP_CACHE": str(ROOT / ".cache")}}),
                          "--", "toolsweep", "sweep", str(cfg_path), "--json", str(tmp_path / "summary.json")],
                         env=env, capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-3000:]
    assert "succeeded" in (res.stdout + res.stderr).lower()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(summary["trials"]) == 2 and all(t["status"] == "ok" for t in summary["trials"])
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    exp = client.get_experiment_by_name("sweep-e2e")
    children = [r for r in client.search_runs([exp.experiment_id]) if "mlflow.parentRunId" in r.data.tags]
    assert len(children) == 2
    assert len({c.data.tags["toolsweep.node_id"] for c in children}) == 2, "both trials ran on one node"
