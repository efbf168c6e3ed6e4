"""Example generator over a toolset described in YAML (`data/toolsets/starter.yaml`).

A toolset file names the tools (JSON-schema parameters), slot value pools, and paraphrase
templates for each scenario:
- `intents`: one request -> one call (single_tool; two intents joined make multi_tool_parallel);
- `flows`: scripted multi-round conversations tagged with their scenario
  (multi_tool_sequential, error_recovery, reasoning_heavy, complex_multi_step);
- `no_tool`: questions answered directly (no_tool_needed).

Templates fill `{slot}`, `{slot.field}` (compound pool entries), `{slot:02d}` (a format spec) and
`{slot|filter}` (lower, upper, title, cap, typo). A string that is exactly one `{slot}` keeps the
slot's type, so integer arguments stay integers. `computed` slots are arithmetic over numeric slots
(+ - * / // % only, parsed with `ast`, never `eval`).

Every generated call is validated against its tool's schema; a toolset whose templates produce
an invalid call, name an unknown slot, pool or tool, or break the file's schema fails with the
file and the key path. Generation is deterministic in the seed.
"""

from __future__ import annotations

import ast
import decimal
import json
import math
import operator
import random
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import jsonschema
from pydantic import (AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError,
                      field_validator, model_validator)

from evals.cases import SCENARIOS as EVAL_SCENARIOS
from evals.messages import CONTROL_TOKEN, texts_within
from evals.tools import argument_validator, schema_problem
from orchestrator.config import ConfigError, format_validation_errors, keyed_kind, read_yaml, wrong_file_kind
from orchestrator.data.filters import is_blank, string_values

# The harness's scenarios a toolset generates (evals/cases.py keeps the list; probes and long-context
# conversations have generators of their own), in its order: the order seeds which row gets which.
SCENARIOS = tuple(s for s in EVAL_SCENARIOS if s not in ("fabrication_probe", "long_context"))
FLOW_SCENARIOS = ("multi_tool_sequential", "error_recovery", "reasoning_heavy", "complex_multi_step")


class ToolsetError(ConfigError):
    """A toolset file that cannot be used; the message names the file and the key path."""


# --- the file's schema ------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RangeSlot(_Strict):
    range: tuple[int, int]

    @model_validator(mode="after")
    def _low_first(self) -> "RangeSlot":
        if self.range[0] > self.range[1]:
            raise ValueError(f"range [{self.range[0]}, {self.range[1]}] is empty: write [low, high]")
        return self


class ChoiceSlot(_Strict):
    choice: list[Any] = Field(min_length=1)


class PoolSlot(_Strict):
    pool: str
    unlike: list[str] = []          # slots this draw must differ from (two different cities)


def _slot_kind(value: Any) -> str | None:
    """Which kind of slot an entry is (a pool name, or its one key), so a wrong entry gets one error
    about that kind instead of one per kind it is not."""
    return "name" if isinstance(value, str) else keyed_kind(value, ("range", "choice", "pool"))


SlotSpec = Annotated[
    Union[Annotated[str, Tag("name")], Annotated[RangeSlot, Tag("range")], Annotated[ChoiceSlot, Tag("choice")],
          Annotated[PoolSlot, Tag("pool")]],
    Discriminator(_slot_kind, custom_error_type="slot",
                  custom_error_message="expected a pool name, {range: [low, high]}, {choice: [...]} or "
                                       "{pool: name, unlike: [...]}")]


TOOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class Tool(_Strict):
    description: str
    parameters: dict[str, Any]


class OptionalArgs(_Strict):
    p: float = Field(ge=0, le=1)                 # chance the option is taken
    arguments: dict[str, Any]                    # arguments it adds to the call
    suffix: str = ""                             # phrase appended to the request (before its final ? or .)
    set: dict[str, SlotSpec] = {}                # slots it redraws (e.g. a Fahrenheit temperature range)


def _texts(items: list[str]) -> list[str]:
    """Requests and answers: each a text, not blank (an empty request crashed, a blank one trained; a
    NUL or other control character alone is blank too)."""
    blank = [i for i, t in enumerate(items) if is_blank(t)]
    if blank:
        raise ValueError(f"item(s) {blank} are empty or blank; each must be text")
    return items


Texts = Annotated[list[str], Field(min_length=1), AfterValidator(_texts)]


class Intent(_Strict):
    tool: str
    slots: dict[str, SlotSpec] = {}
    computed: dict[str, str] = {}
    requests: Texts
    arguments: dict[str, Any]
    optional: list[OptionalArgs] = []
    result: Any
    answers: Texts


class Call(_Strict):
    tool: str
    arguments: dict[str, Any]
    result: Any
    note: str = ""                               # assistant text shown with the call (a short reasoning step)


class Parallel(_Strict):
    parallel: list[Call] = Field(min_length=2)


class Flow(_Strict):
    scenario: Literal["multi_tool_sequential", "error_recovery", "reasoning_heavy", "complex_multi_step"]
    system: str | None = None                    # replaces the system prompt; may use {system}
    slots: dict[str, SlotSpec] = {}
    computed: dict[str, str] = {}
    requests: Texts
    steps: list[Union[Call, Parallel]] = Field(min_length=1)
    answers: Texts


class NoTool(_Strict):
    slots: dict[str, SlotSpec] = {}
    computed: dict[str, str] = {}
    requests: Texts
    answers: Texts


