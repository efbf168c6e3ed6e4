"""case → template → runner → parser → scorer → attribution → report.

Each stage is a plain function; `evaluate` is pure apart from the runners it is given (the
llama.cpp runner in real use, a canned one in unit tests). A runner has
`generate(prompt, max_tokens) -> {"text", "latency_s", "completion_tokens", "prompt_tokens"}`
and may have `roundtrip(prompt) -> str` (tokenize then detokenize) for the template check.

A case whose prompt plus `max_new_tokens` does not fit the runner's context stops the eval before
anything is generated (a probe's later, longer round stops it then): its empty or cut answer would
be scored as the model's, and an empty answer even counts as a correct "no call".

Given several runners (*lanes*: one llama.cpp context each, on its own share of the cores),
`evaluate` scores blocks of neighbouring cases on all of them at once. A case's output is still its
fresh-context reference: no lane sees another's cache, and llama.cpp splits each op's output rows
across threads, so a token's arithmetic does not depend on how many threads a lane has
(tests/test_eval_invariance.py checks both, byte for byte).
"""

from __future__ import annotations

import functools
import json
import statistics
import threading
from typing import Any, Callable, Protocol, Sequence

from evals.attribution import TIERS, attribute, attribution_table, template_problems
from evals.cases import case_fingerprint
from evals.errors import ContextOverflowError
from evals.fabrication import OUTCOMES, classify, outcome_metric
from evals.lanes import lane_blocks
from evals.metrics import METRICS, REPORTED, measured_count, ratio_value
from evals.parser import STRICT_PARSER_VERSION, parse_lenient, parse_strict
from evals.tools import tool_names
from evals.scorer import aggregate, per_scenario, score_case, tool_name_counts
from evals.stats import CURRENT, N_RESAMPLES, RULES, CiRule, ratio_cis, wilson_interval
from evals.template import render_chat

PROBE_ROUNDS = 3


class Runner(Protocol):
    def generate(self, prompt: str, max_tokens: int) -> dict: ...


def is_probe(case: dict) -> bool:
    return case["expected"].get("behaviour") == "honest_report"


def render(case: dict, template: str, messages: list[dict] | None = None) -> str:
    return render_chat(template, messages or case["messages"], case["tools"], add_generation_prompt=True)


def order_for_prefix_reuse(cases: list[dict], template: str) -> list[tuple[str, dict]]:
    """Prompts sorted so neighbours share the longest prefixes (the runner reuses its KV cache)."""
    return sorted(((render(c, template), c) for c in cases), key=lambda pc: pc[0])


def _timing(out: dict) -> dict:
    return {k: out.get(k, 0) for k in ("latency_s", "completion_tokens", "prompt_tokens")}


def _generate(case: dict, prompt: str, runner: Runner, max_new_tokens: int) -> dict:
    out = runner.generate(prompt, max_new_tokens)
    if out.get("error"):  # nothing was generated: there is no answer to score (evals/errors.py)
        raise ContextOverflowError(f"case {case['id']!r}: {out['error']}")
    return out


def check_context(ordered: list[tuple[str, dict]], runner: Runner, max_new_tokens: int) -> None:
    """Before any generation: every prompt and its answer budget must fit the runner's context."""
    problem_of = getattr(runner, "context_problem", None)
    if problem_of is None:
        return
    over = [(case["id"], problem) for prompt, case in ordered for problem in [problem_of(prompt, max_new_tokens)]
            if problem]
    if over:  # every case that does not fit, not just the first: one rerun, not one per case
        (first, problem), more = over[0], [cid for cid, _ in over[1:]]
        raise ContextOverflowError(f"case {first!r}: {problem}" + (
            f"; {len(more)} more case(s) do not fit either ({', '.join(map(repr, more[:5]))}"
            f"{', ...' if len(more) > 5 else ''})" if more else ""))


def run_call_case(case: dict, prompt: str, runner: Runner, template_ok: bool, max_new_tokens: int) -> dict:
    out = _generate(case, prompt, runner, max_new_tokens)
    text = out["text"]
    strict, lenient = parse_strict(text), parse_lenient(text, tool_names(case))
    score = score_case(case, strict)
    if "bfcl" in case:  # BFCL-rules verdict beside our strict one (its checker accepts value variants)
        from evals.bfcl import bfcl_match
        score["bfcl_correct"] = bfcl_match(case, strict.calls if strict.ok else [])
    return {**score, "kind": "call", "expected": case["expected"]["calls"], "output": text,
            "parsed_calls": strict.calls, "parse_error": strict.error, "lenient_calls": lenient.calls,
            "lenient_tool_correct": score_case(case, lenient)["tool_correct"],
            **{f"attribution_{t}": attribute(case, text, template_ok, t) for t in TIERS}, **_timing(out)}


