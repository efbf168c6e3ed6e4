"""Calls written as a Python-style list, as ToolACE (and BFCL-style data) write an assistant's turn:

    [Market Trends API(trend_type="GAINERS"), get_weather(city='Oslo', days=3, metric=True)]

Read into [{"name", "arguments"}] with Python's own parser for the argument list (`ast`, which
evaluates nothing: only literal values are accepted). A name may hold spaces, dots or hyphens, as
ToolACE's API names do ("Market Trends API"), so the name is cut at its "(" and only the argument list
goes through `ast`. A positional argument, a `**kwargs`, or a value that is not a literal (a variable,
an expression, a call) cannot be mapped to a JSON argument without guessing: the text is refused with
the reason, and the row is quarantined rather than trained as a plain answer.
"""

from __future__ import annotations

import ast
import re
from typing import Any

# The whole turn is a bracketed list of name(...) items (checked again, exactly, by the scanner).
CALL_LIST_SHAPE = re.compile(r"\s*\[\s*[A-Za-z_][\w .\-/]*\(.*\)\s*\]\s*", re.DOTALL)
_ENDS_LIKE_CALLS = re.compile(r"\)\s*\]\s*$")
_NAME = re.compile(r"[A-Za-z_][\w .\-/]*")
_JSON_WORDS = {"true": True, "false": False, "null": None, "none": None}  # JSON spellings some exports use


class PythonicCallError(ValueError):
    """Text shaped like a Python call list that cannot be read as calls; the message says why."""


def _closing_paren(text: str, start: int) -> int:
    """Index of the ")" that closes the "(" at `start`, skipping brackets and quoted strings."""
    depth, i, quote = 0, start, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif ch in "'\"":
            quote = text[i:i + 3] if text[i:i + 3] in ("'''", '"""') else ch
            i += len(quote) - 1
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise PythonicCallError("an argument list is not closed")


def _value(node: ast.AST) -> Any:
    """A literal argument value as JSON data; tuples become lists."""
    if isinstance(node, ast.Name) and node.id.lower() in _JSON_WORDS:
        return _JSON_WORDS[node.id.lower()]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_value(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise PythonicCallError("a dict argument unpacks another (**)")
            key = _value(k)
            if not isinstance(key, str):
                raise PythonicCallError(f"a dict argument has a key that is not text ({key!r})")
            if key in out:
                raise PythonicCallError(f"a dict argument names {key!r} twice")
            out[key] = _value(v)
        return out
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise PythonicCallError(f"an argument value is not a literal ({ast.unparse(node)[:40]!r})") from None
    if isinstance(value, (set, frozenset, complex, bytes)) or value is Ellipsis:
        raise PythonicCallError(f"an argument value has no JSON form ({ast.unparse(node)[:40]!r})")
    return value


def _arguments(name: str, text: str) -> dict:
    try:
        tree = ast.parse(f"_call({text})", mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        raise PythonicCallError(f"{name}(...): the argument list is not Python ({getattr(err, 'msg', err)})") from None
    call = tree.body
    if not isinstance(call, ast.Call) or call.args:
        raise PythonicCallError(f"{name}(...) passes a positional argument: its parameter name is not written")
    args: dict = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise PythonicCallError(f"{name}(...) unpacks arguments (**)")
        if kw.arg in args:
            raise PythonicCallError(f"{name}(...) names {kw.arg!r} twice")
        args[kw.arg] = _value(kw.value)
    return args


def pythonic_calls(text: str) -> list[dict] | None:
    """[{"name", "arguments"}] when `text` is wholly a Python-style call list, None when it is not
    shaped like one, PythonicCallError when it is but cannot be read."""
    if not CALL_LIST_SHAPE.fullmatch(text):
        return None
    body = text.strip()[1:-1]
    calls, at = [], 0
    while True:
        while at < len(body) and body[at] in " \t\r\n,":
            at += 1
        if at >= len(body):
            break
        named = _NAME.match(body, at)
        paren = body.find("(", at)
        if not named or paren < 0 or named.end() != paren:
            raise PythonicCallError(f"item {len(calls)} is not name(arguments) ({body[at:at + 40]!r})")
        name = body[at:paren].strip()
        close = _closing_paren(body, paren)
        calls.append({"name": name, "arguments": _arguments(name, body[paren + 1:close])})
        at = close + 1
        rest = body[at:].lstrip(" \t\r\n")
        if rest and not rest.startswith(","):
            raise PythonicCallError(f"text after {name}(...) that is no next call ({rest[:40]!r})")
    if not calls:
        raise PythonicCallError("no call in the list")
    return calls


def written_call_list(text: str) -> tuple[str, list[dict]] | None:
    """(the text before it, its calls) when `text` is wholly a Python-style call list, or ends with
    one that reads as calls; None for any other text; PythonicCallError when the whole text is
    shaped as a call list but cannot be read."""
    calls = pythonic_calls(text)
    return ("", calls) if calls is not None else trailing_pythonic_calls(text)


def trailing_pythonic_calls(text: str) -> tuple[str, list[dict]] | None:
    """(the text before it, its calls) when `text` ends with a Python-style call list that reads as
    calls ("Sure! [send_message(text='hi')]"), else None. Only the whole turn shaped as a call list
    is refused when it cannot be read (`pythonic_calls`); a bracket at the end of prose that does not
    read as calls stays prose."""
    if not _ENDS_LIKE_CALLS.search(text):  # cheap: prose rarely ends with ")]"
        return None
    for at in (i for i, ch in enumerate(text) if ch == "["):
        if at == 0 or not CALL_LIST_SHAPE.fullmatch(text, at):
            continue
        try:
            calls = pythonic_calls(text[at:])
        except PythonicCallError:
            continue
        if calls:
            return text[:at].rstrip(), calls
    return None
