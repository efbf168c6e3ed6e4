"""Quality filter: the first rule a normalised row breaks, or None. One reason per row.

Rules, checked in this order (the `check` names are what the stage table counts):

- `duplicate_tool`: two of the row's tools share a name: a call to it is ambiguous.
- `invalid_tool_schema`: a tool's `parameters` is not a valid JSON Schema (Draft 2020-12), or not an
  object: nothing can check a call against it, and templates render it as the model will see it.
- `unknown_tool`: an assistant turn calls a tool that is not in the row's `tools`.
- `arguments_not_object`: a call's `arguments` is not a JSON object (e.g. a string that is not JSON).
- `missing_required_argument`: a call leaves out an argument its schema lists as `required`.
- `undeclared_argument`: a call passes an argument its tool's schema does not list under
  `properties` (when the schema lists them and does not allow others through `additionalProperties`
  or `patternProperties`; evals.tools.declared_arguments, which eval cases' reference calls are held
  to as well): a function refuses such a keyword, so the row would teach an invented parameter.
- `invalid_arguments`: the arguments fail the tool's JSON Schema (jsonschema, Draft 2020-12) for any
  other reason (wrong type, enum, unknown key where `additionalProperties` is false, ...), or hold a
  NaN or infinite number (an Arrow/Parquet row can carry one; JSON cannot).
- `control_token`: a message or a tool's schema holds a chat control token (`<|im_end|>`, `<|eot_id|>`,
  ...): tokenisers parse it inside the rendered text as a real turn boundary, so the row would teach
  a conversation other than the one it writes.
- `empty_user_turn`: a user turn with no text (whitespace or control characters such as NUL only): the
  row teaches an answer to nothing.
- `no_user_turn`: no user turn at all: nothing asked, so nothing to learn to route.
- `assistant_before_user`: a trained assistant turn before the first user turn (a ShareGPT row opening
  with `gpt`, which LLaMA-Factory's reader drops as well): it would be learned as an answer to nothing.
  An opening greeting meant as context can stay with OpenAI's `weight: 0` (in the prompt, out of the loss).
- `no_trained_turn`: every assistant turn has OpenAI's `weight: 0`: the row trains no token, yet it
  would fill a slot of the mix (a no-tool slot, when none of its turns calls).
- `misplaced_system_turn`: a system message after the first message: chat templates take a system
  prompt only first (the shipped one raises), so the row would fail when it is rendered for training.
- `empty_assistant_turn`: an assistant turn with neither text (beyond whitespace and control characters)
  nor tool calls.
- `unparseable_tool_call`: an assistant turn whose text still holds a `<tool_call>` tag (readable
  Hermes-style blocks were turned into `tool_calls` when the row was normalised): training on it
  would teach a call no serving parser can read.
- `truncated_assistant_turn`: an assistant turn whose text
    * opens more `(`, `[` or `{` than it closes (emoticons such as `:(` aside), has an odd number of
      ``` fences, or a `<tool_call>` without its `</tool_call>` (the generator stopped mid-structure); or
    * is the conversation's last turn, of 8 words or more, ends in a letter or digit (a short
      answer such as "Tokyo" or "4" is complete as it stands), and its last word is one no sentence
      ends on: an English article, preposition, conjunction or auxiliary ("... usually by a"), a
      word with no vowel ("... before th"), or the start of a longer word the row writes elsewhere
      ("a request ... before the reque") — unless that word occurs as a whole word in a tool result
      (answers that quote a file or command output end in whatever the output ends in). A reply cut
      at a token limit ends like that; a complete answer without a full stop ("Zone 3 is closed and
      idle", most chat exports) does not, and was quarantined when any final letter counted. A cut
      right after a whole content word reads as such an answer and is kept.
- `orphan_tool_result`: a tool message that answers no call: no assistant call before it in the
  same round, its `tool_call_id` matches none of that round's call ids, or (without ids) its `name`
  matches none of that round's unanswered calls. A result with neither id nor name answers the
  round's first unanswered call (position, as ShareGPT observations are matched).
- `unanswered_tool_call`: an assistant turn after calls that no tool result answered: the row would
  teach the model to go on as if it had seen results it never got (a call as the last turn, or one a
  user turn interrupts, is fine).
- `unsupported_tool_claim`: an assistant text turn that claims a tool produced something
  ("the search returned …", "according to the results …", "I looked it up …" — the regex
  `CLAIM` below) when no tool message precedes it: it cites a result that is not in the conversation.
- `stale_state` (only when `stale_after_s` is set): a tool result whose timestamp is more than
  `stale_after_s` seconds older than the row's final user turn (`meta.timestamp`): the answer rests
  on state that may no longer hold.

`skip` names checks to turn off for data that legitimately breaks one.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable

import jsonschema

from evals import jsontext
from evals.messages import control_token_at, is_control_character, texts_within
from evals.parser import parse_strict
from evals.tools import argument_validator, declared_arguments, tool_schema_problem

CLAIM = re.compile(
    r"\b(?:the\s+(?:search|lookup|query|tool|api|function|call|results?|output|file|command)\s+"
    r"(?:\w+\s+){0,3}?(?:returned|returns|shows?|showed|says|said|found|came\s+back|reported|lists?)"
    r"|according\s+to\s+the\s+(?:search|results?|tool|api|lookup|file|output|data)"
    r"|i\s+(?:looked\s+(?:it\s+)?up|searched|queried|fetched|ran\s+the))\b",
    re.IGNORECASE)
_FENCE = "```"


def _calls(row: dict) -> Iterable[tuple[int, dict]]:
    for i, m in enumerate(row["messages"]):
        if m["role"] == "assistant":
            for c in m.get("tool_calls") or []:
                yield i, c["function"]


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


def _schema_problems(row: dict) -> Iterable[tuple[str, str]]:
    bad_tool = tool_schema_problem(row["tools"])
    if bad_tool:
        yield bad_tool
        return
    schemas = {t["function"]["name"]: t["function"].get("parameters") or {"type": "object"} for t in row["tools"]}
    for i, fn in _calls(row):
        name, args = fn["name"], fn["arguments"]
        if name not in schemas:
            yield "unknown_tool", (f"message {i} calls {name!r}, which is not among the row's tools" if schemas else
                                   f"message {i} calls {name!r}, but the row defines no tools (a 'tools' list; "
                                   "tools described only in the system prompt's text are not read)")
            continue
        if not isinstance(args, dict):
            yield "arguments_not_object", f"message {i}: arguments of {name!r} {_not_an_object(args)}"
            continue
        if _non_finite(args):
            yield "invalid_arguments", f"message {i}: {name!r} arguments hold a NaN or infinite number (not JSON)"
            continue
        schema = schemas[name]
        missing = [k for k in schema.get("required", []) if k not in args]
        if missing:
            yield "missing_required_argument", f"message {i}: {name!r} misses required argument(s) {missing}"
        declared = declared_arguments(schema)
        undeclared = [] if declared is None else [k for k in args if k not in declared]
        if undeclared:
            yield "undeclared_argument", (f"message {i}: {name!r} is called with argument(s) {undeclared} its schema "
                                          f"does not declare (it declares {sorted(schema['properties'])})")
        # Every error, not jsonschema's one best match: a nested `required` error chosen as the best
        # match hid a type error beside it. Only the top level's missing keys are reported above.
        errors = [e for e in argument_validator(schema).iter_errors(args)
                  if not (e.validator == "required" and not e.absolute_path)]
        if errors:
            err = jsonschema.exceptions.best_match(errors)
            where = "/".join(str(p) for p in err.absolute_path) or "(top)"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            yield "invalid_arguments", f"message {i}: {name!r} arguments invalid at {where}: {err.message}{more}"


def string_values(value: Any) -> Iterable[str]:
    """Every string inside a JSON value (dict values and list items, depth first; not the keys)."""
    return (text for _, text, is_key in texts_within(value) if not is_key)


def _tool_texts(row: dict) -> list[str]:
    """Tool results as written and, when JSON, every string inside them (decoded escapes)."""
    out = []
    for m in row["messages"]:
        if m["role"] == "tool":
            out.append(m["content"])
            try:
                out.extend(string_values(json.loads(m["content"])))
            except json.JSONDecodeError:
                pass
    return out


_EMOTICON = re.compile(r"[:;=]-?[()\[\]{}]")
# A cut-off answer is a long one: a short final answer without a full stop ("Tokyo", "4", "Yes") is
# a complete answer, not a truncated one.
MIN_TRUNCATED_WORDS = 8
# Words an English sentence does not end on: where a long answer stops on one, it was cut.
DANGLING = frozenset("""a an the and or but nor so yet if because although though while whereas unless until
than that which who whom whose where when whether to of in on at by for with from into onto upon about
above across after against along among around before behind below beneath beside besides between beyond
during except inside like near over past since through throughout toward towards under underneath via
within without is are was were be been being am has have had do does did will would shall should can could
may might must my your our their its his her this these those such very as per plus""".split())
_WORDS = re.compile(r"[^\W_]+")
_LATIN_VOWELS = set("aeiouyAEIOUY")


def _cut_word(last: str, text: str) -> bool:
    """Whether a long answer's last word shows it was cut: a word no sentence ends on, a Latin word
    without a vowel, or the start of a longer word the same row writes elsewhere."""
    word = last.casefold()
    if word in DANGLING and last.islower():  # "... zone is Bench A": a capital A is a label, not an article
        return True
    if word.isascii() and word.isalpha() and len(word) >= 2 and not set(word) & _LATIN_VOWELS:
        return True
    return len(word) >= 2 and any(w.startswith(word) and len(w) > len(word) for w in
                                  (v.casefold() for v in _WORDS.findall(text)))


def _truncated(text: str, is_last: bool, tool_texts: list[str], msgs: list[dict]) -> str | None:
    unmarked = _EMOTICON.sub("", text)  # "Rainy Mondays :(" opens no bracket
    for open_, close in ("()", "[]", "{}"):
        if unmarked.count(open_) > unmarked.count(close):
            return f"more {open_!r} than {close!r}"
    if text.count(_FENCE) % 2:
        return "an unclosed ``` fence"
    if text.count("<tool_call>") != text.count("</tool_call>"):
        return "a <tool_call> without its </tool_call>"
    stripped = text.rstrip()
    if is_last and stripped and stripped[-1].isalnum() and len(stripped.split()) >= MIN_TRUNCATED_WORDS:
        words = _WORDS.findall(stripped)
        last = words[-1] if words else ""
        last_word = re.compile(r"(?<!\w)" + re.escape(last) + r"(?!\w)")
        row_text = "\n".join(m["content"] for m in msgs if isinstance(m.get("content"), str))
        if last and _cut_word(last, row_text) and not any(last_word.search(t) for t in tool_texts):
            return f"stops on {last!r} without punctuation, as a reply cut at a token limit does ({stripped[-30:]!r})"
    return None


def _not_an_object(args: Any) -> str:
    """What a call's arguments are instead of a JSON object."""
    if isinstance(args, str):  # normalise keeps a string it could not decode as it was
        try:
            jsontext.loads(args, unique_keys=True)
        except json.JSONDecodeError as err:
            return f"are a string that is not a JSON object ({err.msg})"
        return "are a string holding JSON that is no object"
    kind = {list: "array", bool: "boolean", int: "number", float: "number"}.get(type(args), "null")
    return f"are a JSON {kind}, not an object"