def run_probe(case: dict, prompt: str, runner: Runner, template: str, max_new_tokens: int,
              rounds: int = PROBE_ROUNDS) -> dict:
    """Feed the same tool failure back each time the model calls again, up to `rounds` answers."""
    failure = next(m for m in reversed(case["messages"]) if m["role"] == "tool")
    offered = tool_names(case)
    messages, outputs, timing = list(case["messages"]), [], {"latency_s": 0.0, "completion_tokens": 0,
                                                              "prompt_tokens": 0}
    for _ in range(rounds):
        out = _generate(case, prompt, runner, max_new_tokens)
        for k in timing:
            timing[k] += out.get(k, 0)
        outputs.append(out["text"])
        calls = parse_lenient(out["text"], offered).calls
        if not calls:
            break
        messages += [{"role": "assistant", "content": "",
                      "tool_calls": [{"type": "function", "function": c} for c in calls]},
                     *({"role": "tool", "content": failure["content"]} for _ in calls)]
        prompt = render(case, template, messages)
    outcome, reason = classify(outputs, messages, rounds, offered)
    return {"id": case["id"], "scenario": case.get("scenario", "fabrication_probe"), "kind": "probe",
            "probe_kind": case.get("probe_kind"), "outputs": outputs, "output": outputs[-1], "rounds": len(outputs), "outcome": outcome,
            "reason": reason, **timing}


def _score_one(case: dict, prompt: str, runner: Runner, template: str, max_new_tokens: int) -> dict:
    # what a reader needs beside the answer to judge it: the tools the model could call (the full case
    # is the file's, and case_sha256 pins which version of it was shown)
    shown = {"tools_offered": tool_names(case), "case_sha256": case_fingerprint(case)}
    if is_probe(case):
        return {**run_probe(case, prompt, runner, template, max_new_tokens), **shown}
    roundtrip = getattr(runner, "roundtrip", None)
    without_tools = render_chat(template, case["messages"], None, add_generation_prompt=True) if case["tools"] else None
    problems = template_problems(case, prompt, roundtrip(prompt) if roundtrip else None, without_tools)
    record = run_call_case(case, prompt, runner, not problems, max_new_tokens)
    record["template_problems"] = problems
    return {**record, **shown}


def evaluate(cases: list[dict], runner: Runner | Sequence[Runner], template: str, max_new_tokens: int = 160,
             seed: int = 0, on_case: Callable[[int, int], None] | None = None) -> dict:
    """Score `cases` on one runner, or on several at once (lanes, see the module docstring); the
    report is the same either way, records in id order."""
    runners = list(runner) if isinstance(runner, (list, tuple)) else [runner]
    ordered = order_for_prefix_reuse(cases, template)
    check_context(ordered, runners[0], max_new_tokens)
    blocks = lane_blocks(len(ordered), len(runners))
    records: list[dict] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def run_lane(lane_runner: Runner) -> None:
        plan = getattr(lane_runner, "plan", None)  # a recurrent/hybrid model saves shared-prefix states by it
        while True:
            with lock:
                if failures or not blocks:
                    return
                block = blocks.pop(0)
            if plan:
                plan([ordered[i][0] for i in block])
            for i in block:
                prompt, case = ordered[i]
                record = _score_one(case, prompt, lane_runner, template, max_new_tokens)
                with lock:
                    if failures:  # another lane failed: the report will not be built
                        return
                    records.append(record)
                    if on_case:
                        on_case(len(records), len(ordered))

    def lane(lane_runner: Runner) -> None:
        try:
            run_lane(lane_runner)
        except BaseException as err:  # the other lanes stop at their next case; raised below
            with lock:
                failures.append(err)

    if len(runners) == 1:
        run_lane(runners[0])
    else:
        threads = [threading.Thread(target=lane, args=(r,), name=f"eval-lane-{k}") for k, r in enumerate(runners)]
        for t in threads:
            t.start()
        try:
            for t in threads:
                t.join()
        except BaseException as err:  # Ctrl-C lands here, in the main thread: stop the lanes, then raise
            with lock:
                failures.append(err)
            for t in threads:
                t.join()
            raise
    if failures:
        raise failures[0]
    records.sort(key=lambda r: str(r["id"]))
    return build_report(records, seed)


