"""Promotion rules on hand-checked numbers: fronts per variant, the candidate, the gate."""

import random

import pytest

from orchestrator.release.gate import (choose_candidate, direction_of, family_rows, gate, sweep_score,
                                    variant_fronts, variant_label)
from orchestrator.search.space import pareto_front

OBJ = {"tool_f1": "max", "no_tool_accuracy": "max", "fabrication_rate": "min"}


def trial(tid, ctx, status="finished", **metrics):
    return {"trial_id": tid, "context": ctx, "status": status, "metrics": metrics}


def test_variant_label():
    assert [variant_label(c) for c in (4096, 16384, 32768, 1024, 1000)] == ["4k", "16k", "32k", "1k", "1000"]


def test_fronts_split_by_context_and_skip_unfinished():
    trials = [
        trial("a", 4096, tool_f1=0.80, no_tool_accuracy=0.90, fabrication_rate=0.10),
        trial("b", 4096, tool_f1=0.85, no_tool_accuracy=0.80, fabrication_rate=0.10),  # trades with a
        trial("c", 4096, tool_f1=0.80, no_tool_accuracy=0.85, fabrication_rate=0.20),  # dominated by a
        trial("d", 4096, status="failed", tool_f1=0.99, no_tool_accuracy=0.99, fabrication_rate=0.0),
        trial("e", 4096, status="stopped_early", tool_f1=0.70, no_tool_accuracy=0.95, fabrication_rate=0.30),
        trial("f", 16384, tool_f1=0.60, no_tool_accuracy=None, fabrication_rate=0.0),  # cannot be placed
        trial("g", 16384, tool_f1=0.50, no_tool_accuracy=0.5, fabrication_rate=0.0),
    ]
    fronts = variant_fronts(trials, OBJ)
    assert sorted(fronts) == ["16k", "4k"]
    assert [t["trial_id"] for t in fronts["4k"]] == ["a", "b", "e"]
    assert [t["trial_id"] for t in fronts["16k"]] == ["g"]


def test_candidate_best_primary_then_guards_then_size_then_id():
    """One objective (the default sweep's): the sweep score is the primary, and the ties below it decide."""
    one = {"tool_f1": "max"}
    front = [trial("a", 4096, tool_f1=0.8, no_tool_accuracy=0.9, fabrication_rate=0.1, gguf_size_mb=100),
             trial("b", 4096, tool_f1=0.9, no_tool_accuracy=0.5, fabrication_rate=0.1, gguf_size_mb=100)]
    assert choose_candidate(front, "tool_f1", ["no_tool_accuracy"], one)["trial_id"] == "b"
    tie = [trial("a", 4096, tool_f1=0.9, no_tool_accuracy=0.8, fabrication_rate=0.2, gguf_size_mb=90),
           trial("b", 4096, tool_f1=0.9, no_tool_accuracy=0.8, fabrication_rate=0.1, gguf_size_mb=100),
           trial("c", 4096, tool_f1=0.9, no_tool_accuracy=0.7, fabrication_rate=0.0, gguf_size_mb=50)]
    # no_tool_accuracy first (a, b tie at 0.8), then fabrication_rate (lower wins: b)
    assert choose_candidate(tie, "tool_f1", ["no_tool_accuracy", "fabrication_rate"], one)["trial_id"] == "b"
    same = [trial("z", 4096, tool_f1=0.9, gguf_size_mb=100), trial("y", 4096, tool_f1=0.9, gguf_size_mb=80),
            trial("x", 4096, tool_f1=0.9, gguf_size_mb=80)]
    assert choose_candidate(same, "tool_f1", [], one)["trial_id"] == "x"
    assert choose_candidate([trial("a", 4096, tool_f1=None)], "tool_f1", [], one) is None