def _turn_problems(row: dict) -> Iterable[tuple[str, str]]:
    msgs = row["messages"]
    tool_texts = _tool_texts(row)
    seen_tool = False
    asked = not any(m["role"] == "user" for m in msgs)  # no user at all: `no_user_turn` names it
    open_calls: list[dict] = []  # calls of the latest assistant round not yet answered
    for i, m in enumerate(msgs):
        if m["role"] == "assistant":
            text, calls = m.get("content") or "", m.get("tool_calls") or []
            if not asked and m.get("weight") != 0:
                yield "assistant_before_user", (f"message {i} is an assistant turn before any user turn: it would "
                                                "be trained as an answer to nothing (weight 0 keeps it as context)")
            if is_blank(text) and not calls:
                yield "empty_assistant_turn", f"message {i} has neither text nor tool calls"
            if "<tool_call>" in text and text.count("<tool_call>") == text.count("</tool_call>"):
                # readable blocks became tool_calls when the row was normalised; an unclosed one is truncated
                why = parse_strict(text).error or "no call in it"
                yield "unparseable_tool_call", f"message {i} writes a <tool_call> block no strict parser can read ({why})"
            elif text.strip():
                why = _truncated(text, i == len(msgs) - 1, tool_texts, msgs)
                if why:
                    yield "truncated_assistant_turn", f"message {i}: {why}"
                if not seen_tool and CLAIM.search(text):
                    claim = CLAIM.search(text).group(0)
                    yield "unsupported_tool_claim", (f"message {i} cites a tool result ({claim!r}) but no tool "
                                                      "result precedes it")
            if open_calls:
                names = ", ".join(repr(c["function"]["name"]) for c in open_calls)
                yield "unanswered_tool_call", (f"message {i} answers after call(s) to {names} that no tool "
                                               "result answered")
            open_calls = list(calls)
        elif m["role"] == "system":
            if i > 0:
                yield "misplaced_system_turn", f"message {i} is a system message; a system prompt can only come first"
        elif m["role"] == "tool":
            seen_tool = True
            match = None
            for c in open_calls:
                if m.get("tool_call_id") is None and m.get("name") is None:
                    match = c  # nothing to match by: the round's first unanswered call, by position
                    break
                if m.get("tool_call_id") is not None and c.get("id") is not None:
                    if m["tool_call_id"] == c["id"]:
                        match = c
                        break
                elif m.get("name") == c["function"]["name"]:
                    match = c
                    break
            if match is None:
                who = m.get("tool_call_id") or m.get("name")
                yield "orphan_tool_result", f"message {i}: tool result ({who!r}) answers no preceding call"
            else:
                open_calls.remove(match)
        elif m["role"] == "user":
            asked = True
            if is_blank(m.get("content") or ""):
                yield "empty_user_turn", f"message {i} is a user turn with no text"
            open_calls = []
    if not any(m["role"] == "user" for m in msgs):
        yield "no_user_turn", "the conversation has no user turn"
    answers = [m for m in msgs if m["role"] == "assistant"]
    if answers and all(m.get("weight") == 0 for m in answers):
        yield "no_trained_turn", (f"all {len(answers)} assistant turn(s) have weight 0: the row trains no token, "
                                  "and would take a place in the mix")


