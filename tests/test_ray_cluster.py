"""The cluster path on one machine: a sweep submitted with `ray job submit` to a two-node Ray cluster
on 127.0.0.1 (tests/loopback_cluster.py); its trials land on both nodes; everything stops by PID."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.offline import OFFLINE_ENV
from tests import loopback_cluster
from tests.helpers import tiny_sweep_config

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
N_TRIALS = 2


@pytest.fixture
def cluster(tmp_path):
    import psutil

    state_dir = tmp_path / "cluster"
    state = loopback_cluster.up(state_dir, head_cpus=1, worker_cpus=1)
    try:
        yield state
    finally:
        left = loopback_cluster.down(state_dir)
        assert not left, f"cluster processes still alive after stop: {left}"
        assert not [p for p in state["pids"] if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]


def _refused_by_the_cluster(cluster, tmp_path: Path) -> None:
    """A trial no node can hold (a GPU; this cluster has none and no autoscaler) is refused once
    connected, in one line naming the key, before any MLflow run exists."""
    cfg = tiny_sweep_config(tmp_path / "gpu")
    cfg["resources"] = {"cpus_per_trial": 1, "gpus_per_trial": 1}
    path = tmp_path / "gpu.yaml"
    path.write_text(json.dumps(cfg))
    res = subprocess.run([sys.executable, "-m", "orchestrator.cli", "sweep", str(path)], cwd=ROOT,
                         env={**loopback_cluster.cluster_env(), "RAY_ADDRESS": cluster["gcs_address"]},
                         capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 2, out[-4000:]
    assert "Traceback" not in out
    assert "cluster error: tiny-sweep: the cluster cannot run this sweep:" in out
    assert (f"resources.gpus_per_trial: 1 GPU per trial, but no node of the cluster at {cluster['gcs_address']} "
            f"has that much (nodes now: 1 CPU, 0 GPU; 1 CPU, 0 GPU)") in out
    assert not (tmp_path / "gpu" / "mlruns").exists(), "an MLflow store was made for a sweep that cannot run"


def test_sweep_submitted_as_a_ray_job_runs_trials_on_both_nodes(cluster, tmp_path):
    from mlflow.tracking import MlflowClient

    _refused_by_the_cluster(cluster, tmp_path)
    cfg = tiny_sweep_config(tmp_path)
    # One CPU per trial and one per node: two concurrent trials can only run one on each node.
    cfg["search"].update({"num_samples": N_TRIALS, "max_concurrent": N_TRIALS})
    cfg["resources"] = {"cpus_per_trial": 1}
    cfg_path = tmp_path / "sweep.yaml"
    cfg_path.write_text(json.dumps(cfg))
    env = {**loopback_cluster.cluster_env(), "RAY_ADDRESS": cluster["dashboard"]}
    runtime_env = {"env_vars": {**OFFLINE_ENV, "TOOLSWEEP_CACHE": str((ROOT / ".cache").resolve())}}
    res = subprocess.run(
        [str(Path(sys.executable).parent / "ray"), "job", "submit", "--working-dir", str(ROOT),
         "--entrypoint-num-cpus", "0", "--runtime-env-json", json.dumps(runtime_env),
         "--", "toolsweep", "sweep", str(cfg_path), "--json", str(tmp_path / "summary.json")],
        env=env, capture_output=True, text=True, timeout=1500)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    assert "succeeded" in out

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [t["status"] for t in summary["trials"]] == ["ok"] * N_TRIALS
    client = MlflowClient(tracking_uri=cfg["tracking"]["uri"])
    exp = client.get_experiment_by_name(cfg["tracking"]["experiment"])
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("toolsweep.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) == N_TRIALS
    nodes = {c.data.tags["toolsweep.node_id"] for c in children}
    assert nodes == {cluster["worker_node_id"], cluster["head_node_id"]}, "the trials did not use both nodes"