class Toolset(_Strict):
    system_prompt: str
    distractors: int = Field(3, ge=0)
    lead_ins: list[str] = [""]
    joiners: list[str] = []                      # ' Also, ': between the two requests of a parallel row
    # strict: `single_tool: true` was read as a weight of 1.0
    mix: dict[Literal["single_tool", "multi_tool_parallel", "multi_tool_sequential", "no_tool_needed",
                      "error_recovery", "reasoning_heavy", "complex_multi_step"], Annotated[float, Field(strict=True)]]
    tools: dict[str, Tool] = Field(min_length=1)
    pools: dict[str, list[Union[str, int, float, dict[str, Any]]]] = {}
    intents: dict[str, Intent] = {}
    flows: dict[str, Flow] = {}
    no_tool: dict[str, NoTool] = {}

    @field_validator("tools")
    @classmethod
    def _tool_names_can_be_called(cls, tools: dict) -> dict:
        bad = [name for name in tools if not TOOL_NAME.fullmatch(name)]
        if bad:  # the name a model must write in its call, and OpenAI-style APIs accept only these
            raise ValueError(f"tool name(s) {bad}: use 1-64 letters, digits, '_', '-' or '.'")
        return tools

    @field_validator("lead_ins")
    @classmethod
    def _lead_ins_end_in_a_space(cls, lead_ins: list[str]) -> list[str]:
        glued = [t for t in lead_ins if t and not t[-1].isspace()]
        if glued:  # "so" + "Please refund ..." would read "soPlease refund ..."
            raise ValueError(f"lead-in(s) {glued} must end in a space (or be empty): they go right before the request")
        return lead_ins

    @field_validator("joiners")
    @classmethod
    def _joiners_are_spaced(cls, joiners: list[str]) -> list[str]:
        glued = [t for t in joiners if not t.strip() or not t[0].isspace() or not t[-1].isspace()]
        if glued:
            raise ValueError(f"joiner(s) {glued} must be words with a space on each side (' Also, '): they go "
                             "between two requests")
        return joiners

    @model_validator(mode="after")
    def _mix_is_usable(self) -> "Toolset":
        if any(w < 0 for w in self.mix.values()) or sum(self.mix.values()) <= 0:
            raise ValueError("mix weights must be non-negative and not all zero")
        return self

    @model_validator(mode="after")
    def _parallel_rows_have_joiners(self) -> "Toolset":
        # only a parallel row reads them: a file that makes none needs none (they were required everywhere)
        if self.mix.get("multi_tool_parallel", 0) > 0 and not self.joiners:
            raise ValueError("joiners: the mix asks for multi_tool_parallel rows, which join two requests with a "
                             "joiner (' Also, '); list at least one")
        return self

    @model_validator(mode="after")
    def _distractors_can_be_drawn(self) -> "Toolset":
        if self.distractors > len(self.tools) - 1:  # was silently capped at the tools there are
            raise ValueError(f"distractors {self.distractors}: the toolset has {len(self.tools)} tools, so a row can "
                             f"offer at most {len(self.tools) - 1} besides the one it calls")
        return self


# --- templates --------------------------------------------------------------------------------

_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_]\w*)((?:\.\w+)*)(?:\|(\w+))?(?::([^{}]*))?\}")
_ONLY = re.compile(r"^\{([A-Za-z_]\w*)((?:\.\w+)*)\}$")
FILTERS = {"lower": str.lower, "upper": str.upper, "title": str.title,
           "cap": lambda s: s[:1].upper() + s[1:], "typo": lambda s: s[:-1] + s[-1] * 2 if s else s}
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}


class TemplateError(ConfigError):
    pass


def _lookup(values: dict[str, Any], name: str, fields: str) -> Any:
    if name not in values:
        raise TemplateError(f"unknown slot {{{name}}}")
    value = values[name]
    for f in filter(None, fields.split(".")):
        if not isinstance(value, dict) or f not in value:
            raise TemplateError(f"slot {{{name}}} has no field {f!r}")
        value = value[f]
    return value


_FIELD_HINT = " (a mapping's field is written {slot.field})"


def _no_text(value: Any) -> str | None:
    """What a slot value is when a text cannot write it (null, a list, a mapping), else None."""
    return "null" if value is None else "a list" if isinstance(value, list) else \
        "a mapping" if isinstance(value, dict) else None