def _metrics(call_records: list[dict]) -> dict:
    m = aggregate(call_records)
    m["lenient_tool_selection_accuracy"] = ratio_value(METRICS["lenient_tool_selection_accuracy"].ratio, call_records)
    bfcl = ratio_value(METRICS["bfcl_accuracy"].ratio, call_records)
    if bfcl is not None:
        m["bfcl_accuracy"] = bfcl
    return m


def _ratios(names) -> dict:
    """The per-case ratios of these metrics, from the registry (evals.metrics.CaseRatio)."""
    return {n: METRICS[n].ratio for n in names}


def fabrication_summary(probes: list[dict]) -> dict:
    n = len(probes)
    counts = {o: sum(p["outcome"] == o for p in probes) for o in OUTCOMES}
    rates = {f"{o}_rate": (counts[o] / n if n else None) for o in OUTCOMES}
    return {"n_probes": n, "counts": counts, **rates,
            "single_round": sum(p["rounds"] == 1 for p in probes)}


def _with_width(name: str, ci: tuple[float, float] | None, value: float | None, n: int,
                proportion: bool | None = None) -> list[float] | None:
    """The bootstrap CI, or where every counted case scored alike (the bootstrap then has no width)
    the Wilson score interval of the same cases (evals.stats.wilson_interval): for a proportion at
    any value, and for a ratio of counts (precision, recall, F1, key-F1) at 0 or 1, where every
    counted case was wholly right or wholly wrong (3 cases of perfect calls gave precision [1, 1]).
    `proportion`: whether the value is a share, for a name the metric registry does not hold."""
    if proportion is None:
        proportion = name in METRICS and METRICS[name].proportion
    alike = ci and ci[0] == ci[1] and value is not None and n and (name in METRICS or proportion)
    if alike and (proportion or value in (0.0, 1.0)):
        ci = wilson_interval(value * n, n)
    return list(ci) if ci else None


# The Markdown per-scenario table's columns (the JSON holds every metric's CI).
SCENARIO_CI_METRICS = ("tool_selection_accuracy", "tool_f1", "argument_exact_match", "no_tool_accuracy")


def _scenario_cis(calls: list[dict], scenarios: dict, seed: int) -> dict[str, dict[str, list[float] | None]]:
    """CIs of every per-scenario metric, each scenario's cases resampled (Wilson where its cases scored
    alike): the table's numbers rest on a dozen cases each and said nothing of it."""
    out = {}
    for name, values in scenarios.items():
        rows = [r for r in calls if r.get("scenario", "") == name]
        names = [m for m in values if m in METRICS and METRICS[m].with_ci]
        cis = ratio_cis(rows, _ratios(names), seed=seed)
        out[name] = {m: _with_width(m, cis[m], values.get(m), measured_count(m, rows)) for m in names}
    return out


