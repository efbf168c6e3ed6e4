"""BFCL (Berkeley Function-Calling Leaderboard) as an outside yardstick.

Reads the single-turn AST categories shipped in the `bfcl-eval` package (installed, without its
dependencies, under `.cache/bfcl` by `make install`), turns them into our eval-case format, and
scores calls by BFCL's own rules (`bfcl_match`), which are looser than our exact-argument scorer:

* a parameter's ground truth is a list of accepted values; `""` among them means it may be left out;
* strings are compared after dropping spaces and `,./-_*^`, lower-casing and turning `'` into `"`
  (inside lists and flat dicts too);
* an int is accepted where the function doc says float (not inside lists);
* a value whose type differs from the doc's type is compared literally when the ground truth itself
  uses that type (BFCL calls this a "variable"), e.g. `None` or `"dontcare"` for an integer;
* parallel categories match calls to ground-truth calls in any order (first fit, as BFCL does);
  "multiple" categories have exactly one expected call;
* irrelevance categories are correct iff there is no call at all.

`evals/bfcl_official.py` runs the official checker; `evals/bfcl_diff.py` checks the two agree.
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from evals.errors import ToolsweepError

CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance",
              "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance")
ENV_VAR = "TOOLSWEEP_BFCL_DIR"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / ".cache" / "bfcl" / "bfcl_eval"
DATA_PREFIX = "BFCL_v4_"


class BFCLMissing(ToolsweepError, FileNotFoundError):
    label = "setup error"
    """The bfcl-eval package data is not where we look for it."""


def bfcl_root() -> Path:
    """The installed `bfcl_eval` package directory (the one holding `data/`).

    `$TOOLSWEEP_BFCL_DIR` overrides the default `.cache/bfcl/bfcl_eval`; it may name the package
    directory itself or the directory it was installed into.
    """
    raw = os.environ.get(ENV_VAR)
    root = Path(raw).expanduser() if raw else DEFAULT_DIR
    if not (root / "data").is_dir() and (root / "bfcl_eval" / "data").is_dir():
        root = root / "bfcl_eval"
    if not (root / "data").is_dir():
        where = f"${ENV_VAR}={raw}" if raw else str(root)
        raise BFCLMissing(f"BFCL data not found at {where}: run `make install` (it installs bfcl-eval "
                          f"into .cache/bfcl), or point ${ENV_VAR} at an installed bfcl_eval package")
    return root


def is_irrelevance(category: str) -> bool:
    return "irrelevance" in category


# --- function docs ------------------------------------------------------------------------------

# Only these three: BFCL's Java and JavaScript categories type parameters `long`, `String`, `ArrayList`
# and expect their values written as that language's literals, so evals/schema_names.py's wider table
# (`long` -> integer, for ToolACE-style rows) would change what those cases ask for.
_TYPE_TO_JSON_SCHEMA = {"dict": "object", "float": "number", "tuple": "array"}


def _json_type(bfcl_type: Any) -> Any:
    """The JSON Schema `type` for a BFCL type, or None for no constraint (`any`)."""
    if isinstance(bfcl_type, list):
        mapped = [_json_type(t) for t in bfcl_type]
        return None if None in mapped else mapped
    if bfcl_type == "any":
        return None
    return _TYPE_TO_JSON_SCHEMA.get(bfcl_type, bfcl_type)


def to_json_schema(bfcl_params: Any) -> Any:
    """A JSON Schema copy of a BFCL parameter schema (`dict`→object, `float`→number, `tuple`→array,
    `any`→ no type), converted all the way down through `properties`, `items` and
    `additionalProperties`. Every other keyword is copied as is."""
    if not isinstance(bfcl_params, dict):
        return copy.deepcopy(bfcl_params)
    out: dict[str, Any] = {}
    for key, value in bfcl_params.items():
        if key == "type":
            mapped = _json_type(value)
            if mapped is not None:
                out["type"] = mapped
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def to_tool(function_doc: dict) -> dict:
    """An OpenAI-style tool schema for one BFCL function doc (the name is kept, dots and all)."""
    return {"type": "function", "function": {
        "name": function_doc["name"],
        "description": function_doc.get("description", ""),
        "parameters": to_json_schema(function_doc.get("parameters") or {"type": "dict", "properties": {}}),
    }}


# --- loading ------------------------------------------------------------------------------------

def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@lru_cache(maxsize=None)
def _raw_category(root: Path, category: str) -> tuple[tuple[dict, ...], tuple[dict, ...] | None]:
    """(test entries, ground-truth entries or None) as stored; cached, so callers must copy."""
    entries = _read_jsonl(root / "data" / f"{DATA_PREFIX}{category}.json")
    if is_irrelevance(category):
        return tuple(entries), None
    answers = _read_jsonl(root / "data" / "possible_answer" / f"{DATA_PREFIX}{category}.json")
    if len(answers) != len(entries):
        raise ValueError(f"BFCL {category}: {len(entries)} entries but {len(answers)} answers")
    for entry, answer in zip(entries, answers):  # BFCL pairs them by position; make sure ids agree
        if entry["id"] != answer["id"]:
            raise ValueError(f"BFCL {category}: entry {entry['id']!r} is paired with answer {answer['id']!r}")
    return tuple(entries), tuple(answers)


_OMIT = object()


def _pick(accepted: Any, required: bool) -> Any:
    """One accepted value to stand for the list, or _OMIT: the first one, except that `""` (may be
    omitted) is passed over for a required parameter, and for an optional one means leave it out."""
    if not isinstance(accepted, list) or not accepted:
        return _OMIT  # an empty list accepts nothing at all (a few BFCL answers have one)
    if required:
        concrete = [a for a in accepted if not (isinstance(a, str) and a == "")]
        return copy.deepcopy(concrete[0]) if concrete else ""
    first = accepted[0]
    return _OMIT if isinstance(first, str) and first == "" else copy.deepcopy(first)


def _concrete_dict(answer: dict, schema: dict) -> dict:
    """A plain dict from a BFCL dict answer ({key: [accepted values]})."""
    required = set(schema.get("required") or [])
    out = {}
    for key, accepted in answer.items():
        value = _pick(accepted, key in required)
        if value is not _OMIT:
            out[key] = value
    return out


def _concrete(value: Any, schema: dict) -> Any:
    """The plain value an accepted BFCL value stands for: dicts (and lists of dicts) in the ground
    truth hold a list of accepted values per key; everything else is literal."""
    kind = schema.get("type")
    if kind == "dict" and isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        return _concrete_dict(value, schema)
    item_schema = schema.get("items") or {}
    if (kind in ("array", "tuple") and item_schema.get("type") == "dict" and isinstance(value, list)
            and all(isinstance(d, dict) and all(isinstance(v, list) for v in d.values()) for d in value)):
        return [_concrete_dict(d, item_schema) for d in value]
    return value


def find_function(functions: list[dict], name: str) -> dict | None:
    return next((f for f in functions if f.get("name") == name), None)


def representative_call(answer: dict, functions: list[dict]) -> dict:
    """One concrete call for a ground-truth entry {func_name: {param: [accepted values]}}: the first
    accepted value of each parameter, leaving out those whose first value is `""` (optional), except
    that a required parameter takes its first value other than `""`."""
    (name, params), = answer.items()
    doc = find_function(functions, name) or {}
    schema = doc.get("parameters") or {}
    props, required = schema.get("properties") or {}, set(schema.get("required") or [])
    arguments = {}
    for param, accepted in params.items():
        if param not in props and isinstance(accepted, list) and "" in accepted:
            continue  # an answer key the doc does not declare: leaving it out is the only way to pass
        value = _pick(accepted, param in required)
        if value is not _OMIT:
            arguments[param] = _concrete(value, props.get(param) or {})
    return {"name": name, "arguments": arguments}


def _case(entry: dict, answer: dict | None, category: str) -> dict:
    functions = entry.get("function") or []
    ground_truth = answer["ground_truth"] if answer is not None else []
    return {
        "id": entry["id"],
        "scenario": f"bfcl_{category}",
        "tools": [to_tool(f) for f in functions],
        # single-turn categories: the first (only) turn is the whole conversation
        "messages": [dict(m) for m in entry["question"][0]],
        "expected": {"calls": [representative_call(gt, functions) for gt in ground_truth]},
        "bfcl": {"ground_truth": copy.deepcopy(ground_truth), "category": category,
                 "functions": copy.deepcopy(functions)},
    }


def load_category(name: str, limit: int | None = None) -> list[dict]:
    """The BFCL cases of one category, in our eval-case format, in file order."""
    if name not in CATEGORIES:
        raise ValueError(f"unknown BFCL category {name!r}; known: {', '.join(CATEGORIES)}")
    entries, answers = _raw_category(bfcl_root(), name)
    picked = range(len(entries) if limit is None else min(limit, len(entries)))
    return [_case(entries[i], answers[i] if answers is not None else None, name) for i in picked]


# --- BFCL-rules scoring -------------------------------------------------------------------------

def to_bfcl_output(calls: list[dict]) -> list[dict]:
    """Our calls [{"name", "arguments"}] as BFCL's decoded model output [{name: {args}}]."""
    out = []
    for call in calls:
        args = call.get("arguments")
        if isinstance(args, str):
            args = json.loads(args) if args.strip() else {}
        out.append({call["name"]: {} if args is None else args})
    return out