def _plain(value: Any) -> str:
    """A slot value as text says it. A float is written as the shortest decimal that reads back as the
    same number, never in exponent form: a request said "refund 100" for an argument of 99.999 and
    "0" for 1e-07 (it was rounded to 2 places and 6 digits), teaching the model to invent precision.
    A `{slot:.2f}` format spec still rounds where a template asks for it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float) and math.isfinite(value):
        return format(decimal.Decimal(repr(value)), "f")
    if isinstance(value, bool):  # YAML and JSON spell them so; Python's True read oddly in a request
        return "true" if value else "false"
    return str(value)


def _has_slot(text: str) -> bool:
    """`text` names a slot: a template to fill, not a literal (`{{`/`}}` escapes name none)."""
    return any(m.group(1) for m in _FIELD.finditer(text))


def render(template: Any, values: dict[str, Any]) -> Any:
    """Fill a template: strings are formatted, lists and dicts are filled recursively."""
    if isinstance(template, dict):
        return {k: render(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, values) for v in template]
    if not isinstance(template, str):
        return template
    only = _ONLY.match(template)
    if only:
        value = _lookup(values, only.group(1), only.group(2))
        return int(value) if isinstance(value, float) and value.is_integer() else value

    stray = _FIELD.sub("", template)
    if "{" in stray or "}" in stray:  # "{city?" would otherwise be written out as it stands
        raise TemplateError(f"unbalanced or malformed {{...}} in {template!r} (a slot is {{name}}, a literal "
                            f"brace is {{{{ or }}}})")

    def fill(m: re.Match) -> str:
        if m.group(0) in ("{{", "}}"):
            return m.group(0)[0]
        value = _lookup(values, m.group(1), m.group(2))
        kind = _no_text(value)
        if kind:  # str() wrote "20None" and "{'a': 1}" into the text
            raise TemplateError(f"slot {{{m.group(1)}{m.group(2) or ''}}} drew {kind}, which a text cannot write: "
                                f"give it text, numbers or booleans{_FIELD_HINT if isinstance(value, dict) else ''}")
        if m.group(3):
            if m.group(3) not in FILTERS:
                raise TemplateError(f"unknown filter |{m.group(3)} (known: {', '.join(FILTERS)})")
            value = FILTERS[m.group(3)](_plain(value))
        if m.group(4):
            try:
                return format(value, m.group(4))
            except (ValueError, TypeError) as err:
                raise TemplateError(f"format spec {m.group(4)!r} does not fit {value!r}: {err}") from None
        return _plain(value)

    return _FIELD.sub(fill, template)


def evaluate(expr: str, values: dict[str, Any]) -> float | int:
    """Arithmetic over numeric slots, nothing else."""
    def walk(node: ast.AST):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            v = _lookup(values, node.id, "")
            if not isinstance(v, (int, float)):
                raise TemplateError(f"slot {node.id} is not a number")
            return v
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise TemplateError(f"unsupported expression {ast.unparse(node)!r} (only numbers, slots, + - * / // %)")

    try:
        result = walk(ast.parse(expr, mode="eval"))
    except SyntaxError as err:
        raise TemplateError(f"bad expression {expr!r}: {err.msg}") from None
    except (ZeroDivisionError, OverflowError) as err:
        raise TemplateError(f"expression {expr!r} cannot be computed for the drawn values ({err})") from None
    # binary float noise off (0.1 * 3 is 0.30000000000000004): the call and the text carry one value, 0.3
    return float(f"{result:.12g}") if isinstance(result, float) and math.isfinite(result) else result


# --- generation -------------------------------------------------------------------------------

class Generator:
    def __init__(self, toolset: Toolset, source: str = "<toolset>"):
        self.ts, self.source = toolset, source
        # formats (date, email, ...) checked too: a generator must not teach "next Friday" as a date
        self.validators = {name: argument_validator(t.parameters, formats=True) for name, t in toolset.tools.items()}
        self.schemas = {name: {"type": "function", "function": {"name": name, "description": t.description,
                                                                 "parameters": t.parameters}}
                        for name, t in toolset.tools.items()}

    def _fail(self, where: str, message: str) -> ToolsetError:
        return ToolsetError(f"{self.source}: {where}: {message}")

    def _draw(self, rng: random.Random, slots: dict[str, SlotSpec], values: dict[str, Any], where: str) -> None:
        for name, spec in slots.items():
            if isinstance(spec, str):
                spec = PoolSlot(pool=spec)
            if isinstance(spec, RangeSlot):
                values[name] = rng.randint(*spec.range)
            elif isinstance(spec, ChoiceSlot):
                values[name] = rng.choice(spec.choice)
            else:
                pool = self.ts.pools.get(spec.pool)
                if pool is None:
                    raise self._fail(f"{where}.slots.{name}", f"unknown pool {spec.pool!r}")
                for u in spec.unlike:
                    if u not in values:
                        why = (f"slot {u!r} is drawn after {name!r} (or is {name!r} itself): declare it first"
                               if u in slots else f"unknown slot {u!r}")
                        raise self._fail(f"{where}.slots.{name}.unlike", why)
                avoid = [values[u] for u in spec.unlike]
                options = [v for v in pool if v not in avoid]
                if not options:
                    raise self._fail(f"{where}.slots.{name}", f"pool {spec.pool!r} is empty" if not pool else
                                     f"pool {spec.pool!r} has no value unlike the slot(s) {spec.unlike}")
                values[name] = rng.choice(options)
        # A choice may be a template over the other slots ("the {topic} is attached."): filled once
        # every slot of the entry is drawn, so the order the slots are written in does not matter.
        for name, spec in slots.items():
            if isinstance(spec, ChoiceSlot) and isinstance(values[name], str) and _has_slot(values[name]):
                values[name] = self._render(values[name], values, f"{where}.slots.{name}.choice")

    def _computed(self, computed: dict[str, str], values: dict[str, Any], where: str) -> None:
        for name, expr in computed.items():
            try:
                values[name] = evaluate(expr, values)
            except TemplateError as err:
                raise self._fail(f"{where}.computed.{name}", str(err)) from None

    def _render(self, template: Any, values: dict[str, Any], where: str) -> Any:
        try:
            return render(template, values)
        except TemplateError as err:
            raise self._fail(where, str(err)) from None

    def _call(self, tool: str, arguments: dict, where: str) -> dict:
        if tool not in self.schemas:
            raise self._fail(f"{where}.tool", f"unknown tool {tool!r} (known: {', '.join(self.schemas)})")
        schema = self.ts.tools[tool].parameters
        if isinstance(arguments, dict) and "properties" in schema and schema.get("additionalProperties") is not True:
            extra = sorted(set(arguments) - set(schema["properties"]))
            if extra:  # JSON Schema lets them through unless told not to; a model would learn to invent them
                raise self._fail(f"{where}.arguments", f"argument(s) {extra} are not parameters of {tool} "
                                                       f"(its parameters: {', '.join(schema['properties']) or 'none'})")
        err = jsonschema.exceptions.best_match(self.validators[tool].iter_errors(arguments))
        if err is not None:
            path = ".".join(str(p) for p in err.absolute_path)
            raise self._fail(f"{where}.arguments{'.' + path if path else ''}",
                             f"generated arguments do not fit {tool}'s schema: {err.message}") from None
        return {"type": "function", "function": {"name": tool, "arguments": arguments}}

    def _result_text(self, result: Any) -> str:
        return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)

    def _tools(self, rng: random.Random, needed: list[str]) -> list[dict]:
        others = [n for n in self.schemas if n not in needed]
        names = needed + rng.sample(others, min(self.ts.distractors, len(others)))
        rng.shuffle(names)
        return [self.schemas[n] for n in names]

    def intent(self, rng: random.Random, name: str) -> tuple[str, dict, str, str, dict[str, Any]]:
        """(request, call, result text, answer, the slot values drawn)."""
        it, where = self.ts.intents[name], f"intents.{name}"
        values: dict[str, Any] = {}
        self._draw(rng, it.slots, values, where)
        request = rng.choice(it.requests)
        arguments = dict(it.arguments)
        for i, opt in enumerate(it.optional):
            if rng.random() < opt.p:
                arguments.update(opt.arguments)
                self._draw(rng, opt.set, values, f"{where}.optional[{i}]")
                if opt.suffix:
                    end = request[-1] if request[-1] in "?." else ""
                    request = request.rstrip("?.") + opt.suffix + end
        self._computed(it.computed, values, where)
        request = self._render(request, values, f"{where}.requests")
        call = self._call(it.tool, self._render(arguments, values, f"{where}.arguments"), where)
        result = self._result_text(self._render(it.result, values, f"{where}.result"))
        answer = self._render(rng.choice(it.answers), values, f"{where}.answers")
        return request, call, result, answer, values

    def _example(self, rng: random.Random, scenario: str, messages: list[dict], needed: list[str],
                 system: str | None = None) -> dict:
        lead = rng.choice(self.ts.lead_ins)
        # `_request` (the request without its lead-in) is the dedupe key: variety must come from
        # templates and slots, not from "Hey! " prefixes alone. generate() removes it.
        request = messages[0]["content"]
        messages = [{"role": "user", "content": lead + request}, *messages[1:]]
        return {"scenario": scenario, "tools": self._tools(rng, needed), "_request": request,
                "messages": [{"role": "system", "content": system or self.ts.system_prompt}, *messages]}

    def single(self, rng: random.Random) -> dict:
        request, call, result, answer, _ = self.intent(rng, rng.choice(sorted(self.ts.intents)))
        msgs = [{"role": "user", "content": request},
                {"role": "assistant", "content": "", "tool_calls": [call]},
                _tool_msg(call, result), {"role": "assistant", "content": answer}]
        return self._example(rng, "single_tool", msgs, [call["function"]["name"]])

    def parallel(self, rng: random.Random) -> dict:
        first, second = rng.sample(sorted(self.ts.intents), 2)
        r1, c1, o1, a1, _ = self.intent(rng, first)
        r2, c2, o2, a2, slots = self.intent(rng, second)
        # a slot's word keeps its case too ("carla (carla.r@…)": the name is a field beside the email argument)
        request = r1 + rng.choice(self.ts.joiners) + _lower_first_word(r2, [c2["function"]["arguments"], slots])
        msgs = [{"role": "user", "content": request}, {"role": "assistant", "content": "", "tool_calls": [c1, c2]},
                _tool_msg(c1, o1), _tool_msg(c2, o2), {"role": "assistant", "content": f"{a1} {a2}"}]
        return self._example(rng, "multi_tool_parallel", msgs,
                             sorted({c1["function"]["name"], c2["function"]["name"]}))

    def flow(self, rng: random.Random, name: str) -> dict:
        fl, where = self.ts.flows[name], f"flows.{name}"
        values: dict[str, Any] = {"system": self.ts.system_prompt}
        self._draw(rng, fl.slots, values, where)
        self._computed(fl.computed, values, where)
        msgs: list[dict] = [{"role": "user", "content": self._render(rng.choice(fl.requests), values,
                                                                     f"{where}.requests")}]
        needed: set[str] = set()
        for i, step in enumerate(fl.steps):
            calls = step.parallel if isinstance(step, Parallel) else [step]
            made = []
            for j, c in enumerate(calls):
                at = f"{where}.steps[{i}]" + (f".parallel[{j}]" if isinstance(step, Parallel) else "")
                made.append((self._call(c.tool, self._render(c.arguments, values, f"{at}.arguments"), at),
                             self._result_text(self._render(c.result, values, f"{at}.result"))))
                needed.add(c.tool)
            note = self._render(calls[0].note, values, f"{where}.steps[{i}].note")
            msgs.append({"role": "assistant", "content": note, "tool_calls": [c for c, _ in made]})
            msgs += [_tool_msg(c, r) for c, r in made]
        msgs.append({"role": "assistant", "content": self._render(rng.choice(fl.answers), values, f"{where}.answers")})
        system = self._render(fl.system, values, f"{where}.system") if fl.system else None
        return self._example(rng, fl.scenario, msgs, sorted(needed), system)

    def no_tool(self, rng: random.Random) -> dict:
        name = rng.choice(sorted(self.ts.no_tool))
        nt, where = self.ts.no_tool[name], f"no_tool.{name}"
        values: dict[str, Any] = {}
        self._draw(rng, nt.slots, values, where)
        self._computed(nt.computed, values, where)
        request = self._render(rng.choice(nt.requests), values, f"{where}.requests")
        answer = self._render(rng.choice(nt.answers), values, f"{where}.answers")
        msgs = [{"role": "user", "content": request}, {"role": "assistant", "content": answer}]
        return self._example(rng, "no_tool_needed", msgs, [])

    def scenario(self, rng: random.Random, scenario: str) -> dict:
        if scenario == "single_tool":
            return self.single(rng)
        if scenario == "multi_tool_parallel":
            return self.parallel(rng)
        if scenario == "no_tool_needed":
            return self.no_tool(rng)
        names = sorted(n for n, f in self.ts.flows.items() if f.scenario == scenario)
        return self.flow(rng, rng.choice(names))

    def _options(self, slots: dict[str, SlotSpec]) -> int:
        """How many value combinations the slots can take (an upper bound: `unlike` only removes)."""
        total = 1
        for spec in slots.values():
            if isinstance(spec, str):
                spec = PoolSlot(pool=spec)
            total *= (spec.range[1] - spec.range[0] + 1 if isinstance(spec, RangeSlot)
                      else len(spec.choice) if isinstance(spec, ChoiceSlot) else len(self.ts.pools.get(spec.pool) or [1]))
        return total

    def _intent_requests(self, it: Intent) -> int:
        options = self._options(it.slots)
        for opt in it.optional:  # taken or not, and its own redrawn slots
            options *= 1 + self._options(opt.set)
        return len(it.requests) * options

    def most_distinct(self, scenario: str) -> int:
        """An upper bound on the distinct requests a scenario can make (templates × slot values)."""
        if scenario == "single_tool":
            return sum(self._intent_requests(it) for it in self.ts.intents.values())
        if scenario == "multi_tool_parallel":
            each = [self._intent_requests(it) for it in self.ts.intents.values()]
            return sum(a * b for i, a in enumerate(each) for j, b in enumerate(each) if i != j) * len(self.ts.joiners)
        if scenario == "no_tool_needed":
            return sum(len(nt.requests) * self._options(nt.slots) for nt in self.ts.no_tool.values())
        return sum(len(fl.requests) * self._options(fl.slots) for fl in self.ts.flows.values() if fl.scenario == scenario)

    def available(self) -> list[str]:
        """Scenarios this toolset can make (weight > 0 and something to make them from)."""
        flows = {f.scenario for f in self.ts.flows.values()}
        can = {"single_tool": len(self.ts.intents) >= 1, "multi_tool_parallel": len(self.ts.intents) >= 2,
               "no_tool_needed": bool(self.ts.no_tool), **{s: s in flows for s in FLOW_SCENARIOS}}
        return [s for s in SCENARIOS if self.ts.mix.get(s, 0) > 0 and can[s]]

    def _possible(self, it: Intent, ref: str) -> list[Any] | None:
        """Every value slot `ref` ("kg", "out.command") can take in intent `it`, its own slots and its
        options' `set` together; None when they cannot be listed (a computed slot, a choice that is a
        template, a range of over 100 000 values)."""
        name, *fields = ref.split(".")
        specs = [s[name] for s in (it.slots, *(o.set for o in it.optional)) if name in s]
        if not specs or name in it.computed:
            return None
        found: list[Any] = []
        for spec in specs:
            if isinstance(spec, str):
                spec = PoolSlot(pool=spec)
            if isinstance(spec, RangeSlot):
                if spec.range[1] - spec.range[0] >= 100_000:
                    return None
                found += range(spec.range[0], spec.range[1] + 1)
            elif isinstance(spec, ChoiceSlot):
                if any(isinstance(v, str) and _has_slot(v) for v in spec.choice):
                    return None
                found += spec.choice
            else:
                found += self.ts.pools.get(spec.pool) or []
        try:
            return [_lookup({"v": v}, "v", "." + ".".join(fields) if fields else "") for v in found]
        except TemplateError:
            return None

    def _faithful(self, it: Intent, ref: tuple[str, str | None, str | None], arguments: Any) -> bool:
        """Whether a request's `{ref|filter:spec}` writes the value a call holds as `{ref}`. A filter that
        only changes case does ("said" ignores case); `|typo` does not ("PX-10011" is not "PX-1001"),
        nor a format spec that changes how some value the slot can take is written (`{kg:.0f}` writes
        171 for 170.64), unless the call's arguments render the slot the same way."""
        name, filt, spec = ref
        if (filt is None or filt in _CASE_FILTERS) and spec is None:
            return True
        if ref in _refs(arguments):
            return True
        if filt is not None and filt not in _CASE_FILTERS:
            return False
        values = self._possible(it, name)
        if values is None:
            return False
        template = "{v" + (f"|{filt}" if filt else "") + f":{spec}}}"
        try:
            return all(render(template, {"v": v}).casefold() == _plain(v).casefold() for v in values)
        except TemplateError:
            return False

    def _said(self, it: Intent, request: str, arguments: Any) -> set[str]:
        """The slots (base names) `request` says: written so the text holds the value the call does."""
        return {r[0].split(".")[0] for r in _refs(request) if self._faithful(it, r, arguments)}

    def _check_renderings(self, it: Intent, request: str, arguments: Any, values: dict[str, Any], where: str) -> None:
        """Refuse a request that writes a slot the call uses in another form than the call holds it:
        `{pid|typo}` for a call with `{pid}` ("Track PX-10011" -> PX-1001), `{kg:.0f}` for `{kg}`
        ("171 kg" -> 170.64). Rounding on request is for slots no argument takes."""
        used = {r[0] for r in _refs(arguments)}
        for ref in sorted(_refs(request), key=str):
            name, filt, spec = ref
            if name not in used or self._faithful(it, ref, arguments):
                continue
            written = "{" + name + (f"|{filt}" if filt else "") + (f":{spec}" if spec else "") + "}"
            example = ""
            try:
                shown, held = render(written, values), render("{" + name + "}", values)
                if shown != _plain(held):
                    example = f", e.g. {shown!r} for {held!r}"
            except TemplateError:
                pass
            raise self._fail(where, (
                f"{request!r} writes {written}, which is not the value the call holds as {{{name}}}{example}: the "
                f"row would teach the model to call with a value the user never gave (write {{{name}}} in the "
                "request, or render the argument the same way)"))

    def check(self) -> None:
        """Render every template of every intent, flow and no-tool entry (each request and answer, each
        optional argument), so a broken one fails at load time, not when a draw happens to pick it; and
        refuse a request that leaves out a value its call uses (`_unsaid`, `_unsaid_constants`: a
        whole word or number token) or writes it otherwise than the call holds it (`_check_renderings`)."""
        rng = random.Random(0)
        for name, it in self.ts.intents.items():
            where = f"intents.{name}"
            self._check_text_slot_values(it.slots, [it.requests, it.arguments, it.result, it.answers], where)
            for i, opt in enumerate(it.optional):
                self._check_text_slot_values(opt.set, [it.requests, it.arguments, opt.arguments, opt.suffix, it.result,
                                                       it.answers], f"{where}.optional[{i}].set")
            self._check_option_only_slots(it, where)
            self._check_slot_domains(it.tool, it.arguments, it.slots, where)
            for i, opt in enumerate(it.optional):
                self._check_slot_domains(it.tool, {**it.arguments, **opt.arguments}, {**it.slots, **opt.set},
                                         where, f"{where}.optional[{i}].set")
            for _ in range(3):
                self.intent(rng, name)
            values: dict[str, Any] = {}
            self._draw(rng, it.slots, values, where)
            for i, opt in enumerate(it.optional):
                self._draw(rng, opt.set, values, f"{where}.optional[{i}]")
            self._computed(it.computed, values, where)
            for i, request in enumerate(it.requests):
                self._render(request + "".join(o.suffix for o in it.optional), values, f"{where}.requests[{i}]")
            for i, answer in enumerate(it.answers):
                self._render(answer, values, f"{where}.answers[{i}]")
            for i, opt in enumerate(it.optional):
                self._call(it.tool, self._render({**it.arguments, **opt.arguments}, values,
                                                 f"{where}.optional[{i}].arguments"), where)
            for i, request in enumerate(it.requests):
                at = f"{where}.requests[{i}]"
                self._check_renderings(it, request, it.arguments, values, at)
                constants = _unsaid_constants(it.arguments, request)
                if constants:
                    raise self._fail(at, (
                        f"{request!r} does not say {constants[0]!r}, a fixed value of the call's arguments: the row "
                        "would teach the model to call with a value the user never gave (say it in every request, as "
                        "a whole word, a number as the call holds it, or draw it from a slot the request names)"))
                unsaid = _unsaid(it.arguments, self._said(it, request, it.arguments), it.computed)
                if unsaid:
                    raise self._fail(at, (
                        f"{request!r} does not say {', '.join('{' + u + '}' for u in unsaid)}, which the call's "
                        "arguments use: the row would teach the model to call with a value the user never gave "
                        "(put the slot in every request, or make the argument optional)"))
                for k, opt in enumerate(it.optional):
                    text, arguments = request + opt.suffix, {**it.arguments, **opt.arguments}
                    self._check_renderings(it, text, arguments, values, f"{where}.optional[{k}]")
                    constants = _unsaid_constants(opt.arguments, text, paraphrase=opt.suffix)
                    if constants:
                        raise self._fail(f"{where}.optional[{k}]", (
                            f"the request {request!r} with the suffix {opt.suffix!r} does not say {constants[0]!r}, "
                            "which the option's arguments use (the suffix is where an option says its value: text as "
                            "a whole word; a whole number or a boolean may be paraphrased, \"up to two minutes\" for "
                            "120, but a fraction must be written as the call holds it)"))
                    unsaid = _unsaid(opt.arguments, self._said(it, text, arguments), it.computed)
                    if unsaid:
                        raise self._fail(f"{where}.optional[{k}]", (
                            f"the request {request!r} with the suffix {opt.suffix!r} does not say "
                            f"{', '.join('{' + u + '}' for u in unsaid)}, which the option's arguments use"))
            for k, opt in enumerate(it.optional):
                if opt.arguments and not any(c.isalnum() for c in opt.suffix):
                    raise self._fail(f"{where}.optional[{k}].suffix", (
                        f"{opt.suffix!r} says nothing, but the option adds {sorted(opt.arguments)} to the call: rows "
                        "with and without it would read alike, so the request never asks for those values (write "
                        "the phrase that asks for them)"))
        for name, fl in self.ts.flows.items():
            self._check_text_slot_values(fl.slots, [fl.system, fl.requests, fl.answers,
                                                    [c.model_dump() for c in fl.steps]], f"flows.{name}")
            for call in (c for step in fl.steps for c in (step.parallel if isinstance(step, Parallel) else [step])):
                self._check_slot_domains(call.tool, call.arguments, fl.slots, f"flows.{name}")
            for _ in range(3):
                self.flow(rng, name)
            values = {"system": self.ts.system_prompt}
            self._draw(rng, fl.slots, values, f"flows.{name}")
            self._computed(fl.computed, values, f"flows.{name}")
            for field in ("requests", "answers"):
                for i, text in enumerate(getattr(fl, field)):
                    self._render(text, values, f"flows.{name}.{field}[{i}]")
        for name, nt in self.ts.no_tool.items():
            self._check_text_slot_values(nt.slots, [nt.requests, nt.answers], f"no_tool.{name}")
            values = {}
            self._draw(rng, nt.slots, values, f"no_tool.{name}")
            self._computed(nt.computed, values, f"no_tool.{name}")
            for field in ("requests", "answers"):
                for i, text in enumerate(getattr(nt, field)):
                    self._render(text, values, f"no_tool.{name}.{field}[{i}]")
        missing = [s for s in self.ts.mix if self.ts.mix[s] > 0 and s not in self.available()]
        if missing:
            raise self._fail("mix", f"weights given for {missing}, but the file defines nothing to make them from")


    def _check_text_slot_values(self, slots: dict[str, Any], templates: list[Any], where: str) -> None:
        """A slot written inside a text (not a whole `"{slot}"` value, which may be any JSON) can draw only
        text, numbers and booleans: a choice or pool entry that is null, a list or a mapping written whole
        would put "None" or "{'a': 1}" in the row. Checked on every value, not on the load's draws."""
        in_text = _text_refs(templates)
        for slot, spec in slots.items():
            if slot not in in_text:
                continue
            if isinstance(spec, ChoiceSlot):
                values, at = spec.choice, f"{where}.slots.{slot}.choice"
            elif isinstance(spec, (str, PoolSlot)):
                pool = spec if isinstance(spec, str) else spec.pool
                values, at = self.ts.pools.get(pool, []), f"pools.{pool}"
            else:
                continue
            for i, value in enumerate(values):
                kind = _no_text(value)
                if kind and (in_text[slot] or not isinstance(value, dict)):  # a mapping's fields may be written
                    raise self._fail(f"{at}[{i}]", (
                        f"is {kind}, and {{{slot}}} is written inside a text ({where}), which can hold only text, "
                        "numbers and booleans" + (_FIELD_HINT if isinstance(value, dict) else "")))

    def _check_option_only_slots(self, it: Intent, where: str) -> None:
        """A slot that only an option's `set:` draws is missing from every row that skips the option: its
        request, call, result and answer must not name it. (The load check rendered them with every
        option taken, so this failed later, at a draw that skipped it, as an "unknown slot".)"""
        only = {slot: i for i, opt in enumerate(it.optional) for slot in opt.set
                if slot not in it.slots and slot not in it.computed}
        parts = {"requests": it.requests, "arguments": it.arguments, "result": it.result, "answers": it.answers}
        for part, template in parts.items():
            for slot in sorted({ref.split(".")[0] for ref in _slot_refs(template)} & set(only)):
                raise self._fail(f"{where}.{part}", (
                    f"{{{slot}}} is drawn only by optional[{only[slot]}] (its `set:`), but rows that skip that option "
                    f"use the {part} too, and they have no {{{slot}}}: draw it in the intent's `slots` (the "
                    "option's `set:` may redraw it), or name it only in that option's arguments and suffix"))

    def _check_slot_domains(self, tool: str, arguments: dict, slots: dict[str, Any], where: str,
                            slot_where: str | None = None) -> None:
        """An argument filled whole by a range or choice slot must accept every value the slot can draw.
        Decided from the slot's spec, not from draws: a range of [0, 400] beside `minimum: 1` was refused
        or written depending on whether the seed's draws hit 0. A range is checked at both ends (the
        bounds a schema puts on a number), a choice at every value."""
        if tool not in self.ts.tools:
            return  # named by the call check, with the tools there are
        properties = self.ts.tools[tool].parameters.get("properties") or {}
        for arg, template in arguments.items():
            whole = _ONLY.match(template) if isinstance(template, str) else None
            spec = slots.get(whole.group(1)) if whole and not whole.group(2) else None
            if not isinstance(properties.get(arg), dict) or not isinstance(spec, (RangeSlot, ChoiceSlot)):
                continue
            drawn = list(spec.range) if isinstance(spec, RangeSlot) else [
                v for v in spec.choice if not (isinstance(v, str) and _has_slot(v))]  # a template: checked drawn
            validator = argument_validator(properties[arg], formats=True)
            for value in drawn:
                value = int(value) if isinstance(value, float) and value.is_integer() else value  # as render writes it
                wrong = jsonschema.exceptions.best_match(validator.iter_errors(value))
                if wrong is not None:
                    kind = f"range {list(spec.range)}" if isinstance(spec, RangeSlot) else "choice"
                    raise self._fail(f"{slot_where or where + '.slots'}.{whole.group(1)}", (
                        f"its {kind} can draw {value!r}, which {tool}'s argument {arg!r} refuses ({wrong.message}); "
                        "keep the slot within the argument's schema"))


