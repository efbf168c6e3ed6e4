"""The real pipeline on a tiny Llama: TRL trains, llama.cpp converts and quantizes, llama-cpp-python
generates, MLflow records. Runs the real CLI and checks what it leaves behind."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import toolsweep

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _write_config(tmp_path: Path, **extra) -> Path:
    cfg = {
        "name": "tiny-e2e",
        "output_dir": str(tmp_path / "runs"),
        "model": {"base": "tiny"},
        "data": {"mix": {"total": 12}, "max_eval_cases": 6},
        "train": {"epochs": 1, "batch_size": 4, "max_length": 1024, "learning_rate": 1e-3,
                  "lora": {"rank": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}},
        "quantize": {"types": ["q8_0", "q4_k_m"]},
        "eval": {"max_new_tokens": 16, "n_ctx": 2048},
        "tracking": {"uri": f"sqlite:///{tmp_path}/mlruns/mlflow.db", "artifact_root": str(tmp_path / "mlruns/artifacts"),
                     "experiment": "e2e"},
        **extra,
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path




@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    res = toolsweep("trial", str(_write_config(tmp)), "--json", str(tmp / "result.json"))
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp, json.loads((tmp / "result.json").read_text()), res


def test_console_prints_metrics_table(trial):
    _, summary, res = trial
    assert "tool_selection_accuracy" in res.stdout and "base-q8_0" in res.stdout
    assert f"MLflow run {summary['run_id']}" in res.stdout


def test_ggufs_load_and_carry_the_serving_template(trial):
    import llama_cpp

    from evals.template import strip_generation_markers
    from orchestrator.train.chat_template import load_template

    tmp, summary, _ = trial
    gguf_dir = Path(summary["run_dir"]) / "gguf"
    names = sorted(p.name for p in gguf_dir.glob("*.gguf"))
    assert names == ["base-q8_0.gguf", "tuned-f16.gguf", "tuned-q4_k_m.gguf", "tuned-q8_0.gguf"]
    serving = strip_generation_markers(load_template("toolchat"))
    for name in ("tuned-q4_k_m.gguf", "tuned-q8_0.gguf", "base-q8_0.gguf"):
        llm = llama_cpp.Llama(model_path=str(gguf_dir / name), n_ctx=256, verbose=False)
        try:
            assert llm.metadata["tokenizer.chat_template"] == serving
            assert llm.metadata["general.architecture"] == "llama"
            assert len(llm.tokenize(b"<|im_start|>user", add_bos=False, special=True)) == 2
        finally:
            llm.close()


def test_gguf_dump_reads_the_quantized_file(trial):
    from orchestrator.quantize.llama_tools import tools_dir

    _, summary, _ = trial
    path = Path(summary["run_dir"]) / "gguf" / "tuned-q4_k_m.gguf"
    gguf_py = ROOT / tools_dir() / "gguf-py"
    out = subprocess.run([sys.executable, str(gguf_py / "gguf/scripts/gguf_dump.py"), "--json", str(path)],
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(gguf_py)})
    dump = json.loads(out.stdout)
    assert dump["metadata"]["general.architecture"]["value"] == "llama"
    assert dump["metadata"]["llama.block_count"]["value"] == 2
    tensors = dump["tensors"]
    assert len(tensors) == 2 * 9 + 2  # 2 layers x 9 tensors + token_embd + output_norm (output tied)
    assert {t["type"] for t in tensors.values()} >= {"F32"}


def test_mlflow_run_holds_params_metrics_and_artifacts(trial):
    from mlflow.tracking import MlflowClient

    tmp, summary, _ = trial
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlruns/mlflow.db")
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    p = run.data.params
    assert (p["model.base"], p["train.lora.rank"], p["train.lora.alpha"], p["quantize.types"]) == \
        ("tiny", "4", "8", "['q8_0', 'q4_k_m']")
    assert p["train.bf16"] == "False" and p["train.precision"] == "fp32"  # the precision trained in, logged
    m = run.data.metrics
    for label in ("q8_0", "q4_k_m", "base-q8_0"):
        # 6 dev cases, one per scenario: five tool-call cases and a fabrication probe (scored apart)
        assert m[f"{label}/n_cases"] == 5
        assert 0.0 <= m[f"{label}/tool_selection_accuracy"] <= 1.0
    assert m["data.train_examples"] == 12 and m["data.rows_read"] == 346
    assert 0.1 < m["train/peak_rss_gb"] < 24  # the trial process's high-water mark, in GB (not KiB, not bytes)
    assert m["data.stage.mix.not_sampled"] == 346 - 12 and m["data.stage.render.rows_out"] == 12
    assert len(run.data.tags["toolsweep.data.fingerprint"]) == 64
    assert {i.dataset.name for i in run.inputs.dataset_inputs} == {"source:starter", "training-mix"}
    loss = client.get_metric_history(run.info.run_id, "train/loss")
    steps = [h.step for h in loss]
    assert steps == sorted(set(steps)) and steps[-1] == 3  # 12 examples / batch 4, one point per step
    artifacts = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"adapter", "gguf", "eval", "data", "config.json"} <= artifacts
    data_files = {f.path for f in client.list_artifacts(run.info.run_id, "data")}
    assert {"data/train.jsonl", "data/quarantine.jsonl", "data/stages.json", "data/stages.md"} <= data_files
    gguf = {f.path for f in client.list_artifacts(run.info.run_id, "gguf")}
    assert gguf == {"gguf/tuned-q8_0.gguf", "gguf/tuned-q4_k_m.gguf", "gguf/base-q8_0.gguf"}
    adapter = {f.path for f in client.list_artifacts(run.info.run_id, "adapter")}
    assert {"adapter/adapter_model.safetensors", "adapter/adapter_config.json"} <= adapter
    local = Path(client.download_artifacts(run.info.run_id, "eval/q4_k_m.json", str(tmp)))
    report = json.loads(local.read_text())
    assert report["header"]["embedded_template_matches_training"] is True
    assert len(report["cases"]) == 6 and report["metrics"]["n_cases"] == 5  # + 1 probe
    assert sum(c["kind"] == "probe" for c in report["cases"]) == 1


def test_a_missing_source_is_refused_before_any_run(tmp_path):
    cfg = _write_config(tmp_path, data={"sources": {"mine": {"path": str(tmp_path / "missing.jsonl")}}})
    res = toolsweep("trial", str(cfg))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "data.sources.mine.path" in res.stderr and "missing.jsonl" in res.stderr
    assert not (tmp_path / "mlruns").exists()  # checked before MLflow was touched


def test_failed_trial_is_recorded_with_its_reason(tmp_path):
    from mlflow.tracking import MlflowClient

    # A source that passes the pre-compute checks (JSONL rows in a format toolsweep reads) but none of
    # whose rows can train (no assistant turn): every row is quarantined and the data stage fails. (An
    # empty file, a folder without a dataset, rows in no known format are refused before any run starts.)
    (tmp_path / "notadataset.jsonl").write_text('{"messages": [{"role": "user", "content": "hello?"}]}\n'
                                                '{"messages": [{"role": "user", "content": "anyone?"}]}\n')
    cfg = _write_config(tmp_path, data={"sources": {"mine": {"path": str(tmp_path / "notadataset.jsonl")}}})
    res = toolsweep("trial", str(cfg))
    assert res.returncode == 2 and "Traceback" not in res.stderr and "the training mix holds no rows" in res.stderr
    assert "mine/bad_structure" in res.stderr  # the source whose rows were quarantined, and why
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("e2e").experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FAILED"
    assert runs[0].data.tags["toolsweep.failed_stage"] == "data"
    assert "the training mix holds no rows" in runs[0].data.tags["toolsweep.failure_reason"]


def test_our_renderer_matches_transformers(tmp_path):
    from evals.template import render_chat
    from orchestrator.train import base_model
    from orchestrator.train.chat_template import load_template
    from orchestrator.config import TinyModelConfig

    tiny = base_model.tiny_llama(ROOT / ".cache/models", TinyModelConfig())
    tok = base_model.load_tokenizer(tiny, load_template("toolchat"))
    rows = [json.loads(line) for line in (ROOT / "data/starter/heldout.jsonl").read_text().splitlines()]
    for ex in rows[::7]:
        ours = render_chat(load_template("toolchat"), ex["messages"], ex["tools"])
        theirs = tok.apply_chat_template(ex["messages"], tools=ex["tools"], tokenize=False)
        assert ours == theirs, ex["id"]


def test_a_weight_zero_turn_stays_in_the_prompt_and_out_of_the_loss():
    from orchestrator.config import TinyModelConfig
    from orchestrator.data.normalise import normalise
    from orchestrator.data.quarantine import Quarantine
    from orchestrator.train import base_model
    from orchestrator.train.chat_template import load_template
    from orchestrator.train.trainer import tokenize

    tok = base_model.load_tokenizer(base_model.tiny_llama(ROOT / ".cache/models", TinyModelConfig()),
                                    load_template("toolchat"))
    turns = [{"role": "user", "content": "Capital of France?"},
             {"role": "assistant", "content": "Paris, obviously.", "weight": 0},
             {"role": "user", "content": "Who wrote Hamlet?"},
             {"role": "assistant", "content": "William Shakespeare."}]
    quarantine = Quarantine()
    ds, kept = tokenize([normalise(json.dumps({"messages": turns}), "ft", 0),
                         normalise(json.dumps({"messages": turns[:2]}), "ft", 1)], tok, 1024, quarantine)
    ids, mask = ds["input_ids"][0], ds["assistant_masks"][0]
    assert "Paris, obviously." in tok.decode(ids)  # in the prompt ...
    assert tok.decode([t for t, m in zip(ids, mask) if m]) == "William Shakespeare.<|im_end|>"  # ... not trained
    # a row whose only assistant turn has weight 0 has nothing to train
    assert len(kept) == 1 and [r["check"] for r in quarantine.rows] == ["no_assistant_tokens"]


def test_a_row_the_template_refuses_is_quarantined_not_fatal():
    from orchestrator.config import TinyModelConfig
    from orchestrator.data.normalise import normalise
    from orchestrator.data.quarantine import Quarantine
    from orchestrator.train import base_model
    from orchestrator.train.chat_template import load_template
    from orchestrator.train.trainer import tokenize

    tok = base_model.load_tokenizer(base_model.tiny_llama(ROOT / ".cache/models", TinyModelConfig()),
                                    load_template("toolchat"))
    good = [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}]
    late_system = [*good, {"role": "system", "content": "Now be formal."}, *good]  # the template raises on it
    quarantine = Quarantine()
    _, kept = tokenize([normalise(json.dumps({"messages": good}), "ft", 0),
                        normalise(json.dumps({"messages": late_system}), "ft", 1)], tok, 1024, quarantine)
    assert len(kept) == 1 and [r["check"] for r in quarantine.rows] == ["template_refused"]
    assert "system" in quarantine.rows[0]["reason"]