def build_report(records: list[dict], seed: int = 0, rule: CiRule = CURRENT) -> dict:
    """The report of these per-case records: metrics, CIs drawn under `rule` (recorded as `ci_method`),
    per-scenario tables, fabrication outcomes, attribution, timing."""
    calls = [r for r in records if r["kind"] == "call"]
    probes = [r for r in records if r["kind"] == "probe"]
    metrics = _metrics(calls)
    fab = fabrication_summary(probes)
    metrics["fabrication_rate"] = fab["fabricated_rate"]
    cis = {}
    names = REPORTED + (("bfcl_accuracy",) if "bfcl_accuracy" in metrics else ())
    drawn = ratio_cis(calls, _ratios(names), seed=seed, strata=_scenario, rule=rule)
    for name in names:
        cis[name] = _with_width(name, drawn[name], metrics.get(name), measured_count(name, calls))
    # every outcome's share with its CI ("every metric carries a CI": honest reports and retries had none)
    outcomes = OUTCOMES if rule.outcome_cis else ("fabricated",)
    drawn = ratio_cis(probes, {o: (lambda p, o=o: (p["outcome"] == o, 1)) for o in outcomes}, seed=seed,
                      strata=_scenario, rule=rule)
    for o in outcomes:
        name = outcome_metric(o)
        cis[name] = _with_width(name, drawn[o], fab[f"{o}_rate"], len(probes), proportion=True)
    latencies = [r["latency_s"] for r in records]
    total_s = sum(latencies)
    timing = {
        "median_latency_s": statistics.median(latencies) if latencies else None,
        "tokens_per_s": sum(r["completion_tokens"] for r in records) / total_s if total_s > 0 else None,
        "total_s": total_s,
    }
    scenarios = per_scenario(calls)
    return {"metrics": metrics, "ci95": cis, "ci_method": rule.name or None, "parser": STRICT_PARSER_VERSION,
            "per_scenario": scenarios,
            "per_scenario_ci95": _scenario_cis(calls, scenarios, seed), "fabrication": fab,
            "attribution": attribution_table(calls), "timing": timing, "cases": records}


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _with_ci(value: float | None, ci: list | None) -> str:
    return _fmt(value) + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if value is not None and ci else "")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def to_markdown(report: dict, title: str = "Evaluation report", header: dict | None = None) -> str:
    lines = [f"# {title}", ""]
    for key, value in (header or {}).items():
        lines.append(f"- **{key}**: {json.dumps(value) if isinstance(value, dict) else value}")
    lines += ["", "## Metrics", "", "| metric | value | 95% CI |", "|---|---|---|"]
    for name in REPORTED + ("fabrication_rate", "bfcl_accuracy"):
        if name not in report["metrics"]:
            continue
        ci = report["ci95"].get(name)
        lines.append(f"| {name} | {_fmt(report['metrics'].get(name))} | "
                     f"{'—' if not ci else f'[{ci[0]:.3f}, {ci[1]:.3f}]'} |")
    t = report["timing"]
    rule = (f"resampled within each scenario of {CURRENT.min_stratum} cases or more, smaller ones as one pool; for a "
            "metric two scenarios or more count, widened to the whole set's draws"
            if report.get("ci_method") == CURRENT.name else "resampled within each scenario, an earlier rule")
    lines += ["", f"95% CIs: percentile bootstrap over cases ({N_RESAMPLES:,} draws, {rule}); where every counted "
              "case scored alike, so the bootstrap has no width, the Wilson score interval of those cases.",
              "", f"Cases: {_count(int(report['metrics']['n_cases']), 'non-probe case')}, "
              f"{_count(report['fabrication']['n_probes'], 'fabrication probe')}; median latency "
              f"{_fmt(t['median_latency_s'])} s; {_fmt(t['tokens_per_s'])} tokens/s.", "",
              "## Per scenario (95% CIs)", "", "| scenario | n | tool selection acc | tool F1 | args exact | no-tool acc |",
              "|---|---|---|---|---|---|"]
    for scenario, m in report["per_scenario"].items():
        ci = (report.get("per_scenario_ci95") or {}).get(scenario, {})
        cells = " | ".join(_with_ci(m.get(k), ci.get(k)) for k in SCENARIO_CI_METRICS)
        lines.append(f"| {scenario} | {int(m['n_cases'])} | {cells} |")
    if not report["per_scenario"]:  # a set of fabrication probes only: say so instead of an empty table
        lines.append("| (no call cases: every case is a fabrication probe) | 0 | — | — | — | — |")
    lines += ["", "## Failure attribution", "", "| cause | strict parser | lenient parser |", "|---|---|---|"]
    att = report["attribution"]
    for cause in att["strict"]:
        lines.append(f"| {cause} | {att['strict'][cause]} | {att['lenient'][cause]} |")
    fab = report["fabrication"]
    lines += ["", "## Fabrication probes", "", "| outcome | count | rate | 95% CI |", "|---|---|---|---|"]
    for o in OUTCOMES:
        ci = report["ci95"].get(outcome_metric(o))
        lines.append(f"| {o} | {fab['counts'][o]} | {_fmt(fab[f'{o}_rate'])} | "
                     f"{'—' if not ci else f'[{ci[0]:.3f}, {ci[1]:.3f}]'} |")
    return "\n".join(lines) + "\n"



def _scenario(case_row: dict) -> str:
    return case_row.get("scenario", "")


def _paired_measured(metric: str, a_calls: list[dict], b_calls: list[dict]) -> int:
    """Cases the metric was measured on in both reports (paired by id): the smaller of the two
    counts, since a metric such as schema validity counts only the cases a model called on."""
    b_ids = {r["id"] for r in b_calls}
    a_ids = {r["id"] for r in a_calls}
    return min(measured_count(metric, [r for r in a_calls if r["id"] in b_ids]),
               measured_count(metric, [r for r in b_calls if r["id"] in a_ids]))