def _text_refs(template: Any) -> dict[str, bool]:
    """The slots a template writes inside a text, each with whether it is written whole there (`{p}`, not
    `{p.name}`); a string that is one whole `{slot}` is a JSON value, not a text, and is left out."""
    found: dict[str, bool] = {}
    for _, text, is_key in texts_within(template):
        if is_key or _ONLY.match(text):  # (keys are not filled)
            continue
        for m in _FIELD.finditer(text):
            if m.group(1):
                found[m.group(1)] = found.get(m.group(1), False) or not m.group(2)
    return found


def _slot_refs(template: Any) -> set[str]:
    """The slots a template fills, as written: "out.command" for {out.command}, "city" for {city|lower}."""
    return {name for name, _, _ in _refs(template)}


# filters that change only case: "said" ignores case, so {city|title} says the city ({x|typo} does not)
_CASE_FILTERS = frozenset({"lower", "upper", "title", "cap"})
# a number as text writes it: not part of an id or a date ("PX-1001", "2026-10-05"), not a word's digits
_NUMBER = re.compile(r"(?<![\w.\-])-?\d+(?:\.\d+)?(?![\w\-]|\.\d)")


def _refs(template: Any) -> set[tuple[str, str | None, str | None]]:
    """The slots a template fills with how it writes them: ("city", "lower", None) for {city|lower},
    ("kg", None, ".0f") for {kg:.0f}."""
    if isinstance(template, dict):
        return set().union(*map(_refs, template.values()))
    if isinstance(template, list):
        return set().union(*map(_refs, template))
    if not isinstance(template, str):
        return set()
    return {(m.group(1) + (m.group(2) or ""), m.group(3), m.group(4)) for m in _FIELD.finditer(template) if m.group(1)}


