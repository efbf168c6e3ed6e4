"""Sweep → promote → release → verify on the tiny model, through the real CLI.

The 4K variant is swept with `promote: auto`; `toolsweep family` then sweeps the 16K variant,
promotes it and releases the family from the registry's champions (both variants). A second
promotion of the same 4K sweep re-scores the same candidate: identical reports are not credibly
better, so the champion stays.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import mlflow_client, tiny_sweep_config, toolsweep

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
FAMILY = "tinyfam"


def _sweep_config(tmp: Path, name: str, context: int, promote_mode: str) -> Path:
    cfg = tiny_sweep_config(tmp)
    cfg["name"] = name
    cfg["train"].update({"epochs": 1, "max_length": context})
    cfg["eval"]["n_ctx"] = 4096
    cfg["tracking"]["experiment"] = "release-e2e"
    cfg["search"].update({"num_samples": 2, "grace_period": 1})
    cfg["search_space"] = {"train.learning_rate": {"loguniform": [1e-4, 1e-2]}}
    cfg["promote"] = {"mode": promote_mode, "family": FAMILY, "primary": "tool_f1", "guards": ["no_tool_accuracy"],
                      "eval_set": "evals/sets/dev.jsonl", "max_eval_cases": 8, "min_cases": 1,
                      "quant_types": ["q8_0", "q4_k_m", "bf16"], "n_resamples": 200}
    path = tmp / f"{name}.yaml"
    path.write_text(json.dumps(cfg))
    return path




@pytest.fixture(scope="module")
def released(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    res = toolsweep("sweep", str(_sweep_config(tmp, "tiny4k", 4096, "auto")), "--json", str(tmp / "s4k.json"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    family = tmp / "family.yaml"
    family.write_text(json.dumps({
        "family": FAMILY, "version": "0.1", "releases_dir": str(tmp / "releases"),
        "variants": [str(_sweep_config(tmp, "tiny16k", 16384, "off"))],
        "promote": {"primary": "tool_f1", "guards": ["no_tool_accuracy"], "eval_set": "evals/sets/dev.jsonl", "min_cases": 1,
                    "max_eval_cases": 8, "quant_types": ["q8_0", "q4_k_m", "bf16"], "n_resamples": 200}}))
    res16 = toolsweep("family", str(family), timeout=1200)
    assert res16.returncode == 0, res16.stdout[-3000:] + res16.stderr[-5000:]
    return tmp, json.loads((tmp / "s4k.json").read_text()), res, res16




def test_auto_promotion_registers_the_first_champion(released):
    tmp, summary, res, _ = released
    record = summary["promotion"]
    assert record["promote"] is True and record["against"] == "base" and record["variant"] == "4k"
    assert "PROMOTED" in res.stdout
    # the candidate's card beside the files it promoted, with the reports it was written from
    card = Path(record["card"])
    assert card.parent.parent.name == "promotions" and f"trial `{record['trial_id']}`" in card.read_text()
    assert (card.parent / "promotion" / "decision.json").is_file() and (card.parent / "eval" / "base-q8_0.json").is_file()
    client = mlflow_client(tmp)
    mv = client.get_model_version_by_alias(FAMILY, "champion-4k")
    assert str(mv.version) == record["model_version"]
    assert mv.tags["toolsweep.sweep"] == "tiny4k" and mv.tags["toolsweep.parent_run_id"] == summary["parent_run_id"]
    assert mv.tags["toolsweep.trial_id"] == record["trial_id"] and "metric.q8_0.tool_f1" in mv.tags
    run = client.get_run(mv.run_id)
    assert run.data.tags["toolsweep.kind"] == "promotion" and run.data.tags["mlflow.parentRunId"] == summary["parent_run_id"]
    assert "promotion.promoted" in run.data.metrics and "tuned-q4_k_m/tool_f1" in run.data.metrics
    arts = {a.path for a in client.list_artifacts(mv.run_id)}
    assert {"gguf", "adapter", "eval", "promotion", "plots"} <= arts
    # the sweep's parent run: its data as dataset inputs, the promotion's per-scenario bars among its artifacts
    parent = client.get_run(summary["parent_run_id"])
    inputs = {(d.dataset.name, {t.key: t.value for t in d.tags}["mlflow.data.context"]) for d in parent.inputs.dataset_inputs}
    assert inputs == {("source:starter", "source"), ("evaluation:dev", "evaluation"),
                      ("evaluation:promotion", "evaluation")}
    assert all(d.dataset.digest for d in parent.inputs.dataset_inputs)  # the files' sha256
    assert {a.path for a in client.list_artifacts(summary["parent_run_id"], "promotion-plots")} == {
        "promotion-plots/scenarios.png", "promotion-plots/attribution.png"}


def test_release_folder_cards_and_manifest(released):
    import yaml

    tmp, _, _, res16 = released
    dest = tmp / "releases" / f"{FAMILY}-0.1"
    assert "verified" in res16.stdout
    assert sorted(p.name for p in dest.iterdir()) == ["16k", "4k", "README.md", "manifest.json"]
    manifest = json.loads((dest / "manifest.json").read_text())
    assert set(manifest["variants"]) == {"4k", "16k"}
    for variant in ("4k", "16k"):
        folder = dest / variant
        assert sorted(p.name for p in (folder / "gguf").glob("*.gguf")) == [
            f"{FAMILY}-{variant}-{q}.gguf" for q in ("bf16", "q4_k_m", "q8_0")]
        assert (folder / "adapter" / "adapter_model.safetensors").is_file()
        assert {"pareto.png", "scenarios.png", "attribution.png"} <= {p.name for p in (folder / "plots").iterdir()}
        card = (folder / "README.md").read_text()
        meta = yaml.safe_load(card.split("---\n")[1])
        assert meta["model-index"][0]["name"] == f"{FAMILY}-{variant}" and meta["base_model"] == "tiny"
        for heading in ("## Results against the untuned base", "## Per-scenario breakdown", "## Quantization",
                        "## Fabrication", "## Failure attribution", "## Training details", "## Limitations"):
            assert heading in card, (variant, heading)
        assert "rank 4, alpha 8" in card
        assert "| BF16 | `" in card  # the unquantized reference row of the quantization table
        for rel in (f"{variant}/README.md", f"{variant}/gguf/{FAMILY}-{variant}-q8_0.gguf"):
            assert manifest["files"][rel]["size_bytes"] == (dest / rel).stat().st_size
    family_card = (dest / "README.md").read_text()
    assert family_card.index(f"| {FAMILY}-4k | 4,096 |") < family_card.index(f"| {FAMILY}-16k | 16,384 |")
    assert toolsweep("verify", str(dest)).returncode == 0


_SERVE_DRIVER = """
import json, sys
code, cases = sys.argv[1], json.loads(open(sys.argv[2]).read())
ns = {}
exec(open(code).read(), ns)  # exactly the card's snippet: loads the GGUF, answers its own example
out = {"example": {"text": ns["text"], "tool_calls": ns["tool_calls"]}, "cases": {}}
for case in cases:
    text, calls = ns["ask"](case["messages"], case["tools"])
    out["cases"][case["id"]] = {"text": text, "tool_calls": calls}