_PY_TYPE = {"string": str, "integer": int, "float": float, "boolean": bool,
            "array": list, "tuple": list, "dict": dict, "any": str}
_IGNORED_CHARS = re.compile(r"[ ,./\-_*^]")


def standardise(text: str) -> str:
    """BFCL's string normal form: no spaces or `,./-_*^`, lower case, `'` read as `"`."""
    return _IGNORED_CHARS.sub("", text).lower().replace("'", '"')


def _norm(value: Any) -> Any:
    return standardise(value) if type(value) is str else value


def _is_blank(value: Any) -> bool:
    return type(value) is str and value == ""


def _answer_type(accepted: Any) -> type | None:
    """The type of the first accepted value that is not the `""` omission marker."""
    return next((type(a) for a in accepted if not _is_blank(a)), None)


def _item_type_ok(item: Any, accepted_list: Any, item_type: type) -> bool:
    anchor = _answer_type(accepted_list)
    return type(item) is item_type or (anchor is not None and type(item) is anchor)


def _type_verdict(value: Any, accepted: list, want: type, item_type: type | None) -> tuple[bool, bool]:
    """(type acceptable, compare literally): a value of the doc's type is fine (list items checked
    against some accepted list); so is a value of the ground truth's own type, which BFCL then
    treats as a "variable" and compares literally, as it does whenever the two types differ."""
    anchor = _answer_type(accepted)
    literal = anchor is not None and anchor is not want
    if type(value) is want:
        if item_type is None:
            return True, literal
        for alt in accepted:
            if type(alt) is not list or all(_item_type_ok(v, alt, item_type) for v in value):
                return True, literal
        return False, literal
    if anchor is not None and type(value) is anchor:
        return True, True
    return False, False