def _unsaid(arguments: Any, said: set[str], computed: dict[str, str]) -> list[str]:
    """Slots the call's `arguments` fill that the request does not say (`said`: the slots it writes as
    the call holds them, `Generator._said`): a value the user never gave. A computed slot counts as
    said when every slot its expression reads is ("{tonnes}" from "{kg} kg"); a compound entry when
    any of its fields is (its fields are one value's forms: {s.word} "on" says the {s.val} true the
    call passes)."""

    def is_said(ref: str) -> bool:
        if ref.split(".")[0] in said:
            return True
        if ref in computed:
            try:
                names = {n.id for n in ast.walk(ast.parse(computed[ref], mode="eval")) if isinstance(n, ast.Name)}
            except SyntaxError:
                return True  # a bad expression is refused by name elsewhere
            return all(is_said(n) for n in names)
        return False

    return sorted(r for r in _slot_refs(arguments) if not is_said(r))


def _literal(text: str) -> str:
    """A template's literal text: each slot a boundary (a slot's name is not said text), `{{` a brace."""
    return _FIELD.sub(lambda m: m.group(0)[0] if m.group(0) in ("{{", "}}") else "\0", text)


def _says_text(value: str, text: str) -> bool:
    """`value` is in `text` as a whole: case aside, not inside a longer word or id ("other" is not said
    by "brother", "P-10231" not by "P-102311")."""
    value = value.strip().casefold()
    start = r"(?<!\w)" if re.match(r"\w", value) else ""
    end = r"(?!\w)" if re.match(r"\w", value[-1]) else ""
    return re.search(start + re.escape(value) + end, _literal(text).casefold()) is not None