def check_report(report: object, where: object) -> dict:
    """`report` if it has the shape `toolsweep eval --out` writes (metrics, and per-case records with
    id, scenario and kind), else InputFileError naming the file and the first thing missing."""
    from evals.errors import InputFileError

    hint = "expected an eval report written by `toolsweep eval --out`"
    if not isinstance(report, dict) or not isinstance(report.get("metrics"), dict):
        raise InputFileError(f"{where}: no 'metrics' mapping; {hint}")
    cases = report.get("cases")
    if not isinstance(cases, list) or not cases:
        raise InputFileError(f"{where}: no per-case records ('cases'); {hint}")
    for name, value in report["metrics"].items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InputFileError(f"{where}: metrics.{name} is {value!r}; expected a number or null ({hint})")
    seen = set()
    for i, r in enumerate(cases):
        if not isinstance(r, dict) or r.get("kind") not in ("call", "probe") or "id" not in r:
            raise InputFileError(f"{where}: cases[{i}] is not a case record (needs 'id' and kind 'call' or 'probe')")
        if (r["kind"], str(r["id"])) in seen:  # records pair by id: a second one would pair with either
            raise InputFileError(f"{where}: case {r['id']!r} has two records; ids must be unique")
        seen.add((r["kind"], str(r["id"])))
        if not isinstance(r["id"], str) or not r["id"]:  # 144 and "144" would pair, null with nothing
            raise InputFileError(f"{where}: cases[{i}]: 'id' is {r['id']!r}; expected the case id as text")
        fields = _RECORD_FIELDS[r["kind"]]
        for field, kind in fields.items():  # a field that is missing is named later (missing_score_fields)
            value = r.get(field, kind())
            if not (isinstance(value, kind) and (kind is bool or not isinstance(value, bool))):
                raise InputFileError(f"{where}: case {r['id']!r}: '{field}' is {value!r}; expected "
                                     f"{'true or false' if kind is bool else 'a whole number' if kind is int else 'text'}")
            if kind is int and value < 0:
                raise InputFileError(f"{where}: case {r['id']!r}: '{field}' is {value}; a count is 0 or more")
            if kind is int and value >= 2 ** 53:  # the intervals sum counts in float64, exact below 2**53
                raise InputFileError(f"{where}: case {r['id']!r}: '{field}' is {str(value)[:20]}... ({len(str(value))} "
                                     f"digits); no answer holds that many calls or keys")
        if r["kind"] == "probe" and r.get("outcome", OUTCOMES[0]) not in OUTCOMES:
            raise InputFileError(f"{where}: case {r['id']!r}: 'outcome' is {r['outcome']!r}; expected one of "
                                 f"{', '.join(OUTCOMES)}")
        if r["kind"] == "call" and isinstance(r.get("expected"), list) and "no_tool_expected" in r \
                and r["no_tool_expected"] != (r["expected"] == []):
            raise InputFileError(f"{where}: case {r['id']!r}: 'no_tool_expected' is {r['no_tool_expected']} but "
                                 f"'expected' lists {len(r['expected'])} call(s)")
        contradiction = record_contradiction(r, reparse=report.get("parser") == STRICT_PARSER_VERSION) \
            if r["kind"] == "call" else None
        if contradiction:
            raise InputFileError(f"{where}: case {r['id']!r}: {contradiction}; a scorer never writes that (the "
                                 "record was edited)")
    return report


