"""The sweep files' target architecture in miniature: a random-weight hybrid Qwen3.5 (`tiny-qwen3.5`)
through the whole trial (data → LoRA on every linear layer → merge → convert → quantize → llama.cpp
eval → MLflow) and one sweep epoch through Ray Tune, on CPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import toolsweep

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _config(tmp: Path, name: str) -> dict:
    return {
        "name": name,
        "output_dir": str(tmp / "runs"),
        "model": {"base": "tiny-qwen3.5"},
        "data": {"mix": {"total": 8}, "max_eval_cases": 6},
        "train": {"epochs": 1, "batch_size": 4, "max_length": 1024, "learning_rate": 1e-3,
                  "lora": {"rank": 4, "alpha": 8, "target_modules": "all-linear"}},
        "quantize": {"types": ["q8_0"]},
        "eval": {"max_new_tokens": 16, "n_ctx": 2048, "n_batch": 16},
        "tracking": {"uri": f"sqlite:///{tmp}/mlruns/mlflow.db", "artifact_root": str(tmp / "mlruns/artifacts"),
                     "experiment": "qwen35"},
    }


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qwen35")
    path = tmp / "trial.yaml"
    path.write_text(json.dumps(_config(tmp, "tiny-qwen35")))
    res = toolsweep("trial", str(path), "--json", str(tmp / "result.json"))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    return tmp, json.loads((tmp / "result.json").read_text())


def test_the_gguf_is_llama_cpp_qwen35_with_its_hybrid_layout(trial):
    from orchestrator.quantize.llama_tools import tools_dir

    _, summary = trial
    gguf_py = ROOT / tools_dir() / "gguf-py"
    for name in ("tuned-q8_0.gguf", "base-q8_0.gguf"):
        out = subprocess.run([sys.executable, str(gguf_py / "gguf/scripts/gguf_dump.py"), "--json",
                              str(Path(summary["run_dir"]) / "gguf" / name)], capture_output=True, text=True,
                             check=True, env={**os.environ, "PYTHONPATH": str(gguf_py)})
        dump = json.loads(out.stdout)
        meta = dump["metadata"]
        assert meta["general.architecture"]["value"] == "qwen35"
        assert meta["qwen35.block_count"]["value"] == 4
        assert meta["qwen35.full_attention_interval"]["value"] == 4
        assert meta["qwen35.rope.dimension_count"]["value"] == 16  # head_dim 64 x partial rotary 0.25
        assert meta["qwen35.ssm.conv_kernel"]["value"] == 4 and meta["qwen35.ssm.group_count"]["value"] == 2
        names = set(dump["tensors"])
        # three Gated DeltaNet layers (SSM tensors) and one full-attention layer (q/k/v/o)
        assert {f"blk.{i}.ssm_a" for i in range(3)} <= names and "blk.3.attn_q.weight" in names
        assert "blk.3.ssm_a" not in names and "blk.0.attn_q.weight" not in names
        assert len(dump["tensors"]) == 55
        assert not any("mtp" in n or "nextn" in n or "v." in n[:2] for n in names)  # no draft head, no vision


def test_the_adapter_covers_linear_attention_and_mlflow_holds_the_run(trial):
    from mlflow.tracking import MlflowClient

    tmp, summary = trial
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlruns/mlflow.db")
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    p = run.data.params
    assert p["model.base"] == "tiny-qwen3.5" and p["train.lora.target_modules"] == "all-linear"
    # 4 layers: 3 Gated DeltaNet (in_proj_qkv/z/a/b, out_proj), 1 full attention (q/k/v/o), 4 MLPs
    adapted = {k.removeprefix("train.lora.adapted."): int(v) for k, v in p.items() if k.startswith("train.lora.adapted.")}
    assert adapted == {"down_proj": 4, "gate_proj": 4, "in_proj_a": 3, "in_proj_b": 3, "in_proj_qkv": 3,
                       "in_proj_z": 3, "k_proj": 1, "o_proj": 1, "out_proj": 3, "q_proj": 1, "up_proj": 4, "v_proj": 1}
    assert int(p["train.lora.adapted_modules"]) == 31
    m = run.data.metrics
    for label in ("q8_0", "base-q8_0"):
        assert m[f"{label}/n_cases"] == 5 and 0.0 <= m[f"{label}/tool_selection_accuracy"] <= 1.0
    local = Path(client.download_artifacts(run.info.run_id, "eval/q8_0.json", str(tmp)))
    report = json.loads(local.read_text())
    assert len(report["cases"]) == 6 and all(c.get("output") is not None for c in report["cases"])
    assert {f.path for f in client.list_artifacts(run.info.run_id, "gguf")} == {"gguf/tuned-q8_0.gguf",
                                                                                 "gguf/base-q8_0.gguf"}


def test_a_target_that_matches_nothing_names_the_modules_that_exist(tmp_path):
    cfg = _config(tmp_path, "bad-targets")
    cfg["train"]["lora"]["target_modules"] = ["q_proj", "qkv_proj"]
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(cfg))
    res = toolsweep("trial", str(path))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    # found before any run starts (preflight knows Qwen3.5's linear modules), naming the ones that exist;
    # an architecture preflight does not know is checked by the trainer (tests/test_lora_targets.py)
    assert "found before starting" in res.stderr and "train.lora.target_modules: ['qkv_proj'] match no linear module" in res.stderr
    assert "in_proj_qkv" in res.stderr and "out_proj" in res.stderr


def test_one_sweep_epoch_through_ray_tune(tmp_path):
    from mlflow.tracking import MlflowClient

    cfg = _config(tmp_path, "qwen35-sweep")
    cfg["search"] = {"num_samples": 1, "max_concurrent": 1, "dev_cases": 6, "grace_period": 1,
                     "objectives": {"tool_selection_accuracy": "max"}, "storage_path": str(tmp_path / "ray")}
    cfg["search_space"] = {"train.learning_rate": {"loguniform": [1e-4, 1e-2]}}
    cfg["resources"] = {"cpus_per_trial": 1}
    path = tmp_path / "sweep.yaml"
    path.write_text(json.dumps(cfg))
    res = toolsweep("sweep", str(path), "--json", str(tmp_path / "summary.json"), timeout=1200)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [t["status"] for t in summary["trials"]] == ["ok"] and summary["trials"][0]["epoch"] == 1
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    child = next(r for r in client.search_runs([client.get_experiment_by_name("qwen35").experiment_id])
                 if "mlflow.parentRunId" in r.data.tags)
    assert child.info.status == "FINISHED" and child.data.params["train.lora.adapted_modules"] == "31"
    assert [m.step for m in client.get_metric_history(child.info.run_id, "dev/tool_selection_accuracy")] == [1]