def _says_number(value: int | float, text: str) -> bool:
    """`value` is a number token of `text` (7 is said by "7 crates" or "7.0", not by "17" or "PX-7")."""
    want = decimal.Decimal(repr(value)) if isinstance(value, float) else decimal.Decimal(value)
    return any(decimal.Decimal(t) == want for t in _NUMBER.findall(_literal(text)))


def _unsaid_constants(arguments: Any, text: str, paraphrase: str | None = None) -> list[Any]:
    """Fixed values (no slot) among a call's `arguments` that `text` does not say: `reason: damaged` on
    every refund whose request never gives a reason, or `crates: 7` beside "{n} crates", is a value the
    user never gave, as an unsaid slot is. Text is said as a whole word or phrase, in any case; a number
    as a number token written as the call holds it. An option's `paraphrase` (its suffix, when it has
    words) may say a whole number in words: "up to two minutes" says 120, "just the top result" says 1;
    a fraction (12.5) must still be written. A boolean is said in words ("turn the lights on" says
    `on: true`), which no test can read, so it is not looked for (an option's still needs a suffix
    with words: `check` refuses a blank one)."""
    if isinstance(arguments, dict):
        return [v for child in arguments.values() for v in _unsaid_constants(child, text, paraphrase)]
    if isinstance(arguments, list):
        return [v for child in arguments for v in _unsaid_constants(child, text, paraphrase)]
    worded = paraphrase is not None and any(c.isalnum() for c in paraphrase)
    if isinstance(arguments, bool):
        return []
    if isinstance(arguments, (int, float)) and math.isfinite(arguments):
        whole = isinstance(arguments, int) or arguments.is_integer()
        return [] if worded and whole or _says_number(arguments, text) else [arguments]
    if isinstance(arguments, str) and arguments.strip() and not _has_slot(arguments):
        return [] if _says_text(arguments, text) else [arguments]
    return []