def test_candidate_is_the_front_trial_the_sweep_ranked_best_not_the_best_primary_alone():
    """Two objectives and ASHA's weights: the pick trades them as the sweep did (the smoke demo's two
    front trials: 0.238 + 0.5 * 0.667 = 0.571 against 0.190 + 0.5 * 1.0 = 0.690)."""
    obj = {"tool_selection_accuracy": "max", "no_tool_accuracy": "max"}
    weights = {"tool_selection_accuracy": 1.0, "no_tool_accuracy": 0.5}
    front = [trial("calls", 1024, tool_selection_accuracy=0.238, no_tool_accuracy=0.667, tool_f1=0.200),
             trial("judges", 1024, tool_selection_accuracy=0.190, no_tool_accuracy=1.000, tool_f1=0.143)]
    assert choose_candidate(front, "tool_f1", ["no_tool_accuracy"], obj, weights)["trial_id"] == "judges"
    assert sweep_score(front[1], obj, weights) == pytest.approx(0.690)
    # weighted the other way, or with no weights (the first objective alone), the caller wins
    assert choose_candidate(front, "tool_f1", [], obj, {"tool_selection_accuracy": 1.0})["trial_id"] == "calls"
    assert choose_candidate(front, "tool_f1", [], obj, {})["trial_id"] == "calls"
    # a minimised objective counts negated; equal sweep scores fall to the primary
    fab = {"tool_f1": "max", "fabrication_rate": "min"}
    tied = [trial("p", 1024, tool_f1=0.6, fabrication_rate=0.2), trial("q", 1024, tool_f1=0.5, fabrication_rate=0.1)]
    assert sweep_score(tied[0], fab, {"tool_f1": 1, "fabrication_rate": 1}) == pytest.approx(0.4)
    assert choose_candidate(tied, "tool_f1", [], fab, {"tool_f1": 1, "fabrication_rate": 1})["trial_id"] == "p"
    assert choose_candidate(tied, "tool_f1", [], fab, {"tool_f1": 1, "fabrication_rate": 2})["trial_id"] == "q"


def row(metric, a, b, lo, hi):
    return {"metric": metric, "a": a, "b": b, "diff": b - a, "ci95": [lo, hi], "credible": lo > 0 or hi < 0,
            "n_cases": 100}


def test_gate_promotes_credible_primary_gain_with_guards_holding():
    rows = [row("tool_f1", 0.70, 0.80, 0.03, 0.17), row("no_tool_accuracy", 0.9, 0.88, -0.08, 0.04),
            row("fabrication_rate", 0.10, 0.05, -0.12, 0.02)]
    d = gate(rows, "tool_f1", ["no_tool_accuracy", "fabrication_rate"], "champion")
    assert d.promote is True
    assert d.reasons[0] == "primary credibly better than the champion (tool_f1: 0.700 -> 0.800, diff +0.100, 95% CI [+0.030, +0.170])"
    assert d.reasons[1].startswith("guard holds: not credibly worse, n=100 (no_tool_accuracy")


def test_gate_keeps_champion_when_not_credibly_better():
    rows = [row("tool_f1", 0.70, 0.74, -0.01, 0.09), row("no_tool_accuracy", 0.9, 0.9, -0.05, 0.05)]
    d = gate(rows, "tool_f1", ["no_tool_accuracy"], "champion")
    assert d.promote is False
    assert d.reasons[0].startswith("primary not credibly better than the champion")


def test_gate_blocks_on_a_credible_guard_regression_in_either_direction():
    up = row("tool_f1", 0.70, 0.80, 0.03, 0.17)
    worse_nt = row("no_tool_accuracy", 0.9, 0.7, -0.3, -0.1)
    d = gate([up, worse_nt], "tool_f1", ["no_tool_accuracy"], "champion")
    assert d.promote is False and d.reasons[1].startswith("guard regressed credibly (no_tool_accuracy")
    # fabrication_rate is lower-is-better: a credible *increase* is the regression ...
    more_fab = row("fabrication_rate", 0.05, 0.25, 0.1, 0.3)
    assert gate([up, more_fab], "tool_f1", ["fabrication_rate"], "champion").promote is False
    # ... and a credible decrease is an improvement, not a regression
    less_fab = row("fabrication_rate", 0.25, 0.05, -0.3, -0.1)
    assert gate([up, less_fab], "tool_f1", ["fabrication_rate"], "champion").promote is True


