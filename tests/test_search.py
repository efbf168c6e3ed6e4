import pytest

from orchestrator.config import flat_params, parse_config, sampled_config
from orchestrator.search.space import Dim, apply_params, pareto_front, rung_metric, space_spec

OBJ = {"tool_f1": "max", "no_tool_accuracy": "max", "fabrication_rate": "min"}


def test_space_spec_from_validated_config():
    cfg = parse_config({"name": "s", "search_space": {
        "train.learning_rate": {"loguniform": [5e-5, 2e-4]},
        "train.lora.rank": {"choice": [16, 32, 64]},
        "train.epochs": {"randint": [1, 5]},
        "train.lora.dropout": {"uniform": [0.0, 0.1]}}})
    assert space_spec(cfg.search_space) == [
        Dim("train.epochs", "randint", (1, 5)), Dim("train.learning_rate", "loguniform", (5e-5, 2e-4)),
        Dim("train.lora.dropout", "uniform", (0.0, 0.1)), Dim("train.lora.rank", "choice", (16, 32, 64))]


@pytest.mark.parametrize("space, message", [
    ({"x": {"loguniform": [0.0, 1.0]}}, "positive low bound"),
    ({"x": {"uniform": [2.0, 1.0]}}, "low < high"),
    ({"x": {"choice": []}}, "at least one value"),
])
def test_space_spec_rejects_bad_ranges(space, message):
    with pytest.raises(ValueError, match=message):
        space_spec(space)


def test_apply_params_sets_dotted_keys_and_nothing_else():
    base = {"train": {"lora": {"rank": 8, "alpha": "2x_rank"}, "epochs": 1}}
    out = apply_params(base, {"train.lora.rank": 32, "train.epochs": 3})
    assert out == {"train": {"lora": {"rank": 32, "alpha": "2x_rank"}, "epochs": 3}}
    assert base["train"]["lora"]["rank"] == 8  # the input is not modified


def test_a_sampled_rank_carries_a_tied_alpha_through_the_validated_config():
    base = parse_config({"name": "s", "train": {"lora": {"rank": 8, "alpha": "2x_rank"}}}).model_dump(mode="json")
    trial = sampled_config(base, {"train.lora.rank": 32})
    assert (trial.train.lora.rank, trial.train.lora.resolved_alpha) == (32, 64)
    assert flat_params(trial)["train.lora.alpha"] == 64  # MLflow records the alpha trained with
    fixed = sampled_config(parse_config({"name": "s", "train": {"lora": {"rank": 8, "alpha": 12}}}).model_dump(mode="json"),
                           {"train.lora.rank": 32})
    assert fixed.train.lora.resolved_alpha == 12


def test_rung_metric_weights_directions_and_missing_values():
    m = {"tool_f1": 0.8, "no_tool_accuracy": 0.5, "fabrication_rate": 0.25}
    assert rung_metric(m, OBJ) == 0.8  # default: the primary (first) objective alone
    assert rung_metric(m, OBJ, {"tool_f1": 1, "fabrication_rate": 2}) == pytest.approx(0.8 - 0.5)
    assert rung_metric({"tool_f1": None}, OBJ) == 0.0
    assert rung_metric({"fabrication_rate": float("nan")}, OBJ, {"fabrication_rate": 1}) == -1.0


def test_pareto_front_hand_checked():
    points = [
        {"tool_f1": 0.9, "no_tool_accuracy": 0.6, "fabrication_rate": 0.2},  # 0: front (best f1)
        {"tool_f1": 0.7, "no_tool_accuracy": 0.9, "fabrication_rate": 0.3},  # 1: front (best no-tool)
        {"tool_f1": 0.7, "no_tool_accuracy": 0.5, "fabrication_rate": 0.3},  # 2: dominated by 0 and 1
        {"tool_f1": 0.6, "no_tool_accuracy": 0.6, "fabrication_rate": 0.1},  # 3: front (least fabrication)
        {"tool_f1": 0.9, "no_tool_accuracy": 0.6, "fabrication_rate": 0.2},  # 4: ties 0: neither dominates
        {"tool_f1": None, "no_tool_accuracy": 1.0, "fabrication_rate": 0.0},  # 5: unscored, skipped
    ]
    assert pareto_front(points, OBJ) == [0, 1, 3, 4]
    assert pareto_front(points, {"tool_f1": "max"}) == [0, 4]