def _lower_first_word(text: str, arguments: Any) -> str:
    """`text` as the middle of a sentence: its first word lower-cased when it is an ordinary
    capitalised word ("Show" -> "show"), never "I", an acronym, a code ("ORD-59012") or a word of a
    value in `arguments` (the call's arguments and the slots drawn: "Paris", a person's name): those
    keep their case, or the text would no longer hold the value."""
    first = re.match(r"[A-Za-z][A-Za-z']*", text)
    if not first or first.end() < len(text) and not (text[first.end()].isspace() or text[first.end()] in ",.:;!?"):
        return text
    word = first.group(0)
    in_values = any(word in v for v in string_values(arguments))
    if word == "I" or word.startswith("I'") or not (word[0].isupper() and word[1:].islower()) or in_values:
        return text
    return word.lower() + text[first.end():]


def _tool_msg(call: dict, content: str) -> dict:
    return {"role": "tool", "name": call["function"]["name"], "content": content}


def first_user_text(example: dict) -> str:
    return next(m["content"] for m in example["messages"] if m["role"] == "user")


def _parameters_problem(parameters: dict) -> str | None:
    """'.where: what' for parameters a function call cannot have: not an object schema (`{}` let any
    argument through, while `{type: object, properties: {}}` refused one), or a property whose
    `default` breaks its own schema (`default: 150` beside `maximum: 100` told the model the value the
    tool uses when it is left out is one the tool refuses)."""
    if parameters.get("type") != "object":
        return (f": type is {parameters.get('type')!r}; a function's parameters are an object schema (a tool "
                "without arguments: {type: object, properties: {}})")
    for arg, prop in (parameters.get("properties") or {}).items():
        if isinstance(prop, dict) and "default" in prop:
            rest = {k: v for k, v in prop.items() if k != "default"}
            wrong = jsonschema.exceptions.best_match(argument_validator(rest).iter_errors(prop["default"]))
            if wrong is not None:
                return (f".properties.{arg}.default: {prop['default']!r} breaks the argument's own schema "
                        f"({wrong.message})")
    return _contradiction(parameters)


_BOUNDS = (("minimum", "maximum"), ("exclusiveMinimum", "maximum"), ("minimum", "exclusiveMaximum"),
           ("exclusiveMinimum", "exclusiveMaximum"), ("minLength", "maxLength"), ("minItems", "maxItems"),
           ("minProperties", "maxProperties"))


