"""The promote section, the shipped smoke/family files and how a family's rule reaches each variant."""

from pathlib import Path

import pytest

from orchestrator.config import ConfigError, family_variants, load_config, load_family, parse_config

ROOT = Path(__file__).resolve().parent.parent


def test_promote_defaults_and_errors():
    cfg = parse_config({"name": "x"})
    assert (cfg.promote.mode, cfg.promote.primary, cfg.promote.guards) == ("off", "tool_f1",
                                                                          ["no_tool_accuracy", "fabrication_rate",
                                                                           "parse_success"])
    assert cfg.promote.min_cases == 10
    with pytest.raises(ConfigError) as err:
        parse_config({"name": "x", "promote": {"primary": "accuracy", "guards": ["tool_f1", "speed"],
                                               "quant_types": ["q3"], "mdoe": "auto"}})
    text = str(err.value)
    assert "promote.primary: unknown metric 'accuracy'" in text
    assert "promote.guards: unknown guard metric(s) ['speed']" in text
    assert "promote.quant_types: unknown quant type(s) ['q3']" in text
    assert "promote.mdoe: unknown key" in text


def test_bare_yaml_off_means_off(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: s\npromote:\n  mode: off\n")
    assert load_config(f).promote.mode == "off"
    f.write_text("name: s\npromote:\n  mode: auto\n")
    assert load_config(f).promote.mode == "auto"


@pytest.mark.parametrize("name,context", [("smoke4k", 4096), ("smoke16k", 16384)])
def test_smoke_variants_load(name, context):
    cfg = load_config(ROOT / f"sweeps/{name}.yaml")
    assert cfg.model.base == "smollm2-135m" and cfg.train.max_length == context == cfg.eval.n_ctx
    assert cfg.search.num_samples == 2 and cfg.search.max_concurrent == 1
    assert cfg.promote.family == "smol-smollm2"


def test_family_rule_overrides_only_the_keys_it_sets():
    fam = load_family(ROOT / "sweeps/family-smoke.yaml")
    assert (fam.family, fam.version) == ("smol-smollm2", "0.1")
    v4, v16 = family_variants(fam)
    assert (v4.promote.eval_set, v16.promote.eval_set) == (Path("evals/sets/test.jsonl"), Path("evals/sets/long_8k.jsonl"))
    assert v4.promote.guards == ["no_tool_accuracy", "fabrication_rate", "parse_success"]
    assert v16.promote.guards == ["argument_exact_match", "parse_success"]
    assert {v.promote.mode for v in (v4, v16)} == {"off"} and {v.promote.primary for v in (v4, v16)} == {"tool_f1"}
    qwen = family_variants(load_family(ROOT / "sweeps/family.yaml"))
    assert [v.train.max_length for v in qwen] == [4096, 16384, 32768]
    assert {v.promote.family for v in qwen} == {"smol-tools-qwen"}


def test_family_file_errors(tmp_path):
    f = tmp_path / "fam.yaml"
    f.write_text("family: f\nversion: '1'\nvariants: []\npromote: {primry: tool_f1}\n")
    with pytest.raises(ConfigError) as err:
        load_family(f)
    assert "2 problem(s) in the family config" in str(err.value)
    assert "variants: list at least one variant sweep file" in str(err.value)
    assert "promote.primry: unknown key" in str(err.value)
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: a\n")
    b.write_text("name: b\ntracking: {uri: 'sqlite:///elsewhere.db'}\n")
    f.write_text(f"family: f\nversion: '1'\nvariants: [{a}, {b}]\n")
    with pytest.raises(ConfigError, match="must share one MLflow store"):
        family_variants(load_family(f))


def test_family_checks_eval_sets_before_sweeping(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("name: a\npromote: {eval_set: evals/sets/nope.jsonl}\n")
    f = tmp_path / "fam.yaml"
    f.write_text(f"family: f\nversion: '1'\nvariants: [{a}]\n")
    with pytest.raises(ConfigError, match="promotion eval set evals/sets/nope.jsonl does not exist"):
        family_variants(load_family(f))


def test_card_training_details_read_mlflow_params_as_numbers_and_null_as_none():
    from orchestrator.recipes.promote import _training_details

    cfg = load_config(Path("sweeps/smoke.yaml"))
    # MLflow keeps every param as text; a null one (top_layers: null) comes back as "None"
    params = {"train.lora.rank": "16", "train.lora.top_layers": "None", "train.learning_rate": "0.00088",
              "resources.cpus_per_trial": "2"}
    details = _training_details(params, {"data.train_examples": 279.0}, cfg)
    assert details["rank"] == 16 and details["top_layers"] is None and details["learning_rate"] == 0.00088
    assert details["examples"] == 279 and details["hardware"].startswith("2 CPU cores")


@pytest.mark.parametrize("sweep", sorted(p.name for p in Path("sweeps").glob("*.yaml")
                                          if "variants:" not in p.read_text()))
def test_every_shipped_sweep_can_measure_its_gate(sweep):
    """The promotion set of every shipped sweep measures its primary and guards on at least
    promote.min_cases cases: otherwise the gate refuses every candidate as unmeasured, hours in
    (the long sets once held 6 cases against min_cases 10)."""
    from orchestrator.search.preflight import _promotion_problems

    problems: list[str] = []
    _promotion_problems(load_config(Path("sweeps") / sweep), None, problems, promoting=True)
    assert problems == []


def test_card_training_data_is_read_from_the_trial_params():
    from orchestrator.recipes.promote import training_data_summary

    params = {"data.sources.starter.path": "data/starter/train.jsonl", "data.sources.starter.generate": "None",
              "data.sources.starter.weight": "1.0", "data.sources.judgment.path": "None",
              "data.sources.judgment.generate.kind": "judgment", "data.sources.judgment.generate.count": "240",
              "data.sources.judgment.weight": "2.0", "data.mix.total": "288", "data.mix.no_tool_ratio": "0.6548",
              "data.mix.honesty_ratio": "0.1", "data.leakage.check": "True", "data.eval": "evals/sets/dev.jsonl",
              "data.leakage.eval_sets": "['evals/sets/test.jsonl']", "data.leakage.allow": "[]"}
    assert training_data_summary(params) == (
        "judgment (generated by judgment, 240 rows, weight 2.0), starter (data/starter/train.jsonl, weight 1.0); "
        "sampled to 288 rows, no-tool share 0.65, honesty share 0.10; checked for overlap with "
        "evals/sets/dev.jsonl and evals/sets/test.jsonl: none (a leak fails the trial)")
    assert training_data_summary({**params, "data.leakage.allow": "['ngram']"}).endswith("leaks of kind ngram allowed")
    assert training_data_summary({}) is None


def test_card_loss_is_the_mean_of_the_last_logged_steps_when_the_trainer_summary_is_missing():
    from orchestrator.recipes.promote import _training_details
    from orchestrator.release.cards import _loss_row

    cfg = load_config(Path("sweeps/smoke.yaml"))
    history = [3.6, 0.3] * 10 + [2.45]  # one step's loss is one batch: the last alone read 2.45
    details = _training_details({}, {"train/loss": 2.45}, cfg, loss_history=history)
    label, value = _loss_row(details)
    assert label == "Train loss (mean of the last 10 logged steps)" and value == f"{sum(history[-10:]) / 10:.4f}"
    assert _loss_row(_training_details({}, {"train/train_loss": 1.2, "train/loss": 2.45}, cfg, loss_history=history)) \
        == ("Final train loss", "1.2000")