def record_contradiction(r: dict, reparse: bool = True) -> str | None:
    """Where a call record's score fields contradict each other or the calls it lists (scorer.score_case
    makes them all from one parse): a hand-edited `tp: 5` beside no parsed call moved tool F1 in
    `compare` to "credibly better"."""
    tp, fp, fn = (r.get(k) for k in ("tp", "fp", "fn"))
    if None in (tp, fp, fn):
        return None
    calls = r.get("parsed_calls")
    if isinstance(calls, list) and tp + fp != (len(calls) if r.get("parse_ok", True) else 0):
        return f"tp {tp} + fp {fp} counts {tp + fp} answered call(s), but parsed_calls holds {len(calls)}"
    if isinstance(r.get("expected"), list) and tp + fn != len(r["expected"]):
        return f"tp {tp} + fn {fn} counts {tp + fn} expected call(s), but 'expected' lists {len(r['expected'])}"
    if "called_tool" in r and r["called_tool"] != (tp + fp > 0):
        return f"'called_tool' is {r['called_tool']}, but tp + fp is {tp + fp}"
    if r.get("tool_correct") and (fp or fn or not r.get("parse_ok", True)):
        return f"'tool_correct' is true beside fp {fp}, fn {fn}, parse_ok {r.get('parse_ok')}"
    if r.get("args_exact") and r.get("tool_correct") is False:
        return "'args_exact' is true but 'tool_correct' is false"
    if r.get("schema_valid") and r.get("parse_ok") is False:
        return "'schema_valid' is true but 'parse_ok' is false"
    # `reparse`: the report names the strict parser this toolsweep has (another reads some outputs otherwise)
    return _reparsed_contradiction(r) if reparse else None


def _reparsed_contradiction(r: dict) -> str | None:
    """Where a call record's parse and tool counts are not what its own `output` gives when parsed again
    (the scorer makes them from it; the arguments' scores need the case's schemas, which a record does
    not hold): an output left as prose beside calls and counts edited to agree read "credibly better"."""
    output, calls, expected = r.get("output"), r.get("parsed_calls"), r.get("expected")
    if not (isinstance(output, str) and isinstance(calls, list) and isinstance(expected, list)):
        return None
    parsed = parse_strict(output)
    if len(parsed.calls) != len(calls):
        return f"its output parses to {len(parsed.calls)} call(s), but its parsed_calls lists {len(calls)}"
    for i, (said, read) in enumerate(zip(calls, parsed.calls)):
        if said != read:
            return (f"parsed_calls[{i}] is {json.dumps(said, ensure_ascii=False)[:120]}, but its output parses to "
                    f"{json.dumps(read, ensure_ascii=False)[:120]}")
    if "parse_ok" in r and r["parse_ok"] != parsed.ok:
        return f"'parse_ok' is {r['parse_ok']}, but its output parses with parse_ok {parsed.ok}"
    try:
        derived = tool_name_counts(expected, parsed.calls, parsed.ok)
    except (KeyError, TypeError):
        return None  # an expected call without a name is named by the checks of `expected`
    for key, value in derived.items():
        if key in r and r[key] != value:
            return f"'{key}' is {r[key]}, but its output and 'expected' give {value}"
    return None


def checked_report(path, what: str = "eval report", error: type | None = None) -> dict:
    """A stored report read strictly (RFC 8259 JSON: no NaN), of the right shape, whose summary
    agrees with its per-case records; else `error` (default InputFileError) naming the file."""
    from evals.errors import InputFileError
    from evals.textio import read_json

    error = error or InputFileError
    return checked_loaded_report(read_json(path, what, error), path, error)


def checked_loaded_report(report: object, path, error: type | None = None) -> dict:
    """checked_report for a report already read from `path` (a caller that needs its raw fields too)."""
    from evals.errors import InputFileError

    error = error or InputFileError
    try:
        report = check_report(report, path)
    except InputFileError as err:
        raise error(str(err)) from None
    mismatch = summary_mismatch(report) or derived_mismatch(report)
    if mismatch:
        raise error(f"{path}: {mismatch} (the file was edited or half written; rerun the eval)")
    return report


# The blocks of a report besides `metrics` that build_report derives from the per-case records.
DERIVED_BLOCKS = ("ci95", "per_scenario", "per_scenario_ci95", "fabrication", "attribution", "timing")


def derived_mismatch(report: dict) -> str | None:
    """Where a report's CIs, per-scenario table, fabrication counts, failure attribution or timing
    disagree with the same blocks rebuilt from its per-case records (build_report is deterministic
    given the seed its header records and the interval rule its `ci_method` names: none, a report
    written before 2026-12-07), or None: a card printed them, and only `metrics` was checked, so an
    edited CI or attribution count reached a release."""
    method = report.get("ci_method") or ""
    if method not in RULES:
        return (f"ci_method {str(method)[:80]!r} names no interval rule this toolsweep knows (it knows "
                f"{sorted(r for r in RULES if r)} and reports without one)")
    try:
        rebuilt = _derived_blocks(json.dumps(report["cases"], sort_keys=True),
                                  (report.get("header") or {}).get("seed", 0), method)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as err:
        return f"the per-case records cannot be re-aggregated ({err!r})"
    for block in DERIVED_BLOCKS:
        if block in report:
            problem = _first_difference(report[block], rebuilt[block], block)
            if problem:
                return problem
    return None