def _contradiction(schema: Any, where: str = "") -> str | None:
    """'.where: what' for a schema that contradicts itself, in the tool's parameters or below them: an
    `enum` value its own `type` refuses, a bound above its other bound, a `required` name that
    `properties` does not declare. Valid JSON Schema all, and checked for every tool, called or only
    offered as a distractor: the model would be trained on a tool no call can satisfy."""
    if not isinstance(schema, dict):
        return None
    if schema.get("enum") == []:
        return f"{where}.enum: empty, so it admits no value"
    if isinstance(schema.get("enum"), list) and "type" in schema:
        of_type = argument_validator({"type": schema["type"]})
        wrong = [v for v in schema["enum"] if not of_type.is_valid(v)]
        if wrong:
            return f"{where}.enum: {wrong[0]!r} is not of the schema's own type {schema['type']!r}"
    for low, high in _BOUNDS:
        a, b = schema.get(low), schema.get(high)
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)) and (
                a > b or a == b and (low.startswith("exclusive") or high.startswith("exclusive"))):
            return f"{where}: {low} {a} and {high} {b} admit no value"
    declared = schema.get("properties")
    if isinstance(declared, dict) and isinstance(schema.get("required"), list):
        missing = [r for r in schema["required"] if r not in declared]
        if missing:
            return f"{where}.required: names {missing}, which properties does not declare (it declares {sorted(declared)})"
    for name, sub in (declared or {}).items() if isinstance(declared, dict) else ():
        found = _contradiction(sub, f"{where}.properties.{name}")
        if found:
            return found
    return _contradiction(schema.get("items"), f"{where}.items") if isinstance(schema.get("items"), dict) else None


def _control_token(data: Any) -> tuple[str, str] | None:
    """(key path, token) of the first chat control token (`<|im_end|>`) in any text of the file: in a
    schema's description, a request, an answer, a pool value, a key."""
    for path, text, _ in texts_within(data):
        found = CONTROL_TOKEN.search(text)
        if found:
            return ".".join(map(str, path)) or "(top)", found.group()
    return None


def parse_toolset(data: Any, source: str = "<toolset>") -> Generator:
    if not isinstance(data, dict):
        raise ToolsetError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    wrong = wrong_file_kind(source, data, "toolset")  # a field error per key of another file said less
    if wrong:
        raise ToolsetError(wrong)
    try:
        toolset = Toolset.model_validate(data)
    except ValidationError as err:
        raise ToolsetError(format_validation_errors(source, err, "toolset")) from None
    for name, tool in toolset.tools.items():  # every tool, called or only offered beside the called one
        invalid = schema_problem(tool.parameters)  # a dangling $ref raised inside jsonschema, exit 1
        if invalid:
            raise ToolsetError(f"{source}: tools.{name}.parameters: not a valid JSON schema at {invalid}")
        problem = _parameters_problem(tool.parameters)
        if problem:
            raise ToolsetError(f"{source}: tools.{name}.parameters{problem}")
    token = _control_token(data)
    if token:
        raise ToolsetError(f"{source}: {token[0]}: holds {token[1]!r}, a chat control token: tokenisers read it as a "
                           "turn boundary, and training quarantines every row that carries it (control_token)")
    if not toolset.system_prompt.strip():
        raise ToolsetError(f"{source}: system_prompt: empty; every row would open with a blank system turn (write "
                           "the prompt the tools are served with)")
    try:  # a template with no slots: `{{`/`}}` are braces, as everywhere else; `{bot}` was written out as it stood
        system = render(toolset.system_prompt, {})
    except TemplateError as err:
        raise ToolsetError(f"{source}: system_prompt: {err} (the system prompt fills no slots)") from None
    gen = Generator(toolset.model_copy(update={"system_prompt": system}), source)
    gen.check()
    return gen


def load_toolset(path: Path | str) -> Generator:
    path = Path(path)
    return parse_toolset(read_yaml(path, "toolset", ToolsetError), str(path))


STALL_DRAWS = 5000  # draws in a row without a new distinct request before a scenario counts as saturated


def calls_per_tool(rows: list[dict]) -> dict[str, int]:
    """How many calls each tool got, most first (a toolset whose intents saturate unevenly skews this)."""
    counts = Counter(c["function"]["name"] for r in rows for m in r["messages"] for c in m.get("tool_calls") or [])
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _targets(gen: Generator, n: int) -> dict[str, int]:
    """How many of `n` examples each scenario gets, in the toolset's `mix` proportions."""
    scenarios = gen.available()
    total = sum(gen.ts.mix[s] for s in scenarios)
    # Largest remainder: the counts add up to n exactly and follow the weights as closely as integers can.
    exact = {s: n * gen.ts.mix[s] / total for s in scenarios}
    targets = {s: int(v) for s, v in exact.items()}
    for s in sorted(scenarios, key=lambda s: exact[s] - targets[s], reverse=True)[:n - sum(targets.values())]:
        targets[s] += 1
    return targets


def count_problem(gen: Generator, n: int) -> str | None:
    """Why `n` examples cannot be made from `gen` (a scenario's share past the distinct requests its
    templates and slots can make), found without drawing: `generate` refuses it up front, and the
    preflight checks a `generate: {kind: toolset}` source's count with it."""
    for scenario, wanted in _targets(gen, n).items():
        most = gen.most_distinct(scenario)
        if wanted > most:
            return (f"{wanted} {scenario} examples asked, but its templates and slot values make at most {most:,} "
                    "distinct requests; add paraphrases or pool values, or ask for fewer")
    return None


def generate(gen: Generator, n: int, seed: int = 0, id_prefix: str = "toolset") -> list[dict]:
    """`n` examples with distinct requests (lead-ins aside), scenarios in the toolset's `mix` proportions."""
    rng = random.Random(seed)
    scenarios = gen.available()
    targets = _targets(gen, n)
    problem = count_problem(gen, n)  # before any drawing: a count past what the file can make is refused now
    if problem:
        raise ToolsetError(f"{gen.source}: {problem}")
    out: list[dict] = []
    seen: set[str] = set()
    for scenario in scenarios:
        made = attempts = last_new = 0
        while made < targets[scenario]:
            attempts += 1
            # saturated: this many draws in a row brought nothing new (the bound above is an upper
            # bound; templates that render alike make fewer), so stop instead of drawing for minutes
            if attempts - last_new > STALL_DRAWS:
                raise ToolsetError(f"{gen.source}: could only make {made} distinct {scenario} examples of "
                                   f"{targets[scenario]}; add paraphrases or pool values, or ask for fewer")
            ex = gen.scenario(rng, scenario)
            key = ex.pop("_request")
            if key in seen:
                continue
            seen.add(key)
            last_new = attempts
            ex["meta"] = {"track": "toolset", "scenario": scenario}  # a team's own toolset, not the starter set
            out.append(ex)
            made += 1
    for i, ex in enumerate(out):
        ex["id"] = f"{id_prefix}-{i:05d}"
    return out