def test_gate_refuses_on_unmeasured_guards_and_primary():
    up = row("tool_f1", 0.70, 0.80, 0.03, 0.17)
    missing = {"metric": "no_tool_accuracy", "a": None, "b": None, "diff": None, "ci95": None, "credible": False}
    d = gate([up, missing], "tool_f1", ["no_tool_accuracy", "fabrication_rate"], "champion")
    assert d.promote is False and d.unmeasured == ["no_tool_accuracy", "fabrication_rate"]
    assert d.reasons[1:] == ["guard no_tool_accuracy not measured on this eval set; refused",
                             "guard fabrication_rate not measured on this eval set; refused"]
    d = gate([missing], "no_tool_accuracy", [], "champion")
    assert d.promote is False and "not measured" in d.reasons[0] and d.unmeasured == ["no_tool_accuracy"]


def test_first_promotion_refuses_a_guard_measured_on_too_few_cases():
    # No-tool accuracy flat on 4 no-tool cases: "not credibly worse" there is no evidence of safety.
    flat_primary = row("tool_f1", 0.50, 0.52, -0.05, 0.09)
    few = {**row("no_tool_accuracy", 1.0, 0.75, -0.75, 0.0), "n_measured": 4}
    d = gate([flat_primary, few], "tool_f1", ["no_tool_accuracy"], "base", "not_worse_than_base", min_cases=10)
    assert d.promote is False and d.unmeasured == ["no_tool_accuracy"]
    assert d.reasons[1] == ("guard no_tool_accuracy unmeasured: 4 case(s) measure it, fewer than the minimum 10; "
                            "refused")
    assert d.to_dict()["unmeasured"] == ["no_tool_accuracy"]
    # The same rows pass once the minimum is met, and the primary counts too.
    assert gate([flat_primary, few], "tool_f1", ["no_tool_accuracy"], "base", min_cases=4).promote is True
    thin_primary = {**flat_primary, "n_measured": 3}
    d = gate([thin_primary], "tool_f1", [], "base", min_cases=10)
    assert d.promote is False and d.unmeasured == ["tool_f1"]
    # an unmeasured primary still lists the guards the set cannot measure (the card marks them too)
    d = gate([thin_primary, few], "tool_f1", ["no_tool_accuracy"], "base", min_cases=10)
    assert d.unmeasured == ["tool_f1", "no_tool_accuracy"]
    assert d.reasons[1] == "guard no_tool_accuracy unmeasured: 4 case(s) measure it, fewer than the minimum 10"


def test_gate_refuses_a_credible_parse_success_regression_with_the_default_guards():
    from orchestrator.config import PromoteConfig

    p = PromoteConfig()
    assert "parse_success" in p.guards
    better_f1 = row("tool_f1", 0.15, 0.29, 0.01, 0.30)           # credibly better primary
    rows = [better_f1, row("no_tool_accuracy", 0.9, 0.9, -0.1, 0.1), row("fabrication_rate", 0.1, 0.1, -0.1, 0.1),
            row("parse_success", 1.0, 0.81, -0.29, -0.10)]     # JSON validity credibly worse
    d = gate(rows, p.primary, p.guards, "base", p.first_promotion, p.min_cases)
    assert d.promote is False
    assert d.reasons[-1].startswith("guard regressed credibly (parse_success: 1.000 -> 0.810")
    holding = rows[:3] + [row("parse_success", 0.95, 0.97, -0.02, 0.06)]
    assert gate(holding, p.primary, p.guards, "base", p.first_promotion, p.min_cases).promote is True


def test_first_promotion_rules_against_base():
    flat = [row("tool_f1", 0.50, 0.52, -0.05, 0.09)]
    assert gate(flat, "tool_f1", [], "base", "not_worse_than_base").promote is True
    assert gate(flat, "tool_f1", [], "base", "better_than_base").promote is False
    worse = [row("tool_f1", 0.50, 0.30, -0.3, -0.1)]
    d = gate(worse, "tool_f1", [], "base", "not_worse_than_base")
    assert d.promote is False and d.reasons[0].startswith("primary credibly worse than the base")


def test_directions():
    assert direction_of("fabrication_rate") == "min" and direction_of("gguf_size_mb") == "min"
    assert direction_of("tool_f1") == "max"