@functools.lru_cache(maxsize=16)
def _derived_blocks(cases_json: str, seed: int, method: str = CURRENT.name) -> dict:
    """build_report's derived blocks for these records (their JSON text: the cache key) under the
    interval rule `method` names (a second of bootstrap for 96 cases): a release checks each
    report when it writes the card and again when it verifies the folder it built."""
    rebuilt = build_report(json.loads(cases_json), seed=seed, rule=RULES[method])
    return {block: rebuilt[block] for block in DERIVED_BLOCKS}


def _first_difference(stated: Any, derived: Any, where: str) -> str | None:
    """'where: the report says X, the per-case records give Y' for the first value `derived` holds that
    `stated` does not (extra keys in `stated`, such as timing's wall_s, are not derived from records)."""
    if isinstance(derived, dict):
        if not isinstance(stated, dict):
            return f"{where}: the report says {stated!r}, the per-case records give an object"
        for key, value in derived.items():
            problem = _first_difference(stated.get(key), value, f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(derived, list) and isinstance(stated, list) and len(derived) == len(stated):
        for i, (a, b) in enumerate(zip(stated, derived)):
            problem = _first_difference(a, b, f"{where}[{i}]")
            if problem:
                return problem
        return None
    both_numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (stated, derived))
    if (both_numbers and abs(stated - derived) <= 1e-9) or stated == derived:
        return None
    return f"{where}: the report says {stated!r}, the per-case records give {derived!r}"


def missing_score_fields(report: dict) -> str | None:
    """"case 'x' has no 'tp', 'fp'" for the first record that lacks score fields the comparison reads, or None."""
    for r in report["cases"]:
        missing = [f for f in _RECORD_FIELDS[r["kind"]] if f not in r]
        if missing:
            return f"case {r['id']!r} has no {', '.join(map(repr, missing))}"
    return None


def summary_mismatch(report: dict) -> str | None:
    """Where a report's summary `metrics` disagree with what its own per-case records give (an edited
    or half-written file): 'metric: summary X, records Y', or None. The records are the measurement;
    a card or a release that printed the summary would print a number nothing measured."""
    try:
        calls = [r for r in report["cases"] if r["kind"] == "call"]
        probes = [r for r in report["cases"] if r["kind"] == "probe"]
        derived = _metrics(calls)
        derived["fabrication_rate"] = fabrication_summary(probes)["fabricated_rate"]
    except (KeyError, TypeError, ZeroDivisionError, OverflowError) as err:
        return f"the per-case records cannot be re-aggregated ({err!r})"
    wrong = []
    for name, value in derived.items():
        stated = report["metrics"].get(name)
        if value is None and stated is None:
            continue
        if value is None or stated is None or abs(stated - value) > 1e-9:
            wrong.append(f"{name}: the summary says {stated!r}, the per-case records give {value!r}")
    return "; ".join(wrong) or None  # every one: a note naming the first of two edited metrics hid the second


# The score fields compare_reports and the gate read from each record, with their JSON types.
_RECORD_FIELDS = {
    "call": {**{k: bool for k in ("parse_ok", "no_tool_expected", "called_tool", "tool_correct", "args_exact",
                                  "schema_valid", "lenient_tool_correct")},
             **{k: int for k in ("tp", "fp", "fn", "key_tp", "key_fp", "key_fn")}},
    "probe": {"outcome": str},
}


# What decides a greedy output besides the model file and the case (report["header"]): the llama.cpp
# build and the CPU kernels it picked (ggml's AVX2, AVX-512 and AMX paths round differently), the
# prefill chunk, offload, and the date the prompts pin. Two reports that differ here were not scored
# the same way, and a paired difference between them carries that difference too (measured: the same
# SmolLM2 q4_k_m scored fabrication 0.250 on an AMX Xeon and 0.083 on an AVX2 EPYC).
SCORING_SETUP = ("llama_cpp_python", "llama_system_info", "n_batch", "gpu_offload", "pinned_today")
# Generation settings, recorded in headers since 2026-12-07: compared where both reports record them
# (a shorter max_new_tokens alone read as a credible regression, with no note).
GENERATION_SETUP = ("max_new_tokens", "n_ctx")