def _dict_matches(value: dict, answer: Any) -> bool:
    if not isinstance(answer, dict):
        return False
    for key, got in value.items():
        if key not in answer or _norm(got) not in [_norm(a) for a in answer[key]]:
            return False
    return all(key in value or "" in accepted for key, accepted in answer.items())


def _dict_ok(value: Any, accepted: list) -> bool:
    if not isinstance(value, dict):
        return False
    return any(_dict_matches(value, alt) for alt in accepted if not _is_blank(alt))


def _dict_list_ok(value: list, accepted: list) -> bool:
    for alt in accepted:
        alt = [] if _is_blank(alt) else alt
        if not isinstance(alt, list) or len(alt) != len(value):
            continue
        if all(_dict_ok(v, [a]) for v, a in zip(value, alt)):
            return True
    return False


def _string_ok(value: str, accepted: list) -> bool:
    return standardise(value) in [standardise(a) for a in accepted if type(a) is str]


def _list_ok(value: list, accepted: list) -> bool:
    got = [_norm(v) for v in value]
    # a string among the accepted values is compared as its list of characters, as BFCL does
    return any(isinstance(alt, (list, str)) and got == [_norm(a) for a in alt] for alt in accepted)


def _param_ok(doc: dict, value: Any, accepted: list) -> bool:
    kind = doc.get("type")
    want = _PY_TYPE.get(kind)
    if want is None:
        return False
    item_type = None
    if kind in ("array", "tuple"):
        item_type = _PY_TYPE.get((doc.get("items") or {}).get("type"))
        if item_type is None:
            return False
    if kind == "tuple" and type(value) is tuple:
        value = list(value)
    if kind == "float" and type(value) is int:
        value = float(value)
    type_ok, literal = _type_verdict(value, accepted, want, item_type)
    if not type_ok:
        return False
    if not literal:
        if want is dict:
            return _dict_ok(value, accepted)
        if want is list and item_type is dict:
            return _dict_list_ok(value, accepted)
        if want is str:
            return _string_ok(value, accepted)
        if want is list:
            return _list_ok(value, accepted)
    return value in accepted


