"""A real Ray Tune sweep on the tiny model: Optuna samples, ASHA schedules, MLflow nests the runs."""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import N_TRIALS, tiny_sweep_config, toolsweep

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _config(tmp: Path) -> Path:
    path = tmp / "sweep.yaml"
    cfg = tiny_sweep_config(tmp)
    # a generated source beside the file: the sweep's parent run once failed on a source with no path
    cfg["data"]["sources"] = {"starter": {"path": "data/starter/train.jsonl"},
                              "judgment": {"generate": {"kind": "judgment", "count": 8}}}
    path.write_text(json.dumps(cfg))
    return path


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    # Storage as a URI, the form a cluster uses (s3://, gs://): here pyarrow's local filesystem.
    # A sweep of this size can end within the default 30 s between progress lines, hence 1 s.
    res = toolsweep("sweep", str(_config(tmp)), "--set", f"search.storage_path=file://{tmp}/ray",
                    "--json", str(tmp / "summary.json"), env={"TOOLSWEEP_PROGRESS_EVERY_S": "1"}, timeout=1200)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    return tmp, json.loads((tmp / "summary.json").read_text()), res


def test_summary_and_pareto_front(sweep):
    _, summary, res = sweep
    assert len(summary["trials"]) == N_TRIALS
    assert all(t["status"] == "ok" for t in summary["trials"])
    assert set(summary["pareto_front"]) <= {t["trial_id"] for t in summary["trials"]} and summary["pareto_front"]
    assert "Pareto front:" in res.stdout
    # log mode (not a terminal): a progress line per running trial between its epoch results
    assert re.search(r"\] \w{8} (train step|epoch \d+ (?:eval case|export)) \d+/\d+, \S+ elapsed", res.stderr), res.stderr[-2000:]


def test_one_parent_with_a_child_run_per_trial(sweep):
    from mlflow.tracking import MlflowClient

    tmp, summary, _ = sweep
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlruns/mlflow.db")
    exp = client.get_experiment_by_name("sweep-e2e")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("toolsweep.kind") == "sweep"]
    assert len(parents) == 1 and parents[0].info.run_id == summary["parent_run_id"]
    assert parents[0].info.status == "FINISHED"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == summary["parent_run_id"]]
    assert len(children) == N_TRIALS
    assert {c.data.tags["toolsweep.trial_id"] for c in children} == {t["trial_id"] for t in summary["trials"]}
    for child in children:
        assert child.info.status == "FINISHED"
        p = child.data.params
        assert p["model.base"] == "tiny" and "search.train.learning_rate" in p
        assert p["train.lora.alpha"] == str(2 * int(p["train.lora.rank"]))
        loss_steps = [m.step for m in client.get_metric_history(child.info.run_id, "train/loss")]
        assert loss_steps == sorted(set(loss_steps)) and loss_steps
        epochs = [m.step for m in client.get_metric_history(child.info.run_id, "dev/tool_selection_accuracy")]
        assert epochs == sorted(set(epochs)) and epochs[0] == 1
        rss = client.get_metric_history(child.info.run_id, "train/peak_rss_gb")  # GB, one point per scored epoch
        assert [m.step for m in rss] == epochs and all(0.1 < m.value < 24 for m in rss)
        arts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"adapter", "gguf", "eval"} <= arts
        # what the UI shows a reader: a filterable state, the Pareto flag, a description
        assert child.data.tags["toolsweep.state"] in ("finished", "stopped early at epoch 1")
        assert child.data.tags["toolsweep.pareto"] == str(child.data.tags["toolsweep.trial_id"]
                                                          in summary["pareto_front"]).lower()
        assert child.data.tags["mlflow.note.content"].startswith(f"Trial {child.data.tags['toolsweep.trial_id']}")
    parent_arts = {a.path for a in client.list_artifacts(summary["parent_run_id"])}
    assert {"sweep_summary.json", "sweep_config.json", "pareto.png"} <= parent_arts
    parent = client.get_run(summary["parent_run_id"])
    note = parent.data.tags["mlflow.note.content"]
    assert note.startswith("## Sweep tiny-sweep") and "**Pareto front:**" in note
    assert note.count("\n| ") >= N_TRIALS + 1  # header and one row per trial
    assert parent.data.metrics["trials.finished"] == N_TRIALS
    assert 0.0 <= parent.data.metrics["best.tool_selection_accuracy"] <= 1.0
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    inputs = {i.dataset.name for i in parent.inputs.dataset_inputs}
    assert "source:starter" in inputs and "source:judgment" not in inputs  # files only: generated rows have no file


def test_status_reads_the_sweep_dir(sweep):
    tmp, summary, _ = sweep
    res = toolsweep("status", summary["experiment_dir"], timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.count("TERMINATED") == N_TRIALS
    # a sweep folder moved elsewhere (Tune's state and toolsweep's in one folder, the recorded storage gone):
    # status reads the folder it is given
    exp_dir = Path(summary["experiment_dir"])
    moved = tmp / "moved" / exp_dir.name
    shutil.copytree(tmp / "ray" / exp_dir.name, moved, ignore=shutil.ignore_patterns("checkpoint_*"))
    state = json.loads((exp_dir / "toolsweep_sweep.json").read_text())
    (moved / "toolsweep_sweep.json").write_text(json.dumps({**state, "storage": str(tmp / "gone")}))
    res = toolsweep("status", str(moved), timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.count("TERMINATED") == N_TRIALS
    # named by a relative path, as the README writes it (Tune read it as a URI with no scheme and refused)
    res = toolsweep("status", os.path.relpath(moved, ROOT), timeout=300)
    assert res.returncode == 0 and res.stdout.count("TERMINATED") == N_TRIALS, res.stderr[-2000:]
    # resumed, Tune would give its new trials the recorded storage (a blind probe: they went into the original
    # folder, and with it gone failed to start while `resume` exited 0): refused before Ray, saying where to resume
    res = toolsweep("resume", str(moved), timeout=300)
    assert res.returncode == 2 and f"a copy or a move of the sweep made at {tmp / 'gone' / exp_dir.name} (gone now)" \
        in res.stderr, res.stderr[-2000:]
    # a newer experiment state without Tune's keys: one line naming the file, not a KeyError
    (moved / "experiment_state-2099-01-01_00-00-00.json").write_text("{}")
    res = toolsweep("status", str(moved), timeout=300)
    assert res.returncode == 2 and "experiment_state-2099-01-01_00-00-00.json: Tune's experiment state cannot be " \
        "read (no 'trial_data' in it)" in res.stderr and "KeyError" not in res.stderr, res.stderr[-2000:]


def test_storage_uri_holds_tune_state_and_checkpoints(sweep):
    tmp, summary, _ = sweep
    exp_dir = Path(summary["experiment_dir"])
    assert exp_dir.parent == tmp / "runs" and (exp_dir / "toolsweep_sweep.json").is_file()
    stored = tmp / "ray" / exp_dir.name
    assert list(stored.glob("experiment_state-*.json")), "Tune's experiment state is not under the storage URI"
    checkpoints = list(stored.glob("*/checkpoint_*"))
    assert checkpoints and all((c / "adapter_model.safetensors").is_file() for c in checkpoints)
    per_trial = {}
    for c in checkpoints:
        per_trial[c.parent] = per_trial.get(c.parent, 0) + 1
    assert max(per_trial.values()) == 1, "more checkpoints kept than search.keep_checkpoints (1)"