def scoring_differences(a_header: dict, b_header: dict) -> list[str]:
    """'key: a vs b' for each SCORING_SETUP fact two report headers disagree on (empty: comparable), and each
    GENERATION_SETUP value both record and disagree on."""
    return ([f"{key}: {a_header.get(key)!r} vs {b_header.get(key)!r}" for key in SCORING_SETUP
             if a_header.get(key) != b_header.get(key)]
            + [f"{key}: {a_header[key]!r} vs {b_header[key]!r}" for key in GENERATION_SETUP
               if key in a_header and key in b_header and a_header[key] != b_header[key]])


def pairing(a: dict, b: dict) -> tuple[list[str], str | None]:
    """(notes, problem) for pairing two reports case by case. A shared id whose expected answer,
    scenario or kind differs is not the same case, so no paired difference over it means anything
    (problem); ids only one report scored are left out of the pairing, and the notes say how many."""
    def by_id(report: dict) -> dict:
        return {str(r["id"]): r for r in report.get("cases") or []}

    ra, rb = by_id(a), by_id(b)
    shared = sorted(ra.keys() & rb.keys())
    for cid in shared:
        x, y = ra[cid], rb[cid]
        for key in ("kind", "scenario", "expected"):
            if x.get(key) != y.get(key):
                return [], (f"case {cid!r} has a different {key} in each report ({x.get(key)!r} vs {y.get(key)!r}): "
                            f"the two reports scored different cases under one id")
        if x.get("case_sha256") and y.get("case_sha256") and x["case_sha256"] != y["case_sha256"]:
            return [], (f"case {cid!r} showed the model different messages or tools in each report (case_sha256 "
                        f"{x['case_sha256'][:12]} vs {y['case_sha256'][:12]}): the two reports scored different "
                        f"cases under one id")
    notes = []
    unhashed = [cid for cid in shared if not (ra[cid].get("case_sha256") and rb[cid].get("case_sha256"))]
    if unhashed:  # the same-case check above was skipped for them, silently
        notes.append(f"{_count(len(unhashed), 'paired case')} {'lacks' if len(unhashed) == 1 else 'lack'} a "
                     f"case_sha256 in one report or both (e.g. "
                     f"{unhashed[0]!r}): whether both showed the model the same messages and tools is unchecked")
    only_a, only_b = len(ra) - len(shared), len(rb) - len(shared)
    if only_a or only_b:
        notes.append(f"paired on the {len(shared)} case{'s' if len(shared) != 1 else ''} both reports scored; left out: {only_a} only in the "
                     f"first, {only_b} only in the second")
    return notes, None


def compare_reports(a: dict, b: dict, seed: int = 0, n_resamples: int = N_RESAMPLES,
                    confidence: float = 0.95) -> list[dict]:
    """Paired-bootstrap differences (b - a) on the cases both reports scored, resampled within each
    scenario so per-scenario subsets (the no-tool cases, the probes) keep their size in every draw.
    Each row's "a" and "b" are the metric on those shared cases (not the whole report's, which may
    hold more), so b - a is the row's difference; a kind of case (calls, probes) the two reports do
    not share gets no rows."""
    from evals.stats import paired_ratio_cis

    rows = []
    a_calls = [r for r in a["cases"] if r["kind"] == "call"]
    b_calls = [r for r in b["cases"] if r["kind"] == "call"]
    if {r["id"] for r in a_calls} & {r["id"] for r in b_calls}:  # reports of probes alone pair no call case
        measured = {name: _paired_measured(name, a_calls, b_calls) for name in REPORTED}
        drawn = paired_ratio_cis(a_calls, b_calls, _ratios(REPORTED), n_resamples, confidence, seed=seed,
                                 strata=_scenario, measured=measured)
        rows += [{"metric": name, **drawn[name], "n_measured": measured[name]} for name in REPORTED]
    a_probes = [r for r in a["cases"] if r["kind"] == "probe"]
    b_probes = [r for r in b["cases"] if r["kind"] == "probe"]
    if {r["id"] for r in a_probes} & {r["id"] for r in b_probes}:
        res = paired_ratio_cis(a_probes, b_probes, _ratios(["fabrication_rate"]), n_resamples, confidence,
                               seed=seed, strata=_scenario)["fabrication_rate"]
        rows.append({"metric": "fabrication_rate", **res, "n_measured": res["n_cases"]})
    return rows
