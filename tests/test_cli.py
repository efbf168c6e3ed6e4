from pathlib import Path

from tests.helpers import toolsweep

ROOT = Path(__file__).resolve().parent.parent




def test_help_lists_every_command():
    res = toolsweep("--help")
    assert res.returncode == 0
    for cmd in ("sweep", "resume", "status", "trial", "eval", "compare", "setup-tools", "make-data", "data", "check-config"):
        assert cmd in res.stdout


def test_trial_help_explains_overrides():
    res = toolsweep("trial", "--help")
    assert res.returncode == 0 and "--set KEY=VALUE" in res.stdout


def test_config_error_exit_code_and_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel:\n  bsae: tiny\n")
    res = toolsweep("check-config", str(bad))
    assert res.returncode == 2
    assert f"config error: {bad}: 1 problem(s) in the sweep config:\n  - model.bsae: unknown key" in res.stderr


def test_check_config_prints_resolved_values():
    res = toolsweep("check-config", "sweeps/smoke.yaml", "--set", "train.epochs=3")
    assert res.returncode == 0
    assert "train.epochs = 3" in res.stdout and "model.base = smollm2-135m" in res.stdout


def test_eval_out_names_its_two_reports_after_the_stem_given():
    from orchestrator.cli import _report_files
    assert _report_files("reports/tuned") == (Path("reports/tuned.json"), Path("reports/tuned.md"))
    assert _report_files("reports/tuned.json") == (Path("reports/tuned.json"), Path("reports/tuned.md"))
    assert _report_files("reports/base.v1") == (Path("reports/base.v1.json"), Path("reports/base.v1.md"))
    assert _report_files("cases.jsonl") == (Path("cases.jsonl.json"), Path("cases.jsonl.md"))  # never the case file