def _call_ok(doc: dict | None, call: dict, answer: dict) -> bool:
    """One decoded call {name: args} against one ground-truth entry, under function doc `doc`."""
    if doc is None:
        return False
    accepted = next(iter(answer.values()))
    schema = doc.get("parameters") or {}
    props, required = schema.get("properties") or {}, schema.get("required") or []
    if doc["name"] not in call:
        return False
    args = call[doc["name"]]
    if any(r not in args for r in required):
        return False
    for param, value in args.items():
        if param not in props or param not in accepted:
            return False
        if not _param_ok(props[param], value, accepted[param]):
            return False
    return all(param in args or "" in values for param, values in accepted.items())


def _expected_doc(functions: list[dict], answer: dict) -> dict | None:
    return find_function(functions, next(iter(answer)))


def well_formed(output: Any) -> bool:
    """BFCL's shape check on a decoded output: a list of {name: {args}} dicts, one name each."""
    return isinstance(output, list) and all(
        isinstance(item, dict) and len(item) == 1 and isinstance(next(iter(item.values())), dict)
        for item in output)


def no_call(output: Any) -> bool:
    """BFCL's irrelevance test: an output counts as "no call" when it is empty, is `[{}]`, or is
    not in function-call shape at all."""
    return not well_formed(output) or not output or (len(output) == 1 and not output[0])


def ast_match(category: str, functions: list[dict], ground_truth: list[dict], output: list[dict]) -> bool:
    """BFCL's AST verdict on a decoded output [{name: {args}}] (non-irrelevance categories)."""
    if not well_formed(output):
        return False
    if "parallel" in category:  # any order; each expected call takes the first unused output that fits
        if len(output) != len(ground_truth):
            return False
        used: set[int] = set()
        for answer in ground_truth:
            doc = _expected_doc(functions, answer)
            hit = next((i for i, call in enumerate(output)
                        if i not in used and _call_ok(doc, call, answer)), None)
            if hit is None:
                return False
            used.add(hit)
        return True
    if "multiple" in category:  # several tools on offer, one expected call
        if len(output) != len(ground_truth) or not ground_truth:
            return False
        return _call_ok(_expected_doc(functions, ground_truth[0]), output[0], ground_truth[0])
    if len(output) != 1 or not ground_truth or not functions:  # simple: one tool, one call
        return False
    return _call_ok(functions[0], output[0], ground_truth[0])


def bfcl_match(case: dict, calls: list[dict]) -> bool:
    """Whether BFCL's rules count `calls` ([{"name", "arguments"}]) as a correct answer to `case`."""
    meta = case["bfcl"]
    output = to_bfcl_output(calls)
    if is_irrelevance(meta["category"]):
        return no_call(output)
    return ast_match(meta["category"], meta["functions"], meta["ground_truth"], output)