def test_family_rows_sorted_by_context():
    rows = family_rows({"16k": {"name": "f-16k", "context": 16384, "rank": 64, "alpha": 128,
                                "metrics": {"tool_f1": 0.948, "parse_success": 1.0, "no_tool_accuracy": None}},
                        "4k": {"name": "f-4k", "context": 4096, "rank": 32, "alpha": 64,
                               "metrics": {"tool_f1": 0.955, "parse_success": 1.0, "no_tool_accuracy": 1.0,
                                           "schema_validity": 0.99}}})
    assert [(r["variant"], r["tool_f1"], r["json_validity"], r["no_tool_accuracy"], r["rank"]) for r in rows] == [
        ("4k", 0.955, 1.0, 1.0, 32), ("16k", 0.948, 1.0, None, 64)]


@pytest.mark.parametrize("seed", range(5))
def test_pareto_front_matches_optuna_best_trials(seed):
    """Our pure front against Optuna's public Study.best_trials on random points (ties included)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = random.Random(seed)
    points = [{"f1": rng.choice([0.5, 0.6, 0.7, 0.8]), "nt": rng.choice([0.2, 0.5, 0.9]),
               "fab": rng.choice([0.0, 0.1, 0.3])} for _ in range(25)]
    objectives = {"f1": "max", "nt": "max", "fab": "min"}
    study = optuna.create_study(directions=["maximize", "maximize", "minimize"])
    for i, p in enumerate(points):
        study.add_trial(optuna.trial.create_trial(values=[p["f1"], p["nt"], p["fab"]], user_attrs={"i": i}))
    theirs = sorted(t.user_attrs["i"] for t in study.best_trials)
    assert sorted(pareto_front(points, objectives)) == theirs


def test_tool_f1_counts_only_the_cases_that_add_to_it_for_min_cases():
    """12 no-tool cases answered plainly and 2 call cases the candidate fixes: tool F1 rests on the
    2 call cases (the no-tool cases add nothing to tp, fp or fn), so it is unmeasured at min_cases 10
    instead of passing as 14 cases."""
    from evals.harness import compare_reports
    from tests.fake_reports import report

    base = report({"no_tool": (12, 12), "single_tool": (0, 2)})
    candidate = report({"no_tool": (12, 12), "single_tool": (2, 2)})
    rows = {r["metric"]: r for r in compare_reports(base, candidate)}
    assert rows["tool_f1"]["n_measured"] == rows["tool_recall"]["n_measured"] == 2
    assert rows["parse_success"]["n_measured"] == 14 and rows["no_tool_accuracy"]["n_measured"] == 12
    d = gate(list(rows.values()), "tool_f1", ["no_tool_accuracy"], "base", "not_worse_than_base", min_cases=10)
    assert d.promote is False and d.unmeasured == ["tool_f1"]


def test_the_decision_printout_names_the_reference_counts_and_direction(capsys, monkeypatch):
    """The printed table: the base beside the tuned model, the cases each metric is measured on, a
    verdict in the metric's direction (lower fabrication is better), and the ungated rows a tool F1
    gain can hide (exact arguments)."""
    from orchestrator import console

    rows = [row("tool_f1", 0.10, 0.30, 0.05, 0.30), row("fabrication_rate", 0.30, 0.05, -0.40, -0.10),
            {**row("no_tool_accuracy", 1.0, 0.75, -0.5, 0.0), "n_measured": 12},
            row("argument_exact_match", 0.0, 0.0, 0.0, 0.0), row("tool_precision", 0.3, 0.4, -0.1, 0.3)]
    d = gate(rows, "tool_f1", ["no_tool_accuracy", "fabrication_rate"], "base")
    assert list(d.others) == ["argument_exact_match"]
    assert "guard holds: not credibly worse, n=12 (no_tool_accuracy" in d.reasons[1]
    assert d.reasons[2].startswith("guard holds, credibly better (fabrication_rate")
    monkeypatch.setattr(console.out, "_width", 200)
    console.print_decision({**d.to_dict(), "family": "f", "variant": "1k", "trial_id": "t1", "primary_quant": "q4_k_m",
                            "eval_set": "test.jsonl", "model_version": "1"})
    text = capsys.readouterr().out
    assert "base" in text and "tuned" in text and "argument_exact_match (not gated)" in text
    fab = next(line for line in text.splitlines() if "fabrication_rate" in line and "│" in line)
    assert "yes, better" in fab
    no_tool = next(line for line in text.splitlines() if "no_tool_accuracy" in line and "│" in line)
    assert "│ 12 " in no_tool.replace("  ", " ") or " 12 " in no_tool
