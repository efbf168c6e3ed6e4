"""One cause per failed case, so a score says *why* it is not higher.

Order of the checks (each a plain function of data already in hand):
1. framework_template_bug - the prompt lost something the model needed: a tool name, an earlier
   call or a tool result is missing from the rendered prompt, or tokenising and detokenising the
   prompt does not give it back.
2. framework_parser_gap  - the tier's parser found no call, but the lenient parser rescues a
   correct answer from the same output (the model did its job; the parser did not).
3. model_format_failure  - nothing parseable: the output attempts a call (a tag, a JSON object
   with a name) or breaks the strict format, and no tier extracts a call.
4. model_decision_failure - parseable, but the wrong tool or arguments, or a call where none
   was wanted.
Under the lenient tier no parser is more lenient, so (2) cannot occur there: the two tiers'
tables show how many failures a better parser would remove.
"""

from __future__ import annotations

import json

from evals.parser import parse_lenient, parse_strict
from evals.tools import tool_names
from evals.scorer import score_case

CAUSES = ("framework_template_bug", "framework_parser_gap", "model_format_failure", "model_decision_failure")
TIERS = ("strict", "lenient")


def template_problems(case: dict, rendered: str, roundtrip: str | None = None,
                      without_tools: str | None = None) -> list[str]:
    """What the rendered prompt lost; [] when it carries everything. With `without_tools` (the same
    conversation rendered with no tools), a tool survived only if the tools added its name: a name
    the user's own words carry is no rendered tool (a template that drops tools was charged to the
    model on cases whose user text named the tool, and to the template on the rest)."""
    problems = []
    if roundtrip is not None and roundtrip != rendered:
        problems.append("tokenize/detokenize round trip changed the prompt")
    for tool in case["tools"]:
        name = tool.get("function", tool)["name"]
        if name not in rendered or (without_tools is not None and rendered.count(name) <= without_tools.count(name)):
            problems.append(f"tool {name!r} missing from the prompt")
    for m in case["messages"]:
        if m.get("role") in ("user", "tool") and m.get("content") and m["content"] not in rendered:
            problems.append(f"{m['role']} content missing from the prompt")
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function", tc)
            args = fn.get("arguments", {})
            args = json.loads(args) if isinstance(args, str) else args
            if fn["name"] not in rendered or json.dumps(args, ensure_ascii=False) not in rendered:
                problems.append(f"earlier call {fn['name']!r} missing or altered in the prompt")
    return problems


def _attempted_call(output: str) -> bool:
    return any(marker in output for marker in ("<tool_call>", "<function=", "<|python_tag|>", '"name"', "'name'"))


def attribute(case: dict, output: str, template_ok: bool, tier: str) -> str | None:
    """The cause of a failure under `tier` ("strict" or "lenient"), or None if the case passes."""
    parsed = {"strict": parse_strict(output), "lenient": parse_lenient(output, tool_names(case))}
    score = score_case(case, parsed[tier])
    if score["args_exact"] or (score["no_tool_expected"] and not score["called_tool"] and score["parse_ok"]):
        return None
    if not template_ok:
        return "framework_template_bug"
    this, lenient = parsed[tier], parsed["lenient"]
    if tier == "strict" and not this.calls and lenient.calls and score_case(case, lenient)["args_exact"]:
        return "framework_parser_gap"
    if not this.calls and not lenient.calls and (not this.ok or _attempted_call(output)):
        return "model_format_failure"
    return "model_decision_failure"


def attribution_table(records: list[dict]) -> dict[str, dict[str, int]]:
    """Counts per cause under each tier, from records carrying `attribution_<tier>`."""
    table = {tier: {c: 0 for c in CAUSES} for tier in TIERS}
    for r in records:
        for tier in TIERS:
            cause = r.get(f"attribution_{tier}")
            if cause:
                table[tier][cause] += 1
    return table