print("SERVED " + json.dumps(out))
"""


def _card_python(card: str) -> str:
    section = card.split("## How to run", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("\n```", 1)[0]


def test_the_cards_how_to_run_serves_what_the_eval_measured(released, tmp_path):
    """The card's llama-cpp-python snippet, run as written on the released primary quant, gives on every
    call case of the promotion set the text the eval scored, and reads its calls as the strict
    parser did (a disagreement would be a framework_parser_gap, listed in the failure message)."""
    from evals.cases import load_cases
    from evals.parser import parse_strict

    tmp = released[0]
    folder = tmp / "releases" / f"{FAMILY}-0.1" / "4k"
    primary = json.loads((folder / "promotion" / "card_info.json").read_text())["primary_quant"]
    code = _card_python((folder / "README.md").read_text())
    assert f'model_path="gguf/{FAMILY}-4k-{primary}.gguf"' in code and "n_batch=64" in code
    report = json.loads((folder / "eval" / f"tuned-{primary}.json").read_text())
    scored = {r["id"]: r for r in report["cases"] if r.get("kind") != "probe"}
    cases = [c for c in load_cases(ROOT / "evals/sets/dev.jsonl") if c["id"] in scored]
    assert len(cases) == len(scored) >= 4
    (tmp_path / "snippet.py").write_text(code)
    (tmp_path / "cases.json").write_text(json.dumps([{k: c[k] for k in ("id", "messages", "tools")} for c in cases]))
    (tmp_path / "driver.py").write_text(_SERVE_DRIVER)
    res = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "snippet.py"),
                          str(tmp_path / "cases.json")], cwd=folder, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    served = json.loads(res.stdout.split("SERVED ", 1)[1])
    assert isinstance(served["example"]["text"], str)  # the card's own example ran

    text_differs, parser_gaps = [], []
    for case_id, got in served["cases"].items():
        record = scored[case_id]
        if got["text"] != record["output"]:
            text_differs.append(case_id)
        strict = parse_strict(got["text"])
        read = None if got["tool_calls"] is None else [
            {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}
            for c in got["tool_calls"]]
        if read != (strict.calls if strict.ok else None):
            parser_gaps.append((case_id, "framework_parser_gap", got["text"][:200]))
    assert not text_differs, f"serving text differs from the eval's on {text_differs}"
    assert not parser_gaps, parser_gaps
    calls = sum(bool(g["tool_calls"]) for g in served["cases"].values())
    print(f"serving parity: {len(served['cases'])} cases identical to the eval, {calls} with tool calls")


def test_second_release_of_a_version_is_refused(released):
    tmp, _, _, _ = released
    for out in (tmp / "releases", tmp / "elsewhere"):  # another --out too: the registry records one 0.1
        res = toolsweep("release", "--family", FAMILY, "--version", "0.1", "--out", str(out),
                        "--tracking-uri", f"sqlite:///{tmp}/mlruns/mlflow.db", "--experiment", "release-e2e")
        assert res.returncode == 2 and "released already" in res.stderr and "never built twice" in res.stderr
    assert not (tmp / "elsewhere" / f"{FAMILY}-0.1").exists()


def test_repromoting_the_same_candidate_keeps_the_champion(released):
    tmp, summary, _, _ = released
    client = mlflow_client(tmp)
    before = str(client.get_model_version_by_alias(FAMILY, "champion-4k").version)
    res = toolsweep("promote", "--sweep", summary["experiment_dir"], "--tracking-uri", f"sqlite:///{tmp}/mlruns/mlflow.db",
               "--experiment", "release-e2e", "--json", str(tmp / "again.json"))
    assert res.returncode == 0, res.stderr[-3000:]
    record = json.loads((tmp / "again.json").read_text())
    assert record["promote"] is False and record["against"] == "champion" and record["champion_version"] == before
    assert record["rows"]["tool_f1"]["diff"] == 0 and record["rows"]["tool_f1"]["credible"] is False
    assert "NOT PROMOTED" in res.stdout
    assert str(client.get_model_version_by_alias(FAMILY, "champion-4k").version) == before
    run = client.get_run(record["promotion_run_id"])
    assert run.data.tags["toolsweep.promoted"] == "false" and run.data.metrics["promotion.promoted"] == 0.0


def test_a_champion_scored_under_another_setup_is_scored_again_here(released):
    """Greedy outputs depend on the CPU's kernels and the llama.cpp build: a champion's stored report
    from another machine is not paired as it is. Its GGUF is scored here, on the same cases."""
    from urllib.parse import urlparse

    tmp, summary, _, _ = released
    client = mlflow_client(tmp)
    champion = client.get_model_version_by_alias(FAMILY, "champion-4k")
    store = Path(urlparse(client.get_run(champion.run_id).info.artifact_uri).path)
    for stored in (store / "eval").glob("tuned-*.json"):  # every release quant's stored report
        report = json.loads(stored.read_text())
        report["header"]["llama_system_info"] = "CPU : AMX_INT8 = 1 | (another machine)"
        stored.write_text(json.dumps(report))
    res = toolsweep("promote", "--sweep", summary["experiment_dir"], "--tracking-uri", f"sqlite:///{tmp}/mlruns/mlflow.db",
                    "--experiment", "release-e2e", "--json", str(tmp / "elsewhere.json"))
    assert res.returncode == 0, res.stderr[-3000:]
    record = json.loads((tmp / "elsewhere.json").read_text())
    assert "scored under another setup (llama_system_info: 'CPU : AMX_INT8 = 1 | (another machine)' vs" in record["reasons"][0]
    assert "its GGUF was scored again here" in record["reasons"][0]
    # the same candidate against the champion's own GGUF scored on this machine: identical outputs
    assert all(row["diff"] in (0, None) for row in record["rows"].values()), record["rows"]
    assert record["promote"] is False and str(client.get_model_version_by_alias(FAMILY, "champion-4k").version) == \
        str(champion.version)


def test_tampered_release_fails_verify(released):
    tmp, _, _, _ = released
    dest = tmp / "releases" / f"{FAMILY}-0.1"
    gguf = dest / "4k" / "gguf" / f"{FAMILY}-4k-q8_0.gguf"
    with gguf.open("r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    res = toolsweep("verify", str(dest))
    assert res.returncode == 1 and f"sha256 differs: 4k/gguf/{FAMILY}-4k-q8_0.gguf" in res.stdout


# --- the experiment log as a reader sees it: MLflow's UI in headless Chromium ----------------------

UI_ARTIFACTS = ROOT / "runs" / "test-artifacts" / "mlflow-ui"  # screenshots kept for a person to look at


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_ui(released):
    """`mlflow server` on the sweep's store, on 127.0.0.1 and a free port; stopped by PID."""
    import shutil
    import signal
    import time
    import urllib.request

    assert shutil.which("chromium"), "Debian's chromium is missing: `make install` adds it (apt-get install chromium)"
    tmp = released[0]
    port = _free_port()
    log = (tmp / "mlflow-server.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri",
                             f"sqlite:///{tmp}/mlruns/mlflow.db", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{base}/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(1)
        else:
            raise AssertionError(f"mlflow server did not answer: {(tmp / 'mlflow-server.log').read_text()[-2000:]}")
        UI_ARTIFACTS.mkdir(parents=True, exist_ok=True)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser(mlflow_ui):
    """Headless Chromium, driven through the DevTools protocol (tests/headless_browser.py)."""
    from headless_browser import HeadlessChromium
    with HeadlessChromium(width=1500, height=1100) as chromium:
        yield chromium


def _render(browser, url: str, name: str, expect: tuple[str, ...], ready=None) -> str:
    """The page's DOM once every `expect`ed text is in it (and `ready(dom)` holds), polled in real
    time: the single-page app fills its tables from API calls after load ("N matching runs" shows
    before the rows do). A screenshot of that moment is kept under UI_ARTIFACTS."""
    return browser.render(url, expect=expect, ready=ready, screenshot=UI_ARTIFACTS / f"{name}.png", timeout=150)


def test_the_mlflow_ui_shows_the_sweep_its_trials_and_the_champion(released, mlflow_ui, browser):
    import re

    tmp, summary, _, _ = released
    client = mlflow_client(tmp)
    exp = client.get_experiment_by_name("release-e2e")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    view = "workflowType=machine_learning"  # the model-training view (what toolsweep's links open)
    parent = client.get_run(summary["parent_run_id"])
    trials = client.search_runs([exp.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}' "
                                                     f"and tags.`toolsweep.kind` = 'trial'")

    runs = client.search_runs([exp.experiment_id])
    page = _render(browser, f"{mlflow_ui}/#/experiments/{exp.experiment_id}?{view}", "1-experiment-runs",
                   (parent.info.run_name, f"{len(runs)} matching runs", f"/runs/{parent.info.run_id}"))
    top = {r.info.run_id for r in runs if "mlflow.parentRunId" not in r.data.tags}
    # the runs table, in the model-training view: every run counted, only the sweep parents as rows,
    # their trial and promotion runs nested (collapsed) under them
    assert parent.info.run_name in page and f"{len(runs)} matching runs" in page and "Traces 0" not in page
    shown = set(re.findall(r'href="#/experiments/\d+/runs/([0-9a-f]{32})"', page))
    assert shown == top and len(top) < len(runs)

    page = _render(browser, f"{mlflow_ui}/#/experiments/{exp.experiment_id}/runs/{parent.info.run_id}?{view}",
                   "2-parent-run",
                   ("Sweep tiny4k", "best.tool_selection_accuracy"))
    assert "Sweep tiny4k" in page and "Pareto front" in page  # the description, rendered
    assert "best.tool_selection_accuracy" in page and "trials.finished" in page  # summary metrics
    assert "PROMOTED" in page  # the promotion decision in the description

    child = trials[0]
    # MLflow's charts page: one section per key prefix before the last "/", named sections first
    # (alphabetically), then "Model metrics" (keys without "/"); orchestrator/metric_keys.py
    sections: dict[str, int] = {}
    for key in child.data.metrics:
        name = key.rsplit("/", 1)[0] if "/" in key else "Model metrics"
        sections[name] = sections.get(name, 0) + 1
    assert set(sections) == {"dev", "train", "Model metrics"}, sections
    headers = [f"{name} ({sections[name]})" for name in ("dev", "train", "Model metrics")]
    page = _render(browser, f"{mlflow_ui}/#/experiments/{exp.experiment_id}/runs/{child.info.run_id}/model-metrics?{view}",
                   "3-child-run-charts", tuple(headers), ready=lambda dom: dom.count("js-plotly-plot") >= 6)
    # every metric of the trial has its chart, and the page opens on the dev scores, then the loss curve
    assert all(h in page for h in headers), headers
    text = page.rsplit("\n", 1)[-1]  # the rendered text, in reading order (headless_browser._dom)
    assert text.index(headers[0]) < text.index(headers[1]) < text.index(headers[2]), headers
    assert page.count("js-plotly-plot") >= 6  # and the charts drew (plotly), not loading spinners

    page = _render(browser, f"{mlflow_ui}/#/models/{FAMILY}?{view}", "4-registered-model",
                   ("champion-4k", "champion-16k", "one champion per context variant"))
    assert "champion-4k" in page and "champion-16k" in page
    assert "one champion per context variant" in page  # the registered model's description