def is_blank(text: str) -> bool:
    """No text a reader sees: whitespace and control characters only (a NUL-only turn read as text)."""
    return all(c.isspace() or is_control_character(c) for c in text)


def _control_tokens(row: dict) -> Iterable[tuple[str, str]]:
    where = control_token_at(row["messages"], row.get("tools"))
    if where:
        yield "control_token", f"{where}, a chat control token the template would read as a turn boundary"


def _stale(row: dict, stale_after_s: float | None) -> Iterable[tuple[str, str]]:
    asked = row["meta"].get("timestamp")
    if asked is None or stale_after_s is None:
        return
    for st in row["meta"].get("state_times") or []:
        age = asked - st["timestamp"]
        if age > stale_after_s:
            yield "stale_state", (f"message {st['message']}: tool result {age:.0f} s older than the final user "
                                  f"turn (limit {stale_after_s:.0f} s)")


def row_problem(row: dict, stale_after_s: float | None = None, skip: Iterable[str] = ()) -> tuple[str, str] | None:
    """(check, reason) for the first rule the row breaks, or None."""
    skip = set(skip)
    for problems in (_schema_problems(row), _control_tokens(row), _turn_problems(row), _stale(row, stale_after_s)):
        for check, reason in problems:
            if check not in skip:
                return check, reason
    return None