def test_unmeasured_objectives_names_what_the_dev_slice_lacks():
    from orchestrator.search.space import unmeasured_objectives

    call = {"expected": {"calls": [{"name": "f", "arguments": {}}]}}
    no_tool = {"expected": {"calls": []}}
    probe = {"expected": {"behaviour": "honest_report"}}
    objectives = {"tool_f1": "max", "no_tool_accuracy": "max", "fabrication_rate": "min", "gguf_size_mb": "min"}
    assert unmeasured_objectives([call, probe], objectives) == ["no_tool_accuracy"]
    assert unmeasured_objectives([no_tool], objectives) == ["tool_f1", "fabrication_rate"]
    assert unmeasured_objectives([call, no_tool, probe], objectives) == []


def test_the_shipped_sweeps_dev_slices_measure_their_objectives():
    from evals.cases import load_cases, take
    from orchestrator.config import load_config
    from orchestrator.search.space import unmeasured_objectives

    for name in ("smoke", "smoke4k", "smoke16k", "context4k", "context16k", "context32k"):
        cfg = load_config(f"sweeps/{name}.yaml")
        cases = take(load_cases(cfg.data.eval), cfg.search.dev_cases)
        assert unmeasured_objectives(cases, cfg.search.objectives) == [], name


def test_an_unmeasured_objective_ranks_last_and_nan_never_wins():
    from orchestrator.search.report import best_metrics
    from orchestrator.search.space import pareto_front, rung_metric
    from orchestrator.search.table import best_so_far

    objectives, weights = {"tool_f1": "max", "median_latency_s": "min"}, {"tool_f1": 1.0, "median_latency_s": 0.1}
    measured = rung_metric({"tool_f1": 0.5, "median_latency_s": 2.5}, objectives, weights)
    # a latency that was not measured is the worst latency, not 1 s (which beat a measured 2.5 s)
    for missing in (None, float("nan")):
        assert rung_metric({"tool_f1": 0.5, "median_latency_s": missing}, objectives, weights) < measured
    nan_point = {"tool_f1": float("nan"), "fabrication_rate": 0.1}
    assert pareto_front([{"tool_f1": 0.5, "fabrication_rate": 0.2}, nan_point],
                        {"tool_f1": "max", "fabrication_rate": "min"}) == [0]
    trials = [{"trial_id": "a", "status": "ok", "tool_f1": float("nan")}, {"trial_id": "b", "status": "ok", "tool_f1": 0.5}]
    for order in (trials, trials[::-1]):
        assert best_metrics({"objectives": {"tool_f1": "max"}, "trials": order})["best.tool_f1"] == 0.5
        assert best_so_far(order, {"tool_f1": "max"}) == {"tool_f1": (0.5, "b")}


def test_a_tie_names_the_same_best_trial_in_status_and_in_the_parent_description_whatever_the_order():
    """A blind probe: two tied trials, and `status` and the MLflow description named different ones."""
    from orchestrator.search.report import headline
    from orchestrator.search.table import best_so_far

    trials = [{"trial_id": "b7", "status": "ok", "tool_f1": 0.25}, {"trial_id": "a3", "status": "ok", "tool_f1": 0.25}]
    for order in (trials, trials[::-1]):
        assert best_so_far(order, {"tool_f1": "max"}) == {"tool_f1": (0.25, "a3")}
        assert headline({"objectives": {"tool_f1": "max"}, "trials": order}) == "**Best:** tool_f1 0.25 (trial a3)"
