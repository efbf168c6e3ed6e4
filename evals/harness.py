"""case → template → runner → parser → scorer → report, each stage a plain function.

`evaluate` is pure apart from the `generate` callable it is given (the llama.cpp runner in
real use, a canned function in unit tests).
"""

from __future__ import annotations

import statistics
from typing import Callable, Iterable

from evals.parser import parse_strict
from evals.scorer import aggregate, per_scenario, score_case
from evals.stats import bootstrap_ci
from evals.template import render_chat

# generate(prompt, max_tokens) -> {"text", "latency_s", "completion_tokens", "prompt_tokens"}
Generate = Callable[[str, int], dict]

HEADLINE = ("parse_success", "tool_selection_accuracy", "tool_f1", "tool_precision", "tool_recall",
            "no_tool_accuracy", "argument_exact_match")


def render_prompts(cases: list[dict], template: str) -> list[tuple[str, dict]]:
    """Prompts sorted so neighbours share the longest prefixes (the runner reuses its KV cache)."""
    prompts = [(render_chat(template, c["messages"], c["tools"], add_generation_prompt=True), c) for c in cases]
    return sorted(prompts, key=lambda pc: pc[0])


def evaluate(cases: list[dict], generate: Generate, template: str, max_new_tokens: int = 160,
             seed: int = 0, on_case: Callable[[int, int], None] | None = None) -> dict:
    records, scores = [], []
    ordered = render_prompts(cases, template)
    for i, (prompt, case) in enumerate(ordered):
        out = generate(prompt, max_new_tokens)
        parsed = parse_strict(out["text"])
        score = score_case(case, parsed)
        scores.append(score)
        records.append({**score, "expected": case["expected"]["calls"], "output": out["text"],
                        "parsed_calls": parsed.calls, "parse_error": parsed.error,
                        "latency_s": out["latency_s"], "completion_tokens": out["completion_tokens"],
                        "prompt_tokens": out["prompt_tokens"]})
        if on_case:
            on_case(i + 1, len(ordered))
    records.sort(key=lambda r: r["id"])
    return build_report(records, scores, seed)


def build_report(records: list[dict], scores: list[dict], seed: int = 0) -> dict:
    metrics = aggregate(scores)
    cis = {}
    for name in HEADLINE:
        ci = bootstrap_ci(scores, lambda s, n=name: aggregate(s)[n], seed=seed)
        cis[name] = list(ci) if ci else None
    latencies = [r["latency_s"] for r in records]
    total_tokens = sum(r["completion_tokens"] for r in records)
    timing = {
        "median_latency_s": statistics.median(latencies) if latencies else None,
        "tokens_per_s": total_tokens / sum(latencies) if latencies and sum(latencies) > 0 else None,
        "total_s": sum(latencies),
    }
    return {"metrics": metrics, "ci95": cis, "per_scenario": per_scenario(scores), "timing": timing,
            "cases": records}


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def to_markdown(report: dict, title: str = "Evaluation report", header: dict | None = None) -> str:
    lines = [f"# {title}", ""]
    for key, value in (header or {}).items():
        lines.append(f"- **{key}**: {value}")
    lines += ["", "| metric | value | 95% CI |", "|---|---|---|"]
    for name in HEADLINE:
        ci = report["ci95"].get(name)
        lines.append(f"| {name} | {_fmt(report['metrics'][name])} | "
                     f"{'—' if not ci else f'[{ci[0]:.3f}, {ci[1]:.3f}]'} |")
    lines += ["", f"Cases: {int(report['metrics']['n_cases'])}; median latency "
              f"{_fmt(report['timing']['median_latency_s'])} s; {_fmt(report['timing']['tokens_per_s'])} tokens/s.", "",
              "| scenario | n | tool selection acc | tool F1 | args exact |", "|---|---|---|---|---|"]
    for scenario, m in report["per_scenario"].items():
        lines.append(f"| {scenario} | {int(m['n_cases'])} | {_fmt(m['tool_selection_accuracy'])} | "
                     f"{_fmt(m['tool_f1'])} | {_fmt(m['argument_exact_match'])} |")
    return "\n".join(lines) + "\n"


def comparison_rows(reports: Iterable[tuple[str, dict]]) -> list[list[str]]:
    """Rows of a side-by-side table: one per model, headline metrics as columns."""
    return [[label, *(_fmt(r["metrics"][name]) for name in HEADLINE)] for label, r in reports]
